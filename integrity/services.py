"""Writes of the integrity app: flag anomalous voters, quarantine their votes, release them."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from arena.models import Domain, Vote
from arena.services import votes_exclude
from arena.signals import votes_changed
from integrity import anomaly
from integrity.models import VoterFlag
from ratings import maths
from ratings.models import RatingRow, RatingSnapshot

logger = logging.getLogger(__name__)

QUARANTINE = Vote.ExcludedReason.ANOMALOUS_VOTER
DIRECTION = {
    anomaly.FAVOURS: VoterFlag.Direction.FAVOURS,
    anomaly.DISFAVOURS: VoterFlag.Direction.DISFAVOURS,
    anomaly.PROMOTES: VoterFlag.Direction.PROMOTES,
}


class FlagError(Exception):
    """An operator action that cannot be done; the message says why."""


@dataclass(frozen=True)
class ScanResult:
    snapshot_id: int | None
    voters_scanned: int
    votes_scanned: int
    flags: list[VoterFlag]
    votes_quarantined: int  # by new flags and, for voters already flagged, their newer votes


def _overall_ratings(snapshot_ids: list[int]) -> dict[int, dict[int, float]]:
    """Natural-log strengths of the models rated overall, by snapshot id and model id."""
    overall = Domain.objects.filter(includes_all=True).order_by("position", "pk").first()
    found: dict[int, dict[int, float]] = {s: {} for s in snapshot_ids}
    if overall is None:
        return found
    for snapshot_id, model_id, rating in RatingRow.objects.filter(
        snapshot_id__in=snapshot_ids, domain=overall, rating__isnull=False
    ).values_list("snapshot_id", "model_id", "rating"):
        found[snapshot_id][model_id] = (rating - maths.RATING_BASE) / maths.RATING_SCALE
    return found


def _references(
    snapshot: RatingSnapshot, first_vote: dict[str, int]
) -> tuple[list[RatingSnapshot], dict[str, int]]:
    """Each voter's reference: the newest snapshot (up to the scanned one) that counted only
    votes older than the voter's first tested vote, so no vote of theirs (nor of identities
    that started with them) moved it; the scanned snapshot if there is none.

    Returns the snapshots used, the scanned one last, and each voter's index into that list.
    """
    earlier = list(
        RatingSnapshot.objects.filter(pk__lt=snapshot.pk, last_vote_id__isnull=False)
        .order_by("last_vote_id", "pk")
        .values_list("pk", "last_vote_id")
    )
    cut = np.array([last for _, last in earlier], dtype=np.int64)
    chosen: dict[str, int | None] = {}
    for voter_id, first in first_vote.items():
        k = int(np.searchsorted(cut, first, side="left")) - 1  # newest with last_vote_id < first
        chosen[voter_id] = earlier[k][0] if k >= 0 else None
    used_ids = sorted({pk for pk in chosen.values() if pk is not None} - {snapshot.pk})
    by_id = RatingSnapshot.objects.in_bulk(used_ids)
    used = [by_id[pk] for pk in used_ids] + [snapshot]
    row = {s.pk: i for i, s in enumerate(used)}
    return used, {v: row[pk] if pk is not None else len(used) - 1 for v, pk in chosen.items()}


def voter_quarantine(*, voter_ids: list[str]) -> int:
    """Exclude every counted vote of the voters with an open flag as "anomalous_voter";
    return how many.

    Votes already excluded for another reason keep that reason, so releasing a voter later
    re-counts exactly the votes quarantined here. The open flags are locked first, as
    flag_release locks the one it closes: a release that commits meanwhile is never undone.
    """
    if not voter_ids:
        return 0
    with transaction.atomic():
        still_open = list(
            VoterFlag.objects.select_for_update()
            .filter(voter_id__in=voter_ids, state=VoterFlag.State.FLAGGED)
            .values_list("voter_id", flat=True)
        )
        ids = list(
            Vote.objects.select_for_update()
            .filter(voter_id__in=still_open, excluded_reason="")
            .values_list("pk", flat=True)
        )
        return votes_exclude(vote_ids=ids, reason=QUARANTINE) if ids else 0


def voters_scan(
    *,
    snapshot_id: int | None = None,
    deltas: tuple[float, ...] | None = None,
    alpha: float | None = None,
) -> ScanResult:
    """Test every voter's counted votes against overall ratings, flag the voters who fail and
    quarantine their votes.

    The scanned snapshot is the newest by default. Each voter is tested against the newest
    snapshot up to it that counted only votes older than the voter's first tested vote (one
    published before the voter started), so neither the voter nor identities that started with
    it can have moved those ratings; a voter who started before every such snapshot is tested
    against the scanned one.

    Safe to run twice: a voter with an open flag is not tested again (only their newer counted
    votes are quarantined), and the unique open-flag constraint settles a race between two
    scans. A released voter is tested only on votes newer than the release.
    """
    # Settings may override the documented defaults (see docs/integrity.md).
    if deltas is None:
        deltas = tuple(getattr(settings, "ARENA_ANOMALY_DELTAS", anomaly.DEFAULT_DELTAS))
    if alpha is None:
        alpha = getattr(settings, "ARENA_ANOMALY_ALPHA", anomaly.DEFAULT_ALPHA)
    if snapshot_id is None:
        snapshot = RatingSnapshot.objects.order_by("-id").first()
    else:
        snapshot = RatingSnapshot.objects.filter(pk=snapshot_id).first()
        if snapshot is None:
            raise FlagError(f"No snapshot {snapshot_id}.")
    if snapshot is None:
        return ScanResult(None, 0, 0, [], 0)
    open_voters = set(
        VoterFlag.objects.filter(state=VoterFlag.State.FLAGGED).values_list("voter_id", flat=True)
    )
    # Votes a flagged voter cast since the last scan join the quarantine.
    quarantined = voter_quarantine(voter_ids=sorted(open_voters))
    released_after = dict(
        VoterFlag.objects.filter(state=VoterFlag.State.RELEASED)
        .values_list("voter_id")
        .annotate(after=Max("released_after_vote_id"))
        .values_list("voter_id", "after")
    )
    voter_codes: dict[str, int] = {}
    first_vote: dict[str, int] = {}
    vote_rows: list[tuple[int, int, int, str]] = []
    for vote_id, voter_id, a, b, outcome in (
        Vote.objects.filter(excluded_reason="")
        .exclude(voter_id="")
        .order_by("id")
        .values_list("id", "voter_id", "model_a_id", "model_b_id", "outcome")
        .iterator(chunk_size=20000)
    ):
        if voter_id in open_voters or vote_id <= (released_after.get(voter_id) or 0):
            continue
        code = voter_codes.setdefault(voter_id, len(voter_codes))
        first_vote.setdefault(voter_id, vote_id)
        vote_rows.append((code, a, b, outcome))
    references, reference_of = _references(snapshot, first_vote)
    ratings = _overall_ratings([s.pk for s in references])
    model_ids = sorted({m for by_model in ratings.values() for m in by_model})
    index = {model_id: i for i, model_id in enumerate(model_ids)}
    unrated = len(model_ids)  # every model rated in none of the references maps to a NaN slot
    theta = np.full((len(references), unrated + 1), np.nan)
    for row, reference in enumerate(references):
        for model_id, strength in ratings[reference.pk].items():
            theta[row, index[model_id]] = strength
    row_of_code = np.zeros(len(voter_codes), dtype=np.int64)
    for voter_id, code in voter_codes.items():
        row_of_code[code] = reference_of[voter_id]
    codes = np.array([r[0] for r in vote_rows], dtype=np.int64)
    columns = [
        codes,
        [index.get(r[1], unrated) for r in vote_rows],
        [index.get(r[2], unrated) for r in vote_rows],
        [anomaly.OUTCOME_CODE[r[3]] for r in vote_rows],
    ]
    alarms = (
        anomaly.scan(*columns, theta, reference=row_of_code[codes], deltas=deltas, alpha=alpha)
        if model_ids and vote_rows
        else []
    )
    voters = {code: voter for voter, code in voter_codes.items()}
    flags = []
    for alarm in alarms:
        try:
            with transaction.atomic():
                flag = VoterFlag.objects.create(
                    voter_id=voters[alarm.voter],
                    model_id=model_ids[alarm.model],
                    direction=DIRECTION[alarm.direction],
                    statistic=alarm.statistic,
                    threshold=alarm.threshold,
                    deltas=list(deltas),
                    alpha=alpha,
                    votes_tested=alarm.votes_on_model,
                    flagged_at_vote=alarm.flagged_at,
                    snapshot=references[row_of_code[alarm.voter]],
                )
                flag.votes_quarantined = voter_quarantine(voter_ids=[flag.voter_id])
                flag.save(update_fields=["votes_quarantined"])
        except IntegrityError:
            continue  # another scan flagged this voter first
        quarantined += flag.votes_quarantined
        flags.append(flag)
        logger.warning(
            "voter %s flagged (%s %s, LLR %.1f >= %.1f); %d votes quarantined",
            flag.voter_id,
            flag.direction,
            flag.model_id,
            flag.statistic,
            flag.threshold,
            flag.votes_quarantined,
        )
    return ScanResult(snapshot.pk, len(voter_codes), len(vote_rows), flags, quarantined)


def flag_release(*, flag_id: int, by: str, note: str = "") -> int:
    """Close an open flag and count the voter's quarantined votes again; return how many.

    Only votes excluded as "anomalous_voter" come back; the flag stays on record with who
    released it, when and why.
    """
    if not by.strip():
        raise FlagError("Say who releases the flag.")
    with transaction.atomic():
        flag = VoterFlag.objects.select_for_update().filter(pk=flag_id).first()
        if flag is None:
            raise FlagError(f"No voter flag {flag_id}.")
        if flag.state != VoterFlag.State.FLAGGED:
            raise FlagError(f"Flag {flag_id} was already released by {flag.released_by}.")
        votes = Vote.objects.select_for_update().filter(
            voter_id=flag.voter_id, excluded_reason=QUARANTINE
        )
        ids = list(votes.values_list("pk", flat=True))
        Vote.objects.filter(pk__in=ids).update(
            excluded_reason="", status_changed_at=timezone.now(), needs_tally=True
        )
        flag.state = VoterFlag.State.RELEASED
        flag.released_at = timezone.now()
        flag.released_by = by.strip()
        flag.release_note = note
        flag.released_after_vote_id = Vote.objects.filter(voter_id=flag.voter_id).aggregate(
            m=Max("id")
        )["m"]
        flag.save(
            update_fields=[
                "state",
                "released_at",
                "released_by",
                "release_note",
                "released_after_vote_id",
            ]
        )
        transaction.on_commit(lambda: votes_changed.send(sender=Vote, vote_ids=ids))
    return len(ids)

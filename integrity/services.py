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


class FlagError(Exception):
    """An operator action that cannot be done; the message says why."""


@dataclass(frozen=True)
class ScanResult:
    snapshot_id: int | None
    voters_scanned: int
    votes_scanned: int
    flags: list[VoterFlag]
    votes_quarantined: int  # by new flags and, for voters already flagged, their newer votes


def _theta(snapshot: RatingSnapshot) -> dict[int, float]:
    """Natural-log strengths of the models rated overall in the snapshot, by model id."""
    overall = Domain.objects.filter(includes_all=True).order_by("position", "pk").first()
    if overall is None:
        return {}
    return {
        model_id: (rating - maths.RATING_BASE) / maths.RATING_SCALE
        for model_id, rating in RatingRow.objects.filter(
            snapshot=snapshot, domain=overall, rating__isnull=False
        ).values_list("model_id", "rating")
    }


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
    """Test every voter's counted votes against a snapshot's overall ratings (the newest by
    default), flag the voters who fail and quarantine their votes.

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
    theta_by_model = _theta(snapshot)
    model_ids = sorted(theta_by_model)
    index = {model_id: i for i, model_id in enumerate(model_ids)}
    theta = np.array([theta_by_model[m] for m in model_ids] + [np.nan])
    unrated = len(model_ids)  # every model without an overall rating maps to the NaN slot

    voter_codes: dict[str, int] = {}
    columns: list[list[int]] = [[], [], [], []]
    for vote_id, voter_id, a, b, outcome in (
        Vote.objects.filter(excluded_reason="")
        .exclude(voter_id="")
        .order_by("id")
        .values_list("id", "voter_id", "model_a_id", "model_b_id", "outcome")
        .iterator(chunk_size=20000)
    ):
        if voter_id in open_voters or vote_id <= (released_after.get(voter_id) or 0):
            continue
        columns[0].append(voter_codes.setdefault(voter_id, len(voter_codes)))
        columns[1].append(index.get(a, unrated))
        columns[2].append(index.get(b, unrated))
        columns[3].append(anomaly.OUTCOME_CODE[outcome])
    alarms = (
        anomaly.scan(*columns, theta, deltas=deltas, alpha=alpha)
        if model_ids and columns[0]
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
                    direction=(
                        VoterFlag.Direction.FAVOURS
                        if alarm.direction == anomaly.FAVOURS
                        else VoterFlag.Direction.DISFAVOURS
                    ),
                    statistic=alarm.statistic,
                    threshold=alarm.threshold,
                    deltas=list(deltas),
                    alpha=alpha,
                    votes_tested=alarm.votes_on_model,
                    flagged_at_vote=alarm.flagged_at,
                    snapshot=snapshot,
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
    return ScanResult(snapshot.pk, len(voter_codes), len(columns[0]), flags, quarantined)


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

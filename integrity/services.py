"""Writes of the integrity app: flag anomalous voters and networks, quarantine their votes,
release them."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from arena.models import Domain, Vote
from arena.services import votes_exclude
from arena.signals import votes_changed
from integrity import anomaly
from integrity.models import QuarantinedVote, VoterFlag
from ratings import maths
from ratings.models import RatingRow, RatingSnapshot

logger = logging.getLogger(__name__)

QUARANTINE = Vote.ExcludedReason.ANOMALOUS_VOTER
VOTER, NETWORK = VoterFlag.Scope.VOTER, VoterFlag.Scope.NETWORK
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
    networks_scanned: int = 0
    network_flags: list[VoterFlag] = field(default_factory=list)  # new or extended


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


def _hold(held: dict[int, list[int]]) -> int:
    """Quarantine the votes each flag holds and record which flag holds which; return how
    many votes changed. The caller holds row locks on the flags and on the votes."""
    pairs = [(flag_id, vote_id) for flag_id, ids in held.items() for vote_id in ids]
    if not pairs:
        return 0
    QuarantinedVote.objects.bulk_create(
        [QuarantinedVote(flag_id=f, vote_id=v) for f, v in pairs], ignore_conflicts=True
    )
    return votes_exclude(vote_ids=[v for _, v in pairs], reason=QUARANTINE)


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
        flag_of = dict(
            VoterFlag.objects.select_for_update()
            .filter(scope=VOTER, voter_id__in=voter_ids, state=VoterFlag.State.FLAGGED)
            .values_list("voter_id", "pk")
        )
        held: dict[int, list[int]] = defaultdict(list)
        for vote_id, voter_id in (
            Vote.objects.select_for_update()
            .filter(voter_id__in=list(flag_of), excluded_reason="")
            .values_list("pk", "voter_id")
        ):
            held[flag_of[voter_id]].append(vote_id)
        return _hold(held)


def network_quarantine(
    *, network_hashes: list[str], add: dict[str, set[str]] | None = None
) -> dict[str, int]:
    """Exclude, on each network with an open flag, every counted vote of the identities that
    flag holds (and of those in ``add``, newly found) as "anomalous_voter"; return how many per
    network.

    Only the votes cast from that network: the evidence was the network's. Locks as
    voter_quarantine does.
    """
    if not network_hashes:
        return {}
    with transaction.atomic():
        flag_of = dict(
            VoterFlag.objects.select_for_update()
            .filter(scope=NETWORK, network_hash__in=network_hashes, state=VoterFlag.State.FLAGGED)
            .values_list("network_hash", "pk")
        )
        held_by = {
            (network, voter_id)
            for network, voter_id in QuarantinedVote.objects.filter(flag_id__in=flag_of.values())
            .values_list("flag__network_hash", "vote__voter_id")
            .distinct()
        }
        held_by |= {(n, v) for n, voters in (add or {}).items() if n in flag_of for v in voters}
        held: dict[int, list[int]] = defaultdict(list)
        for vote_id, network, voter_id in (
            Vote.objects.select_for_update()
            .filter(
                network_hash__in=list(flag_of),
                voter_id__in={v for _, v in held_by},
                excluded_reason="",
            )
            .values_list("pk", "network_hash", "voter_id")
        ):
            if (network, voter_id) in held_by:
                held[flag_of[network]].append(vote_id)
        counts = {network: len(held.get(pk, ())) for network, pk in flag_of.items()}
        _hold(held)
        return counts


@dataclass
class _Counted:
    """The counted votes a scan tests, in the order cast, as parallel columns."""

    vote_id: np.ndarray
    voter: np.ndarray  # voter codes
    network: list[str]
    model_a: np.ndarray  # indices into the ratings' columns
    model_b: np.ndarray
    outcome: np.ndarray
    reference: np.ndarray  # each vote's ratings row: its voter's reference

    def take(self, rows: np.ndarray) -> _Counted:
        return _Counted(
            self.vote_id[rows],
            self.voter[rows],
            [self.network[i] for i in rows],
            self.model_a[rows],
            self.model_b[rows],
            self.outcome[rows],
            self.reference[rows],
        )


def voters_scan(
    *,
    snapshot_id: int | None = None,
    deltas: tuple[float, ...] | None = None,
    alpha: float | None = None,
) -> ScanResult:
    """Test every voter's counted votes, and every network's pooled counted votes, against
    overall ratings; flag the voters and networks that fail and quarantine their votes.

    The scanned snapshot is the newest by default. Each voter is tested against the newest
    snapshot up to it that counted only votes older than the voter's first tested vote (one
    published before the voter started), so neither the voter nor identities that started with
    it can have moved those ratings; a voter who started before every such snapshot is tested
    against the scanned one. In a network's pooled votes each vote keeps its own voter's
    reference.

    Safe to run twice: a voter with an open flag is not tested again (only their newer counted
    votes are quarantined), and the unique open-flag constraint settles a race between two
    scans. A released voter is tested only on votes newer than the release. A network with an
    open flag is tested on its votes newer than those the flag's test saw, from identities the
    flag does not hold; a released one on its votes newer than the release.
    """
    # Settings may override the documented defaults (see docs/integrity.md).
    if deltas is None:
        deltas = tuple(getattr(settings, "ARENA_ANOMALY_DELTAS", anomaly.DEFAULT_DELTAS))
    if alpha is None:
        alpha = getattr(settings, "ARENA_ANOMALY_ALPHA", anomaly.DEFAULT_ALPHA)
    hold = getattr(settings, "ARENA_ANOMALY_NETWORK_HOLD", anomaly.DEFAULT_HOLD)
    if snapshot_id is None:
        snapshot = RatingSnapshot.objects.order_by("-id").first()
    else:
        snapshot = RatingSnapshot.objects.filter(pk=snapshot_id).first()
        if snapshot is None:
            raise FlagError(f"No snapshot {snapshot_id}.")
    if snapshot is None:
        return ScanResult(None, 0, 0, [], 0)
    open_voters = set(
        VoterFlag.objects.filter(scope=VOTER, state=VoterFlag.State.FLAGGED).values_list(
            "voter_id", flat=True
        )
    )
    open_networks = dict(
        VoterFlag.objects.filter(scope=NETWORK, state=VoterFlag.State.FLAGGED).values_list(
            "network_hash", "tested_through_vote_id"
        )
    )
    # Votes a flagged voter (or a network flag's identity) cast since the last scan join the
    # quarantine.
    quarantined = voter_quarantine(voter_ids=sorted(open_voters))
    quarantined += sum(network_quarantine(network_hashes=sorted(open_networks)).values())
    released_after = _released_after(VOTER, "voter_id")
    network_after = _released_after(NETWORK, "network_hash")
    network_after |= {n: after or 0 for n, after in open_networks.items()}
    voter_codes: dict[str, int] = {}
    first_vote: dict[str, int] = {}
    vote_rows: list[tuple[int, int, str, int, int, str]] = []
    for vote_id, voter_id, network, a, b, outcome in (
        Vote.objects.filter(excluded_reason="")
        .exclude(voter_id="")
        .order_by("id")
        .values_list("id", "voter_id", "network_hash", "model_a_id", "model_b_id", "outcome")
        .iterator(chunk_size=20000)
    ):
        if voter_id in open_voters or vote_id <= (released_after.get(voter_id) or 0):
            continue
        code = voter_codes.setdefault(voter_id, len(voter_codes))
        first_vote.setdefault(voter_id, vote_id)
        vote_rows.append((vote_id, code, network, a, b, outcome))
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
    codes = np.array([r[1] for r in vote_rows], dtype=np.int64)
    counted = _Counted(
        vote_id=np.array([r[0] for r in vote_rows], dtype=np.int64),
        voter=codes,
        network=[r[2] for r in vote_rows],
        model_a=np.array([index.get(r[3], unrated) for r in vote_rows], dtype=np.int64),
        model_b=np.array([index.get(r[4], unrated) for r in vote_rows], dtype=np.int64),
        outcome=np.array([anomaly.OUTCOME_CODE[r[5]] for r in vote_rows], dtype=np.int64),
        reference=row_of_code[codes],
    )
    test = {"deltas": deltas, "alpha": alpha, "hold": hold}
    alarms = (
        anomaly.scan(
            counted.voter,
            counted.model_a,
            counted.model_b,
            counted.outcome,
            theta,
            reference=counted.reference,
            deltas=deltas,
            alpha=alpha,
        )
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
    # Networks pool what is still counted: the votes of voters just flagged are out already.
    flagged_codes = np.array([alarm.voter for alarm in alarms], dtype=np.int64)
    pooled = counted.take(
        np.array(
            [
                i
                for i, network in enumerate(counted.network)
                if network and counted.vote_id[i] > network_after.get(network, 0)
            ],
            dtype=np.int64,
        )
    )
    pooled = pooled.take(np.flatnonzero(~np.isin(pooled.voter, flagged_codes)))
    network_flags, held = _networks_scan(
        pooled, theta, model_ids, references, voters, open_networks, test
    )
    return ScanResult(
        snapshot.pk,
        len(voter_codes),
        len(vote_rows),
        flags,
        quarantined + held,
        networks_scanned=len(set(pooled.network)),
        network_flags=network_flags,
    )


def _released_after(scope: str, field: str) -> dict[str, int]:
    """The newest vote a released flag covered, per voter (or network) of that scope."""
    return dict(
        VoterFlag.objects.filter(scope=scope, state=VoterFlag.State.RELEASED)
        .values_list(field)
        .annotate(after=Max("released_after_vote_id"))
        .values_list(field, "after")
    )


def _networks_scan(
    pooled: _Counted,
    theta: np.ndarray,
    model_ids: list[int],
    references: list[RatingSnapshot],
    voters: dict[int, str],
    open_networks: dict[str, int | None],
    test: dict[str, Any],
) -> tuple[list[VoterFlag], int]:
    """Run the voters' tests on each network's pooled votes; flag the networks that fail and
    quarantine their contributing identities' votes there. Return the new (or extended) flags
    and how many votes they quarantined."""
    if not len(pooled.vote_id) or not model_ids:
        return [], 0
    names = sorted(set(pooled.network))
    code_of = {network: i for i, network in enumerate(names)}
    network_code = np.array([code_of[n] for n in pooled.network], dtype=np.int64)
    columns = (pooled.model_a, pooled.model_b, pooled.outcome)
    alarms = anomaly.scan(
        network_code,
        *columns,
        theta,
        reference=pooled.reference,
        deltas=test["deltas"],
        alpha=test["alpha"],
    )
    flags, quarantined = [], 0
    for alarm in alarms:
        network = names[alarm.voter]
        rows = np.flatnonzero(network_code == alarm.voter)
        # The identities whose own votes there clearly favour the alternative that fired, and
        # as many more as it takes for the rest of the network to pass: their votes carry the
        # evidence; a neighbour behind the same NAT with one lucky vote for the model does not.
        held_codes = anomaly.holders(
            pooled.voter[rows],
            *(column[rows] for column in columns),
            theta,
            model=alarm.model,
            direction=alarm.direction,
            reference=pooled.reference[rows],
            deltas=test["deltas"],
            alpha=test["alpha"],
            hold=test["hold"],
        )
        contributors = {voters[int(code)] for code in held_codes}
        flag, held = _network_flag(
            network=network,
            alarm=alarm,
            test=test,
            contributors=contributors,
            last_vote_id=int(pooled.vote_id[rows[-1]]),
            snapshot=references[int(pooled.reference[rows[alarm.flagged_at - 1]])],
            model_id=model_ids[alarm.model],
            extend=network in open_networks,
        )
        if flag is not None:
            flags.append(flag)
            quarantined += held
    return flags, quarantined


def _network_flag(
    *,
    network: str,
    alarm: anomaly.Alarm,
    test: dict[str, Any],
    contributors: set[str],
    last_vote_id: int,
    snapshot: RatingSnapshot,
    model_id: int,
    extend: bool,
) -> tuple[VoterFlag | None, int]:
    """Record a network's crossing and quarantine its contributors' votes there: a new flag, or,
    for a network already flagged, its open flag extended to the identities newly found.
    Return the flag (None if another scan got there first) and how many votes it took."""
    try:
        with transaction.atomic():
            if extend:
                flag = (
                    VoterFlag.objects.select_for_update()
                    .filter(scope=NETWORK, network_hash=network, state=VoterFlag.State.FLAGGED)
                    .first()
                )
                if flag is None:
                    return None, 0  # released meanwhile: the next scan tests its newer votes
                flag.crossings += 1
            else:
                flag = VoterFlag.objects.create(
                    scope=NETWORK,
                    network_hash=network,
                    model_id=model_id,
                    direction=DIRECTION[alarm.direction],
                    statistic=alarm.statistic,
                    threshold=alarm.threshold,
                    deltas=list(test["deltas"]),
                    alpha=test["alpha"],
                    hold_above=test["hold"],
                    votes_tested=alarm.votes_on_model,
                    flagged_at_vote=alarm.flagged_at,
                    snapshot=snapshot,
                )
            held = network_quarantine(network_hashes=[network], add={network: contributors})
            flag.votes_quarantined += held[network]
            flag.identities_quarantined = (
                QuarantinedVote.objects.filter(flag=flag)
                .values("vote__voter_id")
                .distinct()
                .count()
            )
            flag.tested_through_vote_id = last_vote_id
            flag.save(
                update_fields=[
                    "crossings",
                    "votes_quarantined",
                    "identities_quarantined",
                    "tested_through_vote_id",
                ]
            )
    except IntegrityError:
        return None, 0  # another scan flagged this network first
    logger.warning(
        "network %s flagged (%s %s, LLR %.1f >= %.1f, crossing %d); %d votes of %d identities "
        "quarantined",
        network,
        DIRECTION[alarm.direction],
        model_id,
        alarm.statistic,
        alarm.threshold,
        flag.crossings,
        held[network],
        len(contributors),
    )
    return flag, held[network]


def flag_release(*, flag_id: int, by: str, note: str = "") -> int:
    """Close an open flag and count the votes it quarantined again; return how many.

    Only the votes this flag quarantined and that are still excluded as "anomalous_voter" come
    back (not those another open flag holds); the flag stays on record with who released it,
    when and why.
    """
    if not by.strip():
        raise FlagError("Say who releases the flag.")
    with transaction.atomic():
        flag = VoterFlag.objects.select_for_update().filter(pk=flag_id).first()
        if flag is None:
            raise FlagError(f"No voter flag {flag_id}.")
        if flag.state != VoterFlag.State.FLAGGED:
            raise FlagError(f"Flag {flag_id} was already released by {flag.released_by}.")
        held_elsewhere = QuarantinedVote.objects.filter(
            flag__state=VoterFlag.State.FLAGGED
        ).exclude(flag=flag)
        votes = (
            Vote.objects.select_for_update()
            .filter(
                pk__in=QuarantinedVote.objects.filter(flag=flag).values("vote_id"),
                excluded_reason=QUARANTINE,
            )
            .exclude(pk__in=held_elsewhere.values("vote_id"))
        )
        ids = list(votes.values_list("pk", flat=True))
        Vote.objects.filter(pk__in=ids).update(
            excluded_reason="", status_changed_at=timezone.now(), needs_tally=True
        )
        flag.state = VoterFlag.State.RELEASED
        flag.released_at = timezone.now()
        flag.released_by = by.strip()
        flag.release_note = note
        # Released means trusted for what the flag saw: later scans test newer votes only.
        covered = (
            Vote.objects.filter(voter_id=flag.voter_id)
            if flag.scope == VOTER
            else Vote.objects.filter(network_hash=flag.network_hash)
        )
        flag.released_after_vote_id = covered.aggregate(m=Max("id"))["m"]
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

"""Refit: fold the votes that changed into the pair tallies and publish a new snapshot."""

from __future__ import annotations

import logging
import subprocess
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import numpy as np
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from arena.models import (
    Battle,
    CostTier,
    Domain,
    LanguageModel,
    Vote,
    VoteDomain,
    tiers_of,
)
from ratings import maths
from ratings.consumers import GROUP
from ratings.models import DomainFit, PairTally, RatingRow, RatingSnapshot, TierMembership

logger = logging.getLogger(__name__)

METHOD = "bradley-terry"
# Bump when a change to ratings/maths.py can change published numbers.
ENGINE_VERSION = "bt-1"
TALLY_FIELDS = {"model_a": "lo_wins", "model_b": "hi_wins", "tie": "ties", "both_bad": "both_bad"}
Key = tuple[int, int, int]  # (domain id, lower model id, higher model id)


@cache
def code_version() -> str:
    """Return the engine version and, when known, the git commit it runs from."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{ENGINE_VERSION}+{commit}" if commit else ENGINE_VERSION


def refit_params() -> dict[str, object]:
    return {
        "interval": "sandwich",
        "level": 0.95,
        "ties": "half-win each way (tie and both_bad)",
        "centring": "mean over rated models",
        "reweight": False,
        "prior": 0.0,
        "min_votes": settings.ARENA_MIN_VOTES,
        "scale": "1000 + 400/ln(10) * theta",
        "elo_k": settings.ARENA_ELO_K,
        "blend": f"{settings.ARENA_BLEND_INPUT_WEIGHT:g}:{settings.ARENA_BLEND_OUTPUT_WEIGHT:g}",
    }


def _snapshot_isolation(outermost: bool) -> None:
    """Make every query of this transaction read one snapshot of the database.

    On PostgreSQL, a vote committed while the refit runs is then neither half-counted nor
    marked as tallied; a vote whose status changes meanwhile makes the refit fail with a
    serialization error, and the task retries it. SQLite's immediate transactions already
    hold the write lock from the start. (Inside a caller's transaction, such as a test's,
    the isolation is the caller's.)
    """
    if outermost and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def _grouped(votes: QuerySet[Vote]) -> Iterable[tuple[int, int, str, int]]:
    """(model_a, model_b, outcome, n) for the given votes."""
    fields = ["model_a_id", "model_b_id", "outcome"]
    return votes.values_list(*fields).annotate(n=Count("pk")).values_list(*fields, "n")


def _grouped_by_domain(votes: QuerySet[Vote]) -> Iterable[tuple[int, int, int, str, int]]:
    """(domain, model_a, model_b, outcome, n) for the given votes' domain labels."""
    fields = ["domain_id", "vote__model_a_id", "vote__model_b_id", "vote__outcome"]
    labels = VoteDomain.objects.filter(vote__in=votes)
    return labels.values_list(*fields).annotate(n=Count("pk")).values_list(*fields, "n")


# Which tally field a (model_a, model_b) outcome lands in, when model_a is the lower id and
# when it is the higher one (the pair is stored lower id first, so the winner's side flips).
_FIELD = {outcome: i for i, outcome in enumerate(TALLY_FIELDS)}
_FLIPPED = {**_FIELD, "model_a": _FIELD["model_b"], "model_b": _FIELD["model_a"]}


def _pending_deltas(
    pending: QuerySet[Vote], overall: list[int]
) -> tuple[dict[Key, list[int]], int, int]:
    """Return the tally changes the pending votes make, and how many votes enter and leave."""
    deltas: dict[Key, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    entering = pending.filter(excluded_reason="", in_tally=False)
    leaving = pending.filter(in_tally=True).exclude(excluded_reason="")
    for sign, votes in ((1, entering), (-1, leaving)):
        records = [(d, *row) for row in _grouped(votes) for d in overall]
        records += _grouped_by_domain(votes)
        for domain_id, a, b, outcome, n in records:
            if a == b:
                continue  # a self-battle says nothing about strength
            field = _FIELD[outcome] if a < b else _FLIPPED[outcome]
            deltas[(domain_id, min(a, b), max(a, b))][field] += sign * n
    return deltas, entering.count(), leaving.count()


TALLY_COLUMNS = ("domain_id", "model_lo_id", "model_hi_id", *TALLY_FIELDS.values())
UPSERT_BATCH = 5000


def _apply(deltas: dict[Key, list[int]]) -> None:
    """Add the deltas to the stored tallies in the database (insert or increment)."""
    rows = [(*key, *delta) for key, delta in deltas.items()]
    if not rows:
        return
    table = PairTally._meta.db_table
    upsert = "ON CONFLICT (domain_id, model_lo_id, model_hi_id) DO UPDATE SET " + ", ".join(
        f"{c} = {table}.{c} + excluded.{c}" for c in TALLY_FIELDS.values()
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # All rows in one statement, one array per column: executemany parsed and planned
            # the upsert once per row, thousands of times per refit under steady voting (the
            # keys are distinct, so no row is updated twice by the one statement).
            arrays = ", ".join(["%s::bigint[]"] * len(TALLY_COLUMNS))
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(TALLY_COLUMNS)}) "
                f"SELECT * FROM unnest({arrays}) {upsert}",
                [list(column) for column in zip(*rows, strict=True)],
            )
            return
        values = ", ".join(["%s"] * len(TALLY_COLUMNS))
        sql = f"INSERT INTO {table} ({', '.join(TALLY_COLUMNS)}) VALUES ({values}) {upsert}"
        for start in range(0, len(rows), UPSERT_BATCH):
            cursor.executemany(sql, rows[start : start + UPSERT_BATCH])


def _load_tallies() -> dict[int, np.ndarray]:
    """Every non-empty tally as an integer array per domain: lo, hi, lo_wins, hi_wins, draws."""
    table = PairTally._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT domain_id, model_lo_id, model_hi_id, lo_wins, hi_wins, ties + both_bad "
            f"FROM {table} WHERE lo_wins + hi_wins + ties + both_bad > 0"
        )
        rows = np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, 6)
    by_domain: dict[int, np.ndarray] = {}
    for domain_id in np.unique(rows[:, 0]):
        by_domain[int(domain_id)] = rows[rows[:, 0] == domain_id, 1:]
    return by_domain


def _frozen_pairs() -> dict[int, list[list[int]]]:
    """Every non-empty tally per domain, as the snapshot keeps it (see DomainFit.pairs)."""
    table = PairTally._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT domain_id, model_lo_id, model_hi_id, lo_wins, hi_wins, ties, both_bad "
            f"FROM {table} WHERE lo_wins + hi_wins + ties + both_bad > 0 "
            f"ORDER BY domain_id, model_lo_id, model_hi_id"
        )
        by_domain: dict[int, list[list[int]]] = defaultdict(list)
        for domain_id, *counts in cursor.fetchall():
            by_domain[domain_id].append(counts)
    return by_domain


def pair_counts(tallies: np.ndarray) -> maths.PairCounts:
    """Turn one domain's tallies (rows: lo, hi, lo_wins, hi_wins, draws) into count matrices,
    with model ids (as text) for names."""
    ids, positions = np.unique(tallies[:, :2], return_inverse=True)
    positions = positions.reshape(-1, 2)
    lo, hi = positions[:, 0], positions[:, 1]
    n = len(ids)
    wins = np.zeros((n, n))
    draws = np.zeros((n, n))
    wins[lo, hi] = tallies[:, 2]
    wins[hi, lo] = tallies[:, 3]
    draws[lo, hi] = tallies[:, 4]
    draws[hi, lo] = tallies[:, 4]
    return maths.PairCounts(tuple(str(i) for i in ids), wins, draws)


@dataclass
class _DomainResult:
    domain_id: int
    votes: int
    fitted: maths.Fit
    rows: list[maths.Row]


# Newly counted votes are read for the Elo pass this many at a time, so a first refit over
# millions of imported votes holds one chunk in memory, not all of them.
ELO_CHUNK = 50_000


def _elo(
    previous: RatingSnapshot | None, pending: QuerySet[Vote], overall: list[int]
) -> dict[int, dict[str, float]]:
    """Carry each domain's Elo forward from the previous snapshot over the newly counted votes,
    in the order they were stored."""
    ratings: dict[int, dict[str, float]] = defaultdict(dict)
    if previous is not None:
        for domain_id, model_id, elo in RatingRow.objects.filter(
            snapshot=previous, elo__isnull=False
        ).values_list("domain_id", "model_id", "elo"):
            ratings[domain_id][str(model_id)] = elo
    fresh = pending.filter(excluded_reason="", in_tally=False, first_snapshot_id__isnull=True)
    after = 0
    while True:
        chunk = list(
            fresh.filter(id__gt=after)
            .order_by("id")
            .values_list("id", "model_a_id", "model_b_id", "outcome")[:ELO_CHUNK]
        )
        if not chunk:
            break
        first, after = chunk[0][0], chunk[-1][0]
        # A range, not an IN list of the chunk's ids (SQLite caps query parameters).
        labels: dict[int, list[int]] = defaultdict(list)
        for vote_id, domain_id in VoteDomain.objects.filter(
            vote_id__gte=first, vote_id__lte=after
        ).values_list("vote_id", "domain_id"):
            labels[vote_id].append(domain_id)
        sequences: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
        for vote_id, a, b, outcome in chunk:
            for domain_id in overall + labels.get(vote_id, []):
                sequences[domain_id].append((str(a), str(b), outcome))
        for domain_id, votes in sequences.items():
            ratings[domain_id] = maths.elo(
                [v[0] for v in votes],
                [v[1] for v in votes],
                [v[2] for v in votes],
                k=settings.ARENA_ELO_K,
                initial=ratings[domain_id],
            )
    return ratings


def _tiers_of(models: dict[int, LanguageModel], tiers: list[CostTier]) -> dict[int, list[CostTier]]:
    """Each model's tiers by what the catalogue says now: at most one of each kind."""
    return {model_id: tiers_of(model, tiers) for model_id, model in models.items()}


def _fit_domains(tallies: dict[int, np.ndarray]) -> list[_DomainResult]:
    """Fit each domain's tallies: ratings, sandwich intervals and rank ranges."""
    results = []
    for domain_id, domain_tallies in tallies.items():
        counts = pair_counts(domain_tallies)
        if counts.n_models == 0:
            continue
        fitted, _intervals, rows = maths.leaderboard(
            counts, interval="sandwich", level=0.95, min_votes=settings.ARENA_MIN_VOTES
        )
        results.append(_DomainResult(domain_id, int(domain_tallies[:, 2:].sum()), fitted, rows))
    return results


def votes_pending() -> bool:
    """Whether a stored vote (or a vote's changed status) waits for the next refit."""
    return Vote.objects.filter(needs_tally=True).exists()


def refit(*, force: bool = False) -> tuple[RatingSnapshot, bool]:
    """Fold changed votes into the tallies, fit every domain, write a snapshot.

    Returns (snapshot, whether it is new). With no vote changed since the last snapshot it
    returns that snapshot (unless `force`), so running it twice writes one snapshot. Everything
    happens in one transaction: a refit that fails or is killed leaves no trace, and the last
    snapshot keeps serving.
    """
    started = time.monotonic()
    started_at = timezone.now()
    params = refit_params()
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        _snapshot_isolation(outermost)
        previous = RatingSnapshot.objects.order_by("-id").first()
        pending = Vote.objects.filter(needs_tally=True)
        if previous is not None and not force and not pending.exists():
            return previous, False
        overall = list(Domain.objects.filter(includes_all=True).values_list("id", flat=True))
        deltas, added, removed = _pending_deltas(pending, overall)
        elo = _elo(previous, pending, overall)
        _apply(deltas)
        tallies = _load_tallies()
        frozen_pairs = _frozen_pairs()
        last_vote_id = pending.filter(excluded_reason="").aggregate(m=Max("id"))["m"]
        if previous is not None and previous.last_vote_id is not None:
            last_vote_id = max(last_vote_id or 0, previous.last_vote_id)

        results = _fit_domains(tallies)
        counted = sum(r.votes for r in results if r.domain_id in overall[:1])
        excluded = dict(
            Vote.objects.filter(~Q(excluded_reason=""))
            .values_list("excluded_reason")
            .annotate(n=Count("pk"))
            .values_list("excluded_reason", "n")
        )
        snapshot = RatingSnapshot.objects.create(
            started_at=started_at,
            method=METHOD,
            params=params,
            code_version=code_version(),
            last_vote_id=last_vote_id,
            votes_counted=counted,
            votes_excluded=excluded,
            votes_added=added,
            votes_removed=removed,
            battles_failed=Battle.objects.filter(status=Battle.Status.FAILED).count(),
        )
        model_ids = {int(row.model) for r in results for row in r.rows}
        models = LanguageModel.objects.in_bulk(model_ids)
        tiers = _tiers_of(models, list(CostTier.objects.all()))
        DomainFit.objects.bulk_create(
            DomainFit(
                snapshot=snapshot,
                domain_id=r.domain_id,
                votes=r.votes,
                models_rated=sum(row.rated for row in r.rows),
                converged=r.fitted.converged,
                iterations=r.fitted.iterations,
                pairs=frozen_pairs.get(r.domain_id, []),
            )
            for r in results
        )
        rating_rows = [row for r in results for row in _rating_rows(snapshot, r, elo, models)]
        RatingRow.objects.bulk_create(rating_rows, batch_size=2000)
        by_key = {(row.domain_id, row.model_id): row for row in rating_rows}
        TierMembership.objects.bulk_create(
            (m for r in results for m in _memberships(r, by_key, tiers)), batch_size=2000
        )
        pending.filter(excluded_reason="").update(
            needs_tally=False,
            in_tally=True,
            first_snapshot_id=Coalesce("first_snapshot_id", Value(snapshot.pk)),
        )
        pending.exclude(excluded_reason="").update(needs_tally=False, in_tally=False)
        RatingSnapshot.objects.filter(pk=snapshot.pk).update(
            duration_ms=int((time.monotonic() - started) * 1000)
        )
        snapshot.refresh_from_db(fields=["duration_ms"])
        _fault_point()
        transaction.on_commit(lambda: broadcast_snapshot(snapshot.pk))
    logger.info(
        "snapshot %s: +%d -%d votes, %d ms", snapshot.pk, added, removed, snapshot.duration_ms
    )
    return snapshot, True


def _fault_point() -> None:
    """Pause inside the refit's transaction when asked (fault-injection tests kill it here)."""
    delay = settings.ARENA_REFIT_FAULT_PAUSE_SECONDS
    if delay:
        time.sleep(delay)


def _finite(value: float) -> float | None:
    return None if value != value or value in (float("inf"), float("-inf")) else float(value)


def _rating_rows(
    snapshot: RatingSnapshot,
    result: _DomainResult,
    elo: dict[int, dict[str, float]],
    models: dict[int, LanguageModel],
) -> list[RatingRow]:
    rows = result.rows
    domain_elo = elo.get(result.domain_id, {})
    built = []
    for row in rows:
        built.append(
            RatingRow(
                snapshot=snapshot,
                domain_id=result.domain_id,
                model_id=int(row.model),
                rating=_finite(row.rating),
                rating_lower=_finite(row.lower),
                rating_upper=_finite(row.upper),
                variance=_finite(row.variance),
                rank_ub=row.rank_ub or None,
                rank_lb=row.rank_lb or None,
                votes=row.votes,
                wins=row.wins,
                losses=row.losses,
                draws=row.draws,
                provisional=row.provisional,
                unrated_reason=row.unrated_reason,
                elo=domain_elo.get(row.model),
                blended_price=models[int(row.model)].blended_price,
            )
        )
    return built


def _memberships(
    result: _DomainResult,
    by_key: dict[tuple[int, int], RatingRow],
    tiers: dict[int, list[CostTier]],
) -> list[TierMembership]:
    """Each row's tiers, with its rank range re-ranked among the tier's models in the domain
    (on the domain fit's own ratings and intervals)."""
    members: dict[int, list[maths.Row]] = defaultdict(list)
    for row in result.rows:
        for tier in tiers.get(int(row.model), []):
            members[tier.pk].append(row)
    built = []
    for tier_id, rows in members.items():
        ranks = maths.rank_ranges_among(rows)
        for row in rows:
            rank_ub, rank_lb = ranks.get(row.model, (None, None))
            built.append(
                TierMembership(
                    row=by_key[(result.domain_id, int(row.model))],
                    tier_id=tier_id,
                    rank_ub=rank_ub,
                    rank_lb=rank_lb,
                )
            )
    return built


def broadcast_snapshot(snapshot_id: int) -> None:
    """Tell open leaderboard pages a snapshot is out; pages also poll, so a miss is harmless."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            GROUP, {"type": "snapshot.published", "snapshot": snapshot_id}
        )
    except Exception:
        logger.warning("could not broadcast snapshot %s", snapshot_id, exc_info=True)

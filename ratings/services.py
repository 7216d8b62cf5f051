"""Refit: turn the counted votes into a new immutable rating snapshot."""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import time
from collections import defaultdict
from functools import cache

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max

from arena.models import Domain, Vote, VoteDomain
from ratings import maths
from ratings.models import DomainFit, RatingRow, RatingSnapshot

logger = logging.getLogger(__name__)

METHOD = "bradley-terry"
# Bump when a change to ratings/maths.py can change published numbers.
ENGINE_VERSION = "bt-1"


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
    }


def _vote_state() -> dict[str, object]:
    state = Vote.objects.aggregate(last_id=Max("id"), changed=Max("status_changed_at"))
    excluded = dict(
        Vote.objects.exclude(excluded_reason="")
        .values_list("excluded_reason")
        .annotate(n=Count("id"))
        .values_list("excluded_reason", "n")
    )
    counted = Vote.objects.filter(excluded_reason="").count()
    return {
        "last_id": state["last_id"],
        "changed": state["changed"].isoformat() if state["changed"] else None,
        "counted": counted,
        "excluded": excluded,
    }


def _fingerprint(state: dict[str, object], params: dict[str, object]) -> str:
    payload = json.dumps(
        {"state": state, "params": params, "method": METHOD, "engine": ENGINE_VERSION},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _pair_counts(last_id: int | None) -> dict[int, list[tuple[str, str, str, int]]]:
    """Return (model_a, model_b, outcome, n) records per domain id, in two grouped queries."""
    records: dict[int, list[tuple[str, str, str, int]]] = defaultdict(list)
    if last_id is None:
        return records
    counted = Vote.objects.filter(excluded_reason="", id__lte=last_id)
    overall = [d.pk for d in Domain.objects.filter(includes_all=True)]
    for a, b, outcome, n in (
        counted.values_list("model_a_id", "model_b_id", "outcome")
        .annotate(n=Count("id"))
        .values_list("model_a_id", "model_b_id", "outcome", "n")
    ):
        for domain_id in overall:
            records[domain_id].append((str(a), str(b), outcome, n))
    for domain_id, a, b, outcome, n in (
        VoteDomain.objects.filter(vote__excluded_reason="", vote_id__lte=last_id)
        .values_list("domain_id", "vote__model_a_id", "vote__model_b_id", "vote__outcome")
        .annotate(n=Count("id"))
        .values_list("domain_id", "vote__model_a_id", "vote__model_b_id", "vote__outcome", "n")
    ):
        records[domain_id].append((str(a), str(b), outcome, n))
    return records


def refit() -> tuple[RatingSnapshot, bool]:
    """Fit every domain on the counted votes; return (snapshot, whether it is new).

    Safe to run twice and from two workers at once: unchanged input maps to the same
    fingerprint, whose unique key lets only one snapshot exist for it.
    """
    started = time.monotonic()
    params = refit_params()
    state = _vote_state()
    fingerprint = _fingerprint(state, params)
    existing = RatingSnapshot.objects.filter(fingerprint=fingerprint).first()
    if existing is not None:
        return existing, False

    fits = []
    for domain_id, records in _pair_counts(state["last_id"]).items():  # type: ignore[arg-type]
        counts = maths.PairCounts.from_records(records)
        fitted, _intervals, rows = maths.leaderboard(
            counts, interval="sandwich", level=0.95, min_votes=settings.ARENA_MIN_VOTES
        )
        votes = sum(n for a, b, _o, n in records if a != b)
        fits.append((domain_id, votes, fitted, rows))

    try:
        with transaction.atomic():
            snapshot = RatingSnapshot.objects.create(
                fingerprint=fingerprint,
                method=METHOD,
                params=params,
                code_version=code_version(),
                last_vote_id=state["last_id"],
                votes_counted=state["counted"],
                votes_excluded=state["excluded"],
                duration_ms=int((time.monotonic() - started) * 1000),
            )
            DomainFit.objects.bulk_create(
                DomainFit(
                    snapshot=snapshot,
                    domain_id=domain_id,
                    votes=votes,
                    models_rated=sum(row.rated for row in rows),
                    converged=fitted.converged,
                    iterations=fitted.iterations,
                )
                for domain_id, votes, fitted, rows in fits
            )
            RatingRow.objects.bulk_create(
                (
                    _rating_row(snapshot, domain_id, row)
                    for domain_id, _votes, _fitted, rows in fits
                    for row in rows
                ),
                batch_size=2000,
            )
    except IntegrityError:
        # Another worker wrote the snapshot for this very input while we computed.
        return RatingSnapshot.objects.get(fingerprint=fingerprint), False
    logger.info("snapshot %s written in %d ms", snapshot.pk, snapshot.duration_ms)
    return snapshot, True


def _finite(value: float) -> float | None:
    return None if value != value or value in (float("inf"), float("-inf")) else float(value)


def _rating_row(snapshot: RatingSnapshot, domain_id: int, row: maths.Row) -> RatingRow:
    return RatingRow(
        snapshot=snapshot,
        domain_id=domain_id,
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
    )

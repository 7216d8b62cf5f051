"""The one read path behind every published number: pages, API and CSV all call these."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from django.core.cache import cache
from django.db.models import Q

from arena.models import CostTier, Domain, LanguageModel
from ratings.models import DomainFit, PairTally, RatingRow, RatingSnapshot

T = TypeVar("T")


class NotFound(Exception):
    pass


@dataclass(frozen=True)
class Entry:
    model: str
    display_name: str
    organisation: str
    rating: float | None
    rating_lower: float | None
    rating_upper: float | None
    variance: float | None
    rank_ub: int | None
    rank_lb: int | None
    votes: int
    wins: float
    losses: float
    draws: float
    provisional: bool
    unrated_reason: str
    open_weights: bool | None
    blended_price: Decimal | None
    status: str
    elo: float | None = None
    tier: str | None = None

    @property
    def win_rate(self) -> float | None:
        """Share of decided-or-drawn votes won, draws counting half."""
        return (self.wins + 0.5 * self.draws) / self.votes if self.votes else None

    @property
    def interval_half_width(self) -> float | None:
        if self.rating_lower is None or self.rating_upper is None:
            return None
        return (self.rating_upper - self.rating_lower) / 2


@dataclass(frozen=True)
class Leaderboard:
    snapshot: RatingSnapshot | None
    domain: Domain
    domains: list[Domain]
    fit: DomainFit | None
    entries: list[Entry]
    tier: CostTier | None = None
    tiers: list[CostTier] = field(default_factory=list)

    @property
    def tied_leaders(self) -> list[Entry]:
        """Every model whose rank range includes 1: the leaders the data cannot separate."""
        return [e for e in self.entries if e.rank_ub == 1]


def snapshot_get(snapshot_id: int | None = None) -> RatingSnapshot | None:
    """Return the named snapshot, or the newest one (None before the first refit)."""
    if snapshot_id is None:
        return RatingSnapshot.objects.order_by("-created_at", "-id").first()
    try:
        return RatingSnapshot.objects.get(pk=snapshot_id)
    except RatingSnapshot.DoesNotExist:
        raise NotFound(f"No snapshot {snapshot_id}.") from None


logger = logging.getLogger(__name__)

# Snapshots never change, so a table read for one is cached; catalogue edits (names, prices)
# show up when the entry expires or a new snapshot is published.
CACHE_SECONDS = 600


def _cached(key: str, compute: Callable[[], T]) -> T:
    # The cache only saves work: with Redis down, compute from the database and say so once
    # per read rather than fail the page.
    try:
        value = cache.get(key)
    except Exception as exc:
        logger.warning("cache unreachable, reading %s from the database (%s)", key[:80], exc)
        return compute()
    if value is None:
        value = compute()
        try:
            cache.set(key, value, CACHE_SECONDS)
        except Exception as exc:
            logger.warning("cache unreachable, %s not cached (%s)", key[:80], exc)
    return value


def _newest_if_none(snapshot_id: int | None) -> int | None:
    """The given snapshot id, or the newest snapshot's (None before the first refit)."""
    if snapshot_id is not None:
        return snapshot_id
    latest = snapshot_get()
    return latest.pk if latest else None


def leaderboard_get(
    *, domain_slug: str = "overall", snapshot_id: int | None = None, tier_slug: str | None = None
) -> Leaderboard:
    """Return one domain's table in one snapshot (see `_leaderboard`), from cache when possible."""
    snapshot_id = _newest_if_none(snapshot_id)
    if snapshot_id is None:
        return _leaderboard(domain_slug, None, tier_slug)
    return _cached(
        f"leaderboard:{snapshot_id}:{domain_slug}:{tier_slug or ''}",
        lambda: _leaderboard(domain_slug, snapshot_id, tier_slug),
    )


def _leaderboard(domain_slug: str, snapshot_id: int | None, tier_slug: str | None) -> Leaderboard:
    """Return one domain's table in one snapshot, best rating first, unrated models last.

    With a tier, only the models that were in that price tier when the snapshot was taken,
    ranked among themselves (same ratings and intervals as the domain's fit).
    """
    domains = list(Domain.objects.all())
    domain = next((d for d in domains if d.slug == domain_slug), None)
    if domain is None:
        raise NotFound(f"No domain {domain_slug!r}.")
    tiers = list(CostTier.objects.all())
    tier = None
    if tier_slug:
        tier = next((t for t in tiers if t.slug == tier_slug), None)
        if tier is None:
            raise NotFound(f"No cost tier {tier_slug!r}.")
    snapshot = snapshot_get(snapshot_id) if snapshot_id is not None else None
    if snapshot is None:
        return Leaderboard(None, domain, domains, None, [], tier, tiers)
    fit = DomainFit.objects.filter(snapshot=snapshot, domain=domain).first()
    rows = RatingRow.objects.filter(snapshot=snapshot, domain=domain).select_related(
        "model", "model__organisation"
    )
    if tier is not None:
        rows = rows.filter(tier=tier)
    tier_slugs = {t.pk: t.slug for t in tiers}
    entries = [
        Entry(
            model=row.model.slug,
            display_name=row.model.display_name,
            organisation=row.model.organisation.name if row.model.organisation else "",
            rating=row.rating,
            rating_lower=row.rating_lower,
            rating_upper=row.rating_upper,
            variance=row.variance,
            rank_ub=row.tier_rank_ub if tier else row.rank_ub,
            rank_lb=row.tier_rank_lb if tier else row.rank_lb,
            votes=row.votes,
            wins=row.wins,
            losses=row.losses,
            draws=row.draws,
            provisional=row.provisional,
            unrated_reason=row.unrated_reason,
            open_weights=row.model.open_weights,
            blended_price=row.model.blended_price,
            status=row.model.status,
            elo=row.elo,
            tier=tier_slugs.get(row.tier_id),
        )
        for row in rows
    ]
    # Rated models by rating, the unrated after them.
    entries.sort(key=lambda e: (e.rating is None, -(e.rating or 0.0), e.model))
    return Leaderboard(snapshot, domain, domains, fit, entries, tier, tiers)


@dataclass(frozen=True)
class Leader:
    model: str
    display_name: str
    rating: float
    rating_lower: float
    rating_upper: float
    provisional: bool


@dataclass(frozen=True)
class OverviewCell:
    domain: Domain
    tier: CostTier | None
    leaders: list[Leader]
    rated: int


@dataclass(frozen=True)
class Overview:
    snapshot: RatingSnapshot | None
    domains: list[Domain]
    tiers: list[CostTier]
    rows: list[list[OverviewCell]]  # one row per domain: all prices, then each tier


def overview_get(snapshot_id: int | None = None) -> Overview:
    """The domains x price tiers matrix, from cache when possible (see `_overview`)."""
    snapshot_id = _newest_if_none(snapshot_id)
    if snapshot_id is None:
        return _overview(None)
    return _cached(f"overview:{snapshot_id}", lambda: _overview(snapshot_id))


def _overview(snapshot_id: int | None) -> Overview:
    """The domains x price tiers matrix: in each cell, every model whose rank range includes 1."""
    domains = list(Domain.objects.all())
    tiers = list(CostTier.objects.all())
    snapshot = snapshot_get(snapshot_id) if snapshot_id is not None else None
    if snapshot is None:
        return Overview(None, domains, tiers, [])
    leaders: dict[tuple[int, int | None], list[Leader]] = {}
    rated: dict[tuple[int, int | None], int] = {}
    for row in (
        RatingRow.objects.filter(snapshot=snapshot, rating__isnull=False)
        .select_related("model")
        .order_by("-rating")
    ):
        leader = Leader(
            row.model.slug,
            row.model.display_name,
            row.rating,
            row.rating_lower,
            row.rating_upper,
            row.provisional,
        )
        keys = [(row.domain_id, None)] + ([(row.domain_id, row.tier_id)] if row.tier_id else [])
        for key in keys:
            rated[key] = rated.get(key, 0) + 1
        if row.rank_ub == 1:
            leaders.setdefault((row.domain_id, None), []).append(leader)
        if row.tier_id and row.tier_rank_ub == 1:
            leaders.setdefault((row.domain_id, row.tier_id), []).append(leader)
    rows = []
    for domain in domains:
        if not rated.get((domain.pk, None)):
            continue
        rows.append(
            [
                OverviewCell(
                    domain,
                    tier,
                    leaders.get((domain.pk, tier.pk if tier else None), []),
                    rated.get((domain.pk, tier.pk if tier else None), 0),
                )
                for tier in [None, *tiers]
            ]
        )
    return Overview(snapshot, domains, tiers, rows)


@dataclass(frozen=True)
class Standing:
    domain: Domain
    rating: float | None
    rating_lower: float | None
    rating_upper: float | None
    rank_ub: int | None
    rank_lb: int | None
    votes: int
    tier: CostTier | None
    tier_rank_ub: int | None
    tier_rank_lb: int | None
    provisional: bool
    unrated_reason: str


@dataclass(frozen=True)
class HeadToHead:
    opponent: str
    opponent_name: str
    wins: int
    losses: int
    draws: int

    @property
    def votes(self) -> int:
        return self.wins + self.losses + self.draws

    @property
    def win_rate(self) -> float:
        return (self.wins + 0.5 * self.draws) / self.votes if self.votes else 0.0


@dataclass(frozen=True)
class HistoryPoint:
    snapshot_id: int
    created_at: object
    rating: float | None
    rating_lower: float | None
    rating_upper: float | None
    votes: int


@dataclass(frozen=True)
class ModelProfile:
    model: LanguageModel
    snapshot: RatingSnapshot | None
    standings: list[Standing]
    head_to_head: list[HeadToHead]
    history: list[HistoryPoint]


def model_profile_get(slug: str, *, snapshot_id: int | None = None) -> ModelProfile:
    """A model's standing in every domain and tier, its record against each opponent (overall,
    as currently counted) and its overall rating in every snapshot so far."""
    model = LanguageModel.objects.select_related("organisation").filter(slug=slug).first()
    if model is None:
        raise NotFound(f"No model {slug!r}.")
    snapshot = snapshot_get(snapshot_id)
    standings: list[Standing] = []
    if snapshot is not None:
        standings = [
            Standing(
                row.domain,
                row.rating,
                row.rating_lower,
                row.rating_upper,
                row.rank_ub,
                row.rank_lb,
                row.votes,
                row.tier,
                row.tier_rank_ub,
                row.tier_rank_lb,
                row.provisional,
                row.unrated_reason,
            )
            for row in RatingRow.objects.filter(snapshot=snapshot, model=model)
            .select_related("domain", "tier")
            .order_by("domain__position", "domain__slug")
        ]
    overall = Domain.objects.filter(includes_all=True).first()
    records = []
    if overall is not None:
        for tally in (
            PairTally.objects.filter(domain=overall)
            .filter(Q(model_lo=model) | Q(model_hi=model))
            .select_related("model_lo", "model_hi")
        ):
            mine_lo = tally.model_lo_id == model.pk
            opponent = tally.model_hi if mine_lo else tally.model_lo
            records.append(
                HeadToHead(
                    opponent.slug,
                    opponent.display_name,
                    tally.lo_wins if mine_lo else tally.hi_wins,
                    tally.hi_wins if mine_lo else tally.lo_wins,
                    tally.ties + tally.both_bad,
                )
            )
    records.sort(key=lambda r: (-r.votes, r.opponent))
    history = [
        HistoryPoint(
            row.snapshot_id,
            row.snapshot.created_at,
            row.rating,
            row.rating_lower,
            row.rating_upper,
            row.votes,
        )
        for row in RatingRow.objects.filter(model=model, domain__includes_all=True)
        .select_related("snapshot")
        .order_by("snapshot_id")
    ]
    return ModelProfile(model, snapshot, standings, records, history)


def snapshots_list(*, limit: int = 100) -> list[RatingSnapshot]:
    """The newest snapshots, newest first."""
    return list(RatingSnapshot.objects.order_by("-id")[:limit])

"""The one read path behind every published number: pages, API and CSV all call these."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from django.core.cache import cache
from django.db.models import F, Prefetch

from arena.models import CostTier, Domain, LanguageModel
from ratings.models import DomainFit, RatingRow, RatingSnapshot, TierMembership

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
    # The slugs of the tiers the model was in when the snapshot was taken (see `tier_groups`).
    tiers: tuple[str, ...] = ()
    price_tier: str | None = None

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
class TierGroup:
    """The tiers of one kind (price bands, open weights, size classes), in display order."""

    kind: str
    tiers: list[CostTier]


def tier_groups(tiers: list[CostTier]) -> list[TierGroup]:
    """Group tiers by kind: price bands first, then open weights, then size classes."""
    ordered = sorted(tiers, key=lambda t: t.sort_key)
    return [
        TierGroup(kind, [t for t in ordered if t.kind == kind])
        for kind in CostTier.Kind
        if any(t.kind == kind for t in ordered)
    ]


def _tiers() -> list[CostTier]:
    return sorted(CostTier.objects.all(), key=lambda t: t.sort_key)


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

    @property
    def tier_groups(self) -> list[TierGroup]:
        return tier_groups(self.tiers)

    @property
    def rows(self) -> list[tuple[Entry, IntervalBar | None]]:
        """Each entry with its 95% interval as a bar on one axis shared by the whole table."""
        bounds = [
            (e.rating_lower, e.rating_upper)
            for e in self.entries
            if e.rating_lower is not None and e.rating_upper is not None
        ]
        if not bounds:
            return [(e, None) for e in self.entries]
        low = min(lo for lo, _ in bounds)
        span = (max(hi for _, hi in bounds) - low) or 1.0

        def at(value: float) -> float:
            return round(100 * (value - low) / span, 2)

        def bar(e: Entry) -> IntervalBar | None:
            if e.rating is None or e.rating_lower is None or e.rating_upper is None:
                return None
            left = at(e.rating_lower)
            return IntervalBar(left, at(e.rating_upper) - left, at(e.rating))

        return [(e, bar(e)) for e in self.entries]


@dataclass(frozen=True)
class IntervalBar:
    """Where an interval sits on the table's axis, in percent of its width."""

    left: float
    width: float
    point: float


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


_SLUG = re.compile(r"[-a-zA-Z0-9_]+")


def _known_shape(domain_slug: str, tier_slug: str | None) -> None:
    """Refuse what cannot be a domain or tier slug before it reaches a cache key."""
    if not _SLUG.fullmatch(domain_slug):
        raise NotFound(f"No domain {domain_slug[:60]!r}.")
    if tier_slug is not None and not _SLUG.fullmatch(tier_slug):
        raise NotFound(f"No tier {tier_slug[:60]!r}.")


def leaderboard_get(
    *, domain_slug: str = "overall", snapshot_id: int | None = None, tier_slug: str | None = None
) -> Leaderboard:
    """Return one domain's table in one snapshot (see `_leaderboard`), from cache when possible."""
    _known_shape(domain_slug, tier_slug)
    snapshot_id = _newest_if_none(snapshot_id)
    if snapshot_id is None:
        return _leaderboard(domain_slug, None, tier_slug)
    return _cached(
        f"leaderboard:{snapshot_id}:{domain_slug}:{tier_slug or ''}",
        lambda: _leaderboard(domain_slug, snapshot_id, tier_slug),
    )


def _leaderboard(domain_slug: str, snapshot_id: int | None, tier_slug: str | None) -> Leaderboard:
    """Return one domain's table in one snapshot, best rating first, unrated models last.

    With a tier, only the models that were in that tier when the snapshot was taken (price
    band, open weights or size class), ranked among themselves (same ratings and intervals as
    the domain's fit).
    """
    domains = list(Domain.objects.all())
    domain = next((d for d in domains if d.slug == domain_slug), None)
    if domain is None:
        raise NotFound(f"No domain {domain_slug!r}.")
    tiers = _tiers()
    tier = None
    if tier_slug:
        tier = next((t for t in tiers if t.slug == tier_slug), None)
        if tier is None:
            known = ", ".join(t.slug for t in tiers)
            raise NotFound(f"No tier {tier_slug!r}; the tiers are: {known}.")
    snapshot = snapshot_get(snapshot_id) if snapshot_id is not None else None
    if snapshot is None:
        return Leaderboard(None, domain, domains, None, [], tier, tiers)
    # The pair counts are read by matrix_get alone; the table's cache need not carry them.
    fit = DomainFit.objects.filter(snapshot=snapshot, domain=domain).defer("pairs").first()
    rows = RatingRow.objects.filter(snapshot=snapshot, domain=domain).select_related(
        "model", "model__organisation"
    )
    if tier is not None:
        rows = rows.filter(memberships__tier=tier).annotate(
            tier_rank_ub=F("memberships__rank_ub"), tier_rank_lb=F("memberships__rank_lb")
        )
    member_of = _row_tiers(snapshot, domain, tiers)
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
            blended_price=row.blended_price,
            status=row.model.status,
            elo=row.elo,
            tiers=tuple(t.slug for t in member_of.get(row.pk, [])),
            price_tier=next(
                (t.slug for t in member_of.get(row.pk, []) if t.kind == CostTier.Kind.PRICE), None
            ),
        )
        for row in rows
    ]
    # Rated models by rating, the unrated after them.
    entries.sort(key=lambda e: (e.rating is None, -(e.rating or 0.0), e.model))
    return Leaderboard(snapshot, domain, domains, fit, entries, tier, tiers)


def _row_tiers(
    snapshot: RatingSnapshot, domain: Domain, tiers: list[CostTier]
) -> dict[int, list[CostTier]]:
    """The tiers of every row of one domain in one snapshot, by row id, in display order."""
    by_id = {t.pk: t for t in tiers}
    member_of: dict[int, list[CostTier]] = {}
    for row_id, tier_id in TierMembership.objects.filter(
        row__snapshot=snapshot, row__domain=domain
    ).values_list("row_id", "tier_id"):
        member_of.setdefault(row_id, []).append(by_id[tier_id])
    for row_tiers in member_of.values():
        row_tiers.sort(key=lambda t: t.sort_key)
    return member_of


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
    tiers: list[CostTier]  # grouped by kind (see `tier_groups`)
    rows: list[list[OverviewCell]]  # one row per domain: all models, then each tier

    @property
    def tier_groups(self) -> list[TierGroup]:
        return tier_groups(self.tiers)


def overview_get(snapshot_id: int | None = None) -> Overview:
    """The domains x tiers matrix, from cache when possible (see `_overview`)."""
    snapshot_id = _newest_if_none(snapshot_id)
    if snapshot_id is None:
        return _overview(None)
    return _cached(f"overview:{snapshot_id}", lambda: _overview(snapshot_id))


def _overview(snapshot_id: int | None) -> Overview:
    """The domains x tiers matrix: in each cell, every model whose rank range includes 1.

    A model counts in a tier's column if it was in that tier when the snapshot was taken.
    """
    domains = list(Domain.objects.all())
    tiers = _tiers()
    snapshot = snapshot_get(snapshot_id) if snapshot_id is not None else None
    if snapshot is None:
        return Overview(None, domains, tiers, [])
    leaders: dict[tuple[int, int | None], list[Leader]] = {}
    rated: dict[tuple[int, int | None], int] = {}
    memberships: dict[int, list[tuple[int, int | None]]] = {}
    for row_id, tier_id, rank_ub in TierMembership.objects.filter(
        row__snapshot=snapshot, row__rating__isnull=False
    ).values_list("row_id", "tier_id", "rank_ub"):
        memberships.setdefault(row_id, []).append((tier_id, rank_ub))
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
        ranks = [(None, row.rank_ub), *memberships.get(row.pk, [])]
        for tier_id, rank_ub in ranks:
            key = (row.domain_id, tier_id)
            rated[key] = rated.get(key, 0) + 1
            if rank_ub == 1:
                leaders.setdefault(key, []).append(leader)
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
class TierStanding:
    tier: CostTier
    rank_ub: int | None
    rank_lb: int | None


def _standings_by_kind(row: RatingRow) -> list[TierStanding | None]:
    """A row's tier and rank range there for each kind of tier, None where it was in none."""
    by_kind = {
        m.tier.kind: TierStanding(m.tier, m.rank_ub, m.rank_lb) for m in row.memberships.all()
    }
    return [by_kind.get(kind) for kind in CostTier.Kind]


@dataclass(frozen=True)
class Standing:
    domain: Domain
    rating: float | None
    rating_lower: float | None
    rating_upper: float | None
    rank_ub: int | None
    rank_lb: int | None
    votes: int
    # One per tier kind (price band, open weights, size class): None where it was in none.
    tiers: list[TierStanding | None]
    provisional: bool
    unrated_reason: str


@dataclass(frozen=True)
class HeadToHead:
    opponent: str
    opponent_name: str
    wins: int
    losses: int
    draws: int  # ties + both_bad
    ties: int = 0
    both_bad: int = 0

    @property
    def votes(self) -> int:
        return self.wins + self.losses + self.draws

    @property
    def win_rate(self) -> float:
        return (self.wins + 0.5 * self.draws) / self.votes if self.votes else 0.0


@dataclass(frozen=True)
class HistoryPoint:
    snapshot_id: int
    created_at: datetime
    rating: float | None
    rating_lower: float | None
    rating_upper: float | None
    votes: int

    @classmethod
    def of(cls, row: RatingRow) -> HistoryPoint:
        """A model's overall row in one snapshot (its `snapshot` loaded with it)."""
        return cls(
            row.snapshot_id,
            row.snapshot.created_at,
            row.rating,
            row.rating_lower,
            row.rating_upper,
            row.votes,
        )

    def as_json(self) -> dict[str, object]:
        """The form every API that publishes a rating history uses."""
        return {
            "snapshot": self.snapshot_id,
            "created_at": self.created_at.isoformat(),
            "rating": self.rating,
            "rating_lower": self.rating_lower,
            "rating_upper": self.rating_upper,
            "votes": self.votes,
        }


@dataclass(frozen=True)
class ModelProfile:
    model: LanguageModel
    snapshot: RatingSnapshot | None
    standings: list[Standing]
    head_to_head: list[HeadToHead]
    history: list[HistoryPoint]
    # False for a snapshot published before pair counts were kept with snapshots.
    head_to_head_recorded: bool = True


def model_profile_get(slug: str, *, snapshot_id: int | None = None) -> ModelProfile:
    """A model's standing in every domain and tier, its record against each opponent (overall,
    as counted in the snapshot) and its overall rating in every snapshot up to that one."""
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
                _standings_by_kind(row),
                row.provisional,
                row.unrated_reason,
            )
            for row in RatingRow.objects.filter(snapshot=snapshot, model=model)
            .select_related("domain")
            .prefetch_related(
                Prefetch("memberships", TierMembership.objects.select_related("tier"))
            )
            .order_by("domain__position", "domain__slug")
        ]
    records = _head_to_head(snapshot, model) if snapshot is not None else []
    history = [
        HistoryPoint.of(row)
        for row in RatingRow.objects.filter(
            model=model,
            domain__includes_all=True,
            # Up to the snapshot shown, so that its permalink never changes.
            snapshot_id__lte=snapshot.pk if snapshot is not None else 0,
        )
        .select_related("snapshot")
        .order_by("snapshot_id")
    ]
    return ModelProfile(model, snapshot, standings, records or [], history, records is not None)


def _head_to_head(snapshot: RatingSnapshot, model: LanguageModel) -> list[HeadToHead] | None:
    """The model's record against each opponent in the overall domain, as the snapshot counted
    it (None if the snapshot predates stored pair counts), most battles first."""
    fit = DomainFit.objects.filter(snapshot=snapshot, domain__includes_all=True).first()
    if fit is None:
        return []
    if fit.pairs is None:
        return None
    mine = [p for p in fit.pairs if model.pk in (p[0], p[1])]
    opponents = LanguageModel.objects.in_bulk({p[1] if p[0] == model.pk else p[0] for p in mine})
    records = []
    for lo, hi, lo_wins, hi_wins, ties, both_bad in mine:
        mine_lo = lo == model.pk
        opponent = opponents[hi if mine_lo else lo]
        records.append(
            HeadToHead(
                opponent.slug,
                opponent.display_name,
                lo_wins if mine_lo else hi_wins,
                hi_wins if mine_lo else lo_wins,
                ties + both_bad,
                ties,
                both_bad,
            )
        )
    records.sort(key=lambda r: (-r.votes, r.opponent))
    return records


@dataclass(frozen=True)
class PairMatrix:
    """Who beat whom among one domain's (and tier's) models in one snapshot.

    `models` are the leaderboard's entries in its order (best rating first); `wins[i][j]` is
    the number of counted votes model i won against model j, `ties` and `both_bad` are
    symmetric.
    """

    snapshot: RatingSnapshot | None
    domain: Domain
    tier: CostTier | None
    models: list[Entry]
    wins: list[list[int]]
    ties: list[list[int]]
    both_bad: list[list[int]]
    domains: list[Domain] = field(default_factory=list)
    tiers: list[CostTier] = field(default_factory=list)

    @property
    def battles(self) -> list[list[int]]:
        n = len(self.models)
        return [
            [
                self.wins[i][j] + self.wins[j][i] + self.ties[i][j] + self.both_bad[i][j]
                for j in range(n)
            ]
            for i in range(n)
        ]

    @property
    def win_rate(self) -> list[list[float | None]]:
        """Row over column: (wins + half the ties and both-bad votes) / battles; None if none."""
        return [
            [
                (self.wins[i][j] + 0.5 * (self.ties[i][j] + self.both_bad[i][j])) / n if n else None
                for j, n in enumerate(row)
            ]
            for i, row in enumerate(self.battles)
        ]

    @property
    def rows(self) -> list[tuple[Entry, list[tuple[Entry, int, float | None]]]]:
        """Each model with (opponent, battles, win rate) per column, for tables."""
        battles, rates = self.battles, self.win_rate
        return [
            (
                row,
                [(column, battles[i][j], rates[i][j]) for j, column in enumerate(self.models)],
            )
            for i, row in enumerate(self.models)
        ]


def matrix_get(
    *, domain_slug: str = "overall", tier_slug: str | None = None, snapshot_id: int | None = None
) -> PairMatrix:
    """The win-rate and battle-count matrix of a domain (and tier) in a snapshot, cached.

    The models and their order are exactly the leaderboard's (`leaderboard_get`), so a tier
    restricts the matrix to the models the tier's table shows.
    """
    _known_shape(domain_slug, tier_slug)
    snapshot_id = _newest_if_none(snapshot_id)
    if snapshot_id is None:
        board = leaderboard_get(domain_slug=domain_slug, tier_slug=tier_slug)
        return PairMatrix(
            None, board.domain, board.tier, [], [], [], [], board.domains, board.tiers
        )
    return _cached(
        f"matrix:{snapshot_id}:{domain_slug}:{tier_slug or ''}",
        lambda: _matrix(domain_slug, snapshot_id, tier_slug),
    )


def _matrix(domain_slug: str, snapshot_id: int, tier_slug: str | None) -> PairMatrix:
    board = leaderboard_get(domain_slug=domain_slug, snapshot_id=snapshot_id, tier_slug=tier_slug)
    pairs: list[list[int]] | None = []
    if board.fit is not None:
        pairs = DomainFit.objects.values_list("pairs", flat=True).get(pk=board.fit.pk)
    if pairs is None:
        raise NotFound(
            f"Snapshot {snapshot_id} was published before pair counts were kept with snapshots; "
            f"a later snapshot has them."
        )
    models = board.entries
    ids = dict(
        LanguageModel.objects.filter(slug__in=[e.model for e in models]).values_list("slug", "id")
    )
    position = {ids[e.model]: i for i, e in enumerate(models)}
    n = len(models)
    wins = [[0] * n for _ in range(n)]
    ties = [[0] * n for _ in range(n)]
    both_bad = [[0] * n for _ in range(n)]
    for lo, hi, lo_wins, hi_wins, tie, bad in pairs:
        i, j = position.get(lo), position.get(hi)
        if i is None or j is None:
            continue  # outside the tier
        wins[i][j], wins[j][i] = lo_wins, hi_wins
        ties[i][j] = ties[j][i] = tie
        both_bad[i][j] = both_bad[j][i] = bad
    return PairMatrix(
        board.snapshot,
        board.domain,
        board.tier,
        models,
        wins,
        ties,
        both_bad,
        board.domains,
        board.tiers,
    )


def snapshots_list(*, limit: int = 100) -> list[RatingSnapshot]:
    """The newest snapshots, newest first."""
    return list(RatingSnapshot.objects.order_by("-id")[:limit])

"""The one read path behind every published number: pages, API and CSV all call these."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from arena.models import Domain
from ratings.models import DomainFit, RatingRow, RatingSnapshot

# Blended price: input and output list prices weighted 3:1, per 1M tokens.
BLEND_INPUT_WEIGHT = Decimal(3)
BLEND_OUTPUT_WEIGHT = Decimal(1)


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


def _blended(input_price: Decimal | None, output_price: Decimal | None) -> Decimal | None:
    if input_price is None or output_price is None:
        return None
    total = BLEND_INPUT_WEIGHT * input_price + BLEND_OUTPUT_WEIGHT * output_price
    return (total / (BLEND_INPUT_WEIGHT + BLEND_OUTPUT_WEIGHT)).quantize(Decimal("0.0001"))


def leaderboard_get(*, domain_slug: str = "overall", snapshot_id: int | None = None) -> Leaderboard:
    """Return one domain's table in one snapshot, best rating first, unrated models last."""
    domains = list(Domain.objects.all())
    domain = next((d for d in domains if d.slug == domain_slug), None)
    if domain is None:
        raise NotFound(f"No domain {domain_slug!r}.")
    snapshot = snapshot_get(snapshot_id)
    if snapshot is None:
        return Leaderboard(None, domain, domains, None, [])
    fit = DomainFit.objects.filter(snapshot=snapshot, domain=domain).first()
    rows = (
        RatingRow.objects.filter(snapshot=snapshot, domain=domain)
        .select_related("model", "model__organisation")
    )
    entries = [
        Entry(
            model=row.model.slug,
            display_name=row.model.display_name,
            organisation=row.model.organisation.name if row.model.organisation else "",
            rating=row.rating,
            rating_lower=row.rating_lower,
            rating_upper=row.rating_upper,
            variance=row.variance,
            rank_ub=row.rank_ub,
            rank_lb=row.rank_lb,
            votes=row.votes,
            wins=row.wins,
            losses=row.losses,
            draws=row.draws,
            provisional=row.provisional,
            unrated_reason=row.unrated_reason,
            open_weights=row.model.open_weights,
            blended_price=_blended(row.model.input_price_per_mtok, row.model.output_price_per_mtok),
            status=row.model.status,
        )
        for row in rows
    ]
    # Rated models by rating, the unrated after them.
    entries.sort(key=lambda e: (e.rating is None, -(e.rating or 0.0), e.model))
    return Leaderboard(snapshot, domain, domains, fit, entries)

"""What the transparency page, its JSON API and any export publish: one read path for all."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from arena.models import Battle, LanguageModel, Vote
from integrity.models import VoterFlag
from ratings.models import RatingRow, RatingSnapshot
from ratings.selectors import HistoryPoint, NotFound, snapshot_get

# Retired and pre-release models stay published with their whole history.
LIFECYCLE_STATUSES = (LanguageModel.Status.RETIRED, LanguageModel.Status.PRE_RELEASE)


# The exclusion reasons in the reader's language (arena's labels are for operators).
REASON_LABELS = {
    "self_battle": _("Same model on both sides"),
    "failed_battle": _("A side failed to answer"),
    "identity_leak": _("An answer revealed a model's identity"),
    "duplicate_prompt": _("Duplicate prompt"),
    "rate_limit": _("Over the rate limit"),
    "anomalous_voter": _("Anomalous voter (quarantined)"),
    "operator": _("Excluded by an operator"),
}


@dataclass(frozen=True)
class Exclusion:
    reason: str
    label: str
    votes: int


@dataclass(frozen=True)
class Share:
    """How many of a day's battles a model (or any model of an organisation) was sampled into."""

    day: dt.date
    name: str
    battles: int
    day_battles: int

    @property
    def share(self) -> float:
        return self.battles / self.day_battles

    @property
    def percent(self) -> float:
        return 100 * self.share


@dataclass(frozen=True)
class SamplingTable:
    """Shares of the day's battle slots, one row per model or organisation, one column a day."""

    by: str
    days: list[dt.date]
    rows: list[tuple[str, list[Share | None]]]
    shares: list[Share]  # the same figures as a flat list (the API's form)


@dataclass(frozen=True)
class LifecycleModel:
    model: LanguageModel
    history: list[HistoryPoint]


@dataclass(frozen=True)
class FlagCounts:
    flagged: int  # voters
    released: int
    votes_quarantined: int  # by voter and network flags
    networks_flagged: int = 0
    networks_released: int = 0


@dataclass(frozen=True)
class Transparency:
    snapshot: RatingSnapshot | None
    exclusions: list[Exclusion]
    since: dt.date
    until: dt.date
    by_model: SamplingTable
    by_organisation: SamplingTable
    lifecycle: list[LifecycleModel]
    flags: FlagCounts

    @property
    def votes_excluded(self) -> int:
        return sum(e.votes for e in self.exclusions)


def exclusions_of(snapshot: RatingSnapshot | None) -> list[Exclusion]:
    """Votes excluded in a snapshot for every reason there is, zeros included."""
    counts = snapshot.votes_excluded if snapshot is not None else {}
    known = [
        Exclusion(str(value), str(REASON_LABELS.get(value, label)), int(counts.get(value, 0)))
        for value, label in Vote.ExcludedReason.choices
    ]
    # A reason recorded by an older code version stays visible under its own name.
    other = [
        Exclusion(k, k, int(v))
        for k, v in sorted(counts.items())
        if k not in Vote.ExcludedReason.values
    ]
    return known + other


def battle_shares(*, since: dt.date, until: dt.date, by: str = "model") -> list[Share]:
    """Per day, the share of all battles each model (or organisation) was sampled into.

    A battle between two models of one organisation counts once for it, so an organisation's
    share is at most 1; models' shares sum to 2 (every battle has two models). Computed from the
    Battle rows (every battle opened, voted on or not), in one query over (day, pair).
    """
    if by not in ("model", "organisation"):
        raise ValueError("by is 'model' or 'organisation'")
    pairs = list(
        Battle.objects.filter(created_at__date__gte=since, created_at__date__lte=until)
        .annotate(day=TruncDate("created_at"))
        .values_list("day", "model_a_id", "model_b_id")
        .annotate(n=Count("pk"))
        .values_list("day", "model_a_id", "model_b_id", "n")
    )
    models = LanguageModel.objects.select_related("organisation").in_bulk(
        {m for _, a, b, _ in pairs for m in (a, b)}
    )

    def name(model_id: int) -> str:
        model = models[model_id]
        if by == "model":
            return model.slug
        return model.organisation.name if model.organisation else "(unknown)"

    day_battles: dict[dt.date, int] = defaultdict(int)
    counts: dict[tuple[dt.date, str], int] = defaultdict(int)
    for day, a, b, n in pairs:
        day_battles[day] += n
        for label in {name(a), name(b)}:
            counts[(day, label)] += n
    return [
        Share(day, label, n, day_battles[day])
        for (day, label), n in sorted(counts.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1]))
    ]


def _table(shares: list[Share], by: str, days: list[dt.date]) -> SamplingTable:
    cells: dict[str, dict[dt.date, Share]] = defaultdict(dict)
    for share in shares:
        cells[share.name][share.day] = share
    totals = {name: sum(s.battles for s in row.values()) for name, row in cells.items()}
    names = sorted(cells, key=lambda name: (-totals[name], name))
    rows = [(name, [cells[name].get(day) for day in days]) for name in names]
    return SamplingTable(by, days, rows, shares)


def lifecycle_models() -> list[LifecycleModel]:
    """Retired and pre-release models, each with its overall rating in every snapshot."""
    models = list(
        LanguageModel.objects.filter(status__in=LIFECYCLE_STATUSES)
        .select_related("organisation")
        .order_by("status", "slug")
    )
    history: dict[int, list[HistoryPoint]] = defaultdict(list)
    for row in (
        RatingRow.objects.filter(model__in=models, domain__includes_all=True)
        .select_related("snapshot")
        .order_by("model_id", "snapshot_id")
    ):
        history[row.model_id].append(HistoryPoint.of(row))
    return [LifecycleModel(m, history.get(m.pk, [])) for m in models]


def flag_counts() -> FlagCounts:
    counts = {
        (scope, state): n
        for scope, state, n in VoterFlag.objects.values_list("scope", "state")
        .annotate(n=Count("pk"))
        .values_list("scope", "state", "n")
    }
    quarantined = Vote.objects.filter(excluded_reason=Vote.ExcludedReason.ANOMALOUS_VOTER).count()
    voter, network = VoterFlag.Scope.VOTER, VoterFlag.Scope.NETWORK
    flagged, released = VoterFlag.State.FLAGGED, VoterFlag.State.RELEASED
    return FlagCounts(
        counts.get((voter, flagged), 0),
        counts.get((voter, released), 0),
        quarantined,
        counts.get((network, flagged), 0),
        counts.get((network, released), 0),
    )


def transparency_get(
    *, snapshot_id: int | None = None, days: int = 14, today: dt.date | None = None
) -> Transparency:
    """Everything the transparency page shows: exclusions in a snapshot (the newest by
    default), sampling shares over the last `days` days, retired and pre-release models."""
    if days < 1:
        raise ValueError("days must be at least 1")
    snapshot = snapshot_get(snapshot_id)  # raises NotFound for an unknown id
    until = today or timezone.now().date()
    since = until - dt.timedelta(days=days - 1)
    day_list = [since + dt.timedelta(days=i) for i in range(days)]
    by_model = battle_shares(since=since, until=until, by="model")
    by_org = battle_shares(since=since, until=until, by="organisation")
    return Transparency(
        snapshot=snapshot,
        exclusions=exclusions_of(snapshot),
        since=since,
        until=until,
        by_model=_table(by_model, "model", day_list),
        by_organisation=_table(by_org, "organisation", day_list),
        lifecycle=lifecycle_models(),
        flags=flag_counts(),
    )


__all__ = ["NotFound", "Transparency", "transparency_get"]

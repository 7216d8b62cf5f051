"""Reads of the arena's own records that are published (sampling transparency)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count
from django.db.models.functions import TruncDate

from arena.models import Battle, LanguageModel


@dataclass(frozen=True)
class Share:
    day: dt.date
    name: str
    battles: int
    share: float  # of the day's battle slots (each battle has two)


def sampling_shares(*, since: dt.date, by: str = "model") -> list[Share]:
    """How often each model (or organisation) was sampled into a battle, per day."""
    if by not in ("model", "organisation"):
        raise ValueError("by is 'model' or 'organisation'")
    counts: dict[tuple[dt.date, int], int] = defaultdict(int)
    for side in ("model_a", "model_b"):
        for day, model_id, n in (
            Battle.objects.filter(created_at__date__gte=since)
            .annotate(day=TruncDate("created_at"))
            .values_list("day", side)
            .annotate(n=Count("pk"))
            .values_list("day", side, "n")
        ):
            counts[(day, model_id)] += n
    models = LanguageModel.objects.select_related("organisation").in_bulk({m for _, m in counts})
    grouped: dict[tuple[dt.date, str], int] = defaultdict(int)
    for (day, model_id), n in counts.items():
        model = models[model_id]
        if by == "model":
            name = model.slug
        else:
            name = model.organisation.name if model.organisation else "(unknown)"
        grouped[(day, name)] += n
    slots: dict[dt.date, int] = defaultdict(int)
    for (day, _), n in grouped.items():
        slots[day] += n
    return [
        Share(day, name, n, n / slots[day])
        for (day, name), n in sorted(grouped.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1]))
    ]

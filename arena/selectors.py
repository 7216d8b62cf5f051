"""Reads of the arena's own records: a battle as its voter's requests need it, and what is
published about sampling (transparency)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Model
from django.db.models.functions import TruncDate

from arena.models import Battle, Domain, LanguageModel, PoolPrompt
from config.db import prepared_cursor

# A battle with what its voter's requests read, and its domain labels, in one query; other
# fields are deferred (read from the database if used). On the vote's path, Django's
# select_related(...).only(...) for the same row cost 1 ms of CPU to compile, a quarter of the
# web process's time per vote; the row itself is a primary-key lookup.
_BATTLE_COLUMNS = (
    "id",
    "source",
    "status",
    "model_a_id",
    "model_b_id",
    "pool_prompt_id",
    "domain_hint_id",
    "voter_id",
    "identity_leak",
    "answered_at",
    "prompt_cluster",
)
_BATTLE_SQL = f"""
SELECT {", ".join(f'battle."{c}"' for c in _BATTLE_COLUMNS)},
       prompt.domain_id, prompt_domain.includes_all, hint.includes_all
FROM {Battle._meta.db_table} battle
LEFT JOIN {PoolPrompt._meta.db_table} prompt ON prompt.id = battle.pool_prompt_id
LEFT JOIN {Domain._meta.db_table} prompt_domain ON prompt_domain.id = prompt.domain_id
LEFT JOIN {Domain._meta.db_table} hint ON hint.id = battle.domain_hint_id
WHERE battle.id = %s
"""


def column_value(model: type[Model], name: str, value: object) -> object:
    """A value read by a hand-written query, as the model's field gives it to Django (an id or
    a time on SQLite, a boolean stored as an integer, a decimal stored as a float)."""
    field = model._meta.get_field(name)  # the attname of a foreign key finds it too
    for converter in field.get_db_converters(connection):
        value = converter(value, None, connection)
    for converter in connection.ops.get_db_converters(field.cached_col):
        value = converter(value, field.cached_col, connection)
    return value


def battle_get(battle_id: object) -> Battle | None:
    """The battle (or None), with its pool prompt's and hint's domains attached as Django's
    select_related would attach them (only the fields the labels need; others deferred)."""
    key = Battle._meta.pk.get_db_prep_value(battle_id, connection)
    with prepared_cursor() as cursor:
        cursor.execute(_BATTLE_SQL, [key])
        row = cursor.fetchone()
    if row is None:
        return None
    values = [
        column_value(Battle, name, value)
        for name, value in zip(_BATTLE_COLUMNS, row[: len(_BATTLE_COLUMNS)], strict=True)
    ]
    prompt_domain_id, prompt_domain_all, hint_all = row[len(_BATTLE_COLUMNS) :]
    prompt_domain_all = column_value(Domain, "includes_all", prompt_domain_all)
    hint_all = column_value(Domain, "includes_all", hint_all)
    battle = Battle.from_db(connection.alias, list(_BATTLE_COLUMNS), values)
    if battle.pool_prompt_id is not None:
        prompt = PoolPrompt.from_db(
            connection.alias, ["id", "domain_id"], [battle.pool_prompt_id, prompt_domain_id]
        )
        if prompt_domain_id is not None:
            prompt.domain = Domain.from_db(
                connection.alias, ["id", "includes_all"], [prompt_domain_id, prompt_domain_all]
            )
        battle.pool_prompt = prompt
    if battle.domain_hint_id is not None:
        battle.domain_hint = Domain.from_db(
            connection.alias, ["id", "includes_all"], [battle.domain_hint_id, hint_all]
        )
    return battle


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

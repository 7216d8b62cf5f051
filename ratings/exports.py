"""CSV rows for researchers, in LMArena's column names, streamed with flat memory."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from arena import csvcells
from arena.models import LanguageModel, Vote, VoteDomain
from ratings.selectors import Leaderboard

VOTE_COLUMNS = [
    "id",
    "seq",
    "model_a",
    "model_b",
    "winner",
    "domains",
    "counted",
    "excluded_reason",
    "voter_id",
    "dataset",
    "timestamp",
    "first_snapshot",
]
LEADERBOARD_COLUMNS = [
    "domain",
    "tier",
    "competitor",
    "display_name",
    "rating",
    "rating_lower",
    "rating_upper",
    "variance",
    "rank_ub",
    "rank_lb",
    "votes",
    "wins",
    "losses",
    "draws",
    "provisional",
    "unrated_reason",
    "elo",
    "snapshot",
    "tiers",
]
CHUNK = 5000


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(header: list[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([csvcells.escape(cell) for cell in row])


def vote_rows() -> Iterator[list[object]]:
    """Every vote, counted or excluded, oldest first, in chunks of CHUNK (three queries each)."""
    slugs = dict(LanguageModel.objects.values_list("id", "slug"))
    last_id = 0
    while True:
        chunk = list(
            Vote.objects.filter(id__gt=last_id)
            .order_by("id")
            .values_list(
                "id",
                "model_a_id",
                "model_b_id",
                "outcome",
                "excluded_reason",
                "voter_id",
                "dataset",
                "external_id",
                "battle_id",
                "created_at",
                "first_snapshot_id",
            )[:CHUNK]
        )
        if not chunk:
            return
        labels: dict[int, list[str]] = {}
        for vote_id, slug in (
            VoteDomain.objects.filter(vote_id__gte=chunk[0][0], vote_id__lte=chunk[-1][0])
            .order_by("vote_id", "domain__slug")
            .values_list("vote_id", "domain__slug")
        ):
            labels.setdefault(vote_id, []).append(slug)
        for pk, a, b, outcome, reason, voter, dataset, ext, battle, created, first in chunk:
            if a not in slugs or b not in slugs:  # a model registered while we streamed
                slugs = dict(LanguageModel.objects.values_list("id", "slug"))
            yield [
                ext or (str(battle) if battle else f"vote-{pk}"),
                pk,
                slugs[a],
                slugs[b],
                outcome,
                ";".join(labels.get(pk, [])),
                "false" if reason else "true",
                reason,
                voter,
                dataset,
                created.isoformat(),
                first or "",
            ]
        last_id = chunk[-1][0]


def _number(value: float | None, digits: int = 4) -> object:
    return "" if value is None else round(value, digits)


def leaderboard_rows(board: Leaderboard) -> Iterator[list[object]]:
    for e in board.entries:
        yield [
            board.domain.slug,
            board.tier.slug if board.tier else "",
            e.model,
            e.display_name,
            _number(e.rating),
            _number(e.rating_lower),
            _number(e.rating_upper),
            _number(e.variance),
            e.rank_ub or "",
            e.rank_lb or "",
            e.votes,
            _number(e.wins, 1),
            _number(e.losses, 1),
            _number(e.draws, 1),
            "true" if e.provisional else "false",
            e.unrated_reason,
            _number(e.elo, 2),
            board.snapshot.pk if board.snapshot else "",
            ";".join(e.tiers),
        ]

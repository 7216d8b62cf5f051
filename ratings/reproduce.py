"""Recompute a leaderboard from an exported votes CSV alone, as a researcher would.

Reads the columns of `/export/votes.csv` (`model_a`, `model_b`, `winner`, `counted`, `domains`,
`first_snapshot`), keeps the votes a snapshot counted (first counted by it or an earlier one, and
still counted) and fits them with the parameters the snapshot records, through the same maths
module as the refit. For a tier, the models the snapshot placed in it (catalogue data recorded
with the snapshot, not derivable from votes) are re-ranked among themselves as the refit does.
A vote excluded or re-included after the snapshot shows up as a difference: the export carries
each vote's current status.
"""

from __future__ import annotations

import csv
import dataclasses
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from ratings import maths


class ReproduceError(Exception):
    pass


def pair_records(
    lines: Iterable[str], *, domain: str, includes_all: bool, snapshot: int
) -> list[tuple[str, str, str, int]]:
    """Aggregate the votes of one domain that `snapshot` counted into (a, b, outcome, n)."""
    reader = csv.DictReader(lines)
    columns = {"model_a", "model_b", "winner", "counted", "domains", "first_snapshot"}
    missing = columns - set(reader.fieldnames or [])
    if missing:
        raise ReproduceError(
            f"Not an export of /export/votes.csv: missing column(s) {', '.join(sorted(missing))}."
        )
    tally: Counter[tuple[str, str, str]] = Counter()
    for row in reader:
        first = row["first_snapshot"]
        if row["counted"] != "true" or not first.isdigit() or int(first) > snapshot:
            continue  # excluded, or first counted by a later snapshot
        if not includes_all and domain not in row["domains"].split(";"):
            continue
        tally[(row["model_a"], row["model_b"], row["winner"])] += 1
    return [(a, b, outcome, n) for (a, b, outcome), n in tally.items()]


@dataclass(frozen=True)
class Difference:
    model: str
    field: str
    published: float | None
    recomputed: float | None


def recompute(
    records: list[tuple[str, str, str, int]], params: dict[str, object]
) -> list[maths.Row]:
    counts = maths.PairCounts.from_records(records)
    _fit, _intervals, rows = maths.leaderboard(
        counts,
        interval=str(params.get("interval", "sandwich")),
        level=float(params.get("level", 0.95)),  # type: ignore[arg-type]
        min_votes=int(params.get("min_votes", 0)),  # type: ignore[call-overload]
        reweight=bool(params.get("reweight", False)),
        prior=float(params.get("prior", 0.0)),  # type: ignore[arg-type]
    )
    return rows


def within_tier(rows: list[maths.Row], members: Collection[str]) -> list[maths.Row]:
    """The rows of a tier's members, with rank ranges among the members only."""
    kept = [row for row in rows if row.model in members]
    ranks = maths.rank_ranges_among(kept)
    within = []
    for row in kept:
        rank_ub, rank_lb = ranks.get(row.model, (0, 0))  # 0: unrated, as in the domain's rows
        within.append(dataclasses.replace(row, rank_ub=rank_ub, rank_lb=rank_lb))
    return within


def _rank(value: int) -> float | None:
    return float(value) if value else None  # 0: unrated, no rank


def compare(
    published: dict[str, dict[str, float | None]], rows: list[maths.Row], *, tolerance: float
) -> list[Difference]:
    """List every rating, bound, rank or vote count that differs by more than `tolerance`."""
    differences = []
    recomputed = {r.model: r for r in rows}
    for model in sorted(set(published) | set(recomputed)):
        ours = recomputed.get(model)
        theirs = published.get(model)
        for field, value in (
            ("rating", ours.rating if ours else None),
            ("rating_lower", ours.lower if ours else None),
            ("rating_upper", ours.upper if ours else None),
            ("rank_ub", _rank(ours.rank_ub) if ours else None),
            ("rank_lb", _rank(ours.rank_lb) if ours else None),
            ("votes", float(ours.votes) if ours else None),
        ):
            expected = theirs.get(field) if theirs else None
            if value is not None and value != value:  # NaN: unrated
                value = None
            if (value is None) != (expected is None) or (
                value is not None and expected is not None and abs(value - expected) > tolerance
            ):
                differences.append(Difference(model, field, expected, value))
    return differences


# One pair's counts: (wins of the first model, wins of the second, ties, both_bad), the pair
# named by model slugs in sorted order.
PairKey = tuple[str, str]
PairCount = tuple[int, int, int, int]


def pair_tallies(records: Iterable[tuple[str, str, str, int]]) -> dict[PairKey, PairCount]:
    """Fold (a, b, outcome, n) records into each pair's counts, as the refit tallies them
    (self-battles say nothing about strength and are left out); pairs with no vote are absent."""
    counts: dict[PairKey, list[int]] = {}
    for a, b, outcome, n in records:
        if a == b:
            continue
        if outcome not in maths.OUTCOMES:
            raise ReproduceError(f"Unknown winner {outcome!r} in the votes CSV.")
        first, second = sorted((a, b))
        row = counts.setdefault((first, second), [0, 0, 0, 0])
        if outcome == "tie":
            row[2] += n
        elif outcome == "both_bad":
            row[3] += n
        else:  # model_a or model_b: did the first of the sorted pair win?
            winner = a if outcome == "model_a" else b
            row[0 if winner == first else 1] += n
    return {key: (w1, w2, t, bb) for key, (w1, w2, t, bb) in counts.items() if w1 + w2 + t + bb}


@dataclass(frozen=True)
class PairDifference:
    pair: PairKey
    published: PairCount | None
    recomputed: PairCount | None


def compare_pairs(
    published: dict[PairKey, PairCount], recomputed: dict[PairKey, PairCount]
) -> list[PairDifference]:
    """List every pair whose counts differ at all: the matrix must match exactly."""
    return [
        PairDifference(pair, published.get(pair), recomputed.get(pair))
        for pair in sorted(set(published) | set(recomputed))
        if published.get(pair) != recomputed.get(pair)
    ]

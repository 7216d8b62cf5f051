"""Choose the two models of a battle on the server, with random sides."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    id: int
    weight: float
    pre_release: bool = False


class NoPairAvailable(Exception):
    pass


def pick_pair(candidates: Sequence[Candidate], rng: random.Random) -> tuple[int, int]:
    """Draw two distinct models in proportion to their weights; return (side A, side B).

    Two pre-release models are never paired: a voter who met two unreleased models at once
    could not tell a public reference apart from either.
    """
    pool = [c for c in candidates if c.weight > 0]
    if len(pool) < 2:
        raise NoPairAvailable("fewer than two models can battle")
    first = rng.choices(pool, weights=[c.weight for c in pool])[0]
    rest = [c for c in pool if c.id != first.id and not (first.pre_release and c.pre_release)]
    if not rest:
        raise NoPairAvailable("no second model can battle the first")
    second = rng.choices(rest, weights=[c.weight for c in rest])[0]
    pair = [first.id, second.id]
    rng.shuffle(pair)
    return pair[0], pair[1]

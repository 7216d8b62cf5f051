"""Attack simulation: can targeted votes move a model, and does the anomaly test catch them?

One command, from the repository root (6 to 15 minutes on a shared 2-core machine):

    .venv/bin/python bench/attack.py                  # prints the tables of docs/integrity.md
    .venv/bin/python bench/attack.py --json out.json  # and saves every figure
    .venv/bin/python bench/attack.py --sybil-only     # many identities and networks (~1 minute)

Honest traffic
    The real 135,624 LMArena votes (``/work/shared/data/arena-140k/votes.csv``, self-battles
    dropped), shuffled and dealt to simulated honest voters whose sizes follow a heavy-tailed
    (Pareto, tail index 1.1) distribution from 3 to 3,000 votes, plus ``--bt-voters`` simulated
    honest voters who vote exactly as the fitted Bradley-Terry model says (pairs drawn from the
    real pair frequencies; draws at the real rate, shrunk near lopsided pairs so that a draw
    counts half a win as in the fit). Fixed seeds.

Attackers (each vote goes to a battle the arena drew, pairs at the real frequencies)
    - target-only: recognises the target (text features identify a model >95% of the time),
      votes only in the battles that include it, always for it, and skips the rest;
    - omnipresent (Min et al. 2025): votes in every battle, every vote to raise the target's
      rank on the published board: for the target when it is there; otherwise for the model
      ranked below the target against one above it, for the higher of two models above it (the
      lower one is the nearer obstacle), for the lower of two models below it
      (``integrity.anomaly.helps_a``);
    - camouflaged: votes in every battle, for the target when it is there, against the three
      models ranked just above the target when one of them is there, honestly (by the BT
      probabilities) otherwise, so most of its votes are honest.
    Each strategy from one identity and from many (a Sybil attack: ``m`` votes per identity).

Defences
    The sequential tests of integrity/anomaly.py (the ones the site runs after every refit,
    same delta and alpha), with every vote of a flagged identity quarantined (not counted).
    ``--reference before`` (the site's rule, default): an identity is tested against the
    ratings published before its first vote; ``--reference current``: against the newest
    ratings, which include its own votes and those of identities voting with it. Identities
    themselves cost the attacker whatever the rate limits per voter and network make them cost;
    the Sybil rows say how many are needed.

Networks
    The site also runs the tests on the pooled votes of each network pseudonym, each vote judged
    by its own identity's reference, and a crossing quarantines the identities
    ``integrity.anomaly.holders`` names (own statistic above ``--hold``, then the strongest
    others while the rest still crosses). The Sybil rows run the same identities twice: each on
    a network of its own (the network test is then the identity's own test) and all behind one
    network. Honest traffic is dealt into networks with heavy-tailed sizes (``network_of``:
    P(size >= k) = k ** -1.2, 1 to 500 voters; fixed seed, a stream of its own so the other
    figures do not move), and honest networks whose voters share one taste are simulated too.

Figures, per target (models at three positions of the overall board)
    - votes needed to move the target up one rank (above the model just above it) without
      defences: the smallest attack, found by bisection on a fixed stream of attack votes;
    - with defences, one identity: the vote at which it is flagged, the largest rating shift it
      can cause unflagged (all its votes count until then; after, none) against the target's
      95% interval half-width, and whether it can gain the rank at all;
    - with defences, many identities of ``m`` votes: identities and votes needed to gain the
      rank with the counted ones, the share of identities flagged on their own and held by a
      network flag ("never": after 200 identities none was counted, or 3,000 were not enough),
      each identity on a network of its own and all behind one;
    - the network test alone: recall within 100 pooled attack votes of networks of fresh
      identities, alone and mixed with 50 honest identities, and the shares of attackers and
      honest mates a crossing holds; false positives among honest networks, and the honest
      identities (and votes) their flags would quarantine;
    - detection: recall within 100 votes (and within 100 biased votes, which for the
      omnipresent strategy are a small part of its votes) over ``--attackers`` identities per
      strategy and target, and false positives among honest voters (real-vote and BT voters).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
if Path(sys.executable).resolve() != VENV_PYTHON.resolve() and VENV_PYTHON.exists():
    os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), *sys.argv])
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from scipy.special import expit  # noqa: E402

from integrity import anomaly  # noqa: E402
from ratings import maths  # noqa: E402

DEFAULT_VOTES = Path("/work/shared/data/arena-140k/votes.csv")
CODES = {"model_a": 0, "model_b": 1, "tie": 2, "both_bad": 2}
TARGET_POSITIONS = (10, 25, 40)  # 1-based positions on the overall board (of 53)
RIVALS = 3  # the omnipresent attacker votes against this many models just above the target
WINDOW = 100  # "within 100 of their votes"
SYBIL_SIZES = (10, 20, 40)
TASTES = (0.2, 0.4, 0.6)
STRATEGIES = ("target-only", "omnipresent", "camouflaged")
REFERENCE = {"mode": "before"}  # spread of an honest voter's own strengths around the ratings
# The test's parameters: the site's defaults unless --deltas / --alpha say otherwise.
TEST: dict[str, object] = {"deltas": anomaly.DEFAULT_DELTAS, "alpha": anomaly.DEFAULT_ALPHA}
MAX_IDENTITIES = 3000
# A network flag holds the identities whose own statistic for the test that fired exceeds this,
# then more, strongest first, while the rest would still cross (integrity.anomaly.holders).
HOLD = {"min": anomaly.DEFAULT_HOLD}
GIVE_UP = 200


@dataclass
class Votes:
    """Votes as parallel arrays: model indices and outcome codes (0 a won, 1 b won, 2 draw)."""

    a: np.ndarray
    b: np.ndarray
    outcome: np.ndarray

    def __len__(self) -> int:
        return len(self.a)

    def prefix(self, n: int) -> Votes:
        return Votes(self.a[:n], self.b[:n], self.outcome[:n])


@dataclass
class Arena:
    models: list[str]
    honest: Votes  # the real votes, shuffled
    wins: np.ndarray  # honest counts
    draws: np.ndarray
    pair_p: np.ndarray  # (n, n) upper-triangular pair frequencies, summing to 1
    draw_rate: float
    theta: np.ndarray  # honest fit
    ratings: np.ndarray
    half_width: np.ndarray


def load(path: Path) -> tuple[list[str], Votes]:
    names: dict[str, int] = {}
    a, b, o = [], [], []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["model_a"] == row["model_b"]:
                continue
            a.append(names.setdefault(row["model_a"], len(names)))
            b.append(names.setdefault(row["model_b"], len(names)))
            o.append(CODES[row["winner"]])
    models = sorted(names, key=names.get)  # type: ignore[arg-type]
    return models, Votes(np.array(a), np.array(b), np.array(o))


def counts_of(n: int, votes: Votes) -> tuple[np.ndarray, np.ndarray]:
    wins = np.zeros((n, n))
    draws = np.zeros((n, n))
    decided = votes.outcome != 2
    winner = np.where(votes.outcome == 0, votes.a, votes.b)[decided]
    loser = np.where(votes.outcome == 0, votes.b, votes.a)[decided]
    np.add.at(wins, (winner, loser), 1)
    drawn = ~decided
    np.add.at(draws, (votes.a[drawn], votes.b[drawn]), 1)
    np.add.at(draws, (votes.b[drawn], votes.a[drawn]), 1)
    return wins, draws


def fit(
    models: list[str], wins: np.ndarray, draws: np.ndarray, init: np.ndarray | None = None
) -> maths.Fit:
    return maths.fit(maths.PairCounts(tuple(models), wins, draws), init=init)


def build(path: Path, rng: np.random.Generator) -> Arena:
    models, votes = load(path)
    order = rng.permutation(len(votes))
    votes = Votes(votes.a[order], votes.b[order], votes.outcome[order])
    n = len(models)
    wins, draws = counts_of(n, votes)
    fitted = fit(models, wins, draws)
    counts = maths.PairCounts(tuple(models), wins, draws)
    intervals = maths.sandwich_intervals(counts, fitted)
    pair = np.zeros((n, n))
    np.add.at(pair, (np.minimum(votes.a, votes.b), np.maximum(votes.a, votes.b)), 1)
    return Arena(
        models=models,
        honest=votes,
        wins=wins,
        draws=draws,
        pair_p=pair / pair.sum(),
        draw_rate=float(np.mean(votes.outcome == 2)),
        theta=np.asarray(fitted.theta),
        ratings=np.asarray(fitted.ratings),
        half_width=(np.asarray(intervals.upper) - np.asarray(intervals.lower)) / 2,
    )


def draw_pairs(arena: Arena, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Battles as the arena drew them: pairs at the real frequencies, random sides."""
    flat = rng.choice(arena.pair_p.size, size=n, p=arena.pair_p.ravel())
    lo, hi = np.divmod(flat, len(arena.models))
    swap = rng.random(n) < 0.5
    return np.where(swap, hi, lo), np.where(swap, lo, hi)


def honest_outcomes(
    arena: Arena, rng: np.random.Generator, a: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """Votes by the BT probabilities of the honest fit; a draw counts half a win each way."""
    s = expit(arena.theta[a] - arena.theta[b])
    # Draws at the real rate on even pairs, fewer on lopsided ones (P(win) = s - draw / 2 >= 0).
    draw = np.minimum(arena.draw_rate * 4 * s * (1 - s) / 0.75, 2 * np.minimum(s, 1 - s))
    u = rng.random(len(a))
    return np.where(u < draw, 2, np.where(u < draw + s - draw / 2, 0, 1))


def voter_sizes(rng: np.random.Generator, total: int) -> np.ndarray:
    """Heavy-tailed voter sizes (Pareto tail index 1.1, from 3 to 3,000) adding up to total."""
    sizes = []
    left = total
    while left > 0:
        size = int(min(3000, 3 * (1 + rng.pareto(1.1))))
        sizes.append(min(size, left))
        left -= size
    return np.array(sizes)


def ranked(ratings: np.ndarray) -> np.ndarray:
    """Model indices, best rating first."""
    return np.argsort(-ratings, kind="stable")


@dataclass
class Stream:
    """An attacker's votes in the order cast, and which of them are biased."""

    votes: Votes
    biased: np.ndarray  # bool: the vote was cast for the target or against a rival


def attack_stream(
    arena: Arena, rng: np.random.Generator, strategy: str, target: int, rivals: list[int], n: int
) -> Stream:
    if strategy == "target-only":
        # Battles including the target, at the arena's frequencies; always for the target.
        opp_p = arena.pair_p[target, :] + arena.pair_p[:, target]
        opponents = rng.choice(len(opp_p), size=n, p=opp_p / opp_p.sum())
        first = rng.random(n) < 0.5
        a = np.where(first, target, opponents)
        b = np.where(first, opponents, target)
        return Stream(Votes(a, b, np.where(first, 0, 1)), np.ones(n, dtype=bool))
    a, b = draw_pairs(arena, rng, n)
    has_target = (a == target) | (b == target)
    if strategy == "omnipresent":
        t = arena.theta
        helps = anomaly.helps_a(t[a], t[b], np.full(n, t[target]))
        helps = np.where(a == target, True, np.where(b == target, False, helps))
        return Stream(Votes(a, b, np.where(helps, 0, 1)), np.ones(n, dtype=bool))
    if strategy != "camouflaged":
        raise ValueError(f"unknown strategy {strategy}")
    outcome = honest_outcomes(arena, rng, a, b)
    outcome = np.where(a == target, 0, np.where(b == target, 1, outcome))
    rival_a = np.isin(a, rivals) & ~has_target
    rival_b = np.isin(b, rivals) & ~has_target
    outcome = np.where(rival_a, 1, np.where(rival_b, 0, outcome))
    return Stream(Votes(a, b, outcome), has_target | rival_a | rival_b)


def ratings_with(arena: Arena, extra: Votes) -> np.ndarray:
    wins, draws = counts_of(len(arena.models), extra)
    fitted = fit(arena.models, arena.wins + wins, arena.draws + draws, init=arena.theta)
    return np.asarray(fitted.ratings)


def theta_of(ratings: np.ndarray) -> np.ndarray:
    return (ratings - maths.RATING_BASE) / maths.RATING_SCALE


def passes(ratings: np.ndarray, target: int, above: int) -> bool:
    return bool(ratings[target] > ratings[above])


def votes_to_pass(arena: Arena, stream: Votes, target: int, above: int) -> int | None:
    """Smallest prefix of the stream that lifts the target above `above` (None if none does)."""
    hi = 1
    while not passes(ratings_with(arena, stream.prefix(hi)), target, above):
        if hi >= len(stream):
            return None
        hi = min(2 * hi, len(stream))
    lo = hi // 2  # does not pass (or 0)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if passes(ratings_with(arena, stream.prefix(mid)), target, above):
            hi = mid
        else:
            lo = mid
    return hi


def flagged_at(votes: Votes, ratings: np.ndarray) -> int | None:
    """The vote number at which one identity's test crosses, against these ratings."""
    first = np.zeros(len(votes), dtype=np.int64)
    alarms = anomaly.scan(first, votes.a, votes.b, votes.outcome, theta_of(ratings), **TEST)
    return alarms[0].flagged_at if alarms else None


def single_identity(arena: Arena, stream: Votes, target: int) -> tuple[int | None, int, float]:
    """(vote at which it is flagged, largest unflagged attack, rating shift it causes).

    With ``--reference before`` the identity is tested against the ratings published before
    its first vote (the honest fit). With ``--reference current`` the site would test it after
    each refit against ratings that include its votes: it is caught at the first attack size n
    whose votes cross the threshold against the ratings fitted with those n votes.
    """
    base = arena.ratings[target]
    if REFERENCE["mode"] == "before":
        at = flagged_at(stream.prefix(20_000), arena.ratings)
        if at is None:
            return None, len(stream), float(ratings_with(arena, stream)[target] - base)
        return at, at - 1, float(ratings_with(arena, stream.prefix(at - 1))[target] - base)
    n = flagged_at(stream, arena.ratings) or len(stream)
    while n <= len(stream):
        at = flagged_at(stream.prefix(n), ratings_with(arena, stream.prefix(n)))
        if at is not None:
            # Caught at vote `at`; the largest attack left unflagged is one vote short of it.
            while at > 1 and flagged_at(
                stream.prefix(at - 1), ratings_with(arena, stream.prefix(at - 1))
            ):
                at -= 1
            shift = ratings_with(arena, stream.prefix(at - 1))[target] - base
            return at, at - 1, float(shift)
        n += max(1, n // 20)
    shift = ratings_with(arena, stream)[target] - base
    return None, len(stream), float(shift)


@dataclass
class SybilResult:
    per_identity: int
    identities: int | None
    votes_cast: int
    votes_counted: int
    flagged_share: float  # identities flagged on their own votes
    networks: str = "own"  # "own": each identity on a network of its own; "1": all on one
    held_share: float = 0.0  # identities whose votes a network flag quarantined
    network_flags: int = 0  # network crossings (a flag and its extensions)


def network_catches(
    pools: dict[int, list[tuple[int, Votes, np.ndarray]]],
) -> tuple[list[int], int]:
    """Test every network's pooled votes since its last crossing, as the site does: one
    network code per pool, each vote judged by its identity's reference ratings (``theta`` at
    the identity's start). A crossing holds the identities whose own statistic for the test
    that fired is above 0, and starts that network's pool afresh. Return the identities held
    and the number of crossings."""
    keys = [k for k in sorted(pools) if pools[k]]
    if not keys:
        return [], 0
    entries = [(n, i, v, theta) for n, k in enumerate(keys) for i, v, theta in pools[k]]
    network = np.concatenate([np.full(len(v), n) for n, _, v, _ in entries])
    owner = np.concatenate([np.full(len(v), i) for _, i, v, _ in entries])
    row = np.concatenate([np.full(len(v), r) for r, (_, _, v, _) in enumerate(entries)])
    votes = _joined([v for _, _, v, _ in entries])
    theta = np.vstack([theta for _, _, _, theta in entries])
    held: list[int] = []
    alarms = anomaly.scan(network, votes.a, votes.b, votes.outcome, theta, reference=row, **TEST)
    for alarm in alarms:
        mine = network == alarm.voter
        held += anomaly.holders(
            owner[mine],
            votes.a[mine],
            votes.b[mine],
            votes.outcome[mine],
            theta,
            model=alarm.model,
            direction=alarm.direction,
            reference=row[mine],
            hold=HOLD["min"],
            **TEST,  # type: ignore[arg-type]
        ).tolist()
        pools[keys[alarm.voter]] = []
    return held, len(alarms)


def sybil(
    arena: Arena,
    rng: np.random.Generator,
    strategy: str,
    target: int,
    rivals: list[int],
    above: int,
    per_identity: int,
    networks: int | None = None,
) -> SybilResult:
    """Identities of `per_identity` votes each until the counted ones lift the target.

    Identities come five at a time; each is scanned on its votes against the ratings of the
    moment (which include the counted identities before it). With ``networks`` set, identity
    ``i`` votes from network ``i % networks`` and, after each five, every network's pooled
    votes are tested too (``network_catches``); the identities a network flag holds stop
    counting. ``None``: every identity on a network of its own, where the network test is the
    identity's own test, so nothing changes. Gives up (identities None) after MAX_IDENTITIES,
    or after GIVE_UP identities of which not one is counted.
    """
    counted: dict[int, Votes] = {}
    pools: dict[int, list[tuple[int, Votes, np.ndarray]]] = {}
    ratings = arena.ratings
    identities = flagged = held = crossings = cast = 0
    while identities < MAX_IDENTITIES and not (identities >= GIVE_UP and not counted):
        fresh = 0
        for _ in range(5):
            votes = attack_stream(arena, rng, strategy, target, rivals, per_identity).votes
            i = identities
            identities += 1
            cast += len(votes)
            if flagged_at(votes, ratings) is None:
                counted[i] = votes
                fresh += 1
                if networks:
                    pools.setdefault(i % networks, []).append((i, votes, theta_of(ratings)))
            else:
                flagged += 1
        caught, fired = network_catches(pools) if networks else ([], 0)
        for i in caught:
            del counted[i]
        held += len(caught)
        crossings += fired
        if not fresh and not caught:
            continue
        joined = _joined(list(counted.values()))
        ratings = ratings_with(arena, joined)
        if passes(ratings, target, above):
            break
    else:
        joined = _joined(list(counted.values()))
    return SybilResult(
        per_identity,
        identities if passes(ratings, target, above) else None,
        cast,
        len(joined),
        flagged / identities,
        "own" if networks is None else str(networks),
        held / identities,
        crossings,
    )


@dataclass
class Detection:
    strategy: str
    target: str
    attackers: int
    recall_100_votes: float
    recall_100_biased: float
    median_flagged_at: float | None
    median_biased_at_flag: float | None


def _joined(parts: list[Votes]) -> Votes:
    empty = np.array([], dtype=np.int64)
    return Votes(
        *(np.concatenate([getattr(v, f) for v in parts] or [empty]) for f in "a b outcome".split())
    )


def detection(
    arena: Arena,
    rng: np.random.Generator,
    strategy: str,
    target: int,
    rivals: list[int],
    attackers: int,
    honest_voter: np.ndarray,
    bt: Votes,
    bt_voter: np.ndarray,
    wave: int = 10,
    rounds: int = 10,
) -> tuple[Detection, dict[str, float]]:
    """Attackers voting alongside the honest traffic, `wave` identities at a time, with a refit
    and a scan after each tenth of their votes, as the site scans after each refit: a flagged
    attacker's votes leave the ratings from then on; an unflagged one's stay counted.

    Attackers are tested against the ratings of the wave's start (``--reference before``: the
    last refit before their first vote) or the newest ones (``current``); honest voters, who
    voted before any attacker, against the newest ones."""
    streams = []
    for _ in range(attackers):
        # Enough votes to hold 100 biased ones (camouflaged attackers bias few of their votes).
        length = 4000 if strategy == "camouflaged" else WINDOW
        stream = attack_stream(arena, rng, strategy, target, rivals, length)
        if strategy == "camouflaged":
            keep = int(np.flatnonzero(stream.biased)[WINDOW - 1]) + 1
            stream = Stream(stream.votes.prefix(keep), stream.biased[:keep])
        streams.append(stream)
    n_honest = int(honest_voter.max()) + 1
    n_bt = int(bt_voter.max()) + 1
    first_attacker = n_honest + n_bt
    caught: dict[int, int] = {}  # attacker -> vote number at which it was flagged
    honest_flagged: set[int] = set()
    settled: list[Votes] = []  # votes of finished, unflagged attackers: they stay counted
    for start in range(0, attackers, wave):
        members = list(range(start, min(start + wave, attackers)))
        before = ratings_with(arena, _joined([bt, *settled]))
        for r in range(1, rounds + 1):
            cast = {
                i: streams[i].votes.prefix(math.ceil(len(streams[i].votes) * r / rounds))
                for i in members
            }
            active = [i for i in members if i not in caught]
            ratings = ratings_with(arena, _joined([bt, *settled] + [cast[i] for i in active]))
            last = r == rounds
            # Every voter is scanned at the end of a wave; in between, the wave's attackers.
            parts = ([arena.honest, bt] if last else []) + [cast[i] for i in active]
            if not parts:
                continue  # the whole wave is flagged: nothing to scan until the last round
            voter = np.concatenate(
                ([honest_voter, n_honest + bt_voter] if last else [])
                + [np.full(len(cast[i]), first_attacker + i) for i in active]
            )
            votes = _joined(parts)
            reference = np.where((voter >= first_attacker) & (REFERENCE["mode"] == "before"), 0, 1)
            references = np.vstack([theta_of(before), theta_of(ratings)])
            for alarm in anomaly.scan(
                voter,
                votes.a,
                votes.b,
                votes.outcome,
                references,
                reference=reference,
                **TEST,
            ):
                if alarm.voter >= first_attacker:
                    caught[alarm.voter - first_attacker] = alarm.flagged_at
                else:
                    honest_flagged.add(alarm.voter)
        settled += [streams[i].votes for i in members if i not in caught]
    at_votes = [caught[i] for i in sorted(caught)]
    at_biased = [int(streams[i].biased[: caught[i]].sum()) for i in sorted(caught)]
    honest_flags = [v for v in honest_flagged if v < n_honest]
    bt_flags = [v for v in honest_flagged if v >= n_honest]
    sizes = np.bincount(honest_voter)
    big = sizes >= WINDOW
    false_positives = {
        "real_voters": n_honest,
        "real_flagged": len(honest_flags),
        "real_fpr": len(honest_flags) / n_honest,
        "real_voters_100plus": int(big.sum()),
        "real_fpr_100plus": sum(bool(big[v]) for v in honest_flags) / max(1, int(big.sum())),
        "bt_voters": n_bt,
        "bt_flagged": len(bt_flags),
        "bt_fpr": len(bt_flags) / n_bt,
    }
    return (
        Detection(
            strategy,
            arena.models[target],
            attackers,
            sum(v <= WINDOW for v in at_votes) / attackers,
            sum(v <= WINDOW for v in at_biased) / attackers,
            float(np.median(at_votes)) if at_votes else None,
            float(np.median(at_biased)) if at_biased else None,
        ),
        false_positives,
    )


def taste_false_positives(
    arena: Arena, rng: np.random.Generator, tau: float, voters: int
) -> dict[str, float]:
    """Honest voters with tastes: each votes by its own strengths theta + tau * N(0, 1) per
    model (tau in log-odds; 0.3 is about 50 rating points). Real voters have tastes; the
    shuffled real votes cannot show them, so this measures what tastes cost in flags."""
    sizes = np.array([int(min(3000, 3 * (1 + rng.pareto(1.1)))) for _ in range(voters)])
    voter = np.repeat(np.arange(voters), sizes)
    a, b = draw_pairs(arena, rng, int(sizes.sum()))
    personal = arena.theta[None, :] + tau * rng.standard_normal((voters, len(arena.models)))
    s = expit(personal[voter, a] - personal[voter, b])
    draw = np.minimum(arena.draw_rate * 4 * s * (1 - s) / 0.75, 2 * np.minimum(s, 1 - s))
    u = rng.random(len(a))
    outcome = np.where(u < draw, 2, np.where(u < draw + s - draw / 2, 0, 1))
    ratings = ratings_with(arena, Votes(a, b, outcome))
    flagged = {x.voter for x in anomaly.scan(voter, a, b, outcome, theta_of(ratings), **TEST)}
    big = sizes >= WINDOW
    return {
        "tau": tau,
        "voters": voters,
        "fpr": len(flagged) / voters,
        "voters_100plus": int(big.sum()),
        "fpr_100plus": sum(bool(big[v]) for v in flagged) / max(1, int(big.sum())),
    }


MATES = 50  # honest identities sharing an attacked network in the recall runs
MATE_VOTES = 10


def network_recall(
    arena: Arena,
    rng: np.random.Generator,
    strategy: str,
    target: int,
    rivals: list[int],
    per_identity: int,
    mates: int = MATES,
    trials: int = 100,
) -> dict[str, float | None]:
    """The network test alone, with no identity flagged on its own: ``trials`` networks, each
    of fresh identities casting ``per_identity`` votes until they have cast WINDOW votes, mixed
    at random with the votes of ``mates`` honest identities (MATE_VOTES each, by the BT
    probabilities) behind the same network; judged by the honest fit. Recall: share of networks
    flagged before their WINDOW-th attack vote. A flag holds the identities whose own statistic
    is above 0: the shares of attackers and of honest mates held are reported."""
    n_identities = math.ceil(WINDOW / per_identity)
    theta = theta_of(arena.ratings)
    caught = held_attackers = held_mates = 0
    flagged_at: list[int] = []
    for _ in range(trials):
        attack = _joined(
            [
                attack_stream(arena, rng, strategy, target, rivals, per_identity).votes
                for _ in range(n_identities)
            ]
        ).prefix(WINDOW)
        owner = np.repeat(np.arange(n_identities), per_identity)[:WINDOW]
        a, b = draw_pairs(arena, rng, mates * MATE_VOTES)
        votes = _joined([attack, Votes(a, b, honest_outcomes(arena, rng, a, b))])
        owner = np.r_[owner, n_identities + np.repeat(np.arange(mates), MATE_VOTES)]
        order = _interleave(rng, owner)
        votes = Votes(votes.a[order], votes.b[order], votes.outcome[order])
        owner = owner[order]
        alarms = anomaly.scan(np.zeros(len(owner), dtype=np.int64), *_cols(votes), theta, **TEST)
        attack_seen = np.cumsum(owner < n_identities)
        if not alarms or attack_seen[alarms[0].flagged_at - 1] > WINDOW - 1:
            continue
        caught += 1
        flagged_at.append(int(attack_seen[alarms[0].flagged_at - 1]))
        held = anomaly.holders(
            owner,
            *_cols(votes),
            theta,
            model=alarms[0].model,
            direction=alarms[0].direction,
            hold=HOLD["min"],
            **TEST,  # type: ignore[arg-type]
        )
        held_attackers += int((held < n_identities).sum())
        held_mates += int((held >= n_identities).sum())
    return {
        "per_identity": per_identity,
        "trials": trials,
        "mates": mates,
        "recall_100": caught / trials,
        "median_attack_votes_at_flag": float(np.median(flagged_at)) if flagged_at else None,
        "attackers_held": held_attackers / max(1, caught * n_identities),
        "mates_held": held_mates / max(1, caught * mates),
    }


def _cols(votes: Votes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return votes.a, votes.b, votes.outcome


def _interleave(rng: np.random.Generator, owner: np.ndarray) -> np.ndarray:
    """A random order of the votes that keeps each owner's own votes in the order given."""
    turn = rng.permutation(owner)  # whose vote comes at each step
    order = np.empty(len(owner), dtype=np.int64)
    order[np.argsort(turn, kind="stable")] = np.argsort(owner, kind="stable")
    return order


NETWORK_TAIL = 1.2  # Pareto tail index of the number of voters behind one network
NETWORK_MAX = 500


def network_of(rng: np.random.Generator, voters: int) -> np.ndarray:
    """Deal voters into networks of heavy-tailed sizes: P(size >= k) = k ** -1.2 from 1 to 500
    voters (a /24 of homes, an office, a campus or a carrier's NAT). Most networks hold one
    voter; about one in sixteen holds ten or more. Returns each voter's network code."""
    sizes = []
    left = voters
    while left > 0:
        size = int(min(NETWORK_MAX, 1 + rng.pareto(NETWORK_TAIL)))
        sizes.append(min(size, left))
        left -= size
    return rng.permutation(np.repeat(np.arange(len(sizes)), sizes))


def honest_networks(
    rng: np.random.Generator,
    theta: np.ndarray,
    voter: np.ndarray,
    votes: Votes,
    network: np.ndarray,
) -> dict[str, float]:
    """The network test on honest voters dealt into networks: the network's votes pooled in
    a random interleaving, judged by ``theta``. Returns the networks flagged (all, and those of
    ten or more voters) and the honest identities a flag would quarantine (own statistic > 0
    for the test that fired)."""
    order = rng.permutation(len(votes))
    net = network[voter][order]
    a, b, outcome, who = votes.a[order], votes.b[order], votes.outcome[order], voter[order]
    alarms = anomaly.scan(net, a, b, outcome, theta, **TEST)
    per_network = np.bincount(network)
    held = held_votes = 0
    for alarm in alarms:
        mine = net == alarm.voter
        found = anomaly.holders(
            who[mine],
            a[mine],
            b[mine],
            outcome[mine],
            theta,
            model=alarm.model,
            direction=alarm.direction,
            hold=HOLD["min"],
            **TEST,  # type: ignore[arg-type]
        )
        held += len(found)
        held_votes += int(np.isin(who[mine], found).sum())
    big = per_network >= 10
    flagged = [x.voter for x in alarms]
    return {
        "voters": len(network),
        "networks": len(per_network),
        "alone": int((per_network == 1).sum()),
        "networks_10plus": int(big.sum()),
        "networks_100plus": int((per_network >= 100).sum()),
        "voters_in_10plus": int(per_network[big].sum()),
        "flagged": len(flagged),
        "flagged_10plus": sum(bool(big[n]) for n in flagged),
        "identities_held": held,
        "votes_held": held_votes,
    }


def shared_taste_networks(
    arena: Arena, rng: np.random.Generator, tau: float, voters: int
) -> dict[str, float]:
    """Honest networks whose voters share one taste (an office that likes one vendor): every
    voter behind a network votes by the network's strengths theta + tau * N(0, 1) per model.
    The worst case for the network test: a shared taste adds up over the network's votes."""
    sizes = np.array([int(min(3000, 3 * (1 + rng.pareto(1.1)))) for _ in range(voters)])
    voter = np.repeat(np.arange(voters), sizes)
    network = network_of(rng, voters)
    a, b = draw_pairs(arena, rng, int(sizes.sum()))
    personal = arena.theta[None, :] + tau * rng.standard_normal(
        (int(network.max()) + 1, len(arena.models))
    )
    net = network[voter]
    s = expit(personal[net, a] - personal[net, b])
    draw = np.minimum(arena.draw_rate * 4 * s * (1 - s) / 0.75, 2 * np.minimum(s, 1 - s))
    u = rng.random(len(a))
    outcome = np.where(u < draw, 2, np.where(u < draw + s - draw / 2, 0, 1))
    votes = Votes(a, b, outcome)
    found = honest_networks(rng, theta_of(ratings_with(arena, votes)), voter, votes, network)
    return {"tau": tau, **found}


STALE_SHARES = (0.02, 0.05, 0.1, 0.25)


def stale_reference_false_positives(
    arena: Arena, honest_voter: np.ndarray, share: float
) -> dict[str, float]:
    """Honest real-vote voters judged by an early snapshot: the ratings fitted on the first
    ``share`` of the (shuffled) real votes, as a voter who started early is judged by the
    snapshot before its first vote however long it keeps voting. Uses no randomness."""
    early = arena.honest.prefix(int(len(arena.honest) * share))
    wins, draws = counts_of(len(arena.models), early)
    theta = np.asarray(fit(arena.models, wins, draws).theta)
    honest = arena.honest
    flagged = {
        x.voter
        for x in anomaly.scan(honest_voter, honest.a, honest.b, honest.outcome, theta, **TEST)
    }
    sizes = np.bincount(honest_voter)
    big = sizes >= WINDOW
    return {
        "share": share,
        "snapshot_votes": len(early),
        "voters": len(sizes),
        "fpr": len(flagged) / len(sizes),
        "voters_100plus": int(big.sum()),
        "fpr_100plus": sum(bool(big[v]) for v in flagged) / max(1, int(big.sum())),
    }


def print_stale(stale: list[dict[str, float]]) -> None:
    print()
    print("Honest real-vote voters judged by an early snapshot (fitted on the first votes)")
    for x in stale:
        print(
            f"  snapshot of {x['snapshot_votes']:,.0f} votes ({x['share']:.0%}): "
            f"{x['fpr']:.2%} of {x['voters']:,.0f} voters flagged; of the "
            f"{x['voters_100plus']:.0f} with >= 100 votes: {x['fpr_100plus']:.2%}"
        )


@dataclass
class TargetReport:
    strategy: str
    target: str
    position: int
    rating: float
    half_width: float
    above: str
    gap: float
    votes_to_pass: int | None
    battles_to_pass: int | None  # battles the attacker must be dealt to cast those votes
    flagged_at: int | None
    max_unflagged_votes: int
    max_shift: float
    single_identity_can_pass: bool
    sybil: list[SybilResult] = field(default_factory=list)
    network_recall: list[dict[str, float | None]] = field(default_factory=list)


def _or(value: object, missing: str) -> str:
    return missing if value is None else str(value)


def print_sybil(reports: list[TargetReport]) -> None:
    print()
    print("With defences, many identities of m votes each, until the counted ones gain the rank")
    print("(networks: 'own' = each identity on a network of its own; '1' = all behind one)")
    print(
        f"{'strategy':<12} {'target':<36} {'m':>3} {'networks':>8} {'identities':>10} "
        f"{'votes cast':>10} {'counted':>8} {'flagged':>7} {'held':>5} {'crossings':>9}"
    )
    for r in reports:
        for y in r.sybil:
            print(
                f"{r.strategy:<12} {r.target:<36} {y.per_identity:>3} {y.networks:>8} "
                f"{_or(y.identities, 'never'):>10} {y.votes_cast:>10,} "
                f"{y.votes_counted:>8,} {y.flagged_share:>7.0%} {y.held_share:>5.0%} "
                f"{y.network_flags:>9}"
            )
    if any(r.network_recall for r in reports):
        print()
        print(
            f"The network test alone: networks of fresh identities casting {WINDOW} votes, alone "
            f"or among honest mates ({MATE_VOTES} votes each); median flag: attack votes by then"
        )
        print(
            f"{'strategy':<12} {'target':<36} {'m':>3} {'mates':>5} {'recall@100':>10} "
            f"{'median flag':>11} {'attackers held':>14} {'mates held':>10}"
        )
        for r in reports:
            for x in r.network_recall:
                print(
                    f"{r.strategy:<12} {r.target:<36} {x['per_identity']:>3} {x['mates']:>5} "
                    f"{x['recall_100']:>10.0%} {_or(x['median_attack_votes_at_flag'], '-'):>11} "
                    f"{x['attackers_held']:>14.0%} {x['mates_held']:>10.0%}"
                )


def print_networks(honest: dict[str, dict[str, float]], tastes: list[dict[str, float]]) -> None:
    print()
    print("The network test on honest voters dealt into networks (judged by the honest fit)")
    for name, x in [*honest.items(), *((f"shared taste tau {t['tau']}", t) for t in tastes)]:
        print(
            f"  {name}: {x['voters']:,.0f} voters in {x['networks']:,.0f} networks "
            f"({x['alone']:,.0f} alone; {x['networks_10plus']:,.0f} of 10+ voters holding "
            f"{x['voters_in_10plus']:,.0f}; {x['networks_100plus']:,.0f} of 100+): "
            f"{x['flagged']:.0f} networks flagged ({x['flagged_10plus']:.0f} of 10+), "
            f"{x['identities_held']:.0f} honest identities ({x['votes_held']:,.0f} votes) "
            f"quarantined"
        )


def print_tables(
    reports: list[TargetReport],
    detections: list[Detection],
    false_positive_runs: list[dict[str, float]],
    tastes: list[dict[str, float]],
    attackers: int,
    wave: int,
) -> None:
    print()
    print("Votes to move the target up one rank (overall board); one identity with defences")
    print(
        f"{'strategy':<12} {'target (position)':<40} {'gap':>5} {'±95%':>5} {'no defence':>10} "
        f"{'(battles)':>9} "
        f"{'flagged at':>10} {'max shift':>9} {'passes':>6}"
    )
    for r in reports:
        name = f"{r.target} ({r.position})"
        print(
            f"{r.strategy:<12} {name:<40} {r.gap:5.1f} {r.half_width:5.1f} "
            f"{_or(r.votes_to_pass, 'never'):>10} {_or(r.battles_to_pass, '-'):>9} "
            f"{_or(r.flagged_at, 'never'):>10} "
            f"{r.max_shift:9.2f} {'yes' if r.single_identity_can_pass else 'no':>6}"
        )
    print_sybil(reports)
    print()
    print(f"Detection: {attackers} identities per row, {wave} at a time, a scan after each tenth")
    print(
        f"{'strategy':<12} {'target':<36} {'recall@100 votes':>16} {'@100 biased':>11} "
        f"{'median flag vote':>16} {'(biased)':>8}"
    )
    for d in detections:
        print(
            f"{d.strategy:<12} {d.target:<36} {d.recall_100_votes:>16.0%} "
            f"{d.recall_100_biased:>11.0%} {_or(d.median_flagged_at, '-'):>16} "
            f"{_or(d.median_biased_at_flag, '-'):>8}"
        )
    worst = max(false_positive_runs, key=lambda fp: fp["real_fpr"] + fp["bt_fpr"])
    print()
    print("False positives among honest voters (worst detection run)")
    print(
        f"  real votes, shuffled: {worst['real_flagged']:.0f} of {worst['real_voters']:.0f} "
        f"voters = {worst['real_fpr']:.2%}; of the {worst['real_voters_100plus']:.0f} with >= 100 "
        f"votes: {worst['real_fpr_100plus']:.2%}"
    )
    bt = f"{worst['bt_flagged']:.0f} of {worst['bt_voters']:.0f} = {worst['bt_fpr']:.2%}"
    print(f"  BT voters: {bt}")
    for t in tastes:
        print(
            f"  voters with tastes (tau {t['tau']}): {t['fpr']:.2%} of {t['voters']:.0f}; of the "
            f"{t['voters_100plus']:.0f} with >= 100 votes: {t['fpr_100plus']:.2%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--votes", type=Path, default=DEFAULT_VOTES)
    parser.add_argument("--seed", type=int, default=20260406)
    parser.add_argument(
        "--attackers",
        type=int,
        default=100,
        help="identities per strategy and target in the detection run",
    )
    parser.add_argument(
        "--wave", type=int, default=10, help="detection: attacker identities voting at once"
    )
    parser.add_argument("--bt-voters", type=int, default=2000)
    parser.add_argument(
        "--deltas",
        type=lambda text: tuple(float(x) for x in text.split(",")),
        default=anomaly.DEFAULT_DELTAS,
        help="comma-separated log-odds biases the test mixes (default 2,3,4)",
    )
    parser.add_argument("--alpha", type=float, default=anomaly.DEFAULT_ALPHA)
    parser.add_argument(
        "--reference",
        choices=("before", "current"),
        default="before",
        help="ratings an identity is tested against: those published before its first vote "
        "(the site's rule) or the newest ones",
    )
    parser.add_argument(
        "--strategies",
        type=lambda text: tuple(text.split(",")),
        default=STRATEGIES,
        help="comma-separated subset of " + ",".join(STRATEGIES),
    )
    parser.add_argument(
        "--positions",
        type=lambda text: tuple(int(x) for x in text.split(",")),
        default=TARGET_POSITIONS,
        help="targets' positions on the overall board (default 10,25,40)",
    )
    parser.add_argument(
        "--no-sybil", action="store_true", help="skip the many-identities rows (faster)"
    )
    parser.add_argument(
        "--stale-only",
        action="store_true",
        help="only judge the honest voters by early snapshots (seconds)",
    )
    parser.add_argument(
        "--hold",
        type=float,
        default=anomaly.DEFAULT_HOLD,
        help="own statistic above which a network flag holds an identity (default 1)",
    )
    parser.add_argument(
        "--sybil-only",
        action="store_true",
        help="only the many-identities rows (one identity per network and all behind one), "
        "the network test's recall, and its false positives on honest networks",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not args.votes.is_file():
        sys.exit(f"votes not found: {args.votes} (pass --votes PATH)")
    TEST.update(deltas=args.deltas, alpha=args.alpha)
    HOLD["min"] = args.hold
    REFERENCE["mode"] = args.reference
    if unknown := set(args.strategies) - set(STRATEGIES):
        sys.exit(f"unknown strategies: {', '.join(sorted(unknown))}")
    started = time.monotonic()
    rng = np.random.default_rng(args.seed)
    arena = build(args.votes, rng)
    order = ranked(arena.ratings)
    honest_voter = np.repeat(np.arange(len(sizes := voter_sizes(rng, len(arena.honest)))), sizes)
    if args.stale_only:
        print_stale([stale_reference_false_positives(arena, honest_voter, x) for x in STALE_SHARES])
        return
    bt_sizes = np.array([int(min(3000, 3 * (1 + rng.pareto(1.1)))) for _ in range(args.bt_voters)])
    bt_a, bt_b = draw_pairs(arena, rng, int(bt_sizes.sum()))
    bt = Votes(bt_a, bt_b, honest_outcomes(arena, rng, bt_a, bt_b))
    bt_voter = np.repeat(np.arange(args.bt_voters), bt_sizes)
    h = anomaly.threshold(len(arena.models), alpha=args.alpha)
    print(
        f"{len(arena.honest):,} real votes on {len(arena.models)} models, dealt to {len(sizes):,} "
        f"honest voters (largest {sizes.max():,}); {args.bt_voters:,} BT voters casting "
        f"{len(bt):,} votes; test: deltas {args.deltas}, alpha {args.alpha}, "
        f"threshold h = {h:.2f}; reference: {args.reference}"
    )

    reports: list[TargetReport] = []
    detections: list[Detection] = []
    false_positive_runs: list[dict[str, float]] = []
    for position in args.positions:
        target = int(order[position - 1])
        above = int(order[position - 2])
        rivals = [int(m) for m in order[max(0, position - 1 - RIVALS) : position - 1]]
        for k, strategy in enumerate(STRATEGIES):
            if strategy not in args.strategies:
                continue

            # Each row draws from its own seeded stream, so one row's figures do not depend on
            # how many draws the rows before it took.
            def row_rng(part: int, k: int = k, at: int = position) -> np.random.Generator:
                return np.random.default_rng([args.seed, at, k, part])

            stream = attack_stream(arena, row_rng(0), strategy, target, rivals, 200_000).votes
            share = float(arena.pair_p[target, :].sum() + arena.pair_p[:, target].sum())
            needed = votes_to_pass(arena, stream, target, above)
            at, unflagged, shift = (
                (None, 0, 0.0) if args.sybil_only else single_identity(arena, stream, target)
            )
            report = TargetReport(
                strategy=strategy,
                target=arena.models[target],
                position=position,
                rating=float(arena.ratings[target]),
                half_width=float(arena.half_width[target]),
                above=arena.models[above],
                gap=float(arena.ratings[above] - arena.ratings[target]),
                votes_to_pass=needed,
                # A target-only attacker skips the battles without the target.
                battles_to_pass=(
                    None
                    if needed is None
                    else math.ceil(needed / share)
                    if strategy == "target-only"
                    else needed
                ),
                flagged_at=at,
                max_unflagged_votes=unflagged,
                max_shift=shift,
                single_identity_can_pass=needed is not None and needed <= unflagged,
            )
            for m in () if args.no_sybil else SYBIL_SIZES:
                # The same identities (same stream) on networks of their own, then behind one.
                for networks in (None, 1):
                    report.sybil.append(
                        sybil(arena, row_rng(m), strategy, target, rivals, above, m, networks)
                    )
                for mates in (0, MATES):
                    report.network_recall.append(
                        network_recall(arena, row_rng(1000 + m), strategy, target, rivals, m, mates)
                    )
            reports.append(report)
            if args.sybil_only:
                print(
                    f"  {strategy} on {arena.models[target]} done "
                    f"({time.monotonic() - started:.0f} s)",
                    file=sys.stderr,
                )
                continue
            found, fp = detection(
                arena,
                row_rng(1),
                strategy,
                target,
                rivals,
                args.attackers,
                honest_voter,
                bt,
                bt_voter,
                wave=args.wave,
            )
            detections.append(found)
            false_positive_runs.append(fp)
            print(
                f"  {strategy} on {arena.models[target]} done ({time.monotonic() - started:.0f} s)",
                file=sys.stderr,
            )

    # Networks draw from their own stream, so the figures above stay those of earlier runs.
    net_rng = np.random.default_rng([args.seed, 24])
    real_net = network_of(net_rng, int(honest_voter.max()) + 1)
    bt_net = network_of(net_rng, args.bt_voters)
    honest_nets = {
        "real-vote voters": honest_networks(
            net_rng, theta_of(arena.ratings), honest_voter, arena.honest, real_net
        ),
        "BT voters": honest_networks(
            net_rng, theta_of(ratings_with(arena, bt)), bt_voter, bt, bt_net
        ),
    }
    shared = [shared_taste_networks(arena, net_rng, tau, args.bt_voters) for tau in TASTES]
    tastes: list[dict[str, float]] = []
    stale: list[dict[str, float]] = []
    if args.sybil_only:
        print_sybil(reports)
    else:
        tastes = [taste_false_positives(arena, rng, tau, args.bt_voters) for tau in TASTES]
        print_tables(reports, detections, false_positive_runs, tastes, args.attackers, args.wave)
        stale = [stale_reference_false_positives(arena, honest_voter, x) for x in STALE_SHARES]
        print_stale(stale)
    print_networks(honest_nets, shared)
    print(f"\n{time.monotonic() - started:.0f} s")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "seed": args.seed,
                    "threshold": h,
                    "reference": args.reference,
                    "wave": args.wave,
                    "reports": [asdict(r) for r in reports],
                    "detections": [asdict(d) for d in detections],
                    "false_positives": false_positive_runs,
                    "tastes": tastes,
                    "stale_reference": stale,
                    "honest_networks": honest_nets,
                    "shared_taste_networks": shared,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()

"""Empirical coverage of the 95% rating intervals of ``ratings/maths.py`` on simulated leaderboards.

Run from the repository root (deterministic: every random draw comes from ``--seed``):

    .venv/bin/python bench/coverage.py        # 300 leaderboards, 1000 rounds: ~2-4 min, 2 cores
    .venv/bin/python bench/coverage.py --leaderboards 400 --rounds 500 --seed 7 --jobs 2
    .venv/bin/python bench/coverage.py --ties constant     # misspecified ties, pseudo-true target

Each simulated leaderboard has known true strengths. Votes are aggregated with
``PairCounts.from_records``, fitted with ``fit`` (plain MLE, no prior, no reweighting, as
published) and both ``sandwich_intervals`` and ``bootstrap_intervals`` are computed at the 95%
level. A (leaderboard, model) pair is covered when the interval contains the model's true rating,
centred like the estimate (mean over the rated models = 0). See ``docs/interval-coverage.md``.

Generator (per leaderboard, all draws from its own seed):
    - 20-40 models; theta_true ~ N(0, sd^2), sd ~ U(0.3, 0.7) per leaderboard (arena-140k: sd 0.33).
    - 2,000-8,000 votes (log-uniform). A vote's pair is drawn with probability proportional to
      popularity_i * popularity_j, popularity lognormal (sd 0.5) tilted towards strong models; 2-5
      "new" models get 0.1-0.3 of their popularity (the sparse ones), and 10% of the pairs are
      never shown together.
    - Outcome of a vote between i and j, with s = sigmoid(theta_i - theta_j):
        ``--ties matched`` (default): draw with probability t = c * 4 s (1 - s), i wins with
        probability s - t/2, j with 1 - s - t/2 (c ~ U(0.2, 0.45) per leaderboard, so about 20-40%
        draws). The expected score of i (win 1, draw 1/2) is exactly s, so the true theta is the
        population optimum of the half-win likelihood the engine maximises.
        ``--ties constant``: draw with probability c whatever the pair, decisive votes won with
        probability s. Then E[score] = 1/2 + (1 - c)(s - 1/2) != s: the half-win model is
        misspecified and the estimand is the pseudo-true theta (the fit on the expected counts).
      A draw is ``tie`` or ``both_bad`` with probability 0.58 / 0.42 (both count the same).
    - The truth used for coverage is always the fit of the *expected* counts given the realised
      pair counts (population MLE); for ``matched`` it is checked to equal theta_true centred.
    - A leaderboard in which some model is unrated is redrawn (counted and reported).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

# One BLAS thread per process: the matrices are tiny and the parallelism is across leaderboards.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402
from scipy.special import expit  # noqa: E402
from scipy.stats import norm  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ratings.maths import (  # noqa: E402
    RATING_BASE,
    RATING_SCALE,
    PairCounts,
    bootstrap_intervals,
    fit,
    sandwich_intervals,
)

LEVEL = 0.95
METHODS = ("sandwich", "bootstrap")
# Vote-count bins for the sparse/dense split (votes of the model in its leaderboard).
VOTE_BINS = (
    (0, 50, "< 50 votes"),
    (50, 150, "50-149 votes"),
    (150, 400, "150-399 votes"),
    (400, math.inf, ">= 400 votes"),
)
MAX_ATTEMPTS = 20


@dataclass
class Board:
    """One simulated leaderboard: counts, and the true theta of every model."""

    counts: PairCounts
    truth: np.ndarray  # population-MLE theta, centred (the estimand)
    generator_theta: np.ndarray  # theta_true of the generator, centred
    votes: np.ndarray


@dataclass
class Result:
    """Everything measured on one leaderboard."""

    index: int
    redraws: dict[str, int] = field(default_factory=dict)
    votes: np.ndarray | None = None
    truth: np.ndarray | None = None
    naive: np.ndarray | None = None
    lower: dict[str, np.ndarray] = field(default_factory=dict)
    upper: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    total_votes: int = 0


def simulate(rng: np.random.Generator, ties: str) -> Board:
    """Draw one leaderboard."""
    k = int(rng.integers(20, 41))
    spread = rng.uniform(0.3, 0.7)
    theta = rng.normal(0.0, spread, k)
    n_votes = int(round(math.exp(rng.uniform(math.log(2000), math.log(8000)))))

    popularity = np.exp(rng.normal(0.0, 0.5, k) + 0.5 * theta)
    new = rng.choice(k, size=int(rng.integers(2, 6)), replace=False)
    popularity[new] *= rng.uniform(0.1, 0.3, len(new))
    upper_i, upper_j = np.triu_indices(k, 1)
    pair_weight = popularity[upper_i] * popularity[upper_j]
    pair_weight[rng.random(len(pair_weight)) < 0.10] = 0.0  # pairs never shown together
    per_pair = rng.multinomial(n_votes, pair_weight / pair_weight.sum())

    s = expit(theta[upper_i] - theta[upper_j])
    c = rng.uniform(0.2, 0.45)
    if ties == "matched":
        draw = c * 4 * s * (1 - s)
        p_win, p_loss = s - draw / 2, 1 - s - draw / 2
    elif ties == "constant":
        draw = np.full_like(s, c)
        p_win, p_loss = (1 - c) * s, (1 - c) * (1 - s)
    else:
        raise ValueError(ties)
    probabilities = np.stack([p_win, p_loss, 0.58 * draw, 0.42 * draw], axis=1)
    probabilities = np.clip(probabilities, 0.0, None)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    outcomes = rng.multinomial(per_pair, probabilities)  # (pairs, 4)

    names = [f"m{i:02d}" for i in range(k)]  # sorted order == index order
    records = []
    for p, (i, j) in enumerate(zip(upper_i, upper_j, strict=True)):
        # Every model appears in some record (possibly with count 0), so a model that got no
        # votes is listed and reported "no_votes" rather than silently dropped.
        for label, count in zip(
            ("model_a", "model_b", "tie", "both_bad"), outcomes[p], strict=True
        ):
            records.append((names[i], names[j], label, int(count)))
    counts = PairCounts.from_records(records)
    assert counts.models == tuple(names)

    # Estimand: the optimum of the half-win likelihood on the expected counts given the pairs.
    n = np.zeros((k, k))
    n[upper_i, upper_j] = per_pair
    n += n.T
    prob = expit(theta[:, None] - theta[None, :])
    if ties == "matched":
        t = c * 4 * prob * (1 - prob)
        exp_wins = n * (prob - t / 2)
    else:
        t = np.full_like(prob, c)
        exp_wins = n * (1 - c) * prob
    t = (t + t.T) / 2  # exactly symmetric (expit(-x) and 1 - expit(x) differ in the last bit)
    np.fill_diagonal(t, 0.0)
    np.fill_diagonal(exp_wins, 0.0)
    population = fit(PairCounts(tuple(names), exp_wins, n * t))
    truth = np.asarray(population.theta, dtype=float)
    generator_theta = theta - theta.mean()
    if ties == "matched" and population.rated.all():
        # (A model without votes leaves both fits short of a model; the draw is then redone.)
        gap = np.max(np.abs(truth - generator_theta))
        assert gap < 1e-7, f"population MLE differs from theta_true by {gap}"
    return Board(counts, truth, generator_theta, counts.votes_per_model())


def run_one(task: tuple[int, int, int, str]) -> Result:
    """Simulate leaderboard ``index`` (redrawing while a model is unrated) and measure it."""
    seed, index, rounds, ties = task
    result = Result(index)
    for attempt in range(MAX_ATTEMPTS):
        rng = np.random.default_rng([seed, index, attempt])
        board = simulate(rng, ties)
        fitted = fit(board.counts)
        if fitted.rated.all() and fitted.converged:
            break
        reasons = set(fitted.unrated_reason.values()) or {"not_converged"}
        for reason in reasons:
            result.redraws[reason] = result.redraws.get(reason, 0) + 1
    else:
        raise RuntimeError(f"leaderboard {index}: no fully rated draw in {MAX_ATTEMPTS} attempts")

    result.votes = board.votes
    result.total_votes = int(round(board.counts.total_votes))
    # Truth on the published scale. Everything is rated, so centring over the rated models is
    # centring over all of them, exactly as the estimate is centred.
    result.truth = RATING_BASE + RATING_SCALE * board.truth
    result.naive = RATING_BASE + RATING_SCALE * board.generator_theta

    start = time.perf_counter()
    intervals = sandwich_intervals(board.counts, fitted, level=LEVEL)
    result.seconds["sandwich"] = time.perf_counter() - start
    result.lower["sandwich"], result.upper["sandwich"] = intervals.lower, intervals.upper
    if rounds > 0:
        start = time.perf_counter()
        boot_seed = int(np.random.SeedSequence([seed, index, 99]).generate_state(1)[0])
        intervals = bootstrap_intervals(
            board.counts, fitted, rounds=rounds, seed=boot_seed, level=LEVEL
        )
        result.seconds["bootstrap"] = time.perf_counter() - start
        result.lower["bootstrap"], result.upper["bootstrap"] = intervals.lower, intervals.upper
    return result


def wilson(successes: float, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion."""
    if n == 0:
        return math.nan, math.nan
    z = float(norm.ppf(1 - (1 - level) / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def cluster_interval(hits: list[np.ndarray], level: float = LEVEL) -> tuple[float, float]:
    """Normal interval for pooled coverage with leaderboards as clusters (ratio estimator)."""
    covered = np.array([h.sum() for h in hits], dtype=float)
    sizes = np.array([len(h) for h in hits], dtype=float)
    if len(hits) < 2 or sizes.sum() == 0:
        return math.nan, math.nan
    ratio = covered.sum() / sizes.sum()
    residual = covered - ratio * sizes
    g = len(hits)
    se = math.sqrt(g / (g - 1) * (residual**2).sum()) / sizes.sum()
    z = float(norm.ppf(1 - (1 - level) / 2))
    return ratio - z * se, ratio + z * se


def percent(x: float) -> str:
    return f"{100 * x:5.1f}"


@dataclass
class Outcomes:
    """Per-leaderboard arrays for one (method, truth): one entry per model."""

    hits: list[np.ndarray]
    below: list[np.ndarray]  # truth below the interval: the estimate is too high
    above: list[np.ndarray]
    widths: list[np.ndarray]  # half-widths in rating points
    votes: list[np.ndarray]


def outcomes(results: list[Result], method: str, attribute: str) -> Outcomes:
    """Collect coverage outcomes of one method against one definition of the truth."""
    out = Outcomes([], [], [], [], [])
    for r in results:
        truth = getattr(r, attribute)
        lo, hi = r.lower[method], r.upper[method]
        out.hits.append((lo <= truth) & (truth <= hi))
        out.below.append(truth < lo)
        out.above.append(truth > hi)
        out.widths.append((hi - lo) / 2)
        out.votes.append(r.votes)
    return out


def subset_row(prefix: str, subset: str, data: Outcomes, masks: list[np.ndarray]) -> str:
    """Format coverage, its Wilson and cluster intervals, misses and width over a subset."""
    hits = np.concatenate([h[m] for h, m in zip(data.hits, masks, strict=True)])
    below = np.concatenate([b[m] for b, m in zip(data.below, masks, strict=True)])
    above = np.concatenate([a[m] for a, m in zip(data.above, masks, strict=True)])
    widths = np.concatenate([w[m] for w, m in zip(data.widths, masks, strict=True)])
    n = len(hits)
    if n == 0:
        return f"{prefix} {subset:<22} {0:>6}"
    lo, hi = wilson(float(hits.sum()), n)
    clo, chi = cluster_interval([h[m] for h, m in zip(data.hits, masks, strict=True)])
    misses = f"{100 * below.mean():.1f}/{100 * above.mean():.1f}"
    return (
        f"{prefix} {subset:<22} {n:>6} {percent(hits.mean()):>6} "
        f"[{percent(lo)},{percent(hi)}] [{percent(clo)},{percent(chi)}] "
        f"{misses:>11} {np.median(widths):>10.1f}"
    )


def summarise(results: list[Result], methods: list[str], ties: str) -> list[str]:
    """Return the lines of the summary table."""
    header = (
        f"{'method':<10} {'truth':<6} {'subset':<22} {'n':>6} {'cover%':>6} "
        f"{'Wilson 95%':>13} {'cluster 95%':>13} {'miss lo/hi%':>11} {'half-width':>10}"
    )
    lines = [header, "-" * len(header)]
    targets = [("pseudo", "truth")] + ([("naive", "naive")] if ties == "constant" else [])
    for method in methods:
        for label, attribute in targets:
            data = outcomes(results, method, attribute)
            prefix = f"{method:<10} {label:<6}"
            everything = [np.ones(len(h), dtype=bool) for h in data.hits]
            lines.append(subset_row(prefix, "all (leaderboard,model)", data, everything))
            for low, high, name in VOTE_BINS:
                masks = [(v >= low) & (v < high) for v in data.votes]
                lines.append(subset_row(prefix, "  " + name, data, masks))
            per_board = np.array([h.mean() for h in data.hits])
            mean = per_board.mean()
            se = per_board.std(ddof=1) / math.sqrt(len(per_board)) if len(per_board) > 1 else 0.0
            z = float(norm.ppf(1 - (1 - LEVEL) / 2))
            lines.append(
                f"{prefix} {'per-leaderboard mean':<22} {len(per_board):>6} {percent(mean):>6} "
                f"{'':>13} [{percent(mean - z * se)},{percent(mean + z * se)}]"
            )
            simultaneous = np.array([h.all() for h in data.hits])
            lo, hi = wilson(float(simultaneous.sum()), len(simultaneous))
            lines.append(
                f"{prefix} {'all models covered':<22} {len(simultaneous):>6} "
                f"{percent(simultaneous.mean()):>6} [{percent(lo)},{percent(hi)}]"
            )
        lines.append("")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leaderboards", type=int, default=300, help="default 300")
    parser.add_argument(
        "--rounds", type=int, default=1000, help="bootstrap rounds (default 1000; 0 skips it)"
    )
    parser.add_argument("--seed", type=int, default=20240611, help="master seed")
    parser.add_argument(
        "--jobs", type=int, default=min(2, os.cpu_count() or 1), help="worker processes"
    )
    parser.add_argument("--ties", choices=("matched", "constant"), default="matched")
    args = parser.parse_args(argv)
    if args.leaderboards < 1 or args.rounds < 0 or args.rounds == 1 or args.jobs < 1:
        parser.error("need --leaderboards >= 1, --rounds 0 or >= 2, --jobs >= 1")

    tasks = [(args.seed, i, args.rounds, args.ties) for i in range(args.leaderboards)]
    wall = time.perf_counter()
    if args.jobs == 1:
        results = [run_one(task) for task in tasks]
    else:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
            results = pool.map(run_one, tasks, chunksize=1)  # ordered: deterministic output
    wall = time.perf_counter() - wall

    methods = [m for m in METHODS if all(m in r.lower for r in results)]
    models = np.array([len(r.votes) for r in results])
    votes = np.array([r.total_votes for r in results])
    per_model = np.concatenate([r.votes for r in results])
    redraws: dict[str, int] = {}
    for r in results:
        for reason, count in r.redraws.items():
            redraws[reason] = redraws.get(reason, 0) + count
    print(
        f"Interval coverage at {LEVEL:.0%}: {args.leaderboards} leaderboards, ties={args.ties}, "
        f"seed={args.seed}, bootstrap rounds={args.rounds}, jobs={args.jobs}"
    )
    print(
        f"models/leaderboard {models.min()}-{models.max()} (mean {models.mean():.1f}); "
        f"votes/leaderboard {votes.min()}-{votes.max()} (median {np.median(votes):.0f}); "
        f"votes/model {per_model.min():.0f}-{per_model.max():.0f} "
        f"(median {np.median(per_model):.0f}); (leaderboard,model) pairs {len(per_model)}"
    )
    print(
        "redrawn leaderboards (a model unrated): "
        + (", ".join(f"{k} {v}" for k, v in sorted(redraws.items())) if redraws else "none")
    )
    infinite = {
        m: sum(int((~np.isfinite(r.lower[m]) | ~np.isfinite(r.upper[m])).sum()) for r in results)
        for m in methods
    }
    print(
        "intervals with an infinite bound (counted as covering): "
        + ", ".join(f"{m} {count}" for m, count in infinite.items())
    )
    print()
    for line in summarise(results, methods, args.ties):
        print(line)
    timing = ", ".join(
        f"{m} {np.mean([r.seconds[m] for r in results]) * 1000:.1f} ms" for m in methods
    )
    print(f"mean time per leaderboard: {timing}; wall clock {wall:.0f} s")
    print(
        "truth: pseudo = population MLE of the half-win model (the estimand)"
        + ("; naive = generator theta" if args.ties == "constant" else " (= generator theta)")
        + ". miss lo = truth below the interval, hi = above. half-width: median, rating points."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

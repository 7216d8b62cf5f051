"""Unit tests for ratings.maths, including validation against LMArena's published table."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.stats import norm

from ratings import maths
from ratings.maths import (
    OUTCOMES,
    RATING_BASE,
    RATING_SCALE,
    Fit,
    PairCounts,
    bootstrap_intervals,
    elo,
    fit,
    leaderboard,
    log_likelihood,
    rank_ranges,
    sandwich_intervals,
)

Vote = tuple[str, str, str]


def _counts(votes: Sequence[Vote]) -> PairCounts:
    """Aggregate a list of (model_a, model_b, outcome) votes."""
    return PairCounts.from_records((a, b, o, 1) for a, b, o in votes)


def _synthetic_votes(
    n_models: int, n_votes: int, seed: int, spread: float = 1.0, tie_rate: float = 0.25
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Simulate Bradley-Terry votes; return model_a, model_b, outcome and the true strengths."""
    rng = np.random.default_rng(seed)
    strengths = rng.normal(0.0, spread, n_models)
    first = rng.integers(0, n_models, n_votes)
    second = (first + rng.integers(1, n_models, n_votes)) % n_models
    p_first = 1.0 / (1.0 + np.exp(-(strengths[first] - strengths[second])))
    draw = rng.random(n_votes) < tie_rate
    first_wins = rng.random(n_votes) < p_first
    kind = np.where(rng.random(n_votes) < 0.5, "tie", "both_bad")
    outcome = np.where(draw, kind, np.where(first_wins, "model_a", "model_b"))
    names = np.array([f"model-{i:03d}" for i in range(n_models)])
    return names[first], names[second], outcome, strengths


def _reference_fit(
    votes: Sequence[Vote], models: Sequence[str], prior: float = 0.0, weights=None
) -> np.ndarray:
    """Maximise the per-vote likelihood with a generic optimiser, independently of maths.fit."""
    index = {m: i for i, m in enumerate(models)}
    first = np.array([index[a] for a, _, _ in votes])
    second = np.array([index[b] for _, b, _ in votes])
    y = np.array([{"model_a": 1.0, "model_b": 0.0}.get(o, 0.5) for _, _, o in votes])
    w = np.ones(len(votes)) if weights is None else np.asarray(weights)
    n = len(models)

    def objective(free: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.concatenate([[0.0], free]) if prior == 0 else free
        diff = theta[first] - theta[second]
        value = -np.sum(w * (y * diff - np.logaddexp(0.0, diff))) + 0.5 * prior * theta @ theta
        resid = w * (y - 1.0 / (1.0 + np.exp(-diff)))
        grad = -np.bincount(first, resid, n) + np.bincount(second, resid, n) + prior * theta
        return value, grad[1:] if prior == 0 else grad

    size = n - 1 if prior == 0 else n
    result = minimize(objective, np.zeros(size), jac=True, method="BFGS", options={"gtol": 1e-11})
    theta = np.concatenate([[0.0], result.x]) if prior == 0 else result.x
    return theta - theta.mean()


def _reference_sandwich(
    votes: Sequence[Vote], models: Sequence[str], theta: np.ndarray, ridge: float | None = None
) -> np.ndarray:
    """Return the sandwich variance from a per-vote loop (pseudo-inverse, or arena-rank's ridge)."""
    index = {m: i for i, m in enumerate(models)}
    n = len(models)
    hess = np.zeros((n, n))
    meat = np.zeros((n, n))
    for a, b, o in votes:
        e = np.zeros(n)
        e[index[a]], e[index[b]] = 1.0, -1.0
        p = 1.0 / (1.0 + math.exp(-(theta[index[a]] - theta[index[b]])))
        y = {"model_a": 1.0, "model_b": 0.0}.get(o, 0.5)
        hess += p * (1 - p) * np.outer(e, e)
        meat += (y - p) ** 2 * np.outer(e, e)
    if ridge is None:
        inverse = np.linalg.pinv(hess)
    else:
        inverse = np.linalg.inv(hess + ridge * len(votes) * np.eye(n))
    return np.diag(inverse @ meat @ inverse) * RATING_SCALE**2


SMALL_VOTES: list[Vote] = (
    [("a", "b", "model_a")] * 6
    + [("b", "a", "model_a")] * 3
    + [("a", "b", "tie")] * 2
    + [("b", "c", "model_a")] * 5
    + [("c", "b", "model_a")] * 4
    + [("c", "a", "both_bad")] * 3
    + [("a", "c", "model_b")] * 2
    + [("c", "d", "model_a")] * 4
    + [("d", "c", "model_a")] * 3
    + [("a", "d", "tie")] * 1
    + [("d", "a", "model_b")] * 2
)


# --- PairCounts -------------------------------------------------------------------------------


def test_constants() -> None:
    assert pytest.approx(400 / math.log(10)) == RATING_SCALE
    assert RATING_BASE == 1000.0
    assert OUTCOMES == ("model_a", "model_b", "tie", "both_bad")


def test_from_records_aggregates_wins_and_draws() -> None:
    counts = PairCounts.from_records(
        [
            ("x", "y", "model_a", 3),
            ("y", "x", "model_a", 2),
            ("x", "y", "tie", 1),
            ("y", "x", "both_bad", 4.5),
            ("x", "x", "model_a", 7),  # self-battle: ignored
            ("z", "z", "tie", 1),  # z only ever fought itself
        ]
    )
    assert counts.models == ("x", "y", "z")
    np.testing.assert_array_equal(counts.wins, [[0, 3, 0], [2, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(counts.draws, [[0, 5.5, 0], [5.5, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(counts.votes_per_model(), [10.5, 10.5, 0])
    assert counts.total_votes == 10.5
    np.testing.assert_array_equal(counts.wins_per_model(), [3, 2, 0])
    np.testing.assert_array_equal(counts.losses_per_model(), [2, 3, 0])
    np.testing.assert_array_equal(counts.draws_per_model(), [5.5, 5.5, 0])


@pytest.mark.parametrize(
    "record", [("a", "b", "draw", 1), ("a", "b", "model_a", -1), ("a", "b", "tie", math.nan)]
)
def test_from_records_rejects_bad_records(record: tuple) -> None:
    with pytest.raises(ValueError):
        PairCounts.from_records([record])


def test_from_votes_matches_from_records() -> None:
    first, second, outcome, _ = _synthetic_votes(7, 3000, seed=3)
    # Sprinkle in self-battles, which both constructors ignore.
    first[:5] = second[:5]
    vectorised = PairCounts.from_votes(first, second, outcome)
    looped = PairCounts.from_records(zip(first, second, outcome, [1] * len(first), strict=True))
    assert vectorised.models == looped.models
    np.testing.assert_array_equal(vectorised.wins, looped.wins)
    np.testing.assert_array_equal(vectorised.draws, looped.draws)
    assert vectorised.total_votes == 3000 - 5


def test_from_votes_validation() -> None:
    with pytest.raises(ValueError, match="unknown outcome"):
        PairCounts.from_votes(["a"], ["b"], ["draw"])
    with pytest.raises(ValueError, match="same length"):
        PairCounts.from_votes(["a", "a"], ["b"], ["tie"])
    assert PairCounts.from_votes([], [], []).n_models == 0


def test_pair_counts_validation_and_immutability() -> None:
    with pytest.raises(ValueError, match="shape"):
        PairCounts(("a", "b"), np.zeros((3, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="symmetric"):
        PairCounts(("a", "b"), np.zeros((2, 2)), np.array([[0, 1.0], [0, 0]]))
    with pytest.raises(ValueError, match="non-negative"):
        PairCounts(("a", "b"), np.array([[0, -1.0], [0, 0]]), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="diagonal"):
        PairCounts(("a", "b"), np.eye(2), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="unique"):
        PairCounts(("a", "a"), np.zeros((2, 2)), np.zeros((2, 2)))
    counts = _counts(SMALL_VOTES)
    with pytest.raises(ValueError):
        counts.wins[0, 1] = 99.0
    with pytest.raises(KeyError):
        counts.index("nope")


def test_restrict_and_add() -> None:
    counts = _counts(SMALL_VOTES)
    sub = counts.restrict(["c", "a"])
    assert sub.models == ("a", "c")
    np.testing.assert_array_equal(sub.wins, [[0, 0], [2, 0]])
    np.testing.assert_array_equal(sub.draws, [[0, 3], [3, 0]])
    with pytest.raises(ValueError, match="unknown"):
        counts.restrict(["a", "zzz"])

    half = len(SMALL_VOTES) // 2
    left, right = _counts(SMALL_VOTES[:half]), _counts(SMALL_VOTES[half:])
    total = left + right
    assert total.models == counts.models
    np.testing.assert_array_equal(total.wins, counts.wins)
    np.testing.assert_array_equal(total.draws, counts.draws)
    summed = sum([left, right, PairCounts.empty()])
    np.testing.assert_array_equal(summed.wins, counts.wins)
    extra = _counts([("e", "a", "model_a")])
    assert (counts + extra).models == ("a", "b", "c", "d", "e")


# --- fit --------------------------------------------------------------------------------------


def test_two_model_closed_form() -> None:
    # With two models the MLE is the log of the score ratio: (5 + 1) / (2 + 1).
    counts = _counts(
        [("p", "q", "model_a")] * 5 + [("q", "p", "model_a")] * 2 + [("p", "q", "tie")] * 2
    )
    result = fit(counts)
    gap = math.log(6 / 3)
    np.testing.assert_allclose(result.theta, [gap / 2, -gap / 2], atol=1e-12)
    np.testing.assert_allclose(result.ratings, RATING_BASE + RATING_SCALE * result.theta)
    assert result.converged and result.gradient_norm <= 1e-10
    assert result.rating("p") == pytest.approx(RATING_BASE + RATING_SCALE * gap / 2)


def test_fit_matches_generic_optimiser() -> None:
    result = fit(_counts(SMALL_VOTES))
    assert result.converged
    assert result.rated.all() and result.unrated_reason == {}
    reference = _reference_fit(SMALL_VOTES, result.models)
    np.testing.assert_allclose(result.theta, reference, atol=1e-7)
    assert abs(result.theta.mean()) < 1e-14


def test_fit_is_a_maximum() -> None:
    counts = _counts(SMALL_VOTES)
    result = fit(counts)
    best = log_likelihood(counts, result.theta)
    rng = np.random.default_rng(0)
    for _ in range(20):
        assert log_likelihood(counts, result.theta + 1e-3 * rng.normal(size=4)) < best


def test_prior_is_a_ridge_penalty() -> None:
    counts = _counts(SMALL_VOTES)
    result = fit(counts, prior=3.0)
    assert result.prior == 3.0
    np.testing.assert_allclose(
        result.theta, _reference_fit(SMALL_VOTES, result.models, prior=3.0), atol=1e-7
    )
    # The ridge shrinks the spread but keeps the order.
    plain = fit(counts)
    assert np.ptp(result.theta) < np.ptp(plain.theta)
    np.testing.assert_array_equal(np.argsort(result.theta), np.argsort(plain.theta))


def test_reweighting_uses_inverse_pair_frequency() -> None:
    counts = _counts(SMALL_VOTES)
    totals = counts.pair_totals()
    for floor in (1.0, 5.0, 50.0):
        result = fit(counts, reweight=True, min_pair_count=floor)
        weights = [
            1.0 / max(totals[counts.index(a), counts.index(b)], floor) for a, b, _ in SMALL_VOTES
        ]
        reference = _reference_fit(SMALL_VOTES, counts.models, weights=weights)
        np.testing.assert_allclose(result.theta, reference, atol=1e-6)
        assert result.converged and result.reweight
    # A floor above every pair count makes all weights equal: the unweighted fit.
    np.testing.assert_allclose(
        fit(counts, reweight=True, min_pair_count=1e6).theta, fit(counts).theta, atol=1e-10
    )


def test_anchor_and_warm_start() -> None:
    counts = _counts(SMALL_VOTES)
    centred = fit(counts)
    anchored = fit(counts, anchor=("c", 1200.0))
    assert anchored.rating("c") == pytest.approx(1200.0)
    np.testing.assert_allclose(np.diff(anchored.ratings), np.diff(centred.ratings), atol=1e-9)
    warm = fit(counts, init=centred.theta + 5.0)
    assert warm.iterations <= 1 and warm.converged
    np.testing.assert_allclose(warm.theta, centred.theta, atol=1e-12)
    with pytest.raises(ValueError, match="unknown"):
        fit(counts, anchor=("zzz", 1000.0))
    with pytest.raises(ValueError, match="init"):
        fit(counts, init=np.zeros(3))


def test_max_iter_reports_non_convergence() -> None:
    result = fit(_counts(SMALL_VOTES), max_iter=1)
    assert not result.converged and result.iterations == 1
    assert result.gradient_norm > 1e-10


def test_extreme_but_finite_data_converges() -> None:
    counts = PairCounts.from_records(
        [
            ("top", "mid", "model_a", 1e6),
            ("mid", "top", "model_a", 1),
            ("mid", "low", "model_a", 5e5),
            ("low", "mid", "tie", 1),
        ]
    )
    result = fit(counts)
    assert result.converged and result.rated.all()
    assert result.theta[counts.index("top")] - result.theta[counts.index("mid")] == pytest.approx(
        math.log(1e6), rel=1e-9
    )


def test_unrated_reasons() -> None:
    votes: list[Vote] = list(SMALL_VOTES)
    votes += [("champ", "a", "model_a")] * 3 + [("b", "champ", "model_b")]  # only ever won
    votes += [("loser", "c", "model_b")] * 2  # only ever lost
    votes += [("island1", "island2", "model_a"), ("island2", "island1", "tie")]  # own component
    records = [(a, b, o, 1) for a, b, o in votes] + [("ghost", "ghost", "tie", 1)]
    counts = PairCounts.from_records(records)
    result = fit(counts)
    assert result.unrated_reason == {
        "champ": "unbounded_above",
        "ghost": "no_votes",
        "island1": "disconnected",
        "island2": "disconnected",
        "loser": "unbounded_below",
    }
    rated = [m for m, r in zip(result.models, result.rated, strict=True) if r]
    assert rated == ["a", "b", "c", "d"]
    assert np.isnan(result.ratings[~result.rated]).all()
    # The core is fitted on its own votes and centred over itself.
    np.testing.assert_allclose(result.theta[result.rated], fit(_counts(SMALL_VOTES)).theta)

    regularised = fit(counts, prior=0.5)
    assert regularised.unrated_reason == {
        "ghost": "no_votes",
        "island1": "disconnected",
        "island2": "disconnected",
    }
    champ, loser = counts.index("champ"), counts.index("loser")
    assert regularised.theta[champ] == regularised.theta[regularised.rated].max()
    assert regularised.theta[loser] == regularised.theta[regularised.rated].min()
    with pytest.raises(ValueError, match="no finite rating"):
        fit(counts, anchor=("champ", 1000.0))


def test_chains_of_wins_are_unbounded_relative_to_the_core() -> None:
    # top beats mid1, which beats the core, which beats bottom: mid1 is above, bottom below.
    votes = list(SMALL_VOTES)
    votes += [("top", "mid1", "model_a"), ("mid1", "a", "model_a"), ("top", "mid1", "model_a")]
    votes += [("d", "bottom", "model_a"), ("bottom", "bottom2", "model_a")]
    result = fit(_counts(votes))
    assert result.unrated_reason == {
        "bottom": "unbounded_below",
        "bottom2": "unbounded_below",
        "mid1": "unbounded_above",
        "top": "unbounded_above",
    }


def test_equal_components_tie_break_on_names() -> None:
    votes: list[Vote] = [("m", "n", "model_a"), ("n", "m", "model_a")]
    votes += [("b", "c", "tie"), ("x", "y", "tie"), ("y", "x", "tie")]
    result = fit(_counts(votes))
    assert result.unrated_reason == {
        "m": "disconnected",
        "n": "disconnected",
        "x": "disconnected",
        "y": "disconnected",
    }


def test_nothing_to_rate() -> None:
    result = fit(_counts([("a", "b", "model_a")]))
    assert result.unrated_reason == {"a": "unbounded_above", "b": "unbounded_below"}
    assert not result.rated.any() and np.isnan(result.ratings).all()
    empty = fit(PairCounts.empty())
    assert empty.models == () and empty.converged


# --- intervals --------------------------------------------------------------------------------


def test_sandwich_matches_per_vote_reference() -> None:
    counts = _counts(SMALL_VOTES)
    result = fit(counts)
    intervals = sandwich_intervals(counts, result)
    reference = _reference_sandwich(SMALL_VOTES, counts.models, result.theta)
    np.testing.assert_allclose(intervals.variance, reference, rtol=1e-6)
    z = norm.ppf(0.975)
    np.testing.assert_allclose(intervals.upper - result.ratings, z * np.sqrt(reference), rtol=1e-6)
    np.testing.assert_allclose(result.ratings - intervals.lower, z * np.sqrt(reference), rtol=1e-6)
    # arena-rank's inverse with its 1e-5 * n_votes ridge is close to the projected one (which
    # is its limit; smaller ridges drown in rounding along the all-ones direction).
    ridged = _reference_sandwich(SMALL_VOTES, counts.models, result.theta, ridge=1e-5)
    np.testing.assert_allclose(intervals.variance, ridged, rtol=1e-3)
    assert intervals.method == "sandwich" and intervals.level == 0.95
    wider = sandwich_intervals(counts, result, level=0.99)
    ratio = (wider.upper - wider.lower) / (intervals.upper - intervals.lower)
    np.testing.assert_allclose(ratio, norm.ppf(0.995) / z)
    with pytest.raises(ValueError, match="level"):
        sandwich_intervals(counts, result, level=1.0)
    with pytest.raises(ValueError, match="different models"):
        sandwich_intervals(counts.restrict(["a", "b"]), result)


def test_sandwich_is_model_based_variance_for_well_specified_data() -> None:
    # With only decisive votes from the model itself, G ~ H, so V ~ H^+ (the Fisher variance).
    first, second, outcome, _ = _synthetic_votes(6, 40_000, seed=11, tie_rate=0.0)
    counts = PairCounts.from_votes(first, second, outcome)
    result = fit(counts)
    robust = sandwich_intervals(counts, result).variance
    theta = result.theta
    prob = 1 / (1 + np.exp(-(theta[:, None] - theta[None, :])))
    edges = counts.pair_totals() * prob * prob.T
    fisher = np.linalg.pinv(np.diag(edges.sum(axis=1)) - edges)
    np.testing.assert_allclose(robust, np.diag(fisher) * RATING_SCALE**2, rtol=0.1)


def test_sandwich_with_prior_and_weights_and_unrated() -> None:
    counts = _counts([*SMALL_VOTES, ("champ", "a", "model_a")])
    ridge = sandwich_intervals(counts, fit(counts, prior=1.0))
    assert np.isfinite(ridge.variance).all()
    plain = sandwich_intervals(counts, fit(counts))
    assert np.isnan(plain.variance[counts.index("champ")])
    assert np.isfinite(np.delete(plain.variance, counts.index("champ"))).all()
    weighted = sandwich_intervals(counts, fit(counts, reweight=True, min_pair_count=1.0))
    assert np.all(weighted.variance[np.isfinite(weighted.variance)] > 0)
    # Anchoring moves the bounds with the ratings and leaves the variance alone.
    anchored_fit = fit(_counts(SMALL_VOTES), anchor=("a", 1500.0))
    anchored = sandwich_intervals(_counts(SMALL_VOTES), anchored_fit)
    centred_fit = fit(_counts(SMALL_VOTES))
    centred_ratings = centred_fit.ratings
    centred = sandwich_intervals(_counts(SMALL_VOTES), centred_fit)
    np.testing.assert_allclose(anchored.variance, centred.variance)
    np.testing.assert_allclose(anchored.upper - anchored.lower, centred.upper - centred.lower)
    np.testing.assert_allclose(
        anchored.lower - anchored_fit.ratings, centred.lower - centred_ratings
    )


def test_bootstrap_agrees_with_sandwich_and_is_reproducible() -> None:
    first, second, outcome, _ = _synthetic_votes(8, 20_000, seed=5)
    counts = PairCounts.from_votes(first, second, outcome)
    result = fit(counts)
    boot = bootstrap_intervals(counts, result, rounds=300, seed=42)
    again = bootstrap_intervals(counts, result, rounds=300, seed=42)
    other = bootstrap_intervals(counts, result, rounds=300, seed=43)
    np.testing.assert_array_equal(boot.lower, again.lower)
    assert not np.array_equal(boot.lower, other.lower)
    assert boot.method == "bootstrap" and boot.rounds == 300 and boot.seed == 42
    sandwich = sandwich_intervals(counts, result)
    np.testing.assert_allclose(boot.variance, sandwich.variance, rtol=0.3)
    assert np.all(boot.lower < result.ratings) and np.all(result.ratings < boot.upper)


def test_bootstrap_handles_rounds_where_a_model_becomes_unbounded() -> None:
    # "rare" has one win and one loss: many resamples leave it with only wins or only losses.
    votes = [*SMALL_VOTES * 20, ("rare", "a", "model_a"), ("rare", "b", "model_b")]
    counts = _counts(votes)
    result = fit(counts)
    assert result.rated.all()
    boot = bootstrap_intervals(counts, result, rounds=400, seed=1)
    rare = counts.index("rare")
    assert boot.lower[rare] == -np.inf and boot.upper[rare] == np.inf
    assert boot.variance[rare] == np.inf
    others = np.delete(np.arange(counts.n_models), rare)
    assert np.isfinite(boot.lower[others]).all() and np.isfinite(boot.variance[others]).all()
    with_prior = bootstrap_intervals(counts, fit(counts, prior=1.0), rounds=100, seed=1)
    assert np.isfinite(with_prior.lower).all() and np.isfinite(with_prior.upper).all()


def test_bootstrap_anchored_is_shifted_copy() -> None:
    counts = _counts(SMALL_VOTES)
    centred = bootstrap_intervals(counts, fit(counts), rounds=50, seed=3)
    anchored_fit = fit(counts, anchor=("b", 1100.0))
    anchored = bootstrap_intervals(counts, anchored_fit, rounds=50, seed=3)
    shift = anchored_fit.ratings - fit(counts).ratings
    np.testing.assert_allclose(anchored.lower, centred.lower + shift, atol=1e-8)
    np.testing.assert_allclose(anchored.variance, centred.variance, rtol=1e-8)


def test_rank_ranges() -> None:
    ratings = np.array([1100.0, 1090.0, 1000.0, np.nan, 900.0])
    lower = np.array([1080.0, 1050.0, 990.0, np.nan, 800.0])
    upper = np.array([1120.0, 1110.0, 1010.0, np.nan, 1000.0])
    rank_ub, rank_lb = rank_ranges(ratings, lower, upper)
    np.testing.assert_array_equal(rank_ub, [1, 1, 3, 0, 3])
    np.testing.assert_array_equal(rank_lb, [2, 2, 4, 0, 4])


def test_elo() -> None:
    ratings = elo(["a"], ["b"], ["model_a"], k=32)
    assert ratings == {"a": 1016.0, "b": 984.0}
    second = elo(["a", "b"], ["b", "a"], ["model_a", "tie"], k=32)
    expected = 1 / (1 + 10 ** ((1016 - 984) / 400))
    assert second["b"] == pytest.approx(984 + 32 * (0.5 - expected))
    assert sum(second.values()) == pytest.approx(2000.0)
    assert elo(["a"], ["a"], ["model_a"]) == {"a": 1000.0}
    with pytest.raises(ValueError):
        elo(["a"], ["b"], ["win"])


def test_leaderboard_rows() -> None:
    votes = [*SMALL_VOTES, ("champ", "a", "model_a"), ("zz", "yy", "tie")]
    counts = _counts(votes)
    result, intervals, rows = leaderboard(counts, min_votes=15)
    assert isinstance(result, Fit) and intervals.method == "sandwich"
    assert [row.model for row in rows][:4] == [
        counts.models[i] for i in np.argsort(-np.nan_to_num(result.ratings, nan=-np.inf))[:4]
    ]
    assert [row.rated for row in rows] == [True] * 4 + [False] * 3
    assert [row.unrated_reason for row in rows[4:]] == [
        "unbounded_above",
        "disconnected",
        "disconnected",
    ]
    by_model = {row.model: row for row in rows}
    assert by_model["a"].votes == 20 and by_model["a"].provisional is False
    assert by_model["d"].votes == 10 and by_model["d"].provisional is True
    assert by_model["champ"].rank_ub == 0 and math.isnan(by_model["champ"].rating)
    assert by_model["a"].wins + by_model["a"].losses + by_model["a"].draws == by_model["a"].votes
    assert all(1 <= row.rank_ub <= row.rank_lb <= 4 for row in rows[:4])
    _, boot, _ = leaderboard(counts, interval="bootstrap", rounds=50, seed=9)
    assert boot.method == "bootstrap" and boot.rounds == 50
    with pytest.raises(ValueError, match="interval"):
        leaderboard(counts, interval="bayes")


# --- validation on real data ------------------------------------------------------------------

SPARSE_MODEL = "qwen3-coder-480b-a35b-instruct"


def _shared_data() -> Path:
    override = os.environ.get("ARENA_SHARED_DATA")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.fixture(scope="module")
def arena() -> tuple[PairCounts, Fit, maths.Intervals, dict[str, dict[str, float]]]:
    folder = _shared_data() / "arena-140k"
    votes_file, table_file = folder / "votes.csv", folder / "published_top10.csv"
    if not (votes_file.is_file() and table_file.is_file()):
        pytest.skip(
            f"real arena data not found in {folder} (set ARENA_SHARED_DATA to the shared data "
            "folder holding arena-140k/votes.csv and arena-140k/published_top10.csv)"
        )
    first: list[str] = []
    second: list[str] = []
    winner: list[str] = []
    with votes_file.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            first.append(row["model_a"])
            second.append(row["model_b"])
            winner.append(row["winner"])
    counts = PairCounts.from_votes(first, second, winner)
    with table_file.open(newline="", encoding="utf-8") as handle:
        published = {
            row["competitor"]: {
                key: float(value) for key, value in row.items() if key != "competitor"
            }
            for row in csv.DictReader(handle)
        }
    result = fit(counts)
    return counts, result, sandwich_intervals(counts, result), published


@pytest.mark.shared_data
def test_real_data_fit_is_fully_converged(arena) -> None:
    counts, result, _, _ = arena
    assert counts.n_models == 53 and counts.total_votes == 135_634 - 10  # 10 self-battles
    assert result.converged and result.gradient_norm <= 1e-10 and result.rated.all()
    assert result.iterations <= 10


@pytest.mark.shared_data
def test_real_data_matches_published_table(arena) -> None:
    counts, result, intervals, published = arena
    rating_diff = bound_diff = 0.0
    for model, row in published.items():
        i = counts.index(model)
        rating_diff = max(rating_diff, abs(result.ratings[i] - row["rating"]))
        bound_diff = max(
            bound_diff,
            abs(intervals.lower[i] - row["rating_lower"]),
            abs(intervals.upper[i] - row["rating_upper"]),
        )
    # Measured: max |d rating| = 0.317, max |d bound| = 0.393. Nearly all of it is the uniform
    # ~0.31 shift from the sparse model (see below); the rest of the bound difference is
    # arena-rank's 1e-5 * n_votes ridge on the Hessian, which shrinks its variances slightly.
    assert rating_diff <= 0.5, f"max |rating - published| = {rating_diff:.3f}"
    assert bound_diff <= 0.6, f"max |bound - published| = {bound_diff:.3f}"
    top10 = [counts.models[i] for i in np.argsort(-result.ratings)[:10]]
    assert top10 == list(published)


@pytest.mark.shared_data
def test_real_data_recentred_without_sparse_model(arena) -> None:
    counts, result, _, published = arena
    # The sparse model has 2 votes, both ties. Fully converged it sits ~16 points from where
    # arena-rank's optimiser leaves it, which moves the mean-centred scale by ~16 / 53 = 0.3.
    # Centring over the other 52 models removes that.
    keep = np.array([m != SPARSE_MODEL for m in counts.models])
    theta = result.theta[keep] - result.theta[keep].mean()
    recentred = dict(
        zip(np.array(counts.models)[keep], RATING_BASE + RATING_SCALE * theta, strict=True)
    )
    worst = max(abs(recentred[model] - row["rating"]) for model, row in published.items())
    # Measured: 0.0105 points.
    assert worst < 0.07, f"max |recentred rating - published| = {worst:.4f}"


@pytest.mark.shared_data
def test_real_data_agrees_with_choix(arena) -> None:
    choix = pytest.importorskip("choix")
    counts, result, _, _ = arena
    # choix has no ties: each decisive vote counted twice and each tie once each way doubles
    # the log-likelihood and leaves the MLE unchanged.
    doubled = 2 * counts.wins + counts.draws
    params = choix.ilsr_pairwise_dense(doubled, alpha=0.0, tol=1e-13, max_iter=10_000)
    diff = np.abs(RATING_SCALE * (params - params.mean()) - RATING_SCALE * result.theta).max()
    # Measured: 7e-11 points.
    assert diff < 0.01, f"max |rating - choix| = {diff:.2e}"


@pytest.mark.shared_data
def test_real_data_subset_agrees_with_choix_per_vote_optimiser(arena) -> None:
    choix = pytest.importorskip("choix")
    counts, _, _, _ = arena
    busiest = [counts.models[i] for i in np.argsort(-counts.votes_per_model())[:6]]
    sub = counts.restrict(busiest)
    comparisons: list[tuple[int, int]] = []
    for i, j in zip(*np.nonzero(sub.wins), strict=True):
        comparisons += [(int(i), int(j))] * (2 * int(sub.wins[i, j]))
    for i, j in zip(*np.nonzero(np.triu(sub.draws)), strict=True):
        comparisons += [(int(i), int(j)), (int(j), int(i))] * int(sub.draws[i, j])
    for alpha in (0.0, 5.0):
        # choix's penalty is alpha * sum(theta^2) on the doubled likelihood: prior = alpha here.
        params = choix.opt_pairwise(sub.n_models, comparisons, alpha=alpha, tol=1e-12)
        ours = fit(sub, prior=alpha).theta
        diff = np.abs(RATING_SCALE * (params - params.mean() - ours)).max()
        assert diff < 0.01, f"prior {alpha}: max |rating - choix| = {diff:.2e}"

"""Property-based tests for ratings.maths (deterministic: derandomised, no example database)."""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ratings.maths import (
    OUTCOMES,
    RATING_BASE,
    PairCounts,
    bootstrap_intervals,
    elo,
    fit,
    log_likelihood,
    rank_ranges,
    sandwich_intervals,
)

Vote = tuple[str, str, str]
NAMES = tuple(f"model-{letter}" for letter in "abcdefgh")
MIRROR = {"model_a": "model_b", "model_b": "model_a", "tie": "tie", "both_bad": "both_bad"}


def deterministic(examples: int) -> settings:
    """Return fixed settings so the suite is reproducible and fast."""
    return settings(
        derandomize=True,
        deadline=None,
        max_examples=examples,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


@st.composite
def any_votes(draw: st.DrawFn, max_models: int = 6, max_votes: int = 40) -> list[Vote]:
    """Draw arbitrary votes, including self-battles and disconnected models."""
    names = NAMES[: draw(st.integers(2, max_models))]
    vote = st.tuples(st.sampled_from(names), st.sampled_from(names), st.sampled_from(OUTCOMES))
    return draw(st.lists(vote, min_size=1, max_size=max_votes))


@st.composite
def connected_votes(draw: st.DrawFn, max_models: int = 7, max_votes: int = 60) -> list[Vote]:
    """Draw votes whose "beat or drew" graph is strongly connected: a chain of links plus noise."""
    n = draw(st.integers(2, max_models))
    names = list(draw(st.permutations(NAMES))[:n])
    votes: list[Vote] = []
    for left, right in itertools.pairwise(names):
        # Each link is a draw or a win each way, so every model can reach every other one.
        link = draw(st.sampled_from(("tie", "both_bad", "split")))
        if link == "split":
            votes += [(left, right, "model_a"), (left, right, "model_b")]
        else:
            votes.append((left, right, link))
    pair = st.tuples(st.sampled_from(names), st.sampled_from(names)).filter(lambda p: p[0] != p[1])
    for (first, second), outcome, repeat in draw(
        st.lists(st.tuples(pair, st.sampled_from(OUTCOMES), st.integers(1, 30)), max_size=max_votes)
    ):
        votes.extend([(first, second, outcome)] * repeat)
    return votes


def counts_of(votes: list[Vote]) -> PairCounts:
    """Aggregate votes with the vectorised constructor."""
    first, second, outcome = zip(*votes, strict=True)
    return PairCounts.from_votes(first, second, outcome)


def assert_same_counts(left: PairCounts, right: PairCounts) -> None:
    """Assert two aggregations are identical."""
    assert left.models == right.models
    np.testing.assert_array_equal(left.wins, right.wins)
    np.testing.assert_array_equal(left.draws, right.draws)


@deterministic(60)
@given(any_votes())
def test_from_votes_equals_from_records_and_incremental_sums(votes: list[Vote]) -> None:
    counts = counts_of(votes)
    assert_same_counts(counts, PairCounts.from_records((a, b, o, 1) for a, b, o in votes))
    half = len(votes) // 2
    if half > 0:
        assert_same_counts(counts, counts_of(votes[:half]) + counts_of(votes[half:]))
    self_battles = sum(a == b for a, b, _ in votes)
    assert counts.total_votes == len(votes) - self_battles
    assert counts.votes_per_model().sum() == 2 * counts.total_votes


@deterministic(60)
@given(connected_votes(), st.randoms(use_true_random=False))
def test_vote_order_does_not_matter(votes: list[Vote], rng) -> None:
    shuffled = list(votes)
    rng.shuffle(shuffled)
    counts, reordered = counts_of(votes), counts_of(shuffled)
    assert_same_counts(counts, reordered)
    np.testing.assert_array_equal(fit(counts).theta, fit(reordered).theta)


@deterministic(60)
@given(connected_votes(), st.data())
def test_swapping_sides_with_mirrored_outcome_changes_nothing(votes: list[Vote], data) -> None:
    flips = data.draw(st.lists(st.booleans(), min_size=len(votes), max_size=len(votes)))
    swapped = [
        (b, a, MIRROR[o]) if flip else (a, b, o)
        for (a, b, o), flip in zip(votes, flips, strict=True)
    ]
    counts, mirrored = counts_of(votes), counts_of(swapped)
    assert_same_counts(counts, mirrored)
    original, other = fit(counts), fit(mirrored)
    np.testing.assert_allclose(original.theta, other.theta, atol=1e-12)
    np.testing.assert_allclose(
        sandwich_intervals(counts, original).variance,
        sandwich_intervals(mirrored, other).variance,
        rtol=1e-9,
    )


@deterministic(60)
@given(connected_votes(), st.data())
def test_ties_are_symmetric(votes: list[Vote], data) -> None:
    names = sorted({name for vote in votes for name in vote[:2]})
    first, second = data.draw(st.permutations(names))[:2]
    kind = data.draw(st.sampled_from(("tie", "both_bad")))
    one_way = fit(counts_of([*votes, (first, second, kind)]))
    other_way = fit(counts_of([*votes, (second, first, "tie")]))
    np.testing.assert_allclose(one_way.theta, other_way.theta, atol=1e-12)


@deterministic(150)
@given(connected_votes(), st.data(), st.sampled_from([0.0, 0.0, 0.5, 5.0]))
def test_a_win_never_lowers_the_winner(votes: list[Vote], data, prior: float) -> None:
    names = sorted({name for vote in votes for name in vote[:2]})
    winner, loser = data.draw(st.permutations(names))[:2]
    before_counts = counts_of(votes)
    after_counts = counts_of([*votes, (winner, loser, "model_a")])
    before, after = fit(before_counts, prior=prior), fit(after_counts, prior=prior)
    assert before.rated.all() and after.rated.all()
    i = before_counts.index(winner)
    # Centring moves everyone, so compare the winner's lead over every other model.
    lead_before = before.theta[i] - before.theta
    lead_after = after.theta[i] - after.theta
    assert np.all(lead_after >= lead_before - 1e-9)
    assert lead_after[before_counts.index(loser)] > lead_before[before_counts.index(loser)]
    rank_before = int((before.theta > before.theta[i] + 1e-9).sum())
    rank_after = int((after.theta > after.theta[i] + 1e-9).sum())
    assert rank_after <= rank_before


@deterministic(200)
@given(connected_votes(), st.sampled_from([0.0, 0.0, 0.1, 3.0]), st.booleans())
def test_fits_converge_on_connected_graphs_with_draws(
    votes: list[Vote], prior: float, reweight: bool
) -> None:
    counts = counts_of(votes)
    result = fit(counts, prior=prior, reweight=reweight, min_pair_count=5.0)
    assert result.converged and result.gradient_norm <= 1e-10
    assert result.rated.all() and result.unrated_reason == {}
    assert result.iterations <= 30
    assert abs(result.theta.mean()) < 1e-12
    np.testing.assert_allclose(result.ratings.mean(), RATING_BASE, atol=1e-9)
    if prior == 0 and not reweight:
        best = log_likelihood(counts, result.theta)
        direction = np.sin(np.arange(counts.n_models) + 1.0)
        for size in (1e-4, -1e-4):
            assert log_likelihood(counts, result.theta + size * direction) <= best + 1e-9


@deterministic(60)
@given(connected_votes(), st.integers(1, 5), st.booleans(), st.data())
def test_all_wins_or_all_losses_are_unbounded_without_prior(
    votes: list[Vote], games: int, winning: bool, data
) -> None:
    names = sorted({name for vote in votes for name in vote[:2]})
    opponents = data.draw(st.lists(st.sampled_from(names), min_size=games, max_size=games))
    extreme = "model-zz"
    outcome = "model_a" if winning else "model_b"
    extra = [(extreme, opponent, outcome) for opponent in opponents]
    counts = counts_of(votes + extra)
    plain = fit(counts)
    expected = "unbounded_above" if winning else "unbounded_below"
    assert plain.unrated_reason == {extreme: expected}
    k = counts.index(extreme)
    assert np.isnan(plain.ratings[k]) and not plain.rated[k]
    assert np.isfinite(plain.ratings[plain.rated]).all()
    regularised = fit(counts, prior=1.0)
    assert regularised.unrated_reason == {} and np.isfinite(regularised.ratings).all()
    assert regularised.prior == 1.0
    # Its score equation reads sum_j n_kj (1 - p_kj) = prior * theta_k for only wins (and the
    # mirror image for only losses), while the ridge keeps the mean at 0.
    assert (regularised.theta[k] > 0) == winning


@deterministic(150)
@given(any_votes(max_models=8, max_votes=25))
def test_existence_analysis_on_arbitrary_votes(votes: list[Vote]) -> None:
    counts = counts_of(votes)
    result = fit(counts)
    assert result.converged
    rated = np.flatnonzero(result.rated)
    assert len(rated) != 1  # a lone model has nothing to be rated against
    totals = counts.pair_totals()
    for model, reason in result.unrated_reason.items():
        k = counts.index(model)
        if reason == "no_votes":
            assert totals[k].sum() == 0
        elif reason == "unbounded_above":
            # It never lost to, nor drew with, a rated model.
            assert counts.wins[rated, k].sum() == 0 and counts.draws[rated, k].sum() == 0
        elif reason == "unbounded_below":
            assert counts.wins[k, rated].sum() == 0 and counts.draws[k, rated].sum() == 0
        else:
            assert reason == "disconnected"
            assert totals[k, rated].sum() == 0
    for reason in ("unbounded_above", "unbounded_below"):
        # As a group they only won (or only lost) against everybody else.
        group = [counts.index(m) for m, r in result.unrated_reason.items() if r == reason]
        rest = np.setdiff1d(np.arange(counts.n_models), group)
        beaten, beaters = (rest, group) if reason == "unbounded_above" else (group, rest)
        assert counts.wins[np.ix_(beaten, beaters)].sum() == 0
        if group:
            assert counts.wins[np.ix_(beaters, beaten)].sum() > 0
    if len(rated) > 0:
        # The core is strongly connected: refitting it alone rates all of it identically.
        core = counts.restrict(counts.models[i] for i in rated)
        alone = fit(core)
        assert alone.rated.all()
        np.testing.assert_allclose(alone.theta, result.theta[rated], atol=1e-9)
    # A prior rates every model with votes in the largest connected component.
    regularised = fit(counts, prior=0.5)
    assert regularised.converged
    assert set(regularised.unrated_reason.values()) <= {"disconnected", "no_votes"}
    assert regularised.rated.sum() >= len(rated)


@deterministic(50)
@given(connected_votes(max_models=5), connected_votes(max_models=5), st.booleans())
def test_smaller_component_is_reported_disconnected(
    first: list[Vote], second: list[Vote], regularise: bool
) -> None:
    rename = {name: name + "-other" for vote in second for name in vote[:2]}
    second = [(rename[a], rename[b], o) for a, b, o in second]
    groups = [({name for vote in votes for name in vote[:2]}, votes) for votes in (first, second)]
    # The larger component is rated; equal sizes go to the alphabetically first model.
    groups.sort(key=lambda group: (-len(group[0]), min(group[0])))
    (_, kept), (dropped, _) = groups
    counts = counts_of(first + second)
    prior = 1.0 if regularise else 0.0
    result = fit(counts, prior=prior)
    assert result.unrated_reason == dict.fromkeys(sorted(dropped), "disconnected")
    alone = fit(counts_of(kept), prior=prior)
    rated = [counts.index(name) for name in alone.models]
    np.testing.assert_allclose(result.theta[rated], alone.theta, atol=1e-9)


@deterministic(60)
@given(connected_votes(), st.sampled_from([0.8, 0.9, 0.95, 0.99]), st.booleans())
def test_sandwich_intervals_contain_the_estimate_and_are_symmetric(
    votes: list[Vote], level: float, reweight: bool
) -> None:
    counts = counts_of(votes)
    result = fit(counts, reweight=reweight, min_pair_count=3.0)
    intervals = sandwich_intervals(counts, result, level=level)
    assert np.all(intervals.variance >= 0)
    assert np.all(intervals.lower <= result.ratings) and np.all(result.ratings <= intervals.upper)
    np.testing.assert_allclose(
        intervals.upper - result.ratings, result.ratings - intervals.lower, atol=1e-9
    )
    rank_ub, rank_lb = rank_ranges(result.ratings, intervals.lower, intervals.upper)
    assert np.all(rank_ub >= 1) and np.all(rank_ub <= rank_lb)
    assert np.all(rank_lb <= counts.n_models)


@st.composite
def rating_tables(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw ratings with arbitrary, possibly overlapping, intervals and some unrated models."""
    n = draw(st.integers(0, 12))
    finite = st.floats(500, 1500, allow_nan=False)
    ratings = np.array(draw(st.lists(finite, min_size=n, max_size=n)), dtype=float)
    below = np.array(draw(st.lists(st.floats(0, 200), min_size=n, max_size=n)), dtype=float)
    above = np.array(draw(st.lists(st.floats(0, 200), min_size=n, max_size=n)), dtype=float)
    unrated = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    ratings[unrated] = math.nan
    return ratings, ratings - below, ratings + above


@deterministic(200)
@given(rating_tables())
def test_rank_ub_never_exceeds_rank_lb(table: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    ratings, lower, upper = table
    rank_ub, rank_lb = rank_ranges(ratings, lower, upper)
    rated = ~np.isnan(ratings)
    assert np.all(rank_ub[~rated] == 0) and np.all(rank_lb[~rated] == 0)
    assert np.all(rank_ub[rated] >= 1)
    assert np.all(rank_ub[rated] <= rank_lb[rated])
    assert np.all(rank_lb[rated] <= rated.sum())
    # With zero-width intervals the range collapses to the plain rank (ties share the best).
    points_ub, points_lb = rank_ranges(ratings, ratings, ratings)
    for i in np.flatnonzero(rated):
        assert points_ub[i] == 1 + (ratings[rated] > ratings[i]).sum()
        assert points_lb[i] == rated.sum() - (ratings[rated] < ratings[i]).sum()


@deterministic(40)
@given(connected_votes(), st.data())
def test_relabelling_and_anchoring_only_move_the_scale(votes: list[Vote], data) -> None:
    counts = counts_of(votes)
    names = list(counts.models)
    renamed = dict(zip(names, data.draw(st.permutations(names)), strict=True))
    # Renaming permutes the sorted order of the models; the fit must follow the names.
    moved = counts_of([(renamed[a], renamed[b], o) for a, b, o in votes])
    original, relabelled = fit(counts), fit(moved)
    for name in names:
        assert math.isclose(original.rating(name), relabelled.rating(renamed[name]), abs_tol=1e-8)
    anchor = data.draw(st.sampled_from(names))
    anchored = fit(counts, anchor=(anchor, 1234.5))
    assert math.isclose(anchored.rating(anchor), 1234.5, abs_tol=1e-9)
    shift = anchored.ratings - original.ratings
    np.testing.assert_allclose(shift, shift[0], atol=1e-8)


@deterministic(40)
@given(connected_votes(), st.floats(0.01, 10.0))
def test_a_stronger_prior_shrinks_the_ratings(votes: list[Vote], prior: float) -> None:
    counts = counts_of(votes)
    weak, strong = fit(counts, prior=prior), fit(counts, prior=2 * prior)
    plain = fit(counts)
    # Ridge paths shrink monotonically: compare the optimality inequalities at both strengths.
    assert strong.theta @ strong.theta <= (weak.theta @ weak.theta) * (1 + 1e-9) + 1e-15
    assert weak.theta @ weak.theta <= (plain.theta @ plain.theta) * (1 + 1e-9) + 1e-15


@deterministic(15)
@given(connected_votes(max_models=5, max_votes=20), st.integers(0, 2**32 - 1))
def test_bootstrap_is_reproducible_and_ordered(votes: list[Vote], seed: int) -> None:
    counts = counts_of(votes)
    result = fit(counts)
    first = bootstrap_intervals(counts, result, rounds=40, seed=seed)
    second = bootstrap_intervals(counts, result, rounds=40, seed=seed)
    np.testing.assert_array_equal(first.lower, second.lower)
    np.testing.assert_array_equal(first.upper, second.upper)
    assert np.all(first.lower <= first.upper)
    assert np.all(np.isnan(first.variance) | (first.variance >= 0))


@deterministic(60)
@given(any_votes(max_votes=30), st.floats(1.0, 64.0))
def test_elo_is_zero_sum(votes: list[Vote], k: float) -> None:
    first, second, outcome = zip(*votes, strict=True)
    ratings = elo(first, second, outcome, k=k)
    assert set(ratings) == set(first) | set(second)
    assert math.isclose(sum(ratings.values()), 1000.0 * len(ratings), abs_tol=1e-6)

"""The per-voter sequential test: flags biased voters fast, honest ones rarely."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import log_expit, logsumexp

from integrity import anomaly

N_MODELS = 40


def _theta(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 0.6, N_MODELS)


def _honest_votes(rng: np.random.Generator, theta: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
    """Votes that follow the ratings exactly: P(win) + P(draw) / 2 = sigma(difference)."""
    a = rng.integers(0, len(theta), n)
    b = (a + rng.integers(1, len(theta), n)) % len(theta)
    p = 1 / (1 + np.exp(-(theta[a] - theta[b])))
    draw = np.minimum(0.25, 2 * np.minimum(p, 1 - p))
    u = rng.random(n)
    outcome = np.where(u < draw, 2, np.where(u < draw + p - draw / 2, 0, 1))
    return a, b, outcome


def _stacked(voters: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    codes = np.concatenate([np.full(len(v[0]), i) for i, v in enumerate(voters)])
    return (codes, *(np.concatenate([v[k] for v in voters]) for k in range(3)))


def test_the_threshold_is_log_of_three_tests_per_model_over_alpha() -> None:
    assert anomaly.threshold(50, alpha=0.01) == pytest.approx(math.log(15_000))


def test_a_tie_scores_the_mean_of_a_win_and_a_loss() -> None:
    x = np.array([0.3])
    win, loss, tie = (anomaly.llr(x, np.array([s]), 2.0)[0] for s in (1.0, 0.0, 0.5))
    assert tie == pytest.approx((win + loss) / 2)
    assert win > 0 > loss


@given(
    x=st.floats(-40, 40),
    shift=st.floats(-6, 6),
    score=st.sampled_from([0.0, 0.5, 1.0]),
)
def test_the_log_likelihood_ratio_is_the_four_log_sigmoid_definition(
    x: float, shift: float, score: float
) -> None:
    up = log_expit(x + shift) - log_expit(x)
    down = log_expit(-x - shift) - log_expit(-x)
    expected = score * up + (1 - score) * down
    assert anomaly.llr(np.array([x]), np.array([score]), shift)[0] == pytest.approx(
        expected, rel=1e-9, abs=1e-12
    )


def test_the_mixture_statistic_is_the_log_mean_of_the_likelihood_ratios() -> None:
    values = np.random.default_rng(3).normal(0.0, 40.0, (50, 3))
    expected = logsumexp(values, axis=1) - math.log(3)
    assert np.allclose(anomaly.log_mean_exp(values, axis=1), expected, rtol=1e-12, atol=1e-12)


def test_it_flags_a_voter_who_always_votes_for_one_model_within_thirty_votes() -> None:
    rng = np.random.default_rng(1)
    theta = _theta()
    target = 7
    opponents = (target + rng.integers(1, N_MODELS, 100)) % N_MODELS
    target_first = rng.random(100) < 0.5
    a = np.where(target_first, target, opponents)
    b = np.where(target_first, opponents, target)
    outcome = np.where(target_first, 0, 1)
    alarms = anomaly.scan(np.zeros(100, dtype=int), a, b, outcome, theta)
    assert len(alarms) == 1
    alarm = alarms[0]
    assert (alarm.model, alarm.direction) == (target, anomaly.FAVOURS)
    assert alarm.flagged_at <= 30
    assert alarm.statistic >= alarm.threshold


def test_it_flags_a_voter_who_always_votes_against_a_rival() -> None:
    rng = np.random.default_rng(2)
    theta = _theta()
    rival = 3
    opponents = (rival + rng.integers(1, N_MODELS, 80)) % N_MODELS
    alarms = anomaly.scan(
        np.zeros(80, dtype=int), np.full(80, rival), opponents, np.ones(80), theta
    )
    assert [(a.model, a.direction) for a in alarms] == [(rival, anomaly.DISFAVOURS)]


def test_honest_voters_are_flagged_at_most_at_the_documented_rate() -> None:
    rng = np.random.default_rng(3)
    theta = _theta()
    voters = [_honest_votes(rng, theta, int(rng.integers(20, 400))) for _ in range(600)]
    alarms = anomaly.scan(*_stacked(voters), theta, alpha=0.05)
    # Ville's inequality bounds the rate by alpha; allow three binomial standard errors.
    assert len(alarms) / 600 <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 600)


def test_a_camouflaged_attacker_is_flagged_once_enough_of_its_votes_involve_the_target() -> None:
    rng = np.random.default_rng(4)
    theta = _theta()
    a, b, outcome = _honest_votes(rng, theta, 2000)
    target = 11
    outcome = np.where(a == target, 0, np.where(b == target, 1, outcome))
    alarms = anomaly.scan(np.zeros(2000, dtype=int), a, b, outcome, theta)
    assert [(x.model, x.direction) for x in alarms] == [(target, anomaly.FAVOURS)]
    assert alarms[0].votes_on_model == int(((a == target) | (b == target)).sum())


def test_votes_with_unrated_models_feed_no_test_but_count_in_the_vote_numbers() -> None:
    theta = _theta()
    theta[0] = np.nan
    a = np.r_[np.zeros(5, dtype=int), np.full(60, 5)]
    b = np.r_[np.ones(5, dtype=int), np.full(60, 6)]
    alarms = anomaly.scan(np.zeros(65, dtype=int), a, b, np.zeros(65), theta)
    assert alarms and alarms[0].flagged_at > 5


def test_it_refuses_model_indices_outside_the_ratings() -> None:
    with pytest.raises(ValueError, match="index theta"):
        anomaly.scan([0], [0], [N_MODELS], [0], _theta())


def _omnipresent(rng: np.random.Generator, theta: np.ndarray, target: int, n: int):
    """Every vote helps the target up: for it when present, else the side the rule names."""
    a = rng.integers(0, len(theta), n)
    b = (a + rng.integers(1, len(theta), n)) % len(theta)
    help_a = anomaly.helps_a(theta[a], theta[b], np.full(n, theta[target]))
    help_a = np.where(a == target, True, np.where(b == target, False, help_a))
    return a, b, np.where(help_a, 0, 1)


def test_the_helpful_side_pulls_rivals_above_down_and_pursuers_below_down() -> None:
    m = np.zeros(4)
    t_a = np.array([1.0, 2.0, -1.0, -2.0])
    t_b = np.array([-1.0, 1.0, -2.0, 3.0])
    # below beats above; higher of two above; lower of two below; below (a) against above (b)
    assert anomaly.helps_a(t_a, t_b, m).tolist() == [False, True, False, True]


def test_an_omnipresent_rigger_is_flagged_by_the_promotes_test_within_forty_votes() -> None:
    rng = np.random.default_rng(5)
    theta = _theta()
    target = int(np.argsort(-theta)[12])
    a, b, outcome = _omnipresent(rng, theta, target, 100)
    alarms = anomaly.scan(np.zeros(100, dtype=int), a, b, outcome, theta)
    assert [(x.model, x.direction) for x in alarms] == [(target, anomaly.PROMOTES)]
    assert alarms[0].flagged_at <= 40
    # Only a few of those votes involve the target: the per-model tests alone see too little.
    assert ((a == target) | (b == target))[: alarms[0].flagged_at].sum() < 5


def test_honest_voters_pass_the_promotes_tests_too_at_the_documented_rate() -> None:
    rng = np.random.default_rng(6)
    theta = _theta()
    voters = [_honest_votes(rng, theta, int(rng.integers(20, 400))) for _ in range(400)]
    alarms = anomaly.scan(*_stacked(voters), theta, alpha=0.05)
    assert sum(x.direction == anomaly.PROMOTES for x in alarms) / 400 <= 0.05


def test_a_voter_is_judged_by_its_reference_row_not_by_ratings_an_attack_moved() -> None:
    rng = np.random.default_rng(7)
    before = _theta()
    target = 9
    opponents = (target + rng.integers(1, N_MODELS, 40)) % N_MODELS
    a, b, outcome = np.full(40, target), opponents, np.zeros(40, dtype=int)
    moved = before.copy()
    moved[target] += 5.0  # a flood made the target look unbeatable
    both = np.vstack([before, moved])
    voter = np.zeros(40, dtype=int)
    assert anomaly.scan(voter, a, b, outcome, both) == []  # judged by the moved ratings
    alarms = anomaly.scan(voter, a, b, outcome, both, reference=np.zeros(40, dtype=int))
    assert [(x.model, x.direction) for x in alarms] == [(target, anomaly.FAVOURS)]


def test_votes_on_models_the_reference_row_does_not_rate_use_the_newest_row() -> None:
    theta = _theta()
    old = theta.copy()
    old[5] = np.nan  # model 5 appeared after the old snapshot
    both = np.vstack([old, theta])
    a, b = np.full(40, 5), np.full(40, 6)
    alarms = anomaly.scan(np.zeros(40, dtype=int), a, b, np.zeros(40), both, reference=[0] * 40)
    assert alarms and alarms[0].model in (5, 6)


def test_it_refuses_reference_rows_outside_theta() -> None:
    with pytest.raises(ValueError, match="reference rows"):
        anomaly.scan([0], [0], [1], [0], _theta(), reference=[1])


def test_a_target_only_voter_is_named_by_the_favours_test_not_the_promotes_test() -> None:
    rng = np.random.default_rng(8)
    theta = _theta()
    opponents = (4 + rng.integers(1, N_MODELS, 60)) % N_MODELS
    alarms = anomaly.scan(np.zeros(60, dtype=int), np.full(60, 4), opponents, np.zeros(60), theta)
    assert [(x.model, x.direction) for x in alarms] == [(4, anomaly.FAVOURS)]
    # Both tests see the same votes; rounding may leave the promotes statistic a hair larger.
    favours = alarms[0]
    promotes = anomaly.Alarm(**{**vars(favours), "direction": anomaly.PROMOTES})
    promotes = anomaly.Alarm(**{**vars(promotes), "statistic": favours.statistic + 1e-12})
    best: dict[int, anomaly.Alarm] = {}
    for alarm in (promotes, favours):
        anomaly._keep_earliest(best, alarm)
    assert best[0] == favours


def test_each_members_statistic_is_its_own_mixture_likelihood_ratio_for_one_test() -> None:
    theta = _theta()
    target = 7
    # Member 0 always votes for the target; 1 votes against it; 2 never meets it.
    a = np.array([target, 3, target, 5, 1, 2])
    b = np.array([3, target, 4, target, 2, 1])
    outcome = np.array([0, 1, 1, 0, 0, 1])
    member = np.array([0, 0, 1, 1, 2, 2])
    own = anomaly.statistics(member, a, b, outcome, theta, model=target, direction=anomaly.FAVOURS)
    x = theta[target] - theta[np.array([3, 3])]
    by_hand = [anomaly.llr(x, np.ones(2), d).sum() for d in anomaly.DEFAULT_DELTAS]
    assert own[0] == pytest.approx(np.log(np.mean(np.exp(by_hand))))
    assert own[0] > 0 > own[1]
    assert own[2] == 0


def test_pooled_members_statistics_add_up_to_the_pooled_test_for_one_delta() -> None:
    rng = np.random.default_rng(9)
    theta = _theta()
    target = int(np.argsort(-theta)[20])
    a, b, outcome = _omnipresent(rng, theta, target, 300)
    member = rng.integers(0, 30, 300)
    own = anomaly.statistics(
        member, a, b, outcome, theta, model=target, direction=anomaly.PROMOTES, deltas=(3.0,)
    )
    alarms = anomaly.scan(np.zeros(300, dtype=int), a, b, outcome, theta, deltas=(3.0,))
    assert [(x.model, x.direction) for x in alarms] == [(target, anomaly.PROMOTES)]
    pooled = anomaly.statistics(
        np.zeros(300, dtype=int),
        a,
        b,
        outcome,
        theta,
        model=target,
        direction=anomaly.PROMOTES,
        deltas=(3.0,),
    )
    # With one delta the log likelihood ratio is a sum over votes, so over members too.
    assert own.sum() == pytest.approx(pooled[0])
    assert (own > 0).all()


def test_a_crossing_holds_the_clear_contributors_and_spares_a_lucky_neighbour() -> None:
    theta = _theta()
    target = 7
    opponents = np.array([3, 5, 9, 11, 13, 15, 17, 19] * 5)
    # Members 0-4 vote for the target 8 times each; member 5 once; member 6 never meets it.
    member = np.r_[np.repeat(np.arange(5), 8), 5, 6]
    a = np.r_[np.full(40, target), target, 1]
    b = np.r_[opponents, 4, 2]
    outcome = np.zeros(42, dtype=int)
    assert anomaly.scan(np.zeros(42, dtype=int), a, b, outcome, theta)
    own = anomaly.statistics(member, a, b, outcome, theta, model=target, direction=anomaly.FAVOURS)
    assert 0 < own[5] < anomaly.DEFAULT_HOLD < own[:5].min()

    held = anomaly.holders(member, a, b, outcome, theta, model=target, direction=anomaly.FAVOURS)

    assert sorted(held.tolist()) == [0, 1, 2, 3, 4]

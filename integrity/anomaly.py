"""Sequential test of each voter's votes against the published Bradley-Terry ratings.

The question
    A voter who wants to push model ``m`` up (or a rival down) votes for it more often than the
    ratings say an honest voter would. For every voter and every model ``m`` the voter has seen,
    we test two one-sided alternatives against the null hypothesis "this voter votes as the
    ratings predict":

    - H0: in a vote between ``m`` and ``o``, the voter's score ``y`` for ``m`` (1 win, 0 loss,
      1/2 tie or both-bad) has mean ``sigma(theta_m - theta_o)``, the ratings' own model (ties
      count half a win each way, as in the fit).
    - H1(m, +): the voter favours ``m``: mean ``sigma(theta_m - theta_o + delta)``.
    - H1(m, -): the voter disfavours ``m``: mean ``sigma(theta_m - theta_o - delta)``.

    ``delta`` is a log-odds bias. A vote's log-likelihood ratio for (m, s), ``s = +-delta`` and
    ``x = theta_m - theta_o``, is

        llr = y * log(sigma(x + s) / sigma(x)) + (1 - y) * log(sigma(-x - s) / sigma(-x)),

    which for a tie is the average of the win and loss terms. A vote between ``m`` and ``o``
    feeds four tests: (m, +), (m, -), (o, +), (o, -); votes not involving ``m`` leave its tests
    unchanged, so a camouflaged attacker who votes honestly elsewhere gains nothing from it.

    The bias of an attacker is unknown, so each test mixes several alternatives with equal
    weight, ``delta`` in (2, 3, 4) by default (an even match won 88%, 95%, 98% of the time): the
    statistic is ``S_n = log mean_delta exp(sum of the first n llr terms under delta)``. A
    voter who always picks the target is caught at nearly the pace of the largest delta; one
    who lets it lose now and then, by the smaller ones. Voters with mere tastes (a favourite
    model, a bias of about one log-odds unit or less) drift downwards under all three.

The test and its error rate
    Each test is Wald's sequential probability ratio test (with a mixture alternative) run
    without a lower stopping bound: it rejects H0 the first time ``S_n >= h``. Under H0 each
    likelihood ratio is a non-negative supermartingale with mean at most 1 (for a tie,
    ``sqrt(r_win * r_loss) <= (r_win + r_loss) / 2``), and so is their average ``exp(S_n)``; by
    Ville's inequality ``P(S_n >= h for some n) <= exp(-h)``, whatever the number of votes and
    however often the test is re-run. A voter with ``K`` rated models is tested ``2K`` times;
    ``h = log(2K / alpha)`` bounds the chance that an honest voter is ever flagged by ``alpha``
    (Bonferroni). The bound holds exactly for voters whose votes follow the ratings; real voters
    have tastes, so the observed false-positive rate is measured by bench/attack.py.

    The ratings a test uses are the published ones, which already include the voter's own votes:
    a successful attack pulls the target's rating towards the attacker, which only makes the
    test conservative.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import log_expit, logsumexp

DEFAULT_DELTAS = (2.0, 3.0, 4.0)
DEFAULT_ALPHA = 0.01
FAVOURS = 1
DISFAVOURS = -1

# Outcome codes, as in ratings.maths: 0 = model_a won, 1 = model_b won, 2 = draw.
OUTCOME_CODE = {"model_a": 0, "model_b": 1, "tie": 2, "both_bad": 2}


def threshold(n_models: int, *, alpha: float = DEFAULT_ALPHA) -> float:
    """Return the log-likelihood-ratio bound h = log(2K / alpha) for K rated models."""
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1")
    if n_models < 1:
        raise ValueError("n_models must be at least 1")
    return math.log(2 * n_models / alpha)


def llr(x: np.ndarray, score: np.ndarray, shift: float) -> np.ndarray:
    """Log-likelihood ratio of score(s) for a model ``x`` stronger than its opponent, H1 vs H0."""
    x = np.asarray(x, dtype=np.float64)
    score = np.asarray(score, dtype=np.float64)
    up = log_expit(x + shift) - log_expit(x)
    down = log_expit(-x - shift) - log_expit(-x)
    return score * up + (1 - score) * down


@dataclass(frozen=True)
class Alarm:
    """A voter whose votes reject H0: the test that crossed first, and by how much."""

    voter: int  # the voter's code, as given
    model: int  # index of the model the voter favours or disfavours
    direction: int  # FAVOURS or DISFAVOURS
    statistic: float  # largest S_n (log mixture likelihood ratio) of that test
    threshold: float
    flagged_at: int  # the voter's own vote number (1-based) at which the test first crossed
    votes_on_model: int  # the voter's votes that involved the model (the test's length)


def scan(
    voter: Sequence[int] | np.ndarray,
    model_a: Sequence[int] | np.ndarray,
    model_b: Sequence[int] | np.ndarray,
    outcome: Sequence[int] | np.ndarray,
    theta: np.ndarray,
    *,
    deltas: Sequence[float] = DEFAULT_DELTAS,
    alpha: float = DEFAULT_ALPHA,
) -> list[Alarm]:
    """Run every voter's tests over their votes, in the order given; return one alarm per
    flagged voter (the test that crossed earliest; the strongest one on a tie).

    ``voter`` holds non-negative integer voter codes, ``model_a``/``model_b`` indices into
    ``theta`` (natural-log strengths, NaN for an unrated model) and ``outcome`` codes from
    OUTCOME_CODE. Votes with an unrated model or the same model twice feed no test but still
    count in the voter's vote numbers.
    """
    voter = np.asarray(voter, dtype=np.int64)
    a = np.asarray(model_a, dtype=np.int64)
    b = np.asarray(model_b, dtype=np.int64)
    code = np.asarray(outcome, dtype=np.int64)
    theta = np.asarray(theta, dtype=np.float64)
    n = len(voter)
    if not (len(a) == len(b) == len(code) == n):
        raise ValueError("voter, model_a, model_b and outcome must have the same length")
    shifts = np.asarray(deltas, dtype=np.float64)
    if shifts.ndim != 1 or not len(shifts) or not (shifts > 0).all():
        raise ValueError("deltas must be one or more positive log-odds biases")
    if n == 0:
        return []
    if voter.min() < 0 or min(a.min(), b.min()) < 0 or max(a.max(), b.max()) >= len(theta):
        raise ValueError("voter codes must be >= 0 and model indices must index theta")
    if not np.isin(code, (0, 1, 2)).all():
        raise ValueError("outcome codes are 0 (model_a), 1 (model_b) or 2 (draw)")
    rated = ~np.isnan(theta)
    h = threshold(max(int(rated.sum()), 1), alpha=alpha)

    # The voter's own vote number (1-based), in the order given.
    order = np.argsort(voter, kind="stable")
    position = np.empty(n, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(voter[order])) + 1]
    counts = np.diff(np.r_[starts, n])
    position[order] = np.arange(n) - np.repeat(starts, counts) + 1

    usable = rated[a] & rated[b] & (a != b)
    idx = np.flatnonzero(usable)
    x = theta[a[idx]] - theta[b[idx]]
    score_a = np.where(code[idx] == 0, 1.0, np.where(code[idx] == 1, 0.0, 0.5))
    n_models = len(theta)
    rows_model, rows_dir, rows_llr = [], [], []
    for model, diff, score in ((a[idx], x, score_a), (b[idx], -x, 1 - score_a)):
        for direction in (FAVOURS, DISFAVOURS):
            rows_model.append(model)
            rows_dir.append(np.full(len(idx), direction))
            rows_llr.append(np.stack([llr(diff, score, direction * d) for d in shifts], axis=1))
    vote_of_row = np.tile(idx, 4)
    model_of_row = np.concatenate(rows_model)
    dir_of_row = np.concatenate(rows_dir)
    step = np.concatenate(rows_llr)
    key = (voter[vote_of_row] * n_models + model_of_row) * 2 + (dir_of_row == DISFAVOURS)
    # Group by test, keeping each voter's votes in the order given.
    sort = np.lexsort((vote_of_row, key))
    key, step, vote_of_row = key[sort], step[sort], vote_of_row[sort]
    model_of_row, dir_of_row = model_of_row[sort], dir_of_row[sort]
    if len(key) == 0:
        return []
    group_start = np.r_[0, np.flatnonzero(np.diff(key)) + 1]
    group_size = np.diff(np.r_[group_start, len(key)])
    total = np.cumsum(step, axis=0)
    before = np.vstack([np.zeros((1, len(shifts))), total])[group_start]
    per_delta = total - np.repeat(before, group_size, axis=0)
    running = logsumexp(per_delta, axis=1) - math.log(len(shifts))
    peak = np.maximum.reduceat(running, group_start)
    crossed = running >= h
    first = np.full(len(group_start), np.iinfo(np.int64).max)
    hit_rows = np.flatnonzero(crossed)
    group_of_row = np.repeat(np.arange(len(group_start)), group_size)
    # First crossing per group: the smallest row index among crossing rows of that group.
    np.minimum.at(first, group_of_row[hit_rows], hit_rows)

    best: dict[int, Alarm] = {}
    for g in np.flatnonzero(peak >= h):
        row = int(first[g])
        alarm = Alarm(
            voter=int(voter[vote_of_row[row]]),
            model=int(model_of_row[row]),
            direction=int(dir_of_row[row]),
            statistic=float(peak[g]),
            threshold=h,
            flagged_at=int(position[vote_of_row[row]]),
            votes_on_model=int(group_size[g]),
        )
        held = best.get(alarm.voter)
        if held is None or (alarm.flagged_at, -alarm.statistic) < (
            held.flagged_at,
            -held.statistic,
        ):
            best[alarm.voter] = alarm
    return [best[v] for v in sorted(best)]

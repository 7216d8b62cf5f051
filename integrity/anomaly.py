"""Sequential tests of each voter's votes against reference Bradley-Terry ratings.

The question
    A voter who wants to push model ``m`` up (or a rival down) votes for it more often than the
    ratings say an honest voter would. For every voter and every rated model ``m`` we test three
    alternatives against the null hypothesis H0 "this voter votes as the ratings predict": in a
    vote between ``i`` and ``j`` the voter's score ``y`` for ``i`` (1 win, 0 loss, 1/2 tie or
    both-bad) has mean ``sigma(theta_i - theta_j)``, the ratings' own model (ties count half a
    win each way, as in the fit).

    - H1(m, favours): in votes involving ``m`` the voter favours it: its score for ``m`` has mean
      ``sigma(theta_m - theta_o + delta)``;
    - H1(m, disfavours): the same with ``- delta``;
    - H1(m, promotes): in *every* vote the voter favours the side that helps ``m`` up the
      ranking (the "omnipresent" vote rigging of Min et al. 2025): ``m`` itself when it is in
      the battle; otherwise the model ranked below ``m`` against one ranked above it (that
      pulls the model above ``m`` down), the higher of two models ranked above ``m`` (the lower
      one is the nearer obstacle) and the lower of two models ranked below it (keeping ``m``'s
      pursuers down). The helpful side's score has mean ``sigma(x_help + delta)`` with
      ``x_help`` its strength minus its opponent's. Ranks are those of the vote's reference
      ratings.

    ``delta`` is a log-odds bias. A vote's log-likelihood ratio for a side of strength
    difference ``x`` and score ``y`` under a shift ``s`` is

        llr = y * log(sigma(x + s) / sigma(x)) + (1 - y) * log(sigma(-x - s) / sigma(-x)),

    which for a tie is the average of the win and loss terms. The favours/disfavours tests of
    ``m`` only see votes involving ``m``, so camouflage elsewhere does not dilute them; the
    promotes test sees every vote, so an omnipresent rigger, every one of whose votes is
    manipulative, is caught in a few dozen votes even though each single model appears in only
    a few of them.

    The bias of an attacker is unknown, so each test mixes several alternatives with equal
    weight, ``delta`` in (2, 3, 4) by default (an even match won 88%, 95%, 98% of the time): the
    statistic is ``S_n = log mean_delta exp(sum of the first n llr terms under delta)``. Voters
    with mere tastes (a bias of about one log-odds unit or less) drift downwards under all three.

The test and its error rate
    Each test is Wald's sequential probability ratio test (with a mixture alternative) run
    without a lower stopping bound: it rejects H0 the first time ``S_n >= h``. Under H0 each
    likelihood ratio is a non-negative supermartingale with mean at most 1 (for a tie,
    ``sqrt(r_win * r_loss) <= (r_win + r_loss) / 2``), and so is their average ``exp(S_n)``; by
    Ville's inequality ``P(S_n >= h for some n) <= exp(-h)``, whatever the number of votes and
    however often the test is re-run. This needs each vote's reference ratings (and so the
    helpful side) fixed before the vote is cast, which the reference rule below gives. A voter
    with ``K`` rated models faces ``3K`` tests; ``h = log(3K / alpha)`` bounds the chance that
    an honest voter is ever flagged by ``alpha`` (Bonferroni). The bound holds exactly for
    voters whose votes follow the ratings; real voters have tastes, so the observed
    false-positive rate is measured by bench/attack.py.

Reference ratings
    ``theta`` may hold several rows of ratings (snapshots) and ``reference`` the row each vote
    is tested against. The site tests a voter against the newest snapshot published before
    the voter's first tested vote, so a flood of identities cannot move the ratings it is judged
    by; a vote between models that row does not rate falls back to the last row (the newest).

Networks
    ``scan`` does not care what a "voter" code stands for. The site also runs it on the pooled
    votes of every identity behind one network pseudonym, in the order cast, each vote keeping
    its own identity's reference row. Each vote's reference is still fixed before the vote is
    cast, so the product of the pooled likelihood ratios is a supermartingale under H0 and the
    same bound holds per network. ``statistics`` then says how strongly each identity's own
    votes favour the alternative that fired, and ``holders`` which identities a crossing holds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_DELTAS = (2.0, 3.0, 4.0)
DEFAULT_ALPHA = 0.01
# A network's flag holds the identities whose own statistic for the test that fired exceeds
# this: their votes there are at least e times likelier under that alternative than under H0.
# One lucky vote for the model (at most a ratio of 1.9) is not enough; two are.
DEFAULT_HOLD = 1.0
FAVOURS = 1
DISFAVOURS = -1
PROMOTES = 2
TESTS_PER_MODEL = 3
CHUNK = 5_000  # votes per block of the promotes tests (memory: ~15 arrays of CHUNK x models)

# Outcome codes, as in ratings.maths: 0 = model_a won, 1 = model_b won, 2 = draw.
OUTCOME_CODE = {"model_a": 0, "model_b": 1, "tie": 2, "both_bad": 2}


def threshold(n_models: int, *, alpha: float = DEFAULT_ALPHA) -> float:
    """Return the log-likelihood-ratio bound h = log(3K / alpha) for K rated models."""
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1")
    if n_models < 1:
        raise ValueError("n_models must be at least 1")
    return math.log(TESTS_PER_MODEL * n_models / alpha)


def llr(x: np.ndarray, score: np.ndarray, shift: float) -> np.ndarray:
    """Log-likelihood ratio of score(s) for a model ``x`` stronger than its opponent, H1 vs H0."""
    return llrs(x, score, (shift,))[0]


def llrs(
    x: np.ndarray, score: np.ndarray, shifts: Sequence[float] | np.ndarray
) -> list[np.ndarray]:
    """``llr`` under each shift, in order.

    Since log sigma(-z) = log sigma(z) - z, the loss term of ``llr`` is its win term minus the
    shift, so ``llr = log sigma(x + s) - log sigma(x) - (1 - y) * s``: one log-sigmoid per
    shift and one shared by all, instead of four per shift (these were most of a scan's time).
    """
    x = np.asarray(x, dtype=np.float64)
    lost = 1 - np.asarray(score, dtype=np.float64)
    base = log_sigmoid(x)
    return [log_sigmoid(x + s) - base - lost * s for s in np.asarray(shifts, dtype=np.float64)]


def log_sigmoid(z: np.ndarray) -> np.ndarray:
    """``log(sigma(z))``, stable for any z: ``min(z, 0) - log(1 + exp(-|z|))``.

    The same formula as scipy's log_expit, in numpy's vectorised exp and log1p: 2.3 times as
    fast on the scan's arrays (scipy's ufunc evaluates it element by element)."""
    return np.minimum(z, 0.0) - np.log1p(np.exp(-np.abs(z)))


def log_mean_exp(values: np.ndarray, axis: int) -> np.ndarray:
    """``log(mean(exp(values)))`` along ``axis``, for finite values: the mixture statistic.

    scipy's logsumexp handles signs, weights and infinities that never occur here, at several
    times the cost (a fifth of a scan's time went to it)."""
    top = np.max(values, axis=axis, keepdims=True)
    return np.squeeze(top, axis=axis) + np.log(np.mean(np.exp(values - top), axis=axis))


def helps_a(t_a: np.ndarray, t_b: np.ndarray, t_m: np.ndarray) -> np.ndarray:
    """Whether side a is the side that helps ``m`` up the ranking, elementwise (neither side
    being ``m``): the side below ``m`` against one above it, the higher of two above ``m``,
    the lower of two below it. Strengths are natural-log; "above" is strictly stronger."""
    above_a = t_a > t_m
    above_b = t_b > t_m
    return np.where(above_a == above_b, np.where(above_a, t_a > t_b, t_a < t_b), ~above_a)


@dataclass(frozen=True)
class Alarm:
    """A voter whose votes reject H0: the test that crossed first, and by how much."""

    voter: int  # the voter's code, as given
    model: int  # index of the model the voter favours, disfavours or promotes
    direction: int  # FAVOURS, DISFAVOURS or PROMOTES
    statistic: float  # largest S_n (log mixture likelihood ratio) of that test
    threshold: float
    flagged_at: int  # the voter's own vote number (1-based) at which the test first crossed
    votes_on_model: int  # the votes the test saw (those involving the model; all for PROMOTES)


def _rank(alarm: Alarm) -> tuple[int, bool, float]:
    # Earliest first; on a tie the per-model test (it names the model more precisely), then the
    # strongest.
    return alarm.flagged_at, alarm.direction == PROMOTES, -alarm.statistic


def _keep_earliest(best: dict[int, Alarm], alarm: Alarm) -> None:
    held = best.get(alarm.voter)
    if held is None or _rank(alarm) < _rank(held):
        best[alarm.voter] = alarm


def scan(
    voter: Sequence[int] | np.ndarray,
    model_a: Sequence[int] | np.ndarray,
    model_b: Sequence[int] | np.ndarray,
    outcome: Sequence[int] | np.ndarray,
    theta: np.ndarray,
    *,
    reference: Sequence[int] | np.ndarray | None = None,
    deltas: Sequence[float] = DEFAULT_DELTAS,
    alpha: float = DEFAULT_ALPHA,
) -> list[Alarm]:
    """Run every voter's tests over their votes, in the order given; return one alarm per
    flagged voter (the test that crossed earliest; on a tie the per-model test, then the
    strongest).

    ``voter`` holds non-negative integer voter codes, ``model_a``/``model_b`` indices into
    ``theta``'s columns (natural-log strengths, NaN for an unrated model) and ``outcome`` codes
    from OUTCOME_CODE. ``theta`` is one row of ratings or several (snapshots); ``reference``
    gives each vote's row (the last row if omitted). Votes whose two models the chosen row does
    not rate use the last row; votes with a model the last row does not rate either, or the
    same model twice, feed no test but still count in the voter's vote numbers.
    """
    voter = np.asarray(voter, dtype=np.int64)
    a = np.asarray(model_a, dtype=np.int64)
    b = np.asarray(model_b, dtype=np.int64)
    code = np.asarray(outcome, dtype=np.int64)
    theta = np.asarray(theta, dtype=np.float64)
    if theta.ndim == 1:
        theta = theta[None, :]
    if theta.ndim != 2 or theta.shape[0] == 0:
        raise ValueError("theta must be one row of ratings or a matrix of rows")
    rows, n_models = theta.shape
    n = len(voter)
    if not (len(a) == len(b) == len(code) == n):
        raise ValueError("voter, model_a, model_b and outcome must have the same length")
    ref = (
        np.full(n, rows - 1, dtype=np.int64)
        if reference is None
        else np.asarray(reference, dtype=np.int64)
    )
    if len(ref) != n:
        raise ValueError("reference must give one ratings row per vote")
    shifts = np.asarray(deltas, dtype=np.float64)
    if shifts.ndim != 1 or not len(shifts) or not (shifts > 0).all():
        raise ValueError("deltas must be one or more positive log-odds biases")
    if n == 0:
        return []
    if voter.min() < 0 or min(a.min(), b.min()) < 0 or max(a.max(), b.max()) >= n_models:
        raise ValueError("voter codes must be >= 0 and model indices must index theta")
    if ref.min() < 0 or ref.max() >= rows:
        raise ValueError("reference rows must index theta's rows")
    if not np.isin(code, (0, 1, 2)).all():
        raise ValueError("outcome codes are 0 (model_a), 1 (model_b) or 2 (draw)")
    rated = ~np.isnan(theta)
    h = threshold(max(int(rated.sum(axis=1).max()), 1), alpha=alpha)

    # The voter's own vote number (1-based), in the order given.
    order = np.argsort(voter, kind="stable")
    position = np.empty(n, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(voter[order])) + 1]
    counts = np.diff(np.r_[starts, n])
    position[order] = np.arange(n) - np.repeat(starts, counts) + 1

    ref = np.where(rated[ref, a] & rated[ref, b], ref, rows - 1)
    usable = rated[ref, a] & rated[ref, b] & (a != b)
    best: dict[int, Alarm] = {}
    for alarm in _per_model(voter, a, b, code, theta, ref, usable, position, shifts, h):
        _keep_earliest(best, alarm)
    for alarm in _promotes(voter, a, b, code, theta, ref, usable, position, shifts, h):
        _keep_earliest(best, alarm)
    return [best[v] for v in sorted(best)]


def _test_steps(
    model_a: Sequence[int] | np.ndarray,
    model_b: Sequence[int] | np.ndarray,
    outcome: Sequence[int] | np.ndarray,
    theta: np.ndarray,
    *,
    model: int,
    direction: int,
    reference: Sequence[int] | np.ndarray | None,
    deltas: Sequence[float],
) -> np.ndarray:
    """Each vote's log-likelihood ratio for one test, one column per delta (0 for a vote that
    does not feed it), with ``scan``'s rules for references and unrated models."""
    a = np.asarray(model_a, dtype=np.int64)
    b = np.asarray(model_b, dtype=np.int64)
    code = np.asarray(outcome, dtype=np.int64)
    theta = np.asarray(theta, dtype=np.float64)
    if theta.ndim == 1:
        theta = theta[None, :]
    rows = theta.shape[0]
    ref = (
        np.full(len(a), rows - 1, dtype=np.int64)
        if reference is None
        else np.asarray(reference, dtype=np.int64)
    )
    if direction not in (FAVOURS, DISFAVOURS, PROMOTES):
        raise ValueError("direction is FAVOURS, DISFAVOURS or PROMOTES")
    if not (len(a) == len(b) == len(code) == len(ref)):
        raise ValueError("model_a, model_b, outcome and reference must have the same length")
    shifts = np.asarray(deltas, dtype=np.float64)
    steps = np.zeros((len(a), len(shifts)))
    if not len(a):
        return steps
    rated = ~np.isnan(theta)
    ref = np.where(rated[ref, a] & rated[ref, b], ref, rows - 1)
    usable = rated[ref, a] & rated[ref, b] & (a != b) & rated[ref, model]
    t_a, t_b, t_m = theta[ref, a], theta[ref, b], theta[ref, model]
    score_a = _scores(code)
    if direction == PROMOTES:
        good_a = np.where(a == model, True, np.where(b == model, False, helps_a(t_a, t_b, t_m)))
        sign = 1.0
    else:
        usable &= (a == model) | (b == model)
        good_a = a == model  # the test's side is the model's
        sign = float(direction)
    x = np.where(good_a, t_a - t_b, t_b - t_a)[usable]
    score = np.where(good_a, score_a, 1 - score_a)[usable]
    for k, step in enumerate(llrs(x, score, sign * shifts)):
        steps[usable, k] = step
    return steps


def statistics(
    member: Sequence[int] | np.ndarray,
    model_a: Sequence[int] | np.ndarray,
    model_b: Sequence[int] | np.ndarray,
    outcome: Sequence[int] | np.ndarray,
    theta: np.ndarray,
    *,
    model: int,
    direction: int,
    reference: Sequence[int] | np.ndarray | None = None,
    deltas: Sequence[float] = DEFAULT_DELTAS,
) -> np.ndarray:
    """Each member's own statistic for one test (``model``, ``direction``) over its votes: the
    log mixture likelihood ratio after its last vote, indexed by member code (0 for a member
    whose votes never fed the test).

    Arguments are those of ``scan``; ``member`` codes group the votes, e.g. the identities
    behind a network whose pooled votes ``scan`` flagged. A member with a statistic above 0 is
    one whose votes, on their own, favour that alternative over H0.
    """
    group = np.asarray(member, dtype=np.int64)
    steps = _test_steps(
        model_a,
        model_b,
        outcome,
        theta,
        model=model,
        direction=direction,
        reference=reference,
        deltas=deltas,
    )
    return _per_member(group, steps)


def _per_member(group: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Each member's log mixture likelihood ratio over all its votes' `steps`."""
    if len(group) != len(steps):
        raise ValueError("member must give one code per vote")
    totals = np.zeros((int(group.max()) + 1 if len(group) else 0, steps.shape[1]))
    for k in range(steps.shape[1]):
        np.add.at(totals[:, k], group, steps[:, k])
    return log_mean_exp(totals, axis=1)


def holders(
    member: Sequence[int] | np.ndarray,
    model_a: Sequence[int] | np.ndarray,
    model_b: Sequence[int] | np.ndarray,
    outcome: Sequence[int] | np.ndarray,
    theta: np.ndarray,
    *,
    model: int,
    direction: int,
    reference: Sequence[int] | np.ndarray | None = None,
    deltas: Sequence[float] = DEFAULT_DELTAS,
    alpha: float = DEFAULT_ALPHA,
    hold: float = DEFAULT_HOLD,
) -> np.ndarray:
    """The members a crossing of one test on their pooled votes (in the order given) holds:
    every member whose own statistic exceeds ``hold``, then, while the others' votes alone
    would still cross the threshold, the strongest of the others with a statistic above 0,
    one at a time. Returns their codes, strongest first.

    So a neighbour with one lucky vote is left alone when the clear contributors explain the
    crossing, and identities that each stay under ``hold`` (one vote apiece, say) cannot hide
    the pooled evidence behind their small shares. ``theta`` has the rows ``scan`` was given,
    whose threshold (log(3K / alpha), K the most models a row rates) applies.
    """
    group = np.asarray(member, dtype=np.int64)
    steps = _test_steps(
        model_a,
        model_b,
        outcome,
        theta,
        model=model,
        direction=direction,
        reference=reference,
        deltas=deltas,
    )
    own = _per_member(group, steps)
    if not len(group):
        return np.array([], dtype=np.int64)
    theta = np.asarray(theta, dtype=np.float64)
    rated = ~np.isnan(theta if theta.ndim == 2 else theta[None, :])
    h = threshold(max(int(rated.sum(axis=1).max()), 1), alpha=alpha)
    present = np.unique(group)
    by_strength = present[np.argsort(-own[present], kind="stable")]
    held = [m for m in by_strength if own[m] > hold]
    others = [m for m in by_strength if 0 < own[m] <= hold]
    out = np.isin(group, held)

    def still_crosses() -> bool:
        running = np.cumsum(np.where(out[:, None], 0.0, steps), axis=0)
        return bool((log_mean_exp(running, axis=1) >= h).any())

    for m in others:
        if not still_crosses():
            break
        held.append(m)
        out |= group == m
    return np.array(held, dtype=np.int64)


def _running_sums(steps: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Cumulative sums of ``steps`` down axis 0, starting afresh at each group's first row
    (groups are consecutive runs of rows: ``starts`` their first rows, ``sizes`` their lengths).

    One cumulative sum over all rows, minus the total before each group's first row: no loop
    over groups and no padded copy of the totals."""
    total = np.cumsum(steps, axis=0)
    before = total[np.maximum(starts - 1, 0)]  # a copy: fancy indexing
    before[starts == 0] = 0.0
    return total - np.repeat(before, sizes, axis=0)


def _scores(code: np.ndarray) -> np.ndarray:
    return np.where(code == 0, 1.0, np.where(code == 1, 0.0, 0.5))


def _per_model(voter, a, b, code, theta, ref, usable, position, shifts, h) -> list[Alarm]:
    """The favours and disfavours tests of every model each voter has seen."""
    idx = np.flatnonzero(usable)
    if not len(idx):
        return []
    n_models = theta.shape[1]
    x = theta[ref[idx], a[idx]] - theta[ref[idx], b[idx]]
    score_a = _scores(code[idx])
    rows_model, rows_dir, rows_llr = [], [], []
    for model, diff, score in ((a[idx], x, score_a), (b[idx], -x, 1 - score_a)):
        for direction in (FAVOURS, DISFAVOURS):
            rows_model.append(model)
            rows_dir.append(np.full(len(idx), direction))
            rows_llr.append(np.stack(llrs(diff, score, direction * shifts), axis=1))
    vote_of_row = np.tile(idx, 4)
    model_of_row = np.concatenate(rows_model)
    dir_of_row = np.concatenate(rows_dir)
    step = np.concatenate(rows_llr)
    key = (voter[vote_of_row] * n_models + model_of_row) * 2 + (dir_of_row == DISFAVOURS)
    # Group by test, keeping each voter's votes in the order given.
    sort = np.lexsort((vote_of_row, key))
    key, step, vote_of_row = key[sort], step[sort], vote_of_row[sort]
    model_of_row, dir_of_row = model_of_row[sort], dir_of_row[sort]
    group_start = np.r_[0, np.flatnonzero(np.diff(key)) + 1]
    group_size = np.diff(np.r_[group_start, len(key)])
    running = log_mean_exp(_running_sums(step, group_start, group_size), axis=1)
    peak = np.maximum.reduceat(running, group_start)
    first = np.full(len(group_start), np.iinfo(np.int64).max)
    hit_rows = np.flatnonzero(running >= h)
    group_of_row = np.repeat(np.arange(len(group_start)), group_size)
    # First crossing per group: the smallest row index among crossing rows of that group.
    np.minimum.at(first, group_of_row[hit_rows], hit_rows)
    alarms = []
    for g in np.flatnonzero(peak >= h):
        row = int(first[g])
        alarms.append(
            Alarm(
                voter=int(voter[vote_of_row[row]]),
                model=int(model_of_row[row]),
                direction=int(dir_of_row[row]),
                statistic=float(peak[g]),
                threshold=h,
                flagged_at=int(position[vote_of_row[row]]),
                votes_on_model=int(group_size[g]),
            )
        )
    return alarms


def _promotes(voter, a, b, code, theta, ref, usable, position, shifts, h) -> list[Alarm]:
    """The promotes test of every model for every voter, over all the voter's votes; votes are
    processed in blocks of whole voters so memory stays at CHUNK x models x deltas."""
    idx = np.flatnonzero(usable)
    if not len(idx):
        return []
    idx = idx[np.argsort(voter[idx], kind="stable")]
    group_start = np.r_[0, np.flatnonzero(np.diff(voter[idx])) + 1]
    bounds = np.r_[group_start, len(idx)]
    alarms = []
    g = 0
    while g < len(group_start):
        # Whole voters, at least one, up to about CHUNK votes.
        last = int(np.searchsorted(bounds, bounds[g] + CHUNK, side="right")) - 1
        last = max(last, g + 1)
        block = idx[bounds[g] : bounds[last]]
        local_starts = bounds[g:last] - bounds[g]
        alarms += _promotes_block(
            voter, a, b, code, theta, ref, position, shifts, h, block, local_starts
        )
        g = last
    return alarms


def _promotes_block(
    voter, a, b, code, theta, ref, position, shifts, h, block, local_starts
) -> list[Alarm]:
    t = theta[ref[block]]  # (votes, models): each vote's reference strengths
    va, vb = a[block], b[block]
    t_a = t[np.arange(len(block)), va][:, None]
    t_b = t[np.arange(len(block)), vb][:, None]
    column = np.arange(t.shape[1])[None, :]
    good_a = np.where(
        va[:, None] == column,
        True,
        np.where(vb[:, None] == column, False, helps_a(t_a, t_b, t)),
    )
    x = np.where(good_a, t_a - t_b, t_b - t_a)
    score_a = _scores(code[block])[:, None]
    score = np.where(good_a, score_a, 1 - score_a)
    tested = ~np.isnan(t)  # a model the vote's reference does not rate is not ranked there
    sizes = np.diff(np.r_[local_starts, len(block)])
    per_delta = [
        _running_sums(np.where(tested, step, 0.0), local_starts, sizes)
        for step in llrs(x, score, shifts)
    ]
    running = log_mean_exp(np.stack(per_delta), axis=0)
    running = np.where(tested.any(axis=0)[None, :], running, -np.inf)
    peak = np.maximum.reduceat(running, local_starts, axis=0)
    big = np.iinfo(np.int64).max
    row_or_big = np.where(running >= h, np.arange(len(block))[:, None], big)
    first = np.minimum.reduceat(row_or_big, local_starts, axis=0)
    alarms = []
    for g in np.flatnonzero((peak >= h).any(axis=1)):
        crossing = first[g]
        model = int(np.lexsort((-peak[g], crossing))[0])
        row = int(crossing[model])
        alarms.append(
            Alarm(
                voter=int(voter[block[row]]),
                model=model,
                direction=PROMOTES,
                statistic=float(peak[g, model]),
                threshold=h,
                flagged_at=int(position[block[row]]),
                votes_on_model=int(sizes[g]),
            )
        )
    return alarms

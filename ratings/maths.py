"""Compute Bradley-Terry ratings and their uncertainty for a pairwise-vote arena.

Model
    Each model ``i`` has a strength ``theta_i`` on the natural-log scale and wins a decisive vote
    against ``j`` with probability ``sigma(theta_i - theta_j)``, ``sigma`` the logistic function.
    Published ratings are ``RATING_BASE + RATING_SCALE * theta`` with
    ``RATING_SCALE = 400 / ln 10``, so 400 rating points are a factor of 10 in the odds, as in Elo.

Votes and sufficient statistics
    A vote is ``(model_a, model_b, outcome)`` with outcome ``"model_a"``, ``"model_b"``,
    ``"tie"`` or ``"both_bad"``; ``"tie"`` and ``"both_bad"`` both count as half a win each way.
    Everything is computed from aggregated counts (:class:`PairCounts`): ``wins[i, j]`` votes in
    which ``i`` beat ``j`` and the symmetric ``draws[i, j]``, ties plus both-bad between ``i`` and
    ``j`` (each draw is stored in both ``[i, j]`` and ``[j, i]`` but is one vote). The side
    (``a``/``b``) is discarded: the model has no side advantage. A fit therefore costs
    O(models^2) per iteration whatever the number of votes. The log-likelihood is

        LL(theta) = sum_{i != j} w_ij (wins[i, j] + draws[i, j] / 2) log sigma(theta_i - theta_j)

    which counts each draw once, half in each direction. ``w_ij = 1`` unless ``reweight=True``,
    in which case every vote between ``i`` and ``j`` gets LMArena's inverse pair-frequency weight
    ``1 / max(n_ij, min_pair_count)``, ``n_ij`` the number of votes between ``i`` and ``j``.

Prior
    ``prior = 0`` (default) is the plain maximum-likelihood estimate. ``prior > 0`` adds a symmetric
    Gaussian prior (ridge penalty) ``0.5 * prior * sum_i theta_i^2`` to the negative
    log-likelihood, i.e. ``theta_i ~ N(0, 1 / prior)`` independently, in vote units: near equal
    strength it acts like ``4 * prior`` virtual draws of each model against a reference of mean
    strength. The penalised optimum always has mean 0, and every model with votes in the largest
    connected component gets a finite rating.

Existence of the estimate (``prior = 0``)
    The MLE is finite only on a set of models in which the directed graph "i beat or drew j" is
    strongly connected. :func:`fit` never merges separate pieces silently; it rates one piece and
    reports why every other model is unrated (``Fit.unrated_reason``):

    - ``"no_votes"``: the model has no votes against another model.
    - ``"disconnected"``: no chain of votes links the model to the largest connected component of
      the comparison graph (largest by number of models, ties go to the component holding the
      alphabetically first model). Ratings of separate components are not comparable.
    - ``"unbounded_above"`` / ``"unbounded_below"``: inside that component, the rated core is the
      largest strongly connected component (same tie-break), provided it has at least two models
      (a lone model has nothing to be rated against, and then nothing is rated). Models that beat
      the core through a chain of wins (or, with no such chain either way, only ever won) have an
      MLE of +infinity relative to it; models the core beats through a chain of wins (or that
      only ever lost) have -infinity. A model ordered neither way (it both won and lost, but no
      chain of results links it to the core) is reported ``"disconnected"``, because even the
      direction of its distance from the core is not identified.

    With ``prior > 0`` only ``"no_votes"`` and ``"disconnected"`` can occur.

Fitting and centring
    Damped Newton's method on the dense Hessian, from zeros (or a warm start ``init``), with a
    backtracking (Armijo) line search so it converges from anywhere. With ``prior = 0`` the
    Hessian is singular along the all-ones vector (only differences are identified); the Newton
    system is solved on the subspace orthogonal to it, which keeps theta mean-centred. Convergence
    is declared when the max-abs gradient of the per-vote (total-weight-normalised) negative
    log-posterior is ``<= tol``; normalising keeps one ``tol`` meaningful for 10^2 or 10^7 votes.
    Newton converges quadratically, and after the test is met it keeps stepping while steps
    still shrink the gradient tenfold, so a converged fit is accurate to rounding error. Ratings
    are centred (mean theta over the rated models = 0) unless ``anchor=(model, rating)`` shifts
    them so that model gets that rating.

Intervals
    - Sandwich (robust) covariance ``V = H^+ G H^+`` with ``H`` the Hessian of the negative
      log-posterior and ``G = sum over votes w^2 (y - p)^2 (e_i - e_j)(e_i - e_j)^T``
      (``y`` = 1, 0, 0.5 for win, loss, draw), ``^+`` the inverse on the subspace orthogonal to the
      all-ones vector, i.e. the covariance of the mean-centred theta. Bounds are
      ``rating +- z * sd``. Anchoring shifts the bounds but not the variance.
    - Bootstrap: multinomial resampling of the vote buckets (pair, outcome) among the rated
      models, refitting each round (same prior; pair weights stay those of the full data)
      warm-started from the full fit; percentile intervals and the sample variance. Without a
      prior, each round is centred on the models it can rate by matching their mean to the full
      fit's, so a model that drops out of one round (NaN there, ignored) does not shift the
      others; a model left unbounded in a round counts as +-infinity there, which can make its
      bound and variance infinite.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import numpy as np
from scipy import sparse
from scipy.linalg import lapack
from scipy.sparse import csgraph
from scipy.special import expit
from scipy.stats import norm
from threadpoolctl import ThreadpoolController

# Inspecting the loaded BLAS libraries costs ~1 ms; do it once, not on every call.
_threadpools = ThreadpoolController()
_P = ParamSpec("_P")
_R = TypeVar("_R")


def _one_blas_thread(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run with a single BLAS thread.

    The matrices here are models x models (hundreds at most): a second BLAS thread saves
    little, and when the other core is busy (a web server, a worker) its spin-waiting turns a
    1 ms Cholesky solve into 100+ ms.
    """

    @functools.wraps(function)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with _threadpools.limit(limits=1, user_api="blas"):
            return function(*args, **kwargs)

    return wrapper


RATING_SCALE = 400 / math.log(10)
RATING_BASE = 1000.0
OUTCOMES = ("model_a", "model_b", "tie", "both_bad")

# Rounding level of the per-vote gradient, below which Newton steps cannot improve anything.
_GRADIENT_FLOOR = 1e-15

# Bootstrap resamples drawn per call to the generator, to bound memory.
_BOOTSTRAP_CHUNK = 64

# Outcome codes: 0 = model_a won, 1 = model_b won, 2 = draw (tie or both_bad).
_OUTCOME_CODE = {"model_a": 0, "model_b": 1, "tie": 2, "both_bad": 2}


def _readonly(array: np.ndarray) -> np.ndarray:
    """Return the array flagged read-only so frozen dataclasses stay immutable."""
    array.setflags(write=False)
    return array


def _codes(values: Sequence[str], seen: dict[str, int]) -> np.ndarray:
    """Return integer codes for the values, numbering new ones in order of appearance."""
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise ValueError("votes must be given as one-dimensional sequences")
        values = values.tolist()
    return np.fromiter(
        (seen.setdefault(str(value), len(seen)) for value in values), np.int64, len(values)
    )


@dataclass(frozen=True, eq=False)
class PairCounts:
    """Aggregated vote counts between every ordered pair of models."""

    models: tuple[str, ...]
    wins: np.ndarray
    draws: np.ndarray

    def __post_init__(self) -> None:
        """Validate shapes and values and freeze the arrays."""
        models = tuple(self.models)
        n = len(models)
        if len(set(models)) != n:
            raise ValueError("model names must be unique")
        if np.shape(self.wins) != (n, n) or np.shape(self.draws) != (n, n):
            raise ValueError(f"wins and draws must have shape ({n}, {n})")
        wins = np.array(self.wins, dtype=np.float64)
        draws = np.array(self.draws, dtype=np.float64)
        for name, matrix in (("wins", wins), ("draws", draws)):
            if not np.all(np.isfinite(matrix)) or np.any(matrix < 0):
                raise ValueError(f"{name} must be finite and non-negative")
            if np.any(np.diag(matrix) != 0):
                raise ValueError(f"{name} must have a zero diagonal (self-battles are not votes)")
        if not np.array_equal(draws, draws.T):
            raise ValueError("draws must be symmetric")
        object.__setattr__(self, "models", models)
        object.__setattr__(self, "wins", _readonly(wins))
        object.__setattr__(self, "draws", _readonly(draws))

    @classmethod
    def empty(cls) -> PairCounts:
        """Return counts with no models, the identity of ``+``."""
        return cls((), np.zeros((0, 0)), np.zeros((0, 0)))

    @classmethod
    def from_records(cls, records: Iterable[tuple[str, str, str, int | float]]) -> PairCounts:
        """Aggregate ``(model_a, model_b, outcome, count)`` records; self-battles are ignored."""
        names: set[str] = set()
        entries: list[tuple[str, str, int, float]] = []
        for model_a, model_b, outcome, count in records:
            code = _OUTCOME_CODE.get(outcome)
            if code is None:
                raise ValueError(f"unknown outcome {outcome!r}; expected one of {OUTCOMES}")
            value = float(count)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"count must be finite and non-negative, got {count!r}")
            # A model seen only in self-battles is still listed, so it shows up as "no_votes".
            names.update((model_a, model_b))
            if model_a != model_b:
                entries.append((model_a, model_b, code, value))
        models = tuple(sorted(names))
        index = {model: i for i, model in enumerate(models)}
        n = len(models)
        wins = np.zeros((n, n))
        draws = np.zeros((n, n))
        for model_a, model_b, code, value in entries:
            i, j = index[model_a], index[model_b]
            if code == 0:
                wins[i, j] += value
            elif code == 1:
                wins[j, i] += value
            else:
                draws[i, j] += value
                draws[j, i] += value
        return cls(models, wins, draws)

    @classmethod
    def from_votes(
        cls, model_a: Sequence[str], model_b: Sequence[str], outcome: Sequence[str]
    ) -> PairCounts:
        """Aggregate one entry per vote, vectorised so millions of votes take seconds at most."""
        size = len(model_a)
        if not (len(model_b) == size == len(outcome)):
            raise ValueError("model_a, model_b and outcome must have the same length")
        # Hashing beats np.unique here: sorting millions of fixed-width unicode strings is slow.
        seen: dict[str, int] = {}
        first = _codes(model_a, seen)
        second = _codes(model_b, seen)
        names = sorted(seen)
        rank = np.empty(len(names), dtype=np.int64)
        rank[[seen[name] for name in names]] = np.arange(len(names))
        index_a, index_b = rank[first], rank[second]
        labels: dict[str, int] = {}
        label_codes = _codes(outcome, labels)
        unknown = sorted(set(labels) - set(OUTCOMES))
        if unknown:
            raise ValueError(f"unknown outcome(s) {unknown}; expected one of {OUTCOMES}")
        lookup = np.zeros(len(labels), dtype=np.int64)
        for label, code in labels.items():
            lookup[code] = _OUTCOME_CODE[label]
        codes = lookup[label_codes]
        n = len(names)
        valid = index_a != index_b

        def tally(rows: np.ndarray, cols: np.ndarray, mask: np.ndarray) -> np.ndarray:
            flat = rows[mask].astype(np.int64) * n + cols[mask]
            return np.bincount(flat, minlength=n * n).reshape(n, n).astype(np.float64)

        wins = tally(index_a, index_b, valid & (codes == 0))
        wins += tally(index_b, index_a, valid & (codes == 1))
        draws = tally(index_a, index_b, valid & (codes == 2))
        return cls(tuple(names), wins, draws + draws.T)

    @property
    def n_models(self) -> int:
        """Return the number of models."""
        return len(self.models)

    @property
    def total_votes(self) -> float:
        """Return the number of votes (each draw counted once)."""
        return float(self.wins.sum() + self.draws.sum() / 2)

    def index(self, model: str) -> int:
        """Return the row of a model, raising KeyError if it is unknown."""
        try:
            return self.models.index(model)
        except ValueError:
            raise KeyError(model) from None

    def pair_totals(self) -> np.ndarray:
        """Return the symmetric matrix of votes between each pair."""
        return self.wins + self.wins.T + self.draws

    def votes_per_model(self) -> np.ndarray:
        """Return each model's number of votes."""
        return self.pair_totals().sum(axis=1)

    def wins_per_model(self) -> np.ndarray:
        """Return each model's number of decisive wins."""
        return self.wins.sum(axis=1)

    def losses_per_model(self) -> np.ndarray:
        """Return each model's number of decisive losses."""
        return self.wins.sum(axis=0)

    def draws_per_model(self) -> np.ndarray:
        """Return each model's number of ties and both-bad votes."""
        return self.draws.sum(axis=1)

    def restrict(self, models: Iterable[str]) -> PairCounts:
        """Return the counts among the given models only, keeping this object's order."""
        wanted = set(models)
        unknown = wanted - set(self.models)
        if unknown:
            raise ValueError(f"unknown models: {sorted(unknown)}")
        keep = [i for i, model in enumerate(self.models) if model in wanted]
        block = np.ix_(keep, keep)
        return PairCounts(tuple(self.models[i] for i in keep), self.wins[block], self.draws[block])

    def __add__(self, other: object) -> PairCounts:
        """Return the union of both model sets with counts added."""
        if not isinstance(other, PairCounts):
            return NotImplemented
        models = tuple(sorted(set(self.models) | set(other.models)))
        position = {model: i for i, model in enumerate(models)}
        n = len(models)
        wins = np.zeros((n, n))
        draws = np.zeros((n, n))
        for part in (self, other):
            rows = [position[model] for model in part.models]
            block = np.ix_(rows, rows)
            wins[block] += part.wins
            draws[block] += part.draws
        return PairCounts(models, wins, draws)

    def __radd__(self, other: object) -> PairCounts:
        """Support ``sum()`` over counts, whose start value is 0."""
        if isinstance(other, int) and other == 0:
            return self
        return NotImplemented


@dataclass(frozen=True, eq=False)
class Fit:
    """Result of a Bradley-Terry fit."""

    models: tuple[str, ...]
    theta: np.ndarray
    ratings: np.ndarray
    iterations: int
    converged: bool
    gradient_norm: float
    rated: np.ndarray
    unrated_reason: dict[str, str]
    prior: float
    reweight: bool = False
    min_pair_count: float = 50.0

    def rating(self, model: str) -> float:
        """Return one model's rating (NaN if unrated)."""
        return float(self.ratings[self.models.index(model)])


@dataclass(frozen=True, eq=False)
class Intervals:
    """Confidence intervals for every model of a fit (NaN for unrated models)."""

    method: str
    level: float
    lower: np.ndarray
    upper: np.ndarray
    variance: np.ndarray
    rounds: int | None = None
    seed: int | None = None


@dataclass(frozen=True)
class Row:
    """One line of a leaderboard."""

    model: str
    rating: float
    lower: float
    upper: float
    variance: float
    rank_ub: int
    rank_lb: int
    votes: int
    wins: float
    losses: float
    draws: float
    provisional: bool
    rated: bool
    unrated_reason: str = ""


def _pair_weights(counts: PairCounts, reweight: bool, min_pair_count: float) -> np.ndarray:
    """Return the per-vote weight of every pair."""
    n = counts.n_models
    if not reweight:
        return np.ones((n, n))
    if not min_pair_count > 0:
        raise ValueError("min_pair_count must be positive when reweighting")
    totals = counts.pair_totals()
    return np.where(totals > 0, 1.0 / np.maximum(totals, min_pair_count), 0.0)


def _scores(wins: np.ndarray, draws: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Return the weighted score matrix: wins plus half of the draws."""
    return weights * (wins + 0.5 * draws)


def _largest(groups: list[np.ndarray], models: Sequence[str]) -> int:
    """Return the position of the largest group, ties going to the alphabetically first model."""
    keys = [(-len(group), min(models[i] for i in group)) for group in groups]
    return min(range(len(groups)), key=keys.__getitem__)


def _classify(
    wins: np.ndarray, draws: np.ndarray, models: Sequence[str], prior: float
) -> tuple[np.ndarray, dict[int, str]]:
    """Return the mask of models with a finite estimate and the reason for every other one."""
    n = len(models)
    rated = np.zeros(n, dtype=bool)
    reasons: dict[int, str] = {}
    totals = wins + wins.T + draws
    active = np.flatnonzero(totals.sum(axis=1) > 0)
    for i in np.flatnonzero(totals.sum(axis=1) == 0):
        reasons[int(i)] = "no_votes"
    if len(active) == 0:
        return rated, reasons
    _, labels = csgraph.connected_components(sparse.csr_matrix(totals > 0), directed=False)
    components = [active[labels[active] == label] for label in np.unique(labels[active])]
    main = components.pop(_largest(components, models))
    for group in components:
        reasons.update((int(i), "disconnected") for i in group)
    if prior > 0:
        rated[main] = True
        return rated, reasons

    # Edge i -> j: i beat or drew j. A finite MLE needs every model reachable from every other.
    beats = (wins > 0) | (draws > 0)
    graph = sparse.csr_matrix(beats[np.ix_(main, main)])
    count, scc = csgraph.connected_components(graph, directed=True, connection="strong")
    if count == 1:
        rated[main] = True
        return rated, reasons
    parts = [np.flatnonzero(scc == label) for label in range(count)]
    core_label = _largest([main[part] for part in parts], models)
    below = np.zeros(len(main), dtype=bool)
    above = np.zeros(len(main), dtype=bool)
    if len(parts[core_label]) < 2:
        core_label = -1  # a lone model has nothing to be rated against
    else:
        start = int(parts[core_label][0])
        # The core reaches the models it out-ranks; the models that out-rank it reach the core.
        below[csgraph.breadth_first_order(graph, start, return_predecessors=False)] = True
        above[csgraph.breadth_first_order(graph.T.tocsr(), start, return_predecessors=False)] = True
    local = beats[np.ix_(main, main)]
    for label, part in enumerate(parts):
        if label == core_label:
            rated[main[part]] = True
            continue
        outside = np.ones(len(main), dtype=bool)
        outside[part] = False
        if above[part[0]]:
            reason = "unbounded_above"
        elif below[part[0]]:
            reason = "unbounded_below"
        elif not local[np.ix_(outside, part)].any():
            reason = "unbounded_above"  # nobody beat or drew it: it only ever won
        elif not local[np.ix_(part, outside)].any():
            reason = "unbounded_below"  # it never beat or drew anybody: it only ever lost
        else:
            reason = "disconnected"
        reasons.update((int(main[i]), reason) for i in part)
    return rated, reasons


def _log_sigmoid(x: np.ndarray) -> np.ndarray:
    """Return log(sigmoid(x)) without overflow or log(0)."""
    return np.minimum(x, 0.0) - np.log1p(np.exp(-np.abs(x)))


def _solve_positive(matrix: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve a symmetric positive-definite system, falling back to least squares."""
    # Cholesky through LAPACK's posv directly: cheaper than a general LU solve and, unlike
    # OpenBLAS's threaded getrf, it does not stall when the other cores are busy.
    _, solution, info = lapack.dposv(matrix, rhs)
    if info == 0:
        return solution
    return np.linalg.lstsq(matrix, rhs, rcond=None)[0]


def _newton(
    scores: np.ndarray, prior: float, theta: np.ndarray, tol: float, max_iter: int
) -> tuple[np.ndarray, int, bool, float]:
    """Maximise the (penalised) likelihood of a score matrix; return theta, steps, ok, gradient."""
    m = len(theta)
    total = float(scores.sum())
    if m == 0 or total <= 0:
        # Nothing to fit: one model alone, or none (its rating is pure centring).
        return np.zeros(m), 0, True, 0.0
    # Work per unit of vote weight so the gradient tolerance does not depend on the data size.
    a = scores / total
    lam = prior / total
    pairs = a + a.T
    row = a.sum(axis=1)
    theta = np.array(theta, dtype=np.float64)
    if lam == 0:
        theta -= theta.mean()
    ones = np.full((m, m), 1.0 / m)

    def objective(t: np.ndarray) -> float:
        return float(-(a * _log_sigmoid(t[:, None] - t[None, :])).sum() + 0.5 * lam * t @ t)

    def derivatives(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        prob = expit(t[:, None] - t[None, :])
        grad = (pairs * prob).sum(axis=1) - row + lam * t
        curvature = pairs * prob * prob.T
        hess = np.diag(curvature.sum(axis=1) + lam) - curvature
        return grad, hess

    value = objective(theta)
    grad, hess = derivatives(theta)
    gnorm = float(np.abs(grad).max())
    previous = math.inf
    steps = 0
    while steps < max_iter:
        # Once the test is met, keep stepping only while Newton still shrinks the gradient
        # tenfold: the scale-free test can be met while a weakly identified strength (a pair
        # with p near 1 has tiny curvature per vote) is still ~1e-7 off, and one more quadratic
        # step removes that at the cost of one solve.
        if gnorm <= tol and (gnorm <= _GRADIENT_FLOOR or gnorm > 0.1 * previous):
            break
        # Without a prior, adding a multiple of the all-ones projector makes the system regular
        # without changing the solution on the mean-zero subspace, where the gradient lives.
        system = hess + np.trace(hess) / m * ones if lam == 0 else hess
        step = _solve_positive(system, -grad)
        slope = float(grad @ step)
        if not slope < 0:
            break  # rounding has taken over: no descent direction left
        # The slack absorbs rounding in the objective, so that full steps are taken near the
        # optimum where the predicted decrease (~gradient^2) is far below machine precision.
        slack = 1e-13 * (1.0 + abs(value))
        size = 1.0
        trial = theta + step
        trial_value = objective(trial)
        while trial_value > value + 1e-4 * size * slope + slack and size >= 1e-12:
            size *= 0.5
            trial = theta + size * step
            trial_value = objective(trial)
        if size < 1e-12:
            break
        if lam == 0:
            trial -= trial.mean()
        trial_grad, trial_hess = derivatives(trial)
        trial_gnorm = float(np.abs(trial_grad).max())
        if gnorm <= tol and trial_gnorm >= gnorm:
            break  # polishing has reached rounding level; keep the better point
        theta, value, grad, hess = trial, trial_value, trial_grad, trial_hess
        previous, gnorm = gnorm, trial_gnorm
        steps += 1
    converged = gnorm <= tol
    return theta, steps, converged, gnorm


def _place(
    theta: np.ndarray, rated: np.ndarray, models: Sequence[str], anchor: tuple[str, float] | None
) -> np.ndarray:
    """Return theta centred over the rated models, or shifted to honour the anchor."""
    theta = theta.copy()
    if not rated.any():
        return theta
    theta[rated] -= theta[rated].mean()
    if anchor is not None:
        model, rating = anchor
        if model not in models:
            raise ValueError(f"anchor model {model!r} is unknown")
        k = list(models).index(model)
        if not rated[k]:
            raise ValueError(f"anchor model {model!r} has no finite rating")
        theta[rated] += (float(rating) - RATING_BASE) / RATING_SCALE - theta[k]
    return theta


@_one_blas_thread
def fit(
    counts: PairCounts,
    *,
    reweight: bool = False,
    min_pair_count: float = 50.0,
    prior: float = 0.0,
    anchor: tuple[str, float] | None = None,
    tol: float = 1e-10,
    max_iter: int = 100,
    init: np.ndarray | None = None,
) -> Fit:
    """Fit Bradley-Terry strengths by damped Newton's method on the aggregated counts."""
    if not (math.isfinite(prior) and prior >= 0):
        raise ValueError("prior must be finite and non-negative")
    if not tol >= 0 or max_iter < 0:
        raise ValueError("tol and max_iter must be non-negative")
    n = counts.n_models
    rated, reasons = _classify(counts.wins, counts.draws, counts.models, prior)
    core = np.flatnonzero(rated)
    weights = _pair_weights(counts, reweight, min_pair_count)
    block = np.ix_(core, core)
    scores = _scores(counts.wins[block], counts.draws[block], weights[block])
    start = np.zeros(len(core))
    if init is not None:
        init = np.asarray(init, dtype=np.float64)
        if init.shape != (n,):
            raise ValueError(f"init must have shape ({n},)")
        start = np.nan_to_num(init[core], nan=0.0, posinf=0.0, neginf=0.0)
    solution, steps, converged, gnorm = _newton(scores, prior, start, tol, max_iter)
    theta = np.full(n, np.nan)
    theta[core] = solution
    theta = _place(theta, rated, counts.models, anchor)
    return Fit(
        models=counts.models,
        theta=_readonly(theta),
        ratings=_readonly(RATING_BASE + RATING_SCALE * theta),
        iterations=steps,
        converged=converged,
        gradient_norm=gnorm,
        rated=_readonly(rated),
        unrated_reason={counts.models[i]: reason for i, reason in sorted(reasons.items())},
        prior=float(prior),
        reweight=reweight,
        min_pair_count=float(min_pair_count),
    )


def log_likelihood(counts: PairCounts, theta: np.ndarray) -> float:
    """Return the unweighted log-likelihood of theta over the pairs where it is finite."""
    theta = np.asarray(theta, dtype=np.float64)
    finite = np.isfinite(theta)
    block = np.ix_(finite, finite)
    scores = _scores(counts.wins[block], counts.draws[block], 1.0)
    values = theta[finite]
    return float((scores * _log_sigmoid(values[:, None] - values[None, :])).sum())


def _check_pair(counts: PairCounts, fitted: Fit) -> None:
    """Raise unless the fit was made on counts with the same models."""
    if counts.models != fitted.models:
        raise ValueError("the fit was made on counts with different models")


def _z_value(level: float) -> float:
    """Return the two-sided standard-normal quantile for a confidence level."""
    if not 0 < level < 1:
        raise ValueError("level must be strictly between 0 and 1")
    return float(norm.ppf(1 - (1 - level) / 2))


def _laplacian(edges: np.ndarray) -> np.ndarray:
    """Return the graph Laplacian of a symmetric edge-weight matrix."""
    return np.diag(edges.sum(axis=1)) - edges


@_one_blas_thread
def sandwich_intervals(counts: PairCounts, fitted: Fit, *, level: float = 0.95) -> Intervals:
    """Return robust (sandwich) intervals for the mean-centred ratings."""
    _check_pair(counts, fitted)
    z = _z_value(level)
    n = counts.n_models
    core = np.flatnonzero(fitted.rated)
    variance = np.full(n, np.nan)
    if len(core) > 0:
        block = np.ix_(core, core)
        wins, draws = counts.wins[block], counts.draws[block]
        weights = _pair_weights(counts, fitted.reweight, fitted.min_pair_count)[block]
        theta = fitted.theta[core]
        prob = expit(theta[:, None] - theta[None, :])
        # prob[i, j] is P(i beats j); each unordered pair appears at [i, j] and [j, i] and the
        # Laplacian counts each such symmetric edge once.
        hess = _laplacian(weights * (wins + wins.T + draws) * prob * prob.T)
        spread = weights**2 * (
            wins * (1 - prob) ** 2 + wins.T * prob**2 + draws * (0.5 - prob) ** 2
        )
        meat = _laplacian(spread)
        m = len(core)
        if fitted.prior > 0:
            bread = np.linalg.inv(hess + fitted.prior * np.eye(m))
        else:
            # Exact inverse on the mean-zero subspace. arena-rank instead adds
            # 1e-5 * total_votes to the diagonal and inverts; this is that estimator's limit as
            # the ridge goes to 0, and the published intervals differ from it by < 0.1 points.
            ones = np.full((m, m), 1.0 / m)
            projector = np.eye(m) - ones
            scale = max(np.trace(hess) / m, 1e-300)
            bread = projector @ np.linalg.inv(hess + scale * ones) @ projector
        covariance = bread @ meat @ bread
        variance[core] = np.clip(np.diag(covariance), 0.0, None) * RATING_SCALE**2
    spread_points = z * np.sqrt(variance)
    return Intervals(
        method="sandwich",
        level=level,
        lower=_readonly(fitted.ratings - spread_points),
        upper=_readonly(fitted.ratings + spread_points),
        variance=_readonly(variance),
    )


def _bootstrap_round(
    wins: np.ndarray,
    draws: np.ndarray,
    weights: np.ndarray,
    models: Sequence[str],
    start: np.ndarray,
) -> np.ndarray:
    """Refit one resample without a prior; return theta with +-inf/NaN for unrated models."""
    beats = (wins > 0) | (draws > 0)
    count, _ = csgraph.connected_components(
        sparse.csr_matrix(beats), directed=True, connection="strong"
    )
    m = len(models)
    if count == 1:
        solution = _newton(_scores(wins, draws, weights), 0.0, start, 1e-10, 100)[0]
        return solution - solution.mean() + start.mean()
    rated, reasons = _classify(wins, draws, models, 0.0)
    theta = np.full(m, np.nan)
    for i, reason in reasons.items():
        if reason == "unbounded_above":
            theta[i] = np.inf
        elif reason == "unbounded_below":
            theta[i] = -np.inf
    core = np.flatnonzero(rated)
    if len(core) > 0:
        block = np.ix_(core, core)
        solution = _newton(
            _scores(wins[block], draws[block], weights[block]), 0.0, start[core], 1e-10, 100
        )[0]
        # Centre on the models this round can rate so that the missing ones shift nothing.
        theta[core] = solution - solution.mean() + start[core].mean()
    return theta


def _quantiles(samples: np.ndarray, probabilities: Sequence[float]) -> np.ndarray:
    """Return per-column quantiles ignoring NaN and keeping +-inf."""
    big = np.finfo(np.float64).max / 8
    clipped = np.clip(samples, -big, big)
    with np.errstate(all="ignore"):
        values = np.nanquantile(clipped, probabilities, axis=0)
    values[values >= big / 2] = np.inf
    values[values <= -big / 2] = -np.inf
    return values


@_one_blas_thread
def bootstrap_intervals(
    counts: PairCounts,
    fitted: Fit,
    *,
    rounds: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> Intervals:
    """Return percentile intervals from a multinomial bootstrap of the vote buckets."""
    _check_pair(counts, fitted)
    if rounds < 2:
        raise ValueError("rounds must be at least 2")
    _z_value(level)
    n = counts.n_models
    core = np.flatnonzero(fitted.rated)
    m = len(core)
    lower = np.full(n, np.nan)
    upper = np.full(n, np.nan)
    variance = np.full(n, np.nan)
    rng = np.random.default_rng(seed)
    if m > 0:
        block = np.ix_(core, core)
        wins, draws = counts.wins[block], counts.draws[block]
        weights = _pair_weights(counts, fitted.reweight, fitted.min_pair_count)[block]
        upper_i, upper_j = np.triu_indices(m, 1)
        # Buckets: (i beat j), (j beat i), (draw) for every unordered pair with i < j.
        buckets = np.concatenate(
            [wins[upper_i, upper_j], wins[upper_j, upper_i], draws[upper_i, upper_j]]
        )
        used = np.flatnonzero(buckets > 0)
        total = int(np.rint(buckets.sum()))
        offset = float(fitted.theta[core].mean())  # non-zero only when anchored
        start = fitted.theta[core] - offset
        samples = np.full((rounds, m), np.nan)
        if total > 0 and len(used) > 0:
            probabilities = buckets[used] / buckets[used].sum()
            n_pairs = len(upper_i)
            kind, pair = np.divmod(used, n_pairs)  # kind 0: i beat j, 1: j beat i, 2: draw
            rows = np.where(kind == 1, upper_j[pair], upper_i[pair])
            cols = np.where(kind == 1, upper_i[pair], upper_j[pair])
            drawn = kind == 2
            win_cells = rows[~drawn] * m + cols[~drawn]
            draw_cells = rows[drawn] * m + cols[drawn]
            mirror_cells = cols[drawn] * m + rows[drawn]
            names = [counts.models[i] for i in core]
            # Draw the resamples in chunks: one (rounds x buckets) array can take gigabytes.
            for begin in range(0, rounds, _BOOTSTRAP_CHUNK):
                chunk = rng.multinomial(
                    total, probabilities, size=min(_BOOTSTRAP_CHUNK, rounds - begin)
                )
                for r, resample in enumerate(chunk, start=begin):
                    round_wins = np.zeros(m * m)
                    round_wins[win_cells] = resample[~drawn]
                    round_draws = np.zeros(m * m)
                    round_draws[draw_cells] = resample[drawn]
                    round_draws[mirror_cells] = resample[drawn]
                    round_wins, round_draws = round_wins.reshape(m, m), round_draws.reshape(m, m)
                    if fitted.prior > 0:
                        scores = _scores(round_wins, round_draws, weights)
                        samples[r] = _newton(scores, fitted.prior, start, 1e-10, 100)[0]
                    else:
                        samples[r] = _bootstrap_round(
                            round_wins, round_draws, weights, names, start
                        )
        else:
            samples[:] = start
        points = RATING_BASE + RATING_SCALE * (samples + offset)
        alpha = 1 - level
        lower[core], upper[core] = _quantiles(points, [alpha / 2, 1 - alpha / 2])
        with np.errstate(all="ignore"):
            spread = np.nanvar(np.where(np.isfinite(points), points, np.nan), axis=0, ddof=1)
        spread[np.isinf(points).any(axis=0)] = np.inf
        variance[core] = spread
    return Intervals(
        method="bootstrap",
        level=level,
        lower=_readonly(lower),
        upper=_readonly(upper),
        variance=_readonly(variance),
        rounds=rounds,
        seed=seed,
    )


def rank_ranges(
    ratings: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return the best (rank UB) and worst rank each model can claim given the intervals."""
    ratings = np.asarray(ratings, dtype=np.float64)
    lower = np.asarray(lower, dtype=np.float64)
    upper = np.asarray(upper, dtype=np.float64)
    valid = ~np.isnan(ratings)
    rank_ub = np.zeros(len(ratings), dtype=np.int64)
    rank_lb = np.zeros(len(ratings), dtype=np.int64)
    low, high = lower[valid], upper[valid]
    better = low[None, :] > high[:, None]  # [i, j]: j is significantly better than i
    worse = high[None, :] < low[:, None]  # [i, j]: j is significantly worse than i
    rank_ub[valid] = 1 + better.sum(axis=1)
    rank_lb[valid] = int(valid.sum()) - worse.sum(axis=1)
    return rank_ub, rank_lb


def rank_ranges_among(rows: Sequence[Row]) -> dict[str, tuple[int, int]]:
    """Rank ranges of the rated `rows` among themselves (a tier of one fit), on their intervals.

    Unrated rows get no range.
    """
    rated = [row for row in rows if row.rated]
    best, worst = rank_ranges(
        np.array([row.rating for row in rated], dtype=np.float64),
        np.array([row.lower for row in rated], dtype=np.float64),
        np.array([row.upper for row in rated], dtype=np.float64),
    )
    return {row.model: (int(ub), int(lb)) for row, ub, lb in zip(rated, best, worst, strict=True)}


def elo(
    model_a: Sequence[str],
    model_b: Sequence[str],
    outcome: Sequence[str],
    *,
    k: float = 4.0,
    base: float = 1000.0,
    scale: float = 400.0,
    log_base: float = 10.0,
    initial: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Run sequential online Elo over the votes in order, from `initial` ratings or ``base``."""
    if not (len(model_a) == len(model_b) == len(outcome)):
        raise ValueError("model_a, model_b and outcome must have the same length")
    scores = {"model_a": 1.0, "model_b": 0.0, "tie": 0.5, "both_bad": 0.5}
    ratings: dict[str, float] = dict(initial or {})
    for first, second, result in zip(model_a, model_b, outcome, strict=True):
        score = scores.get(result)
        if score is None:
            raise ValueError(f"unknown outcome {result!r}; expected one of {OUTCOMES}")
        rating_a = ratings.setdefault(first, base)
        rating_b = ratings.setdefault(second, base)
        if first == second:
            continue  # a self-battle carries no information
        expected = 1.0 / (1.0 + log_base ** ((rating_b - rating_a) / scale))
        ratings[first] = rating_a + k * (score - expected)
        ratings[second] = rating_b - k * (score - expected)
    return ratings


def leaderboard(
    counts: PairCounts,
    *,
    interval: str = "sandwich",
    level: float = 0.95,
    min_votes: int = 0,
    rounds: int = 1000,
    seed: int = 0,
    reweight: bool = False,
    prior: float = 0.0,
    anchor: tuple[str, float] | None = None,
) -> tuple[Fit, Intervals, list[Row]]:
    """Fit, compute intervals and rank ranges, and return rows sorted by rating."""
    fitted = fit(counts, reweight=reweight, prior=prior, anchor=anchor)
    if interval == "sandwich":
        intervals = sandwich_intervals(counts, fitted, level=level)
    elif interval == "bootstrap":
        intervals = bootstrap_intervals(counts, fitted, rounds=rounds, seed=seed, level=level)
    else:
        raise ValueError(f"unknown interval method {interval!r}; use 'sandwich' or 'bootstrap'")
    rank_ub, rank_lb = rank_ranges(fitted.ratings, intervals.lower, intervals.upper)
    votes = counts.votes_per_model()
    wins = counts.wins_per_model()
    losses = counts.losses_per_model()
    draws = counts.draws_per_model()
    rows = [
        Row(
            model=model,
            rating=float(fitted.ratings[i]),
            lower=float(intervals.lower[i]),
            upper=float(intervals.upper[i]),
            variance=float(intervals.variance[i]),
            rank_ub=int(rank_ub[i]),
            rank_lb=int(rank_lb[i]),
            votes=int(np.rint(votes[i])),
            wins=float(wins[i]),
            losses=float(losses[i]),
            draws=float(draws[i]),
            provisional=bool(votes[i] < min_votes),
            rated=bool(fitted.rated[i]),
            unrated_reason=fitted.unrated_reason.get(model, ""),
        )
        for i, model in enumerate(counts.models)
    ]
    rows.sort(key=lambda row: (not row.rated, -row.rating if row.rated else 0.0, row.model))
    return fitted, intervals, rows

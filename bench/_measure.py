"""Wall time and peak memory of one stage of a benchmark (standard library only).

Shared by ``bench/ratings.py`` (our venv) and ``bench/_arena_rank_worker.py`` (the arena-rank
venv), so both sides are measured the same way.

Peak memory is the resident set size (RSS) of this process plus all its descendants (the
worker processes arena-rank's bootstrap starts; ``children=False``: this process only),
sampled every few milliseconds by a background thread, and corrected with the kernel's exact
high-water mark ``ru_maxrss`` whenever the stage raised it. ``Measure.delta_mb`` is the peak
minus the RSS when the stage started (what the stage itself needed on top of its inputs);
``Measure.peak_mb`` is the absolute peak.
"""

from __future__ import annotations

import os
import resource
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

_PAGE = os.sysconf("SC_PAGE_SIZE")
MB = 1024 * 1024


def _rss_of(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def _children_of(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", "rb") as handle:
                found.extend(int(p) for p in handle.read().split())
        except (OSError, ValueError):
            continue
    return found


def tree_rss(pid: int | None = None) -> int:
    """Return the summed RSS in bytes of a process and all its descendants."""
    root = os.getpid() if pid is None else pid
    total, stack = 0, [root]
    while stack:
        current = stack.pop()
        total += _rss_of(current)
        stack.extend(_children_of(current))
    return total


def rss_mb() -> float:
    """Return this process's current RSS in MB."""
    return _rss_of(os.getpid()) / MB


class Measure:
    """Context manager: wall time and peak RSS (this process and its children) of a block."""

    def __init__(self, interval: float = 0.005, children: bool = True) -> None:
        self.interval = interval
        self.children = children
        self.seconds = 0.0
        self.start_bytes = 0
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _rss(self) -> int:
        return tree_rss() if self.children else _rss_of(os.getpid())

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_bytes = max(self.peak_bytes, self._rss())

    def __enter__(self) -> Measure:
        self.start_bytes = self._rss()
        self.peak_bytes = self.start_bytes
        self._maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._started
        self._stop.set()
        assert self._thread is not None
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, self._rss())
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        if maxrss > self._maxrss_before:
            # This process reached a new high-water mark inside the block: that is exact.
            self.peak_bytes = max(self.peak_bytes, maxrss)

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / MB

    @property
    def delta_mb(self) -> float:
        return max(self.peak_bytes - self.start_bytes, 0) / MB


def run_stage(
    function: Callable[[], Any],
    *,
    warmup: int = 0,
    min_repeats: int = 1,
    max_repeats: int = 7,
    budget: float = 3.0,
    block: Callable[[Any], Any] | None = None,
) -> tuple[dict[str, Any], Any]:
    """Time ``function``: ``warmup`` untimed-for-the-figure cold runs, then repeats.

    Repeats until ``min_repeats`` runs and either ``max_repeats`` runs or ``budget`` seconds.
    Returns ({"seconds": median, "runs": [...], "cold": first cold run or None,
    "delta_mb": max over the timed runs, "peak_mb": ...}, last result). ``block`` is called on
    the result inside the timed region (JAX: ``jax.block_until_ready``), since JAX dispatches
    asynchronously.
    """

    def once() -> tuple[Measure, Any]:
        with Measure() as measure:
            result = function()
            if block is not None:
                block(result)
        return measure, result

    cold = None
    cold_delta = None
    result = None
    for _ in range(warmup):
        measure, result = once()
        if cold is None:
            cold, cold_delta = measure.seconds, measure.delta_mb
    runs: list[float] = []
    deltas: list[float] = []
    peaks: list[float] = []
    spent = 0.0
    while len(runs) < min_repeats or (len(runs) < max_repeats and spent < budget):
        measure, result = once()
        runs.append(measure.seconds)
        deltas.append(measure.delta_mb)
        peaks.append(measure.peak_mb)
        spent += measure.seconds
    return {
        "seconds": statistics.median(runs),
        "runs": runs,
        "cold": cold,
        "cold_delta_mb": cold_delta,
        "delta_mb": max(deltas),
        "peak_mb": max(peaks),
    }, result

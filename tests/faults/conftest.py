"""A private production stack for fault tests: PostgreSQL, Redis, uvicorn and a Celery worker.

The tests stop and start these servers, so they are the stack's own (bench/stack.py), never
the machine's shared PostgreSQL and Redis that the rest of the suite uses.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import pytest

from bench.load import LoadResult, Voter, prompt_ids_of, run_load
from bench.stack import Stack, missing_servers


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    missing = missing_servers()
    if missing:
        pytest.skip(f"cannot start a private stack: {missing}")
    stack = Stack(tmp_path_factory.mktemp("faults"), web_processes=1)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def healthy(stack: Stack) -> Stack:
    """The stack with every server up and a worker running (a failed test may leave one down)."""
    if stack.postgres is not None:
        try:
            stack.sql("SELECT 1")
        except Exception:
            stack.postgres.start()
    if stack.redis.process is None:
        stack.redis.start()
    if stack.worker is None:
        stack.start_worker()
    return stack


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout:g} s")


def latest_snapshot(stack: Stack) -> tuple[int, int | None] | None:
    rows = stack.sql("SELECT id, last_vote_id FROM ratings_ratingsnapshot ORDER BY id DESC LIMIT 1")
    return (int(rows[0][0]), rows[0][1]) if rows else None  # type: ignore[call-overload]


def ratings_caught_up(stack: Stack) -> bool:
    """Whether the newest snapshot counts every stored vote."""
    pending = stack.sql("SELECT count(*) FROM arena_vote WHERE needs_tally")[0][0]
    newest = stack.sql("SELECT max(id) FROM arena_vote")[0][0]
    snapshot = latest_snapshot(stack)
    return pending == 0 and snapshot is not None and snapshot[1] == newest


def vote_for_a_while(stack: Stack, *, voters: int, seconds: float) -> LoadResult:
    return asyncio.run(
        run_load(stack.url, prompt_ids=prompt_ids_of(stack), voters=voters, seconds=seconds)
    )


__all__ = ["Voter", "latest_snapshot", "ratings_caught_up", "vote_for_a_while", "wait_for"]

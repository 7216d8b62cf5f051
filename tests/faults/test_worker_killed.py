"""SIGKILL the Celery worker in the middle of a refit: nothing is lost or half-written, the last
snapshot keeps serving, and the next refit completes once a worker is back."""

from __future__ import annotations

import httpx

from bench.stack import Stack
from tests.faults.conftest import latest_snapshot, ratings_caught_up, vote_for_a_while, wait_for


def _refit_inside_its_transaction(stack: Stack) -> bool:
    rows = stack.sql(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = 'arena' "
        "AND state = 'idle in transaction'"
    )
    return rows[0][0] > 0  # type: ignore[operator]


def test_a_worker_killed_mid_refit_leaves_the_last_snapshot_serving(healthy: Stack) -> None:
    stack = healthy
    vote_for_a_while(stack, voters=4, seconds=2)
    wait_for(lambda: ratings_caught_up(stack), 30, "the first votes were not counted")
    before = latest_snapshot(stack)
    assert before is not None

    # A worker whose refit stops inside its transaction, just before it would commit.
    stack.kill_worker()
    stack.start_worker(ARENA_REFIT_FAULT_PAUSE_SECONDS="120")
    result = vote_for_a_while(stack, voters=4, seconds=2)
    assert result.acknowledged and not result.server_errors
    wait_for(lambda: _refit_inside_its_transaction(stack), 30, "no refit started")
    stack.kill_worker()  # SIGKILL, the worker's pool and beat with it

    # The server rolled the refit back: the old snapshot serves, the new votes wait.
    wait_for(lambda: not _refit_inside_its_transaction(stack), 10, "the refit was not rolled back")
    assert latest_snapshot(stack) == before
    board = httpx.get(stack.url + "/api/v1/leaderboard", timeout=10)
    assert board.status_code == 200
    assert board.json()["snapshot"]["id"] == before[0]
    pending = stack.sql("SELECT count(*) FROM arena_vote WHERE needs_tally")[0][0]
    assert pending == len(result.acknowledged)

    # A new worker: its catch-up refits at once (the dead worker's lock died with it).
    stack.start_worker()
    wait_for(lambda: ratings_caught_up(stack), 60, "the next refit did not complete")
    after = latest_snapshot(stack)
    assert after is not None and after[0] > before[0]
    board = httpx.get(stack.url + "/api/v1/leaderboard", timeout=10).json()
    assert board["snapshot"]["id"] == after[0]

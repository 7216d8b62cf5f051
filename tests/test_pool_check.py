"""The pool's check (config/postgresql): connections that sat idle are checked before reuse,
connections handed back a moment ago are not, and a failed check replaces every dead one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import OperationalError, connection
from django.db.utils import ConnectionHandler

IDLE_CHECK = 30.0  # seconds: longer than any test here takes


@pytest.fixture
def pooled(postgres: None, transactional_db: None, settings) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A connection to the test database through the production setup: a pool of two."""
    settings.ARENA_DB_CHECK_IDLE_SECONDS = IDLE_CHECK
    handler = ConnectionHandler(
        {
            "default": {
                **connection.settings_dict,
                "ENGINE": "config.postgresql",
                "CONN_MAX_AGE": 0,
                "CONN_HEALTH_CHECKS": False,
                "OPTIONS": {
                    **connection.settings_dict["OPTIONS"],
                    "pool": {"min_size": 2, "max_size": 2, "timeout": 5},
                },
            }
        }
    )
    wrapper = handler["default"]
    # Django opens the pool on first use without waiting for it to fill; a test that began
    # before the second connection arrived would see only one of the two.
    wrapper.pool.open(wait=True, timeout=5)
    try:
        yield wrapper
    finally:
        wrapper.close()
        wrapper.close_pool()


def _backend_pid(wrapper) -> int:  # type: ignore[no-untyped-def]
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    wrapper.close()  # back to the pool, as at the end of a request
    return int(pid)


def _terminate(pids: set[int]) -> None:
    with connection.cursor() as cursor:
        for pid in pids:
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])


def test_a_connection_handed_back_a_moment_ago_is_reused_unchecked(pooled) -> None:  # type: ignore[no-untyped-def]
    pids = {_backend_pid(pooled) for _ in range(4)}
    assert len(pids) <= 2  # the pool's two connections, reused
    # Killed behind the pool's back right after use: not checked, so the next use fails
    # (the trade-off config/postgresql documents), and the dead connection is dropped.
    _terminate(pids)
    with pytest.raises(OperationalError):
        _backend_pid(pooled)
    pooled.close()


def test_idle_connections_are_checked_and_every_dead_one_replaced(pooled, settings) -> None:  # type: ignore[no-untyped-def]
    before = {_backend_pid(pooled) for _ in range(4)}
    assert len(before) == 2  # both of the pool's connections were in use, and now both die
    _terminate(before)  # as a restart of PostgreSQL would
    settings.ARENA_DB_CHECK_IDLE_SECONDS = 0.0  # every connection has now sat idle long enough
    after = {_backend_pid(pooled) for _ in range(4)}
    assert after.isdisjoint(before)
    # The first failed check had the pool check the other idle connection too: none is dead.
    assert pooled.pool.get_stats().get("connections_lost", 0) >= 1

"""A refit killed midway leaves no trace: the previous snapshot keeps serving (PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection

from arena.models import Vote
from ratings.models import PairTally, RatingSnapshot
from ratings.selectors import leaderboard_get
from ratings.services import refit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _backend_in_transaction(pid_of_client: int) -> int | None:
    """Return the server pid of a session idle inside a transaction on the test database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND state = 'idle in transaction' AND pid <> pg_backend_pid()"
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _wait(predicate, timeout: float = 30):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def _tallies() -> list[tuple[int, ...]]:
    return sorted(
        PairTally.objects.values_list(
            "domain_id", "model_lo_id", "model_hi_id", "lo_wins", "hi_wins", "ties", "both_bad"
        )
    )


def test_a_refit_killed_inside_its_transaction_changes_nothing(postgres, models) -> None:
    for a, b, outcome in [(0, 1, "model_a"), (1, 2, "tie"), (2, 0, "model_b"), (1, 0, "model_a")]:
        Vote.objects.create(model_a=models[a], model_b=models[b], outcome=outcome)
    first, _ = refit()
    tallies_before = _tallies()
    Vote.objects.create(model_a=models[0], model_b=models[2], outcome="model_a")

    db = connection.settings_dict
    env = dict(
        os.environ,
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        ARENA_REFIT_FAULT_PAUSE_SECONDS="60",
    )
    process = subprocess.Popen(
        [sys.executable, "manage.py", "refit"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        server_pid = _wait(lambda: _backend_in_transaction(process.pid))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        # The server notices the lost client and rolls its transaction back.
        _wait(lambda: _backend_in_transaction(process.pid) != server_pid or None)
    finally:
        if process.poll() is None:
            process.kill()

    assert RatingSnapshot.objects.count() == 1
    assert leaderboard_get().snapshot.pk == first.pk
    assert Vote.objects.filter(needs_tally=True).count() == 1
    assert _tallies() == tallies_before

    second, created = refit()
    assert created
    assert second.votes_counted == 5

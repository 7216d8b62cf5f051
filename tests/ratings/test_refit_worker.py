"""The refit task in a real Celery worker, with the Redis broker and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import connection

from arena import services
from arena.backends import Finished
from arena.models import Vote
from config.celery import app as celery_app
from ratings.locks import file_lock, single_flight
from ratings.models import RatingSnapshot
from ratings.tasks import LOCK_NAME, refit_ratings
from tests.conftest import ALICE

BURST = 1000

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def worker(postgres, redis_url, settings):  # type: ignore[no-untyped-def]
    """Two real worker threads consuming the Redis broker; refits are debounced by 3 s."""
    settings.ARENA_REFIT_DEBOUNCE_SECONDS = 3.0
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    with start_worker(
        celery_app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=30
    ):
        yield


def _wait_for_snapshot_of(last_vote_id: int, timeout: float = 60) -> RatingSnapshot:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snapshot = RatingSnapshot.objects.order_by("-id").first()
        if snapshot is not None and snapshot.last_vote_id == last_vote_id:
            return snapshot
        time.sleep(0.2)
    raise AssertionError(f"no snapshot reached vote {last_vote_id} within {timeout} s")


def test_a_burst_of_votes_produces_a_handful_of_refits_never_two_at_once(
    worker, pool_prompt
) -> None:
    battles = []
    for _ in range(BURST):
        battle = services.battle_create(voter_id=ALICE, pool_prompt=pool_prompt)
        services.battle_claim_stream(battle.pk)
        battles.append(
            services.battle_finish(
                battle=battle,
                turn=battle.turns.get(),
                answers={s: ("text", Finished("ok"), None, 0) for s in "ab"},
            )
        )
    started = time.monotonic()
    for i, battle in enumerate(battles):
        services.vote_cast(
            battle=battle, outcome=["model_a", "model_b", "tie"][i % 3], voter_id=ALICE
        )
    burst_seconds = time.monotonic() - started

    snapshot = _wait_for_snapshot_of(Vote.objects.latest("id").pk)

    assert snapshot.votes_counted == BURST
    snapshots = list(RatingSnapshot.objects.order_by("started_at"))
    # One refit per debounce window of the burst, plus the one after it: a handful.
    assert 1 <= len(snapshots) <= 5, (burst_seconds, [s.votes_added for s in snapshots])
    for earlier, later in zip(snapshots, snapshots[1:], strict=False):
        assert earlier.created_at <= later.started_at  # one refit at a time
    assert sum(s.votes_added for s in snapshots) == BURST


def test_a_refit_waits_its_turn_while_another_holds_the_lock(worker, models) -> None:
    vote = Vote.objects.create(model_a=models[0], model_b=models[1], outcome="model_a")
    with single_flight(LOCK_NAME) as acquired:
        assert acquired
        refit_ratings.delay()
        time.sleep(2.5)  # the task ran, found the lock taken, and queued one for later
        assert RatingSnapshot.objects.count() == 0
    # Released: the queued refit runs after its debounce.
    assert _wait_for_snapshot_of(vote.pk).votes_counted == 1


def test_two_holders_cannot_share_the_lock(postgres) -> None:
    with single_flight("test-lock") as first:
        with single_flight("test-lock") as second:
            assert (first, second) == (True, False)
    with single_flight("test-lock") as again:
        assert again


HOLD_THE_LOCK = """
import time
from ratings.locks import file_lock, single_flight
with single_flight("test-lock") as acquired:
    print(acquired, flush=True)
    time.sleep(60)
"""


def test_a_lock_whose_holder_was_killed_is_free_at_once(postgres) -> None:
    db = connection.settings_dict
    env = dict(
        os.environ,
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    )
    holder = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", HOLD_THE_LOCK],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "True"
        with single_flight("test-lock") as acquired:
            assert not acquired
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        deadline = time.monotonic() + 5
        while True:
            with single_flight("test-lock") as acquired:
                if acquired:
                    break
            assert time.monotonic() < deadline, "the dead holder's lock was not released"
            time.sleep(0.05)
    finally:
        if holder.poll() is None:
            holder.kill()


def test_the_embedded_file_lock_is_exclusive_too(settings, tmp_path) -> None:
    settings.DATA_DIR = tmp_path
    with file_lock("test-lock") as first:
        with file_lock("test-lock") as second:
            assert (first, second) == (True, False)
    with file_lock("test-lock") as again:
        assert again

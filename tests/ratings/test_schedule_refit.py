"""The refit debounce: a burst of votes queues one refit and asks the cache about once."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from django.core.cache import cache

from arena import services
from arena.models import Battle
from config.celery import app as celery_app
from ratings import tasks
from ratings.models import RatingSnapshot
from tests.conftest import ALICE


@pytest.fixture
def queued(settings) -> Callable[[], int]:  # type: ignore[no-untyped-def]
    """Refits are queued on the real broker (not run at once); returns a counter that empties
    the queue and says how many refits were waiting in it."""
    settings.ARENA_REFIT_DEBOUNCE_SECONDS = 5.0
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    return lambda: celery_app.control.purge()


def test_a_burst_queues_one_refit_and_the_process_remembers_it(queued) -> None:
    for _ in range(50):
        tasks.schedule_refit()
    assert queued() == 1
    # The process knows a refit starts in about 5 s and asks the cache nothing before then:
    # with the cache's record gone, it still queues nothing.
    cache.delete(tasks.SCHEDULED_KEY)
    tasks.schedule_refit()
    assert queued() == 0


def test_once_the_refit_starts_the_next_vote_queues_another(queued) -> None:
    tasks.schedule_refit()
    assert queued() == 1
    tasks._forget_scheduled()  # what a refit does first, before it reads the votes
    tasks.schedule_refit()
    assert queued() == 1


def test_a_refit_queued_by_another_process_is_learned_from_the_cache(queued) -> None:
    starts_at = time.time() + tasks.ETA_MARGIN_SECONDS + 1.0
    cache.set(tasks.SCHEDULED_KEY, starts_at)
    tasks.schedule_refit()
    assert queued() == 0
    # Known until a margin before it starts, even with the cache's record gone ...
    cache.delete(tasks.SCHEDULED_KEY)
    tasks.schedule_refit()
    assert queued() == 0
    # ... and no longer: votes from then on may come after it has read the votes.
    time.sleep(max(0.0, starts_at - tasks.ETA_MARGIN_SECONDS - time.time()) + 0.1)
    tasks.schedule_refit()
    assert queued() == 1


def test_the_catch_up_leaves_waiting_votes_to_a_refit_queued_to_start_later(
    queued, complete_battle: Battle
) -> None:
    services.vote_cast(battle=complete_battle, outcome="tie", voter_id=ALICE)
    cache.set(tasks.SCHEDULED_KEY, time.time() + 5.0)
    assert tasks.refit_if_pending.apply().result is None
    assert not RatingSnapshot.objects.exists()
    # One whose start has passed and is still in the cache may have died with its worker:
    # the catch-up refits.
    cache.set(tasks.SCHEDULED_KEY, time.time() - 1.0)
    assert tasks.refit_if_pending.apply().result == RatingSnapshot.objects.get().pk

"""Background refits: debounced, single-flight, idempotent, time-limited."""

from __future__ import annotations

import logging
import time

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError

from ratings import services
from ratings.locks import single_flight

logger = logging.getLogger(__name__)

SCHEDULED_KEY = "ratings:refit-scheduled"
LOCK_NAME = "ratings-refit"


# A wall-clock time (time.time()) before which this process knows a queued refit will start,
# and a margin for the clocks of the web and worker hosts, which may differ a little.
_refit_known_until = 0.0
ETA_MARGIN_SECONDS = 1.0


def schedule_refit() -> None:
    """Ask for one refit a few seconds from now; a burst of votes shares that one refit.

    The debounce key holds the time the queued refit will start (its countdown's end). A
    process that has seen that time asks nothing more of Redis until shortly before it: every
    vote stored until then is seen by that refit, which reads the votes only once it starts.
    So a process asks Redis about once per debounce window, not once per vote.
    """
    global _refit_known_until
    now = time.time()
    if now < _refit_known_until:
        return
    delay = settings.ARENA_REFIT_DEBOUNCE_SECONDS
    starts_at = now + delay
    try:
        first = cache.add(
            SCHEDULED_KEY, starts_at, timeout=int(delay) + settings.ARENA_REFIT_TIME_LIMIT
        )
        if not first:
            queued = cache.get(SCHEDULED_KEY)
    except Exception as exc:
        # Redis (cache and broker) is down. The vote that asked is stored all the same; the
        # periodic catch-up (refit_if_pending) refits once the broker is back. One line per
        # vote, not a traceback: an outage would otherwise bury the log.
        logger.warning("could not schedule a refit (cache unreachable: %s)", exc)
        return
    if not first:
        # One is already on its way and will see these votes.
        if isinstance(queued, float):
            _refit_known_until = queued - ETA_MARGIN_SECONDS
        return
    # Known before it is queued: a refit that runs at once (task_always_eager) forgets it.
    _refit_known_until = starts_at - ETA_MARGIN_SECONDS
    try:
        refit_ratings.apply_async(countdown=delay)
    except Exception:
        # The vote is stored either way (the database is the source of truth); the next
        # scheduled refit will count it. Free the slot so the next vote tries again.
        _forget_scheduled()
        logger.exception("could not enqueue a refit")


def _forget_scheduled() -> None:
    global _refit_known_until
    _refit_known_until = 0.0
    try:
        cache.delete(SCHEDULED_KEY)
    except Exception as exc:
        logger.warning("could not clear the refit debounce key (%s)", exc)


# Both refit tasks: bounded in time, acknowledged only when done (a killed worker's refit is
# redelivered), retried on a locked or unreachable database.
REFIT_TASK_OPTIONS = {
    "bind": True,
    "soft_time_limit": settings.ARENA_REFIT_SOFT_TIME_LIMIT,
    "time_limit": settings.ARENA_REFIT_TIME_LIMIT,
    "acks_late": True,
    "ignore_result": True,
    "max_retries": 5,
}


@shared_task(**REFIT_TASK_OPTIONS)
def refit_ratings(self: Task) -> int | None:
    """Write a snapshot of the current votes unless one exists; return its id."""
    # Free the debounce slot first: votes stored from now on need a refit after this one.
    _forget_scheduled()
    return _refit_single_flight(self)


@shared_task(**REFIT_TASK_OPTIONS)
def refit_if_pending(self: Task) -> int | None:
    """Refit if stored votes wait for one (beat runs it every ARENA_REFIT_CATCH_UP_SECONDS).

    Votes stored while the broker was down, or whose refit died with its worker, are counted
    by the next catch-up, without waiting for another vote to ask. Under steady voting a
    debounced refit is nearly always queued: while it is due to start later, it will count
    what waits now, and the catch-up leaves it that work (one whole refit fewer every
    ARENA_REFIT_CATCH_UP_SECONDS). One whose start has passed may have died with its worker.
    """
    if _refit_queued_ahead() or not services.votes_pending():
        return None
    return _refit_single_flight(self)


def _refit_queued_ahead() -> bool:
    """Whether a debounced refit is queued to start later than now (schedule_refit's key)."""
    try:
        starts_at = cache.get(SCHEDULED_KEY)
    except Exception as exc:
        logger.warning("could not read the refit debounce key (%s)", exc)
        return False  # Redis down: the catch-up refits, as it is there for
    return isinstance(starts_at, float) and starts_at > time.time()


def _refit_single_flight(task: Task) -> int | None:
    with single_flight(LOCK_NAME) as acquired:
        if not acquired:
            # A refit is running and may have read the votes before ours: queue one after it.
            schedule_refit()
            return None
        try:
            snapshot, created = services.refit()
        except OperationalError as exc:
            # A vote changed under the refit's snapshot (PostgreSQL serialization failure):
            # nothing was written; run again on fresh data.
            raise task.retry(exc=exc, countdown=1) from exc
        except SoftTimeLimitExceeded:
            # The transaction rolled back: the last good snapshot keeps serving.
            logger.error("refit exceeded its soft time limit")
            return None
    if created:
        # Test voters against the ratings just published (integrity quarantines anomalies).
        from integrity.tasks import schedule_scan

        schedule_scan(snapshot.pk)
    return snapshot.pk

"""Background refits: debounced, single-flight, idempotent, time-limited."""

from __future__ import annotations

import logging

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


def schedule_refit() -> None:
    """Ask for one refit a few seconds from now; a burst of votes shares that one refit."""
    delay = settings.ARENA_REFIT_DEBOUNCE_SECONDS
    if not cache.add(SCHEDULED_KEY, 1, timeout=int(delay) + settings.ARENA_REFIT_TIME_LIMIT):
        return  # one is already on its way and will see these votes
    try:
        refit_ratings.apply_async(countdown=delay)
    except Exception:
        # The vote is stored either way (the database is the source of truth); the next
        # scheduled refit will count it. Free the slot so the next vote tries again.
        cache.delete(SCHEDULED_KEY)
        logger.exception("could not enqueue a refit")


@shared_task(
    bind=True,
    soft_time_limit=settings.ARENA_REFIT_SOFT_TIME_LIMIT,
    time_limit=settings.ARENA_REFIT_TIME_LIMIT,
    acks_late=True,
    ignore_result=True,
    max_retries=5,
)
def refit_ratings(self: Task) -> int | None:
    """Write a snapshot of the current votes unless one exists; return its id."""
    # Free the debounce slot first: votes stored from now on need a refit after this one.
    cache.delete(SCHEDULED_KEY)
    with single_flight(LOCK_NAME, timeout=settings.ARENA_REFIT_TIME_LIMIT + 30) as acquired:
        if not acquired:
            # A refit is running and may have read the votes before ours: queue one after it.
            schedule_refit()
            return None
        try:
            snapshot, created = services.refit()
        except OperationalError as exc:
            # A vote changed under the refit's snapshot (PostgreSQL serialization failure):
            # nothing was written; run again on fresh data.
            raise self.retry(exc=exc, countdown=1) from exc
        except SoftTimeLimitExceeded:
            # The transaction rolled back: the last good snapshot keeps serving.
            logger.error("refit exceeded its soft time limit")
            return None
    if created:
        # Test voters against the ratings just published (integrity quarantines anomalies).
        from integrity.tasks import schedule_scan

        schedule_scan(snapshot.pk)
    return snapshot.pk

"""Background voter and network scans, thin over the service: at most one every
ARENA_ANOMALY_SCAN_SECONDS, after the refits that publish snapshots."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from integrity import services

logger = logging.getLogger(__name__)

SCHEDULED_KEY = "integrity:scan-scheduled"


@shared_task(
    soft_time_limit=settings.ARENA_REFIT_SOFT_TIME_LIMIT,
    time_limit=settings.ARENA_REFIT_TIME_LIMIT,
    acks_late=True,
    ignore_result=True,
)
def scan_voters(snapshot_id: int | None = None) -> int:
    """Test voters and networks against the snapshot's ratings (the newest by default); return
    how many flags were raised (or, for networks already flagged, extended)."""
    # Free the slot first: snapshots published from now on need a scan after this one.
    _forget_scheduled()
    result = services.voters_scan(snapshot_id=snapshot_id)
    return len(result.flags) + len(result.network_flags)


def schedule_scan(snapshot_id: int) -> None:
    """Queue a scan of the newest snapshot ARENA_ANOMALY_SCAN_SECONDS from now, unless one is
    queued already; a failure to enqueue never fails the refit.

    A scan reads every counted vote (about 2.5 s for 140k votes, docs/integrity.md), and under
    steady voting a refit publishes a snapshot every few seconds: scanning after each one kept
    the worker's core busy and, on a shared machine, stalled votes for a second every 5 s.
    The refits within the interval share one scan, which tests all votes stored before it
    starts against the newest snapshot then.
    """
    delay = settings.ARENA_ANOMALY_SCAN_SECONDS
    try:
        if delay <= 0:
            scan_voters.delay(snapshot_id)
        elif cache.add(
            SCHEDULED_KEY, snapshot_id, timeout=int(delay) + settings.ARENA_REFIT_TIME_LIMIT
        ):
            scan_voters.apply_async(countdown=delay)
        # else one is on its way and will scan this snapshot's votes or newer ones
    except Exception:
        # The next snapshot's scan covers the same votes: nothing is lost by missing one.
        logger.exception("could not enqueue a voter scan for snapshot %s", snapshot_id)
        _forget_scheduled()


def _forget_scheduled() -> None:
    try:
        cache.delete(SCHEDULED_KEY)
    except Exception as exc:
        logger.warning("could not clear the scan debounce key (%s)", exc)

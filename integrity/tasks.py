"""Background voter and network scans: one after each published snapshot, thin over the
service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from integrity import services

logger = logging.getLogger(__name__)


@shared_task(
    soft_time_limit=settings.ARENA_REFIT_SOFT_TIME_LIMIT,
    time_limit=settings.ARENA_REFIT_TIME_LIMIT,
    acks_late=True,
    ignore_result=True,
)
def scan_voters(snapshot_id: int) -> int:
    """Test voters and networks against the snapshot's ratings; return how many flags were
    raised (or, for networks already flagged, extended)."""
    result = services.voters_scan(snapshot_id=snapshot_id)
    return len(result.flags) + len(result.network_flags)


def schedule_scan(snapshot_id: int) -> None:
    """Queue a scan against a new snapshot; a failure to enqueue never fails the refit."""
    try:
        scan_voters.delay(snapshot_id)
    except Exception:
        # The next snapshot's scan covers the same votes: nothing is lost by missing one.
        logger.exception("could not enqueue a voter scan for snapshot %s", snapshot_id)

"""The voter scan after refits: one per ARENA_ANOMALY_SCAN_SECONDS, shared by the snapshots
published in the meantime."""

from __future__ import annotations

import pytest

from config.celery import app as celery_app
from integrity import tasks


@pytest.fixture
def queued(settings):  # type: ignore[no-untyped-def]
    """Scans are queued on the real broker; returns a counter that empties the queue."""
    settings.ARENA_ANOMALY_SCAN_SECONDS = 30.0
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    return lambda: celery_app.control.purge()


@pytest.mark.django_db
def test_snapshots_within_the_interval_share_one_scan(queued) -> None:
    for snapshot_id in (1, 2, 3):
        tasks.schedule_scan(snapshot_id)
    assert queued() == 1
    # The scan, when it starts, frees the slot: the next snapshot asks for a scan of its own.
    assert tasks.scan_voters.run() == 0  # no snapshot yet: nothing to flag
    tasks.schedule_scan(4)
    assert queued() == 1


@pytest.mark.django_db
def test_with_no_interval_every_snapshot_is_scanned(queued, settings) -> None:
    settings.ARENA_ANOMALY_SCAN_SECONDS = 0
    for snapshot_id in (1, 2):
        tasks.schedule_scan(snapshot_id)
    assert queued() == 2

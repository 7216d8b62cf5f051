"""Single-flight locks shared by every worker process.

With Redis configured the lock is a Redis key with an expiry (so a killed worker cannot hold it
forever); in the embedded mode, where all processes share one machine, it is an flock on a file,
which the kernel releases when the holder dies.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from django.conf import settings


@contextmanager
def single_flight(name: str, *, timeout: int) -> Iterator[bool]:
    """Hold the named lock for the block if nobody else does; yield whether it was acquired."""
    if settings.REDIS_URL:
        client = redis.Redis.from_url(settings.REDIS_URL)
        lock = client.lock(f"arena:lock:{name}", timeout=timeout, blocking=False)
        acquired = lock.acquire(blocking=False)
        try:
            yield acquired
        finally:
            if acquired:
                try:
                    lock.release()
                except redis.exceptions.LockError:
                    pass  # expired while we worked; another holder may exist now
            client.close()
        return
    directory = settings.DATA_DIR / "locks"
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)

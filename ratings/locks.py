"""Single-flight locks shared by every worker process.

The lock lives where it dies with its holder, so a worker killed mid-refit (SIGKILL, OOM, a
lost machine) blocks nobody: on PostgreSQL it is a session advisory lock held on a connection
of its own, which the server releases the moment that connection drops; in the embedded mode,
where all processes share one machine, it is an flock on a file, which the kernel releases when
the holder dies. (A Redis key with an expiry would keep blocking refits until it expired, and
would make refits depend on Redis being up.)
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections


def _key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a lock name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def single_flight(name: str) -> AbstractContextManager[bool]:
    """Hold the named lock for the block if nobody else does; yield whether it was acquired."""
    if connections[DEFAULT_DB_ALIAS].vendor == "postgresql":
        return advisory_lock(name)
    return file_lock(name)


@contextmanager
def advisory_lock(name: str) -> Iterator[bool]:
    """A PostgreSQL session advisory lock, tried without waiting."""
    # A connection of its own: the caller's connection may be shared (session locks are
    # re-entrant within one session) and is closed and reopened by Django between tasks.
    holder = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_key(name)])
            acquired = bool(cursor.fetchone()[0])
        try:
            yield acquired
        finally:
            if acquired:
                with holder.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [_key(name)])
    finally:
        holder.close()


@contextmanager
def file_lock(name: str) -> Iterator[bool]:
    """An flock on var/locks/<name>.lock, tried without waiting."""
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

"""One Redis connection pool per process for Django's cache.

Django keeps a cache object per asyncio context, and under ASGI every request runs in a context
of its own, so its Redis cache built a new connection pool, and opened a new connection, for
every request that touched the cache. Handing Django this pool class makes every cache object
of a process share one pool per server.
"""

from __future__ import annotations

import threading
from typing import Any

import redis

_pools: dict[tuple[str, tuple[tuple[str, Any], ...]], redis.ConnectionPool] = {}
_lock = threading.Lock()


class SharedConnectionPool(redis.ConnectionPool):
    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> redis.ConnectionPool:  # type: ignore[override]
        key = (url, tuple(sorted(kwargs.items())))
        with _lock:
            pool = _pools.get(key)
            if pool is None:
                pool = _pools[key] = redis.ConnectionPool.from_url(url, **kwargs)
        return pool

"""One Redis connection pool per process for Django's cache.

Django keeps a cache object per asyncio context, and under ASGI every request runs in a context
of its own, so its Redis cache built a new connection pool, and opened a new connection, for
every request that touched the cache. Handing Django this pool class makes every cache object
of a process share one pool per server.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

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


class ReadThroughRedisCache(RedisCache):
    """A Redis cache for what only saves work (template fragments): Redis down is a miss.

    The default cache stays strict, because rate limits and the refit debounce must know when
    Redis is unreachable; a page fragment can always be rendered again from the database.
    """

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        try:
            return super().get(key, default, version)
        except redis.exceptions.RedisError as exc:
            logger.warning("cache unreachable, rendering %s afresh (%s)", str(key)[:80], exc)
            return default

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        try:
            super().set(key, value, timeout, version)
        except redis.exceptions.RedisError as exc:
            logger.warning("cache unreachable, %s not cached (%s)", str(key)[:80], exc)

"""One Redis connection pool, and one client, per process for Django's cache.

Django keeps a cache object per asyncio context, and under ASGI every request runs in a context
of its own, so its Redis cache built a new connection pool, and opened a new connection, for
every request that touched the cache. Handing Django this pool class makes every cache object
of a process share one pool per server; SharedRedisCache also shares the redis.Redis client
built on it, which Django otherwise builds anew for every cache call.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

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


_clients: dict[redis.ConnectionPool, redis.Redis] = {}


class SharedClientRedisCacheClient(RedisCacheClient):
    def get_client(self, key: Any = None, *, write: bool = False) -> redis.Redis:
        # A client is a thin, thread-safe front to its pool, but building one registers some
        # 170 response callbacks: per cache call that cost more than the call itself.
        pool = self._get_connection_pool(write)
        client = _clients.get(pool)
        if client is None:
            with _lock:
                client = _clients.setdefault(pool, self._client(connection_pool=pool))
        return client


class SharedRedisCache(RedisCache):
    """Django's Redis cache with one client per connection pool (and so per process)."""

    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedClientRedisCacheClient


class ReadThroughRedisCache(SharedRedisCache):
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


# Each counter: INCR (which creates a missing one at 1), then EXPIRE ... NX, which gives a new
# counter its expiry without ever extending one (Redis 7). Redis runs a script whole, so no
# counter is ever left without an expiry.
_INCR_SCRIPT = """
local counts = {}
for i, key in ipairs(KEYS) do
  counts[i] = redis.call('INCR', key)
  redis.call('EXPIRE', key, ARGV[1], 'NX')
end
return counts
"""
_scripts: dict[redis.Redis, Any] = {}


def incr_counters(cache: Any, keys: list[str], timeout: int) -> list[int]:
    """Add one to each counter (created with `timeout` seconds to live); return the new counts.

    On Redis, every counter of the call goes in one round trip, as one script (EVALSHA): one
    command and one reply, where a MULTI/EXEC pipeline of the same work cost the web process
    twice the time in redis-py. Other caches (the embedded file cache) add then increment, one
    key at a time.
    """
    if not keys:
        return []
    if isinstance(cache, RedisCache):
        client = cache._cache.get_client(write=True)
        script = _scripts.get(client)
        if script is None:
            script = _scripts.setdefault(client, client.register_script(_INCR_SCRIPT))
        full = [cache.make_and_validate_key(key) for key in keys]
        return [int(count) for count in script(keys=full, args=[timeout])]
    return [_add_then_incr(cache, key, timeout) for key in keys]


def _add_then_incr(cache: Any, key: str, timeout: int) -> int:
    # add() only creates the counter if it is missing, so concurrent first requests share it.
    cache.add(key, 0, timeout=timeout)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr (a window's last millisecond)
        cache.add(key, 0, timeout=timeout)
        return int(cache.incr(key))

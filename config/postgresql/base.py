"""Django's PostgreSQL backend, whose connection pool checks only connections that sat idle.

With CONN_HEALTH_CHECKS, Django's pool (psycopg-pool) checks every connection it hands out
with a round trip to the server: under load, one of the four round trips a vote cost. Here a
connection handed back less than ARENA_DB_CHECK_IDLE_SECONDS ago is handed out again
unchecked: it was working a moment ago, and on a busy process every connection is. One idle
for longer is checked, as before. When a check fails (PostgreSQL restarted, so every idle
connection is dead), the pool checks all its idle connections and drops the dead ones, and the
request gets a new connection: a restart costs no failed request once the server is back.
What this gives up: a connection used within that last second before the server went away
fails the request it is next used for (a 503, config/middleware.py) and is then dropped.

Used in place of Django's backend when the pool is on (config/settings.py).
"""

from __future__ import annotations

import time
import weakref
from typing import Any

from django.conf import settings
from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool

# When each pooled connection was last handed back, by connection (a new one has no entry).
_returned_at: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        if self.pool is None:
            return connection
        returned = _returned_at.pop(connection, None)
        if returned is None or time.monotonic() - returned < settings.ARENA_DB_CHECK_IDLE_SECONDS:
            return connection
        try:
            ConnectionPool.check_connection(connection)
        except base.Database.Error:
            connection.close()
            self.pool.putconn(connection)  # closed: the pool drops it and opens another
            self.pool.check()  # the others that sat idle through the same outage
            return super().get_new_connection(conn_params)
        return connection

    def _close(self) -> None:
        if self.pool is not None and self.connection is not None:
            _returned_at[self.connection] = time.monotonic()
        super()._close()

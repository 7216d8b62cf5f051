"""Prepared statements for the vote's hot path on PostgreSQL.

Django binds parameters on the client and never prepares a statement, so PostgreSQL parses
and plans every query afresh: under load that was most of the database's work per vote (the
reveal's join took 0.87 ms to plan and 0.15 ms to run). `prepared_cursor` is for the few
hand-written statements every vote runs (arena.selectors.battle_get, and the vote's insert,
which reads the reveal too): on PostgreSQL each is prepared on its connection the first time
it runs there, and later runs skip parsing and planning. Only those: Django's server-side
binding, switched on for every query, fails on any query of more than 65,535 parameters (a
large delete, say).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from django.db import connection


@contextmanager
def prepared_cursor() -> Iterator[Any]:
    """Django's cursor (with its error wrapping and query log), whose statements are prepared
    on PostgreSQL. For a fixed set of statements only: psycopg keeps 100 per connection."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            client_side = cursor.cursor
            cursor.cursor = _preparing_cursor(connection)
            client_side.close()
        yield cursor


def _preparing_cursor(wrapper: Any) -> Any:
    from django.db.backends.postgresql.base import TIMESTAMPTZ_OID
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.pq import Format

    cursor = _preparing_cursor_class()(wrapper.connection)
    # As Django's create_cursor: read times in the connection's zone.
    loader = wrapper.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    if wrapper.timezone != loader.timezone:
        register_tzloader(wrapper.timezone, cursor)
    return cursor


@cache
def _preparing_cursor_class() -> type:
    # Built on first use: this module is imported by the settings, before Django's PostgreSQL
    # backend can be.
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparingCursor(ServerBindingCursor):  # type: ignore[misc]
        """Binds parameters on the server and prepares every statement it runs."""

        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            kwargs.setdefault("prepare", True)
            return super().execute(query, params, **kwargs)

    return PreparingCursor

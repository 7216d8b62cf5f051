"""Migration tests: run the schema back to an earlier state, then forward again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(targets: list[tuple[str, str]]):  # type: ignore[no-untyped-def]
    """Migrate to `targets`; return the app registry of that state (historical models)."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@contextmanager
def schema_at(targets: list[tuple[str, str]]) -> Iterator[object]:
    """The schema as of `targets` while the block runs; the latest schema again afterwards."""
    try:
        yield migrate(targets)
    finally:
        migrate(list(MigrationExecutor(connection).loader.graph.leaf_nodes()))

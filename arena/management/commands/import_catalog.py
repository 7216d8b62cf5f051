from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from arena.catalog import import_catalog
from arena.importers import ImportFailed


class Command(BaseCommand):
    help = "Load model prices, openness, licence and sizes from a catalogue CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="e.g. ../shared/data/model_catalog.csv")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        try:
            with open(path, newline="", encoding="utf-8-sig") as handle:
                result = import_catalog(handle)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from None
        except ImportFailed as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{result.rows} catalogue rows: {result.created} models created, {result.updated} "
            f"updated ({result.price_changes} with a new price; earlier snapshots keep the "
            f"tiers they were published with), {result.unchanged} unchanged."
        )

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from arena.catalog import import_catalog


class Command(BaseCommand):
    help = (
        "Load the demo data from ../shared/data when present (the answer pool, the 140k real "
        "LMArena votes and the model catalogue), then refit. Idempotent: a second run imports "
        "nothing new."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        data = settings.SHARED_DATA_DIR
        pool = data / "llmfao-answers"
        votes = data / "arena-140k" / "votes.csv"
        catalog = data / "model_catalog.csv"
        if not data.is_dir():
            self.stdout.write(f"No demo data at {data}: starting with an empty arena.")
            return
        if pool.is_dir():
            self.stdout.write("Answer pool: ", ending="")
            call_command("import_answers", str(pool), stdout=self.stdout)
        if votes.is_file():
            self.stdout.write("Votes: ", ending="")
            call_command("import_votes", str(votes), dataset="lmarena", stdout=self.stdout)
        catalogue_changed = False
        if catalog.is_file():
            with open(catalog, newline="", encoding="utf-8-sig") as handle:
                result = import_catalog(handle)
            catalogue_changed = result.changed
            self.stdout.write(
                f"Catalogue: {result.created} models created, {result.updated} updated."
            )
        self.stdout.write("Refit: ", ending="")
        # New prices move models between tiers: publish a snapshot that shows it.
        call_command("refit", force=catalogue_changed, stdout=self.stdout, stderr=self.stderr)

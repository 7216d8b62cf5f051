from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Load the demo data from ../shared/data when present (the answer pool and the 140k real "
        "LMArena votes), then refit. Idempotent: a second run imports nothing new."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        data = settings.SHARED_DATA_DIR
        pool = data / "llmfao-answers"
        votes = data / "arena-140k" / "votes.csv"
        if not data.is_dir():
            self.stdout.write(f"No demo data at {data}: starting with an empty arena.")
            return
        if pool.is_dir():
            self.stdout.write("Answer pool: ", ending="")
            call_command("import_answers", str(pool), stdout=self.stdout)
        if votes.is_file():
            self.stdout.write("Votes: ", ending="")
            call_command("import_votes", str(votes), dataset="lmarena", stdout=self.stdout)
        self.stdout.write("Refit: snapshot ", ending="")
        call_command("refit", stdout=self.stdout, stderr=self.stderr)

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ratings.services import refit


class Command(BaseCommand):
    help = "Fit the ratings of every domain now and print the snapshot id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="write a snapshot even if no vote changed (after new prices or parameters)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        snapshot, created = refit(force=options["force"])
        state = "new" if created else "unchanged input, existing"
        self.stderr.write(
            f"{state} snapshot {snapshot.pk}: {snapshot.votes_counted} votes counted,"
            f" {snapshot.votes_excluded_total} excluded, {snapshot.duration_ms} ms"
        )
        self.stdout.write(str(snapshot.pk))

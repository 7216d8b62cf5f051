from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from arena.importers import ImportFailed, import_votes, import_votes_file


class Command(BaseCommand):
    help = "Import pairwise votes from a CSV in LMArena's public column layout (idempotent on id)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="CSV file, or - for standard input")
        parser.add_argument("--format", choices=["lmarena"], default="lmarena")
        parser.add_argument(
            "--dataset",
            default="lmarena",
            help="Name of the data set; row ids are unique within it (default: lmarena)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["path"] == "-":
                result = import_votes(sys.stdin, dataset=options["dataset"])
            else:
                result = import_votes_file(Path(options["path"]), dataset=options["dataset"])
        except ImportFailed as exc:
            raise CommandError(str(exc)) from None
        excluded = ", ".join(f"{n} {reason}" for reason, n in sorted(result.excluded.items()))
        self.stdout.write(
            f"{result.rows} rows read: {result.created} votes imported"
            f" ({excluded or 'none'} excluded), {result.skipped_existing} already present;"
            f" {result.models_created} new models, {result.domain_labels} domain labels."
        )

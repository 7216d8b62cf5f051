from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from arena.importers import ImportFailed, PairwiseColumns, import_votes, import_votes_file


class Command(BaseCommand):
    help = (
        "Import pairwise votes: LMArena's public CSV layout (--format lmarena), or any pairwise "
        "CSV with its own column names and winner values (--format pairwise). Idempotent on id."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="CSV file, or - for standard input")
        parser.add_argument("--format", choices=["lmarena", "pairwise"], default="lmarena")
        parser.add_argument(
            "--dataset",
            default="",
            help="Name of the data set; row ids are unique within it (default: the format name)",
        )
        pairwise = parser.add_argument_group("--format pairwise")
        pairwise.add_argument("--model-a", default="model_a", help="column of the first model")
        pairwise.add_argument("--model-b", default="model_b", help="column of the second model")
        pairwise.add_argument("--winner", default="winner", help="column of the verdict")
        pairwise.add_argument(
            "--winner-values",
            default="model_a=model_a,model_b=model_b,tie=tie,both_bad=both_bad",
            help="the verdict column's values, e.g. left=model_a,right=model_b,tie=tie",
        )
        pairwise.add_argument("--id", dest="id_column", default="id", help="column of the row id")
        pairwise.add_argument("--voter", default="", help="column of a (pseudonymous) voter id")

    def handle(self, *args: Any, **options: Any) -> None:
        dataset = options["dataset"] or options["format"]
        try:
            columns = None
            if options["format"] == "pairwise":
                columns = PairwiseColumns(
                    model_a=options["model_a"],
                    model_b=options["model_b"],
                    winner=options["winner"],
                    id=options["id_column"],
                    voter=options["voter"],
                    outcomes=PairwiseColumns.parse_outcomes(options["winner_values"]),
                )
            if options["path"] == "-":
                result = import_votes(sys.stdin, dataset=dataset, columns=columns)
            else:
                result = import_votes_file(Path(options["path"]), dataset=dataset, columns=columns)
        except ImportFailed as exc:
            raise CommandError(str(exc)) from None
        excluded = ", ".join(f"{n} {reason}" for reason, n in sorted(result.excluded.items()))
        self.stdout.write(
            f"{result.rows} rows read: {result.created} votes imported"
            f" ({excluded or 'none'} excluded), {result.skipped_existing} already present;"
            f" {result.models_created} new models, {result.domain_labels} domain labels."
        )

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from arena.importers import ImportFailed, import_answer_pool


class Command(BaseCommand):
    help = "Import an answer pool (prompts.jsonl, models.jsonl, results.jsonl) for offline battles."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "path",
            nargs="?",
            default=str(settings.SHARED_DATA_DIR / "llmfao-answers"),
            help="Folder with the three JSONL files (default: ../shared/data/llmfao-answers)",
        )
        parser.add_argument("--dataset", default="llmfao")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if not path.is_dir():
            raise CommandError(
                f"{path} is not a folder with prompts.jsonl, models.jsonl, results.jsonl"
            )
        try:
            result = import_answer_pool(path, dataset=options["dataset"])
        except ImportFailed as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{result.rows} answers read: {result.created} imported,"
            f" {result.skipped_existing} already present; {result.models_created} new models."
        )

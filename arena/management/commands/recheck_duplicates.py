from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from arena.services import prompts_recheck


class Command(BaseCommand):
    help = (
        "Replay the duplicate-prompt rule over every live vote (after changing its settings, or "
        "for battles opened before fingerprints existed). Reports only, unless --apply."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--apply",
            action="store_true",
            help="Fingerprint unfingerprinted live battles and write the exclusions and restores",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = prompts_recheck(apply=options["apply"])
        verb = "" if options["apply"] else "would be "
        self.stdout.write(
            f"Rule: at most {settings.ARENA_DUPLICATE_PROMPT_MAX_VOTES} counted votes per prompt"
            f" cluster and {settings.ARENA_DUPLICATE_PROMPT_MAX_PER_VOTER} per voter within"
            f" {settings.ARENA_DUPLICATE_PROMPT_WINDOW_DAYS} days."
        )
        self.stdout.write(
            f"{result.fingerprinted} live battles without a fingerprint"
            f"{' fingerprinted' if options['apply'] else ' (left out; --apply fingerprints them)'};"
            f" {len(result.excluded)} votes {verb}excluded as duplicate_prompt,"
            f" {len(result.restored)} {verb}counted again."
        )

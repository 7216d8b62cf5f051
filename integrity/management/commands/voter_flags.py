"""List, scan and release voter flags from the command line."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrity import services
from integrity.models import VoterFlag


class Command(BaseCommand):
    help = (
        "List voter and network flags, scan voters and networks now, or release a flag (the "
        "votes it quarantined count again)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="List flags, open ones first.")
        listing.add_argument("--all", action="store_true", help="Include released flags.")
        scan = sub.add_parser(
            "scan", help="Test every voter and network against the newest snapshot."
        )
        scan.add_argument("--snapshot", type=int, help="Test against this snapshot instead.")
        release = sub.add_parser("release", help="Release a flag and count its votes again.")
        release.add_argument("flag_id", type=int)
        release.add_argument("--by", required=True, help="Who releases it (kept on record).")
        release.add_argument("--note", default="", help="Why (kept on record).")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "list":
            flags = VoterFlag.objects.select_related("model").order_by("state", "-created_at")
            if not options["all"]:
                flags = flags.filter(state=VoterFlag.State.FLAGGED)
            for f in flags:
                held = f"{f.votes_quarantined} votes quarantined"
                if f.scope == VoterFlag.Scope.NETWORK:
                    held += f" ({f.identities_quarantined} identities)"
                self.stdout.write(
                    f"{f.pk}\t{f.state}\t{f.subject}\t{f.direction} {f.model.slug}\t"
                    f"LLR {f.statistic:.1f} >= {f.threshold:.1f}\t"
                    f"{held}\t{f.created_at:%Y-%m-%d %H:%M}"
                )
        elif action == "scan":
            try:
                result = services.voters_scan(snapshot_id=options["snapshot"])
            except services.FlagError as exc:
                raise CommandError(str(exc)) from exc
            if result.snapshot_id is None:
                raise CommandError("No snapshot yet: run `manage.py refit` first.")
            self.stdout.write(
                f"snapshot {result.snapshot_id}: {result.voters_scanned} voters, "
                f"{result.votes_scanned} votes scanned; {len(result.flags)} newly flagged; "
                f"{result.networks_scanned} networks scanned; {len(result.network_flags)} "
                f"network flags raised or extended; {result.votes_quarantined} votes quarantined"
            )
        else:
            try:
                n = services.flag_release(
                    flag_id=options["flag_id"], by=options["by"], note=options["note"]
                )
            except services.FlagError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"flag {options['flag_id']} released; {n} votes counted again")

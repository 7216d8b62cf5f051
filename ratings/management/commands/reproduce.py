from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ratings.reproduce import (
    PairCount,
    PairKey,
    ReproduceError,
    compare,
    compare_pairs,
    pair_records,
    pair_tallies,
    recompute,
    within_tier,
)
from ratings.selectors import NotFound, leaderboard_get, matrix_get


class Command(BaseCommand):
    help = (
        "Recompute a snapshot's table (optionally within one tier) and its win-rate/battle-count "
        "matrix for one domain from an exported votes CSV alone and report every difference from "
        "the published numbers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--votes", required=True, help="a CSV downloaded from /export/votes.csv"
        )
        parser.add_argument("--snapshot", type=int, help="snapshot id (default: the newest)")
        parser.add_argument("--domain", default="overall")
        parser.add_argument(
            "--tier", help="a tier slug: re-rank the models the snapshot placed in that tier"
        )
        parser.add_argument("--tolerance", type=float, default=1e-6)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            board = leaderboard_get(
                domain_slug=options["domain"],
                snapshot_id=options["snapshot"],
                tier_slug=options["tier"],
            )
        except NotFound as exc:
            raise CommandError(str(exc)) from None
        if board.snapshot is None:
            raise CommandError("There is no snapshot yet: run `manage.py refit` first.")
        path = Path(options["votes"])
        try:
            with open(path, newline="", encoding="utf-8") as handle:
                records = pair_records(
                    handle,
                    domain=board.domain.slug,
                    includes_all=board.domain.includes_all,
                    snapshot=board.snapshot.pk,
                )
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from None
        except ReproduceError as exc:
            raise CommandError(str(exc)) from None
        try:
            recounted = pair_tallies(records)
        except ReproduceError as exc:
            raise CommandError(str(exc)) from None
        rows = recompute(records, board.snapshot.params)
        if board.tier is not None:
            rows = within_tier(rows, {e.model for e in board.entries})
        published = {
            e.model: {
                "rating": e.rating,
                "rating_lower": e.rating_lower,
                "rating_upper": e.rating_upper,
                "rank_ub": float(e.rank_ub) if e.rank_ub else None,
                "rank_lb": float(e.rank_lb) if e.rank_lb else None,
                "votes": float(e.votes),
            }
            for e in board.entries
        }
        differences = compare(published, rows, tolerance=options["tolerance"])
        for row in rows:
            self.stdout.write(
                f"{row.model:45s} {row.rating:9.3f}  [{row.lower:9.3f}, {row.upper:9.3f}]"
                f"  rank {row.rank_ub}-{row.rank_lb}  {row.votes:7d} votes"
            )
        tier = f", tier {board.tier.slug}" if board.tier else ""
        summary = (
            f"snapshot {board.snapshot.pk}, domain {board.domain.slug}{tier}: {len(rows)} models "
            f"recomputed from {sum(n for *_, n in records)} counted votes"
        )
        pair_differences = []
        published_pairs = self._published_pairs(board.domain.slug, board.snapshot.pk)
        if published_pairs is None:
            self.stdout.write(
                f"snapshot {board.snapshot.pk} predates stored pair counts: matrix not checked."
            )
        else:
            pair_differences = compare_pairs(published_pairs, recounted)
            for p in pair_differences:
                self.stderr.write(
                    f"DIFFERENT PAIR {p.pair[0]} vs {p.pair[1]} (wins, wins, ties, both_bad): "
                    f"published {p.published}, recomputed {p.recomputed}"
                )
            if not pair_differences:
                self.stdout.write(
                    f"matrix: {len(recounted)} pairs' wins, ties and both-bad counts match exactly."
                )
        if differences or pair_differences:
            for d in differences:
                self.stderr.write(
                    f"DIFFERENT {d.model} {d.field}: "
                    f"published {d.published}, recomputed {d.recomputed}"
                )
            raise CommandError(
                f"{summary}: {len(differences)} difference(s) over {options['tolerance']}, "
                f"{len(pair_differences)} pair(s) of the matrix different"
            )
        self.stdout.write(f"{summary}: every number matches within {options['tolerance']}.")

    @staticmethod
    def _published_pairs(domain: str, snapshot: int) -> dict[PairKey, PairCount] | None:
        """The published matrix (every model of the domain) as counts per pair of slugs."""
        try:
            matrix = matrix_get(domain_slug=domain, snapshot_id=snapshot)
        except NotFound:
            return None
        slugs = [e.model for e in matrix.models]
        battles = matrix.battles
        published: dict[PairKey, PairCount] = {}
        for i, a in enumerate(slugs):
            for j, b in enumerate(slugs):
                if a < b and battles[i][j]:
                    published[(a, b)] = (
                        matrix.wins[i][j],
                        matrix.wins[j][i],
                        matrix.ties[i][j],
                        matrix.both_bad[i][j],
                    )
        return published

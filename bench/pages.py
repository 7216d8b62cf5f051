"""Benchmark the reader-facing paths: leaderboard server time and streaming-export memory.

    .venv/bin/python bench/pages.py [--export-votes 1000000] [--requests 200]

Runs in a fresh embedded database in a temporary folder (nothing else is touched): imports the
real votes from ../shared/data (135,634 LMArena votes and the model catalogue), fits, then
  1. times the leaderboard overview page, the cell page and the JSON API through Django's full
     request path (median and p95 server time, warm cache, and the first, cold request);
  2. adds synthetic votes up to --export-votes in total and streams /export/votes.csv to the
     void, reporting the peak Python heap (tracemalloc) and the peak RSS of the process.
Also times the win-rate matrix and model pages and APIs, and prints the size of the pair counts a
snapshot keeps.
Targets (issue "public leaderboard"): overview under 50 ms median; export peak under 200 MB.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._embedded import real_votes_site  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export-votes", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    data = real_votes_site("arena-pages-bench-")
    from django.core.management import call_command
    from django.test import Client

    with open(os.devnull, "w") as quiet:
        call_command("import_catalog", str(data / "model_catalog.csv"), stdout=quiet)
        call_command("refit", "--force", stdout=quiet, stderr=quiet)
        # A second full refit with nothing new to tally: the fit plus writing rows and tiers.
        start = time.perf_counter()
        call_command("refit", "--force", stdout=quiet, stderr=quiet)
        refit_ms = (time.perf_counter() - start) * 1000

    from ratings.models import RatingRow, TierMembership

    print(
        f"refit --force: {refit_ms:.0f} ms, writing {RatingRow.objects.count() // 2:,} rating "
        f"rows and {TierMembership.objects.count() // 2:,} tier memberships per snapshot\n"
    )

    client = Client()
    print(f"{'path':<45} {'cold ms':>8} {'median ms':>10} {'p95 ms':>8}")
    paths = [
        "/leaderboard/",
        "/leaderboard/?domain=math&tier=mid",
        "/leaderboard/?domain=coding&tier=open-weights",
        "/api/v1/leaderboard",
        "/api/v1/leaderboard?tier=large",
        "/leaderboard/matrix/",  # 53 x 53 cells, the numbers table included
        "/api/v1/matrix",
        "/models/gemini-2.5-pro/",
        "/api/v1/models/gemini-2.5-pro",
    ]
    for path in paths:
        start = time.perf_counter()
        assert client.get(path).status_code == 200
        cold = (time.perf_counter() - start) * 1000
        times = []
        for _ in range(args.requests):
            start = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200
        times.sort()
        p95 = times[int(0.95 * len(times)) - 1]
        print(f"{path:<45} {cold:>8.1f} {statistics.median(times):>10.2f} {p95:>8.2f}")

    from ratings.models import DomainFit

    sizes = [len(str(p)) for p in DomainFit.objects.values_list("pairs", flat=True)]
    print(f"\nstored pair counts: {len(sizes)} domains, {sum(sizes) / 1024:.0f} KB per snapshot")

    from arena.models import LanguageModel, Vote

    have = Vote.objects.count()
    extra = max(0, args.export_votes - have)
    ids = list(LanguageModel.objects.values_list("id", flat=True))
    start = time.perf_counter()
    # Through the ORM, so the bench follows the model's fields and defaults as they change.
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    batch = []
    for k in range(extra):
        a = ids[k % len(ids)]
        b = ids[(k * 7 + 3) % len(ids)]
        if a == b:
            b = ids[(k * 7 + 4) % len(ids)]
        outcome = ("model_a", "model_b", "tie", "both_bad")[k % 4]
        batch.append(
            Vote(
                model_a_id=a, model_b_id=b, outcome=outcome, dataset="bench",
                created_at=moment, status_changed_at=moment, needs_tally=False,
            )
        )  # fmt: skip
        if len(batch) == 50_000 or k == extra - 1:
            Vote.objects.bulk_create(batch, batch_size=5_000)
            batch = []
    total = Vote.objects.count()
    print(
        f"\nexport: {total:,} votes stored ({extra:,} synthetic added in "
        f"{time.perf_counter() - start:.0f} s)"
    )
    # The export is measured in a process of its own that does nothing else, so its peak RSS
    # is what serving the export costs (this process still holds the import and the benches).
    done = subprocess.run(
        [sys.executable, __file__, "--export-only"],
        env=os.environ.copy(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    print(done.stdout.strip())


def export_only() -> None:
    """Stream /export/votes.csv from the site set up in ARENA_DATA_DIR; print time and memory."""
    import django

    django.setup()
    from django.test import Client

    client = Client()
    client.get("/api/v1/snapshots")  # URLconf, apps and connection loaded before measuring
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    start = time.perf_counter()
    response = client.get("/export/votes.csv")
    size = rows = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        rows += 1
    seconds = time.perf_counter() - start
    heap_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"export: {rows - 1:,} rows, {size / 2**20:.0f} MB in {seconds:.1f} s "
        f"({(rows - 1) / seconds:,.0f} rows/s)"
    )
    print(
        f"export: peak RSS of the exporting process {rss_peak:.0f} MB (target < 200 MB; "
        f"{rss_before:.0f} MB before the export started); peak Python heap while streaming "
        f"{heap_peak:.1f} MB (tracemalloc)"
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--export-only"]:
        export_only()
    else:
        main()

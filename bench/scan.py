"""Time the voter scan the site runs after each refit, on the real votes, end to end.

    .venv/bin/python bench/scan.py [--attackers 20]

Runs in a fresh embedded database in a temporary folder (nothing else is touched): imports the
real 135,634 LMArena votes, deals them to pseudonymous voters with heavy-tailed sizes (the data
set has no voter ids; same dealing as bench/attack.py), adds --attackers identities casting 100
votes each for one model (target-only), refits, then times integrity.services.voters_scan (read
every counted vote that has a voter id, test, flag, quarantine) and the refit that takes the
quarantined votes out.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attackers", type=int, default=20)
    parser.add_argument("--seed", type=int, default=20260406)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="arena-scan-bench-")
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    os.environ["ARENA_DATA_DIR"] = workdir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from arena.models import LanguageModel, Vote
    from integrity.services import voters_scan
    from ratings.services import refit

    data = Path(settings.SHARED_DATA_DIR)
    if not (data / "arena-140k" / "votes.csv").is_file():
        sys.exit(f"needs the real votes at {data}/arena-140k/votes.csv")
    call_command("migrate", verbosity=0)
    with open(os.devnull, "w") as quiet:
        call_command("import_votes", str(data / "arena-140k" / "votes.csv"), stdout=quiet)
    rng = np.random.default_rng(args.seed)
    ids = list(Vote.objects.order_by("id").values_list("id", flat=True))
    voter = np.empty(len(ids), dtype=np.int64)
    order = rng.permutation(len(ids))
    start = voter_no = 0
    while start < len(ids):
        size = int(min(3000, 3 * (1 + rng.pareto(1.1))))
        voter[order[start : start + size]] = voter_no
        start += size
        voter_no += 1
    with connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE arena_vote SET voter_id = %s WHERE id = %s",
            [(f"v{v}", i) for v, i in zip(voter.tolist(), ids, strict=True)],
        )
    target = LanguageModel.objects.get(slug="gemini-2.5-flash")
    others = list(LanguageModel.objects.exclude(pk=target.pk).values_list("pk", flat=True))
    Vote.objects.bulk_create(
        Vote(
            model_a_id=target.pk,
            model_b_id=int(rng.choice(others)),
            outcome="model_a",
            voter_id=f"attacker{k}",
        )
        for k in range(args.attackers)
        for _ in range(100)
    )
    refit(force=True)
    print(
        f"{Vote.objects.exclude(voter_id='').count():,} votes from {voter_no:,} honest voters "
        f"and {args.attackers} attackers (100 votes each for {target.slug})"
    )
    began = time.perf_counter()
    result = voters_scan()
    seconds = time.perf_counter() - began
    flagged = sorted(f.voter_id for f in result.flags)
    attackers = sum(v.startswith("attacker") for v in flagged)
    print(
        f"scan: {result.votes_scanned:,} votes of {result.voters_scanned:,} voters in "
        f"{seconds:.2f} s; flagged {attackers} of {args.attackers} attackers and "
        f"{len(flagged) - attackers} honest voters; {result.votes_quarantined:,} votes quarantined"
    )
    began = time.perf_counter()
    snapshot, _ = refit()
    print(
        f"refit after the quarantine: {time.perf_counter() - began:.2f} s, "
        f"{snapshot.votes_removed:,} votes taken out; excluded now {snapshot.votes_excluded}"
    )
    began = time.perf_counter()
    again = voters_scan()
    print(
        f"next scan (flagged voters skipped): {time.perf_counter() - began:.2f} s, "
        f"{len(again.flags)} new flags"
    )


if __name__ == "__main__":
    main()

"""Time the voter scan the site runs after each refit, on the real votes, end to end.

    .venv/bin/python bench/scan.py [--attackers 20]

Runs in a fresh embedded database in a temporary folder (nothing else is touched): imports the
real 135,634 LMArena votes, deals them to pseudonymous voters with heavy-tailed sizes (the data
set has no voter ids; same dealing as bench/attack.py) and refits; then adds --attackers
identities casting 100 votes each to push one model, half target-only (always for it, in battles
with it), half omnipresent (every vote to raise its rank, integrity.anomaly.helps_a, in battles
between the real pairs), refits again, then times integrity.services.voters_scan (read every
counted vote that has a voter id, test each voter against the snapshot before its first vote,
flag, quarantine) and the refit that takes the quarantined votes out.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._embedded import real_votes_site  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attackers", type=int, default=20)
    parser.add_argument("--seed", type=int, default=20260406)
    args = parser.parse_args()

    real_votes_site("arena-scan-bench-")
    from django.db import connection

    from arena.models import LanguageModel, Vote
    from integrity import anomaly
    from integrity.services import voters_scan
    from ratings.models import RatingRow
    from ratings.services import refit

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
    honest_snapshot, _ = refit(force=True)
    target = LanguageModel.objects.get(slug="gemini-2.5-flash")
    others = list(LanguageModel.objects.exclude(pk=target.pk).values_list("pk", flat=True))
    strength = dict(
        RatingRow.objects.filter(
            snapshot=honest_snapshot, domain__includes_all=True, rating__isnull=False
        ).values_list("model_id", "rating")
    )
    pairs = list(Vote.objects.values_list("model_a_id", "model_b_id")[:20000])
    attack = []
    for k in range(args.attackers):
        for _ in range(100):
            if k % 2 == 0:  # target-only
                a, b = target.pk, int(rng.choice(others))
                outcome = "model_a"
            else:  # omnipresent: every vote helps the target up the ranking
                a, b = pairs[int(rng.integers(len(pairs)))]
                if a == b or a not in strength or b not in strength:
                    continue
                helps = a == target.pk or (
                    b != target.pk
                    and bool(
                        anomaly.helps_a(
                            np.array(strength[a]), np.array(strength[b]), strength[target.pk]
                        )
                    )
                )
                outcome = "model_a" if helps else "model_b"
            attack.append(
                Vote(model_a_id=a, model_b_id=b, outcome=outcome, voter_id=f"attacker{k}")
            )
    Vote.objects.bulk_create(attack)
    refit(force=True)
    print(
        f"{Vote.objects.exclude(voter_id='').count():,} votes from {voter_no:,} honest voters "
        f"and {args.attackers} attackers (up to 100 votes each for {target.slug}, half "
        "target-only, half omnipresent)"
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

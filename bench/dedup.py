"""Benchmark prompt de-duplication with 100k stored prompts: battle-open and vote-time checks.

    .venv/bin/python bench/dedup.py [--prompts 100000] [--trials 300] [--sqlite]

Drops and recreates the PostgreSQL database `arena_bench_dedup` on 127.0.0.1:5432 (user
`postgres`), or with --sqlite uses a fresh embedded database in a temporary folder. Stores
--prompts distinct synthetic prompts (seeded; 10% of them near-duplicates of earlier ones) with
their fingerprints and LSH bands, one live battle and vote per prompt and one popular prompt
with 5,000 votes, then times:
  1. dedup.fingerprint alone (normalise, shingle, MinHash, bands) on short and long prompts;
  2. services.prompt_cluster_assign, what battle_create adds to open a live battle, for a new
     prompt, a near-duplicate of a stored one and an exact repeat;
  3. services.vote_duplicate_prompt, the check on the vote path, for a rare and the popular
     prompt.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = "postgres://postgres@127.0.0.1:5432/arena_bench_dedup"
POPULAR_VOTES = 5000


def _setup(sqlite: bool) -> None:
    os.environ.pop("REDIS_URL", None)
    if sqlite:
        os.environ.pop("DATABASE_URL", None)
        os.environ["ARENA_DATA_DIR"] = tempfile.mkdtemp(prefix="arena-dedup-bench-")
    else:
        import psycopg

        with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
            c.execute("DROP DATABASE IF EXISTS arena_bench_dedup")
            c.execute("CREATE DATABASE arena_bench_dedup")
        os.environ["DATABASE_URL"] = PG
        os.environ["ARENA_DATA_DIR"] = tempfile.mkdtemp(prefix="arena-dedup-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _prompts(n: int, seed: int = 20261202) -> list[str]:
    """Distinct prompts of 5-120 words from a 6,000-word vocabulary; 10% edited copies."""
    import numpy as np

    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocabulary = sorted({"".join(rng.choice(letters, rng.integers(2, 10))) for _ in range(6500)})
    vocabulary = vocabulary[:6000]
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        if out and rng.random() < 0.1:
            words = out[int(rng.integers(0, len(out)))].split()
            for j in rng.choice(len(words), max(1, len(words) // 20), replace=False):
                words[j] = vocabulary[int(rng.integers(0, len(vocabulary)))]
        else:
            words = [vocabulary[i] for i in rng.integers(0, len(vocabulary), rng.integers(5, 121))]
        text = " ".join(words) + "?"
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def _time(fn: Callable[[int], object], trials: int) -> tuple[float, float]:
    times = []
    for i in range(trials):
        start = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(0.95 * len(times)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=100_000)
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--sqlite", action="store_true", help="embedded SQLite instead of PG")
    args = parser.parse_args()
    _setup(args.sqlite)

    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone

    from arena import dedup, services
    from arena.models import Battle, LanguageModel, PromptBand, PromptFingerprint, Vote

    texts = _prompts(args.prompts + 3 * args.trials)
    stored, fresh = texts[: args.prompts], texts[args.prompts :]

    start = time.perf_counter()
    prints = [dedup.fingerprint(t) for t in stored]
    fingerprint_s = time.perf_counter() - start
    a = LanguageModel.objects.create(slug="bench-a", display_name="A")
    b = LanguageModel.objects.create(slug="bench-b", display_name="B")
    now = timezone.now()
    start = time.perf_counter()
    batch = 5000
    with transaction.atomic():
        for lo in range(0, len(prints), batch):
            chunk = prints[lo : lo + batch]
            rows = PromptFingerprint.objects.bulk_create(
                PromptFingerprint(
                    hash=f.hash, cluster=f.hash, signature=dedup.to_bytes(f.signature)
                )
                for f in chunk
            )
            PromptBand.objects.bulk_create(
                PromptBand(fingerprint_id=row.pk, key=key)
                for row, f in zip(rows, chunk, strict=True)
                for key in f.bands
            )
            battles = Battle.objects.bulk_create(
                Battle(
                    source=Battle.Source.LIVE,
                    status=Battle.Status.COMPLETE,
                    model_a=a,
                    model_b=b,
                    voter_id=f"voter-{lo + i}",
                    prompt_hash=f.hash,
                    prompt_cluster=f.hash,
                )
                for i, f in enumerate(chunk)
            )
            Vote.objects.bulk_create(
                Vote(
                    battle=bt,
                    model_a=a,
                    model_b=b,
                    outcome="tie",
                    voter_id=bt.voter_id,
                    prompt_cluster=bt.prompt_cluster,
                )
                for bt in battles
            )
        popular = prints[0].hash
        battles = Battle.objects.bulk_create(
            Battle(
                source=Battle.Source.LIVE,
                status=Battle.Status.COMPLETE,
                model_a=a,
                model_b=b,
                voter_id=f"fan-{i}",
                prompt_hash=popular,
                prompt_cluster=popular,
            )
            for i in range(POPULAR_VOTES)
        )
        Vote.objects.bulk_create(
            Vote(
                battle=bt,
                model_a=a,
                model_b=b,
                outcome="tie",
                voter_id=bt.voter_id,
                created_at=now,
                prompt_cluster=popular,
            )
            for bt in battles
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    load_s = time.perf_counter() - start

    print(f"database: {connection.vendor}; {len(stored):,} stored prompts")
    print(f"  fingerprinting them: {fingerprint_s / len(stored) * 1e6:.0f} us each")
    print(f"  {PromptBand.objects.count():,} band rows; stored in {load_s:.1f} s")
    short, long = "What is the capital of France?", " ".join(stored[1].split() * 12)[:8000]
    print(f"\n{'step':<58} {'median ms':>10} {'p95 ms':>8}")
    for label, fn in [
        ("fingerprint, 30-char prompt", lambda i: dedup.fingerprint(short)),
        ("fingerprint, 8,000-char prompt", lambda i: dedup.fingerprint(long)),
    ]:
        median, p95 = _time(fn, args.trials)
        print(f"{label:<58} {median:>10.3f} {p95:>8.3f}")

    def near(i: int) -> str:
        words = stored[(i * 7919) % len(stored)].split()
        words[len(words) // 2] = "changed"
        return " ".join(words)

    near_texts = [near(i) for i in range(args.trials)]
    near_clusters: list[str] = []

    def assign_near(i: int) -> None:
        near_clusters.append(services.prompt_cluster_assign(near_texts[i])[1])

    cases: list[tuple[str, Callable[[int], object]]] = [
        ("open a battle: new prompt", lambda i: services.prompt_cluster_assign(fresh[i])),
        ("open a battle: near-duplicate of a stored prompt", assign_near),
        (
            "open a battle: exact repeat (case, punctuation changed)",
            lambda i: services.prompt_cluster_assign(stored[i].upper().replace("?", " !")),
        ),
    ]
    for label, fn in cases:
        median, p95 = _time(fn, args.trials)
        print(f"{label:<58} {median:>10.3f} {p95:>8.3f}")

    def inside_a_transaction(i: int) -> None:
        # As battle_create runs it: inside its transaction, so the commit is not counted here.
        with transaction.atomic():
            services.prompt_cluster_assign(fresh[args.trials + i])
            transaction.set_rollback(True)

    median, p95 = _time(inside_a_transaction, args.trials)
    label = "open a battle: new prompt, inside battle_create's transaction"
    print(f"{label:<58} {median:>10.3f} {p95:>8.3f}")
    rare = Battle.objects.exclude(prompt_cluster=popular).order_by("?").first()
    hot = Battle.objects.filter(prompt_cluster=popular).first()
    later = timezone.now()
    for label, battle in [
        ("vote path: duplicate check, rare prompt", rare),
        (f"vote path: duplicate check, prompt with {POPULAR_VOTES:,} votes", hot),
    ]:
        median, p95 = _time(
            lambda i, bt=battle: services.vote_duplicate_prompt(
                battle=bt, voter_id="someone", at=later
            ),
            args.trials,
        )
        print(f"{label:<58} {median:>10.3f} {p95:>8.3f}")
    # (true Jaccard of the 5-shingles >= the threshold, joined its original's cluster)
    outcomes = [
        (
            _jaccard(text, stored[(i * 7919) % len(stored)])
            >= settings.ARENA_NEAR_DUPLICATE_JACCARD,
            cluster != dedup.fingerprint(text).hash,
        )
        for i, (text, cluster) in enumerate(zip(near_texts, near_clusters, strict=True))
    ]
    similar = [joined for close, joined in outcomes if close]
    other = [joined for close, joined in outcomes if not close]
    # On both databases the check must walk an index, never the votes.
    plan = services.counted_votes_on_cluster(popular, later)[:50].explain()
    print(f"\nplan of the count on the popular prompt:\n{plan}")
    print(
        f"\nnear-duplicates (one word changed): {sum(similar)}/{len(similar)} of those with true"
        f" Jaccard >= {settings.ARENA_NEAR_DUPLICATE_JACCARD} joined their original's cluster;"
        f" {sum(other)}/{len(other)} of the less similar ones (short prompts) did"
    )


def _jaccard(a: str, b: str) -> float:
    from arena import dedup

    def shingles(text: str) -> set[str]:
        norm = dedup.normalise(text)
        return {norm[i : i + dedup.SHINGLE] for i in range(max(1, len(norm) - dedup.SHINGLE + 1))}

    x, y = shingles(a), shingles(b)
    return len(x & y) / len(x | y)


if __name__ == "__main__":
    main()

"""Benchmark our rating engine against LMArena's arena-rank and choix, in one run.

One command, from the repository root (creates ``.venv-bench`` for arena-rank if missing):

    .venv/bin/python bench/ratings.py                     # full run, ~11 min on 2 cores
    .venv/bin/python bench/ratings.py --quick             # skips the 10M-vote data set
    .venv/bin/python bench/ratings.py --json bench/out/ratings.json

(``python bench/ratings.py`` also works: it re-executes itself under ``.venv/bin/python``.)

What it measures, each engine in its own fresh subprocess, on the same votes:

- data sets: the real LMArena 140k votes (``/work/shared/data/arena-140k/votes.csv``, or
  ``--real PATH``), synthetic 100 models / 1M votes and synthetic 300 models / 10M votes
  (generator: :func:`synthetic`);
- stages: aggregate (votes -> sufficient statistics), fit, 95% sandwich intervals,
  1000-round bootstrap, and on the real votes the table of every domain with sandwich intervals
  (ours: in memory from the vote arrays, and the real Django ``refit`` on PostgreSQL);
- stored-votes refit scaling on PostgreSQL (ours only): ``refit()`` after 1,000 new votes with
  10k and then 10M votes already stored and tallied, and the first refit that tallies them.

arena-rank (PyPI ``arena-rank``, pinned in ``requirements-bench.txt``) needs numpy==2.3.3 and
jax==0.8.1, so it runs in ``.venv-bench`` through ``bench/_arena_rank_worker.py``. Timings cover
the computation only (not process start-up or loading the votes); JAX stages are forced with
``block_until_ready`` and the figure is a warm run (the cold run, with JIT compilation, is
reported beside it). arena-rank's 1000-round bootstrap is extrapolated from two shorter runs
(marked ``*``). Memory: see :mod:`_measure` (peak RSS above the stage's starting RSS for the
algorithm stages; absolute peak RSS of the refit process for the Django rows).

PostgreSQL: databases ``arena_bench`` and ``arena_bench_scale`` on ``--pg`` (default
``postgres://postgres@127.0.0.1:5432``) are dropped and recreated, and dropped again at the end
unless ``--keep-db``. Redis is not used (the refits run in-process; cache and broker files go to
a temporary ``ARENA_DATA_DIR``).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
BENCH_VENV = ROOT / ".venv-bench"
BENCH_PYTHON = BENCH_VENV / "bin" / "python"
REQUIREMENTS = ROOT / "requirements-bench.txt"
WORKER_AR = Path(__file__).resolve().parent / "_arena_rank_worker.py"
DEFAULT_REAL = Path("/work/shared/data/arena-140k/votes.csv")
OUTCOMES = ("model_a", "model_b", "tie", "both_bad")
DRAW_TIE_SHARE = 0.58  # a synthetic draw is "tie" with this probability, else "both_bad"
TIE_SHARE = 0.25  # target share of draws among synthetic votes
BOOTSTRAP_ROUNDS = 1000


def _reexec_in_venv() -> None:
    """Run under the project's venv even when started with another interpreter."""
    if Path(sys.prefix).resolve() == (ROOT / ".venv").resolve() or not VENV_PYTHON.exists():
        return
    if os.environ.get("ARENA_BENCH_REEXEC"):
        return
    os.environ["ARENA_BENCH_REEXEC"] = "1"
    os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), *sys.argv])


if __name__ == "__main__":
    _reexec_in_venv()

# Run as a script, this file's folder would be sys.path[0] and this file would shadow the
# project's ``ratings`` app: put the repository root there instead.
_here = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench._measure import Measure, rss_mb, run_stage  # noqa: E402

# --------------------------------------------------------------------------------------------
# Data


def synthetic(n_models: int, n_votes: int, seed: int, domain_rates: list[float]) -> dict:
    """Return synthetic votes (all draws from ``np.random.default_rng(seed)``, vectorised).

    - True strengths ``theta_i ~ N(0, 1)`` (natural-log odds; sd 174 rating points).
    - Popularity ``lognormal(0, 1)`` per model; each vote's two models are drawn independently
      with probability proportional to popularity (a self-pair is redrawn), so some models get
      many times the votes of others. Sides are thereby random.
    - Outcome (matched-ties Bradley-Terry, as in bench/coverage.py): with
      ``s = sigmoid(theta_a - theta_b)`` the vote is a draw with probability
      ``t = c * 4 s (1 - s)`` (more draws between close models), model_a wins with ``s - t/2``
      and model_b with ``1 - s - t/2``. ``c`` (at most 0.5) is set from the drawn pairs so that
      about 25% of votes are draws; a draw is "tie" (58%) or "both_bad" (42%). The expected score
      of a (win 1, draw 1/2) is exactly ``s``, so the half-win Bradley-Terry model both engines
      fit is correctly specified.
    - Domain labels (only used by the PostgreSQL refit rows): independent, at the real data's
      per-domain rates.
    """
    from scipy.special import expit

    rng = np.random.default_rng(seed)
    theta = rng.normal(0.0, 1.0, n_models)
    popularity = rng.lognormal(0.0, 1.0, n_models)
    p = popularity / popularity.sum()
    a = rng.choice(n_models, n_votes, p=p).astype(np.int32)
    b = rng.choice(n_models, n_votes, p=p).astype(np.int32)
    same = np.flatnonzero(a == b)
    while len(same):
        b[same] = rng.choice(n_models, len(same), p=p)
        same = same[a[same] == b[same]]
    s = expit(theta[a] - theta[b])
    closeness = 4 * s * (1 - s)
    c = min(0.5, TIE_SHARE / float(closeness.mean()))
    t = c * closeness
    u = rng.random(n_votes)
    outcome = np.where(u < s - t / 2, 0, np.where(u < s + t / 2, 2, 1)).astype(np.int8)
    drawn = outcome == 2
    outcome[drawn & (rng.random(n_votes) >= DRAW_TIE_SHARE)] = 3
    domains = np.zeros(n_votes, dtype=np.uint8)
    for k, rate in enumerate(domain_rates):
        domains |= (rng.random(n_votes) < rate).astype(np.uint8) << k
    width = len(str(n_models - 1))
    names = np.array([f"synth-{i:0{width}d}" for i in range(n_models)])
    return {
        "names": names,
        "a": a,
        "b": b,
        "outcome": outcome,
        "domains": domains,
        "theta": theta,
        "tie_c": c,
    }


def _truthy(value: str | None) -> bool:
    # Same test as arena/importers.py.
    return (value or "").strip().lower() in ("1", "1.0", "true", "yes")


def real_votes(path: Path) -> dict:
    """Read the LMArena CSV; label domains exactly as arena/importers.py does."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from arena import importers

    tag_columns = list(importers.LMARENA_TAG_DOMAINS.items())
    slugs = [slug for _, slug in tag_columns] + [importers.HARD_PROMPTS_DOMAIN]
    index: dict[str, int] = {}
    a, b, outcome, domains = [], [], [], []
    code = {name: i for i, name in enumerate(OUTCOMES)}
    self_battles = 0
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            model_a, model_b = row["model_a"].strip(), row["model_b"].strip()
            if model_a == model_b:
                self_battles += 1  # the importer stores these as excluded; no engine sees them
                continue
            a.append(index.setdefault(model_a, len(index)))
            b.append(index.setdefault(model_b, len(index)))
            outcome.append(code[row["winner"].strip()])
            bits = 0
            for k, (column, _slug) in enumerate(tag_columns):
                if _truthy(row.get(column)):
                    bits |= 1 << k
            criteria = sum(_truthy(row.get(c)) for c in importers.LMARENA_CRITERIA)
            if criteria >= importers.HARD_PROMPTS_MIN_CRITERIA:
                bits |= 1 << len(tag_columns)
            domains.append(bits)
    names = np.array(list(index))
    return {
        "names": names,
        "a": np.array(a, dtype=np.int32),
        "b": np.array(b, dtype=np.int32),
        "outcome": np.array(outcome, dtype=np.int8),
        "domains": np.array(domains, dtype=np.uint8),
        "domain_slugs": np.array(slugs),
        "self_battles": self_battles,
    }


def save(data: dict, path: Path, slugs: np.ndarray) -> None:
    np.savez(
        path,
        names=data["names"],
        a=data["a"],
        b=data["b"],
        outcome=data["outcome"],
        domains=data["domains"],
        domain_slugs=slugs,
    )


# --------------------------------------------------------------------------------------------
# Workers (each runs in its own subprocess)


def _load_votes(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    data = np.load(path)
    names = np.array(data["names"].tolist(), dtype=object)
    outcomes = np.array(OUTCOMES, dtype=object)
    return (
        names[data["a"]],
        names[data["b"]],
        outcomes[data["outcome"]],
        data["domains"],
        [str(s) for s in data["domain_slugs"]],
    )


def worker_ours(args: argparse.Namespace) -> dict:
    """Our engine and choix on one data set."""
    import choix
    import scipy

    from ratings import maths

    started = time.perf_counter()
    a, b, o, bits, slugs = _load_votes(args.data)
    result: dict = {
        "engine": "ours",
        "load_seconds": time.perf_counter() - started,
        "baseline_rss_mb": rss_mb(),
        "votes": len(a),
        "versions": {
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "choix": _version("choix"),
        },
    }
    stats, counts = run_stage(lambda: maths.PairCounts.from_votes(a, b, o), min_repeats=3)
    result["aggregate"] = stats
    stats, fitted = run_stage(lambda: maths.fit(counts), min_repeats=5)
    stats.update(
        iterations=fitted.iterations,
        converged=bool(fitted.converged),
        rated=int(fitted.rated.sum()),
        models=counts.n_models,
    )
    result["fit"] = stats
    result["models"] = list(counts.models)
    result["votes_per_model"] = [float(x) for x in counts.votes_per_model()]
    result["ratings"] = [float(x) for x in fitted.ratings]
    stats, intervals = run_stage(lambda: maths.sandwich_intervals(counts, fitted), min_repeats=5)
    result["sandwich"] = stats
    result["sandwich_lower"] = [float(x) for x in intervals.lower]
    result["sandwich_upper"] = [float(x) for x in intervals.upper]
    if args.rounds:
        stats, _ = run_stage(
            lambda: maths.bootstrap_intervals(counts, fitted, rounds=args.rounds, seed=0),
            min_repeats=1,
            max_repeats=1,
        )
        stats["rounds"] = args.rounds
        result["bootstrap"] = stats

    # choix: ILSR on the dense comparison matrix (wins + half the draws), its fastest ML
    # routine for dense data. Building the matrix from our counts is inside the timing.
    def choix_fit() -> np.ndarray:
        comparisons = counts.wins + 0.5 * counts.draws
        return choix.ilsr_pairwise_dense(comparisons, max_iter=10_000, tol=1e-8)

    stats, params = run_stage(choix_fit, min_repeats=5)
    result["choix_fit"] = stats
    rated = fitted.rated
    centred = (params - params[rated].mean()) * maths.RATING_SCALE + maths.RATING_BASE
    result["choix_max_abs_diff"] = float(np.abs(centred[rated] - fitted.ratings[rated]).max())

    if args.domains:
        masks: dict[str, np.ndarray | None] = {"overall": None}
        for k, slug in enumerate(slugs):
            masks[slug] = (bits & (1 << k)) != 0

        def all_domains() -> dict:
            tables = {}
            for slug, mask in masks.items():
                part = (a, b, o) if mask is None else (a[mask], b[mask], o[mask])
                tables[slug] = maths.leaderboard(
                    maths.PairCounts.from_votes(*part), interval="sandwich", min_votes=300
                )
            return tables

        stats, _ = run_stage(all_domains, min_repeats=3)
        stats["domains"] = list(masks)
        result["all_domains"] = stats
    return result


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def worker_refit(args: argparse.Namespace) -> dict:
    """``ratings.services.refit()`` in a fresh process, ``--repeat`` times: time and peak RSS.

    With ``--data``, 1,000 new votes (rows ``--start`` on) are stored through the ORM before
    each refit, untimed. The first refit of the process is "cold" (first queries, lazy imports);
    later ones are what a long-lived refit worker sees.
    """
    _django()
    from django.db import connection

    from ratings.models import PairTally
    from ratings.services import code_version, refit

    connection.ensure_connection()
    # A worker process asks git for the code version once and caches it; do that first so the
    # fork of `git` is neither timed nor counted as memory. Only this process's RSS is measured.
    code_version()
    runs = []
    for k in range(args.repeat):
        if args.data:
            _store_votes(args.data, args.start + k * 1000, args.start + (k + 1) * 1000)
        baseline = rss_mb()
        with Measure(children=False) as measure:
            snapshot, created = refit(force=args.force)
        runs.append(
            {
                "seconds": measure.seconds,
                "peak_mb": measure.peak_mb,
                "delta_mb": measure.delta_mb,
                "baseline_rss_mb": baseline,
                "created": created,
                "snapshot": snapshot.pk,
                "votes_counted": snapshot.votes_counted,
                "votes_added": snapshot.votes_added,
                "domains": snapshot.fits.count(),
                "tallies": PairTally.objects.count(),
            }
        )
    return {"runs": runs}


def _domain_ids(slugs: list[str]) -> list[int]:
    from arena.models import Domain

    ids = dict(Domain.objects.values_list("slug", "id"))
    return [ids[slug] for slug in slugs]


def worker_load(args: argparse.Namespace) -> dict:
    """COPY votes [start, stop) of a data set into arena_vote (+ labels) as pending votes."""
    _django()
    from django.db import connection, transaction
    from django.utils import timezone

    from arena.models import LanguageModel

    data = np.load(args.data)
    names = [str(n) for n in data["names"]]
    slugs = [str(s) for s in data["domain_slugs"]]
    existing = set(LanguageModel.objects.values_list("slug", flat=True))
    LanguageModel.objects.bulk_create(
        [LanguageModel(slug=n, display_name=n) for n in names if n not in existing]
    )
    model_id = dict(LanguageModel.objects.values_list("slug", "id"))
    ids_of = np.array([model_id[n] for n in names], dtype=np.int64)
    domain_ids = _domain_ids(slugs)
    start, stop = args.start, args.stop
    a = ids_of[data["a"][start:stop]]
    b = ids_of[data["b"][start:stop]]
    outcome = data["outcome"][start:stop]
    bits = data["domains"][start:stop]
    now = timezone.now().isoformat()
    tail = f"\t\t\tbench\t\t{now}\t{now}\tt\tf\n"
    started = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor:
            # The rows are valid by construction: skip the per-row foreign-key triggers (two per
            # vote, two per label), which would otherwise dominate the load. Superuser only.
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute("SELECT COALESCE(MAX(id), 0) FROM arena_vote")
            first_id = cursor.fetchone()[0] + 1
        raw = connection.connection
        vote_ids = np.arange(first_id, first_id + len(a), dtype=np.int64)
        chunk = 500_000
        with raw.cursor() as cursor:
            with cursor.copy(
                "COPY arena_vote (id, model_a_id, model_b_id, outcome, voter_id, excluded_reason,"
                " dataset, external_id, created_at, status_changed_at, needs_tally, in_tally)"
                " FROM STDIN"
            ) as copy:
                for begin in range(0, len(a), chunk):
                    end = begin + chunk
                    rows = zip(
                        vote_ids[begin:end].tolist(),
                        a[begin:end].tolist(),
                        b[begin:end].tolist(),
                        [OUTCOMES[k] for k in outcome[begin:end].tolist()],
                        strict=True,
                    )
                    copy.write("".join(f"{i}\t{x}\t{y}\t{z}{tail}" for i, x, y, z in rows))
            labels = 0
            with cursor.copy(
                "COPY arena_votedomain (vote_id, domain_id, source) FROM STDIN"
            ) as copy:
                for k, domain_id in enumerate(domain_ids):
                    labelled = vote_ids[(bits & (1 << k)) != 0]
                    labels += len(labelled)
                    for begin in range(0, len(labelled), chunk):
                        part = labelled[begin : begin + chunk].tolist()
                        copy.write("".join(f"{v}\t{domain_id}\timport\n" for v in part))
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('arena_vote', 'id'),"
                " (SELECT MAX(id) FROM arena_vote))"
            )
    copied = time.perf_counter() - started
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE arena_vote")
        cursor.execute("ANALYZE arena_votedomain")
    return {
        "seconds": copied,
        "analyze_seconds": time.perf_counter() - started,
        "votes": len(a),
        "labels": labels,
    }


def _store_votes(path: str, start: int, stop: int) -> int:
    """Store votes [start, stop) of a data set the way live votes are stored (ORM, pending)."""
    from django.db import transaction

    from arena.models import LanguageModel, Vote, VoteDomain

    data = np.load(path)
    names = [str(n) for n in data["names"]]
    model_id = dict(LanguageModel.objects.filter(slug__in=names).values_list("slug", "id"))
    domain_ids = _domain_ids([str(s) for s in data["domain_slugs"]])
    rows = range(start, stop)
    with transaction.atomic():
        votes = Vote.objects.bulk_create(
            Vote(
                model_a_id=model_id[names[data["a"][i]]],
                model_b_id=model_id[names[data["b"][i]]],
                outcome=OUTCOMES[data["outcome"][i]],
                dataset="bench-live",
            )
            for i in rows
        )
        VoteDomain.objects.bulk_create(
            VoteDomain(vote=vote, domain_id=domain_id, source=VoteDomain.Source.IMPORT)
            for vote, i in zip(votes, rows, strict=True)
            for k, domain_id in enumerate(domain_ids)
            if data["domains"][i] & (1 << k)
        )
    return len(votes)


def worker_sql(args: argparse.Namespace) -> dict:
    """Run one maintenance statement outside a transaction (VACUUM ANALYZE)."""
    _django()
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(args.sql)
    return {"seconds": time.perf_counter() - started}


WORKERS = {
    "ours": worker_ours,
    "refit": worker_refit,
    "load": worker_load,
    "sql": worker_sql,
}


# --------------------------------------------------------------------------------------------
# Orchestration


class Runner:
    def __init__(self, workdir: Path, log: Path, pg: str) -> None:
        self.workdir = workdir
        self.log = log
        self.pg = pg.rstrip("/")
        self.env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
        self.env.pop("CELERY_TASK_ALWAYS_EAGER", None)
        self.env["ARENA_DATA_DIR"] = str(workdir / "var")
        self.env["DJANGO_SETTINGS_MODULE"] = "config.settings"
        self.env["PYTHONPATH"] = str(ROOT)
        self.env.pop("ARENA_BENCH_REEXEC", None)

    def _run(self, command: list[str], env: dict[str, str], what: str) -> None:
        with self.log.open("a") as log:
            log.write(f"\n$ {' '.join(command)}\n")
            log.flush()
            done = subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        if done.returncode != 0:
            tail = self.log.read_text().splitlines()[-30:]
            raise SystemExit(
                f"{what} failed (exit {done.returncode}); log {self.log}:\n" + "\n".join(tail)
            )

    def worker(self, name: str, *extra: str, db: str | None = None) -> dict:
        out = self.workdir / f"result-{time.monotonic_ns()}.json"
        env = dict(self.env)
        if db:
            env["DATABASE_URL"] = f"{self.pg}/{db}"
        command = [
            str(VENV_PYTHON),
            str(Path(__file__).resolve()),
            "--worker",
            name,
            "--out",
            str(out),
            *extra,
        ]
        self._run(command, env, f"worker {name}")
        return json.loads(out.read_text())

    def arena_rank(self, data: Path, *extra: str) -> dict:
        out = self.workdir / f"ar-{time.monotonic_ns()}.json"
        env = {k: v for k, v in self.env.items() if k != "PYTHONPATH"}
        command = [str(BENCH_PYTHON), str(WORKER_AR), str(data), str(out), *extra]
        self._run(command, env, "arena-rank worker")
        return json.loads(out.read_text())

    def manage(self, db: str, *command: str) -> float:
        env = dict(self.env, DATABASE_URL=f"{self.pg}/{db}")
        started = time.perf_counter()
        self._run([str(VENV_PYTHON), "manage.py", *command], env, f"manage.py {command[0]}")
        return time.perf_counter() - started

    def recreate_db(self, db: str) -> None:
        import psycopg

        with psycopg.connect(f"{self.pg}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{db}"')
        self.manage(db, "migrate", "--noinput", "-v", "0")

    def drop_db(self, db: str) -> None:
        import psycopg

        with psycopg.connect(f"{self.pg}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def ensure_bench_venv(log: Path) -> None:
    """Create .venv-bench with arena-rank if it is missing or broken."""
    check = [str(BENCH_PYTHON), "-c", "import arena_rank, jax, pandas"]
    if BENCH_PYTHON.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return
    base = getattr(sys, "_base_executable", None) or shutil.which("python3") or "python3"
    print(f"creating {BENCH_VENV} with {base} (arena-rank, jax; a few minutes)...", flush=True)
    with log.open("a") as out:
        subprocess.run([base, "-m", "venv", str(BENCH_VENV)], check=True, stdout=out, stderr=out)
        subprocess.run(
            [str(BENCH_PYTHON), "-m", "pip", "install", "-r", str(REQUIREMENTS)],
            check=True,
            stdout=out,
            stderr=out,
        )
    subprocess.run(check, check=True)


def machine() -> dict:
    info: dict = {"python": platform.python_version(), "cores": os.cpu_count()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["ram_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    info["load"] = [round(x, 2) for x in os.getloadavg()]
    info["numpy"] = np.__version__
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["blas"] = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # noqa: BLE001 - informative only
        info["blas"] = "?"
    try:
        from threadpoolctl import threadpool_info

        info["threadpools"] = [
            f"{pool.get('internal_api')} {pool.get('version')} x{pool.get('num_threads')}"
            for pool in threadpool_info()
        ]
    except ImportError:
        info["threadpools"] = []
    info["env"] = {
        k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS_", "OMP_", "MKL_", "XLA_"))
    }
    return info


# --------------------------------------------------------------------------------------------
# Table


def fmt_time(seconds: float | None, mark: str = "") -> str:
    if seconds is None:
        return "n/a"
    if seconds < 1e-3:
        text = f"{seconds * 1e3:.2f} ms"
    elif seconds < 1:
        text = f"{seconds * 1e3:.3g} ms" if seconds < 0.1 else f"{seconds * 1e3:.0f} ms"
    elif seconds < 100:
        text = f"{seconds:.3g} s"
    else:
        text = f"{seconds:.0f} s"
    return text + mark


def fmt_ratio(other: float | None, ours: float | None) -> str:
    if other is None or ours is None or ours <= 0:
        return "n/a"
    ratio = other / ours
    if ratio >= 100:
        return f"{ratio:,.0f}x"
    if ratio >= 10:
        return f"{ratio:.1f}x"
    return f"{ratio:.2f}x"


def fmt_mb(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


class Table:
    header = (
        "stage",
        "ours",
        "arena-rank",
        "choix",
        "ar/ours",
        "choix/ours",
        "peak MB ours/ar/choix",
        "notes",
    )

    def __init__(self) -> None:
        self.rows: list[tuple[str, ...] | str] = []
        self.records: list[dict] = []
        self.section = ""

    def start(self, title: str) -> None:
        self.section = title
        self.rows.append(title)

    def add(
        self,
        stage: str,
        ours: float | None,
        ar: float | None = None,
        choix: float | None = None,
        mem: tuple = (None, None, None),
        notes: str = "",
        ar_mark: str = "",
    ) -> None:
        self.rows.append(
            (
                "  " + stage,
                fmt_time(ours),
                fmt_time(ar, ar_mark) if ar is not None else "n/a",
                fmt_time(choix) if choix is not None else "n/a",
                fmt_ratio(ar, ours),
                fmt_ratio(choix, ours),
                " / ".join(fmt_mb(m) for m in mem),
                notes,
            )
        )
        self.records.append(
            {
                "dataset": self.section,
                "stage": stage,
                "ours_s": ours,
                "arena_rank_s": ar,
                "choix_s": choix,
                "peak_mb": list(mem),
                "notes": notes,
            }
        )

    def render(self) -> str:
        rows = [r for r in self.rows if isinstance(r, tuple)]
        widths = [max(len(r[i]) for r in [self.header, *rows]) for i in range(len(self.header))]
        right = {1, 2, 3, 4, 5, 6}

        def line(row: tuple[str, ...]) -> str:
            cells = [
                c.rjust(w) if i in right else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ]
            return "  ".join(cells).rstrip()

        out = [line(self.header), "  ".join("-" * w for w in widths)]
        for row in self.rows:
            out.append(row if isinstance(row, str) else line(row))
        return "\n".join(out)


def agreement(ours: dict, ar: dict) -> dict:
    """How far arena-rank's ratings and sandwich half-widths are from ours, in rating points."""
    position = {m: i for i, m in enumerate(ar["competitors"])}
    order = [position[m] for m in ours["models"]]
    our_r = np.array(ours["ratings"])
    ok = np.isfinite(our_r)
    common = ok & (np.array(ours["votes_per_model"]) >= 300)

    def gap(values: list[float], mask: np.ndarray) -> float:
        theirs = np.array(values)[order]
        diff = (theirs[mask] - theirs[mask].mean()) - (our_r[mask] - our_r[mask].mean())
        return float(np.abs(diff).max())

    ar_w = (np.array(ar["sandwich_upper"]) - np.array(ar["sandwich_lower"]))[order] / 2
    our_w = (np.array(ours["sandwich_upper"]) - np.array(ours["sandwich_lower"])) / 2
    worst = int(
        np.argmax(
            np.where(
                ok,
                np.abs(
                    (np.array(ar["ratings"])[order] - np.array(ar["ratings"])[order][ok].mean())
                    - (our_r - our_r[ok].mean())
                ),
                -1,
            )
        )
    )
    return {
        "rating_default": gap(ar["ratings"], ok),
        "rating_default_300": gap(ar["ratings"], common),
        "rating_tight": gap(ar["ratings_tight"], ok),
        "halfwidth": float(np.nanmax(np.abs(ar_w[ok] - our_w[ok]))),
        "halfwidth_300": float(np.nanmax(np.abs(ar_w[common] - our_w[common]))),
        "halfwidth_rel_300": float(np.nanmax(np.abs(ar_w[common] / our_w[common] - 1))),
        "worst_model": ours["models"][worst],
        "worst_model_votes": ours["votes_per_model"][worst],
        "choix": ours["choix_max_abs_diff"],
    }


def algorithm_rows(table: Table, ours: dict, ar: dict) -> None:
    table.add(
        "aggregate (votes -> counts)",
        ours["aggregate"]["seconds"],
        ar["aggregate"]["seconds"],
        None,
        (ours["aggregate"]["delta_mb"], ar["aggregate"]["delta_mb"], None),
        f"ar cold {fmt_time(ar['aggregate']['cold'])}; "
        f"ar aggregates to {ar['aggregate']['rows']:,} (pair, outcome) rows",
    )
    table.add(
        "fit (MLE)",
        ours["fit"]["seconds"],
        ar["fit"]["seconds"],
        ours["choix_fit"]["seconds"],
        (ours["fit"]["delta_mb"], ar["fit"]["delta_mb"], ours["choix_fit"]["delta_mb"]),
        f"ours {ours['fit']['iterations']} Newton steps; ar cold "
        f"{fmt_time(ar['fit']['cold'])}, XLA compile {ar['fit']['warm_compile_seconds']:.1f}"
        " s inside the warm run",
    )
    table.add(
        "sandwich 95% intervals",
        ours["sandwich"]["seconds"],
        ar["sandwich"]["seconds"],
        None,
        (ours["sandwich"]["delta_mb"], ar["sandwich"]["delta_mb"], None),
        f"given the fit; ar cold {fmt_time(ar['sandwich']['cold'])}",
    )
    boot = ar.get("bootstrap")
    if "bootstrap" in ours and boot:
        r1, r2 = boot["rounds"]
        table.add(
            f"bootstrap {BOOTSTRAP_ROUNDS} rounds",
            ours["bootstrap"]["seconds"],
            boot["extrapolated_1000_seconds"],
            None,
            (ours["bootstrap"]["delta_mb"], boot["delta_mb"], None),
            f"*ar extrapolated from {r1} rounds ({fmt_time(boot['seconds_by_rounds'][str(r1)])})"
            f" and {r2} rounds ({fmt_time(boot['seconds_by_rounds'][str(r2)])}), "
            f"{boot['workers']} {boot['start_method']} workers",
            ar_mark="*",
        )


def refits(
    runner: Runner,
    db: str,
    processes: int = 3,
    repeat: int = 2,
    force: bool = False,
    new_votes: Path | None = None,
    start: int = 0,
) -> dict:
    """Run ``processes`` fresh refit processes of ``repeat`` refits each; summarise."""
    extra = ["--repeat", str(repeat)] + (["--force"] if force else [])
    per_process = []
    for k in range(processes):
        more = (
            []
            if new_votes is None
            else ["--data", str(new_votes), "--start", str(start + k * repeat * 1000)]
        )
        per_process.append(runner.worker("refit", *extra, *more, db=db)["runs"])
    cold = [p[0] for p in per_process]
    warm = [r for p in per_process for r in p[1:]]

    def summary(runs: list[dict]) -> dict:
        return {
            "seconds": statistics.median(r["seconds"] for r in runs),
            "runs": [r["seconds"] for r in runs],
            "peak_mb": max(r["peak_mb"] for r in runs),
            "delta_mb": max(r["delta_mb"] for r in runs),
        }

    return {
        "cold": summary(cold),
        "warm": summary(warm) if warm else None,
        "tallies": per_process[-1][-1]["tallies"],
        "processes": per_process,
    }


def vacuum(runner: Runner, db: str) -> dict:
    # After a bulk insert or the first tally (which rewrites every vote row), let PostgreSQL
    # settle as autovacuum eventually would: drop dead index entries, refresh statistics.
    return runner.worker("sql", "--sql", "VACUUM ANALYZE", db=db)


def measure(args: argparse.Namespace, runner: Runner, workdir: Path) -> dict:
    t0 = time.perf_counter()
    results: dict = {
        "machine": machine(),
        "args": {k: v for k, v in vars(args).items() if not k.startswith("_")},
    }
    info = results["machine"]
    results["git"] = _git_head()
    print(f"# arena rating benchmark  {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    print(
        f"# {info.get('cpu', '?')}, {info['cores']} cores, {info.get('ram_gb', '?')} GB RAM;"
        f" load average {info['load'][0]:.2f} {info['load'][1]:.2f} {info['load'][2]:.2f}"
    )
    print(
        f"# python {info['python']}, numpy {info['numpy']} ({info['blas']}); "
        f"env {info['env'] or '{}'}"
    )
    print(
        f"# threadpools at start {info['threadpools']} (ratings/maths limits BLAS to 1 thread"
        " inside fit and intervals)"
    )
    print(f"# code: git {_git_head()}")
    print(f"# work dir {workdir} (log: {runner.log})", flush=True)

    # Data sets.
    real = real_votes(Path(args.real))
    slugs = real["domain_slugs"]
    rates = [float(((real["domains"] >> k) & 1).mean()) for k in range(len(slugs))]
    paths = {
        "real": workdir / "real.npz",
        "mid": workdir / "mid.npz",
        "big": workdir / "big.npz",
        "new": workdir / "new-votes.npz",
    }
    save(real, paths["real"], slugs)
    datasets = {
        "real": {
            "label": f"real LMArena votes: {len(real['a']):,} votes, {len(real['names'])} models",
            "votes": len(real["a"]),
            "models": len(real["names"]),
            "self_battles_dropped": real["self_battles"],
        }
    }
    specs = [
        ("mid", args.mid_models, args.mid_votes, 1),
        ("big", args.big_models, args.big_votes, 2),
        ("new", args.big_models, 12_000, 3),
    ]
    for key, n_models, n_votes, seed in specs:
        data = synthetic(n_models, n_votes, seed, rates)
        save(data, paths[key], slugs)
        datasets[key] = {
            "label": f"synthetic: {n_models} models, {_short(n_votes)} votes",
            "votes": n_votes,
            "models": n_models,
            "seed": seed,
            "draw_share": float((data["outcome"] >= 2).mean()),
            "tie_c": data["tie_c"],
        }
        del data
    del real
    results["datasets"] = datasets
    results["domain_rates"] = dict(zip([str(s) for s in slugs], rates, strict=True))
    print(f"# data ready in {time.perf_counter() - t0:.0f} s", flush=True)

    # Algorithms: one data set at a time, each engine in its own fresh process.
    engines: dict = {}
    for key in ["real", "mid"] + ([] if args.quick else ["big"]):
        label = datasets[key]["label"]
        domains = ["--domains"] if key == "real" else []
        print(f"# {label}: ours + choix ...", flush=True)
        ours = runner.worker(
            "ours", "--data", str(paths[key]), "--rounds", str(BOOTSTRAP_ROUNDS), *domains
        )
        print(f"# {label}: arena-rank ...", flush=True)
        ar = runner.arena_rank(paths[key], "--boot", f"2,{2 + args.ar_rounds}", *domains)
        engines[key] = {"ours": ours, "arena_rank": ar, "agreement": agreement(ours, ar)}
    results["engines"] = engines

    # The real Django refit on the real votes (PostgreSQL).
    db = "arena_bench"
    print(f"# {db}: import + refits ...", flush=True)
    runner.recreate_db(db)
    real_db: dict = {
        "import_seconds": runner.manage(db, "import_votes", str(args.real), "--format", "lmarena")
    }
    real_db["first"] = runner.worker("refit", db=db)["runs"][0]
    real_db["before_vacuum"] = refits(runner, db, force=True)
    real_db["vacuum"] = vacuum(runner, db)
    real_db["steady"] = refits(runner, db, force=True)
    results["django_real"] = real_db
    if not args.keep_db:
        runner.drop_db(db)

    # Stored-votes refit scaling: 10k stored, then 10M stored (the "big" synthetic votes).
    db = "arena_bench_scale"
    small = args.small_votes
    print(f"# {db}: {_short(small)} stored ...", flush=True)
    runner.recreate_db(db)
    scale: dict = {"small": {}}
    scale["small"]["load"] = runner.worker(
        "load", "--data", str(paths["big"]), "--start", "0", "--stop", str(small), db=db
    )
    scale["small"]["first"] = runner.worker("refit", db=db)["runs"][0]
    scale["small"]["vacuum"] = vacuum(runner, db)
    scale["small"]["add"] = refits(runner, db, new_votes=paths["new"], start=0)
    if not args.quick:
        print(f"# {db}: COPY {_short(args.big_votes - small)} more votes ...", flush=True)
        big: dict = {}
        big["load"] = runner.worker(
            "load",
            "--data",
            str(paths["big"]),
            "--start",
            str(small),
            "--stop",
            str(args.big_votes),
            db=db,
        )
        print(f"# {db}: first refit of the pending votes ...", flush=True)
        big["first"] = runner.worker("refit", db=db)["runs"][0]
        big["vacuum"] = vacuum(runner, db)
        print(f"# {db}: refits after +1,000 votes ...", flush=True)
        big["add"] = refits(runner, db, new_votes=paths["new"], start=6000)
        scale["big"] = big
    results["django_scale"] = scale
    if not args.keep_db:
        runner.drop_db(db)
    results["total_seconds"] = time.perf_counter() - t0
    results["load_after"] = [round(x, 2) for x in os.getloadavg()]
    return results


def build_table(results: dict) -> tuple[Table, list[str]]:
    table = Table()
    datasets, engines = results["datasets"], results["engines"]
    real_db, scale = results["django_real"], results["django_scale"]
    for key in ("real", "mid", "big"):
        if key not in engines:
            continue
        ours, ar = engines[key]["ours"], engines[key]["arena_rank"]
        table.start(datasets[key]["label"])
        algorithm_rows(table, ours, ar)
        if key != "real":
            continue
        ar_all = ar["all_domains"]["seconds"]
        table.add(
            "all-domain tables, in memory",
            ours["all_domains"]["seconds"],
            ar_all,
            None,
            (ours["all_domains"]["delta_mb"], ar["all_domains"]["delta_mb"], None),
            f"overall + {len(ar['all_domains']['domains']) - 1} domains: votes -> counts -> "
            f"fit -> sandwich; ar cold {fmt_time(ar['all_domains']['cold'])}",
        )
        steady, before = real_db["steady"], real_db["before_vacuum"]
        table.add(
            "all-domain tables, Django refit",
            steady["cold"]["seconds"],
            ar_all,
            None,
            (steady["cold"]["peak_mb"], None, None),
            f"refit(force=True), tallies built, fresh process, median of 3 "
            f"{_runs(steady['cold']['runs'])}; {steady['tallies']:,} tallies; "
            f"before VACUUM ANALYZE {fmt_time(before['cold']['seconds'])}",
        )
        table.add(
            "  same, warm refit process",
            steady["warm"]["seconds"],
            ar_all,
            None,
            (steady["warm"]["peak_mb"], None, None),
            f"2nd refit in the process, median of 3 {_runs(steady['warm']['runs'])}",
        )
        first = real_db["first"]
        table.add(
            "  first refit, tallying all votes",
            first["seconds"],
            ar_all,
            None,
            (first["peak_mb"], None, None),
            f"{first['votes_added']:,} pending votes -> {first['tallies']:,} pair tallies",
        )
        table.add(
            "  import CSV (info)",
            real_db["import_seconds"],
            None,
            None,
            (None, None, None),
            "manage.py import_votes, whole command",
        )
    table.start(
        f"stored votes, refit() on PostgreSQL ({datasets['big']['models']} models, "
        f"overall + {len(results['domain_rates'])} labelled domains)"
    )
    small_n = _short(results["args"]["small_votes"])

    def stored_rows(n: str, part: dict, relative: dict | None) -> None:
        add = part["add"]
        for kind, label in (("cold", "fresh process"), ("warm", "warm process")):
            versus = ""
            if relative is not None:
                ratio = add[kind]["seconds"] / relative["add"][kind]["seconds"]
                versus = f"; {ratio:.2f}x the {small_n} figure"
            table.add(
                f"{n} stored, +1,000 votes: refit, {label}",
                add[kind]["seconds"],
                None,
                None,
                (add[kind]["peak_mb"], None, None),
                f"median of 3 {_runs(add[kind]['runs'])}; {add['tallies']:,} tallies" + versus,
            )

    small = scale["small"]
    table.add(
        f"{small_n} stored, first refit",
        small["first"]["seconds"],
        None,
        None,
        (small["first"]["peak_mb"], None, None),
        f"tallies {small['first']['votes_added']:,} pending votes",
    )
    stored_rows(small_n, small, None)
    if "big" in scale:
        big = scale["big"]
        big_n = _short(results["args"]["big_votes"])
        table.add(
            f"{big_n} stored, COPY load (info)",
            big["load"]["seconds"],
            None,
            None,
            (None, None, None),
            f"{big['load']['votes']:,} votes + {big['load']['labels']:,} labels",
        )
        table.add(
            f"{big_n} stored, first refit",
            big["first"]["seconds"],
            None,
            None,
            (big["first"]["peak_mb"], None, None),
            f"tallies {big['first']['votes_added']:,} pending votes; then VACUUM ANALYZE "
            f"{fmt_time(big['vacuum']['seconds'])}",
        )
        stored_rows(big_n, big, small)

    notes = [
        "Times: median of repeated runs after a cold one (JAX) or of >= 3 runs; a bootstrap is "
        "one run; refits: median over 3 processes. ar/ours, choix/ours: times longer than ours.",
        "Peak MB: algorithm rows: peak RSS above the RSS at the stage's start (ar bootstrap: "
        "with its worker processes); Django rows: whole refit-process peak RSS.",
    ]
    real_ar = engines["real"]["arena_rank"]
    versions = real_ar["versions"]
    notes.append(
        f"arena-rank {versions['arena_rank']} (jax {versions['jax']}, numpy {versions['numpy']}, "
        f"x64 {real_ar['jax_x64']}, {real_ar['devices'][0]}), default tolerances; "
        f"choix {engines['real']['ours']['versions']['choix']}: ilsr_pairwise_dense on "
        "wins + draws/2; ours: numpy "
        f"{engines['real']['ours']['versions']['numpy']}."
    )
    notes.append(
        "Process RSS before the first stage (interpreter, libraries, votes loaded): "
        + "; ".join(
            f"{datasets[k]['label'].split(':')[0]} "
            f"{_short(datasets[k]['votes'])}: ours "
            f"{engines[k]['ours']['baseline_rss_mb']:.0f} MB, arena-rank "
            f"{engines[k]['arena_rank']['baseline_rss_mb']:.0f} MB"
            for k in engines
        )
        + "."
    )
    for key in engines:
        agree = agreement(engines[key]["ours"], engines[key]["arena_rank"])
        engines[key]["agreement"] = agree
        notes.append(
            f"Agreement, {datasets[key]['label']}: max |rating - ours| (centred) choix "
            f"{agree['choix']:.1g}; arena-rank {agree['rating_default']:.2g} "
            f"({agree['worst_model']}, {agree['worst_model_votes']:.0f} votes), "
            f"{agree['rating_default_300']:.2g} over models with >= 300 votes, "
            f"{agree['rating_tight']:.1g} when run to convergence (ftol=0, gtol=1e-12); "
            f"sandwich half-widths {agree['halfwidth_300']:.2g} points, "
            f"{agree['halfwidth_rel_300']:.1%} (>= 300 votes)."
        )
    notes.append(
        f"Total {results['total_seconds'] / 60:.1f} min; load average "
        f"{results['machine']['load'][0]:.2f} before, {results['load_after'][0]:.2f} after."
    )
    return table, notes


def targets(results: dict) -> list[str]:
    out = []
    real_db = results["django_real"]
    ar_all = results["engines"]["real"]["arena_rank"]["all_domains"]["seconds"]
    for kind in ("cold", "warm"):
        ours = real_db["steady"][kind]["seconds"]
        ratio = ar_all / ours
        out.append(
            f"[{'met' if ratio >= 20 else 'MISSED'}] all-domain tables, real votes, "
            f"{kind} refit process: Django refit {fmt_time(ours)} vs arena-rank "
            f"{fmt_time(ar_all)} = {ratio:.0f}x faster (target >= 20x)"
        )
    scale = results["django_scale"]
    if "big" in scale:
        big_n = _short(results["args"]["big_votes"])
        small_n = _short(results["args"]["small_votes"])
        for kind in ("cold", "warm"):
            add = scale["big"]["add"][kind]
            small = scale["small"]["add"][kind]
            out.append(
                f"[{'met' if add['seconds'] < 2 else 'MISSED'}] {kind} refit after +1,000 "
                f"votes with {big_n} stored: {fmt_time(add['seconds'])} (target < 2 s)"
            )
            out.append(
                f"[{'met' if add['peak_mb'] < 500 else 'MISSED'}] its peak RSS "
                f"{add['peak_mb']:.0f} MB (target < 500 MB)"
            )
            out.append(
                f"[info] vs {small_n} stored: {fmt_time(small['seconds'])} -> "
                f"{add['seconds'] / small['seconds']:.2f}x (target: barely slower)"
            )
    return out


def orchestrate(args: argparse.Namespace) -> None:
    if args.from_json:
        results = json.loads(Path(args.from_json).read_text())
    else:
        workdir = Path(tempfile.mkdtemp(prefix="arena-bench-"))
        (workdir / "var").mkdir()
        os.environ["ARENA_DATA_DIR"] = str(workdir / "var")  # this process sets Django up too
        runner = Runner(workdir, workdir / "bench.log", args.pg)
        ensure_bench_venv(runner.log)
        results = measure(args, runner, workdir)
        if not args.keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    table, notes = build_table(results)
    results["table"] = table.records
    print()
    print(table.render())
    print()
    for note in notes:
        print(textwrap.fill(note, width=118, subsequent_indent="  "))
    print()
    for line in targets(results):
        print(line)
    if args.json and not args.from_json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=1, default=_jsonable))
        print(f"JSON: {args.json}")


def _git_head() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "ratings", "arena"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"
    return head + (" (+ uncommitted changes in ratings/ or arena/)" if dirty else "")


def _short(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return f"{n:,}"


def _runs(runs: list[float]) -> str:
    return "[" + ", ".join(fmt_time(r) for r in runs) + "]"


def _jsonable(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


def _version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip the 10M-vote data set")
    parser.add_argument("--json", help="also write every figure to this JSON file")
    parser.add_argument("--real", default=str(DEFAULT_REAL), help="LMArena votes CSV")
    parser.add_argument(
        "--pg",
        default="postgres://postgres@127.0.0.1:5432",
        help="PostgreSQL server URL (databases arena_bench, arena_bench_scale)",
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the bench databases")
    parser.add_argument("--keep-workdir", action="store_true", help="keep data files and log")
    parser.add_argument(
        "--ar-rounds",
        type=int,
        default=10,
        help="arena-rank bootstrap: runs 2 and 2+N rounds and extrapolates",
    )
    parser.add_argument("--from-json", help="print the table of an earlier --json run")
    parser.add_argument("--mid-models", type=int, default=100)
    parser.add_argument("--mid-votes", type=int, default=1_000_000)
    parser.add_argument("--big-models", type=int, default=300)
    parser.add_argument("--big-votes", type=int, default=10_000_000)
    parser.add_argument("--small-votes", type=int, default=10_000)
    # Internal: subprocess workers.
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--domains", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--force", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--stop", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--sql", help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = WORKERS[args.worker](args)
        Path(args.out).write_text(json.dumps(result, default=_jsonable))
        return
    orchestrate(args)


if __name__ == "__main__":
    main()

"""Time LMArena's ``arena-rank`` on one data set; runs under ``.venv-bench`` (see bench/ratings.py).

    .venv-bench/bin/python bench/_arena_rank_worker.py DATA.npz OUT.json [--boot 2,12] [--domains]

``DATA.npz`` is written by ``bench/ratings.py``: ``names`` (model names), ``a``/``b`` (model
codes), ``outcome`` (0 model_a, 1 model_b, 2 tie, 3 both_bad) and ``domains`` (bit k set: the
vote is in ``domain_slugs[k]``). The votes become the pandas DataFrame arena-rank expects
(columns model_a, model_b, winner, as in LMArena's published data); building it is not timed.

Every stage runs once cold (JIT compilation included) and then warm; the warm median is the
figure, the cold run is reported beside it. All JAX results are forced with
``jax.block_until_ready`` inside the timed region (JAX dispatches asynchronously). Compile time
spent inside the warm runs is recorded from JAX's monitoring events: arena-rank's ``fit`` closes
over the data set, so XLA compiles a new program on every call.

The bootstrap uses arena-rank's own ``compute_ratings_and_cis(ci_method="bootstrap")``, which
fits every round in a ``multiprocessing.Pool`` of ``cpu_count()`` workers. With the default
``fork`` start method the pool deadlocks (JAX's runtime is multithreaded before the fork: the
children never return), so the worker switches multiprocessing to ``spawn`` first. It runs the
bootstrap with two round counts R1 < R2 and extrapolates 1000 rounds as
``T(R1) + (T(R2) - T(R1)) / (R2 - R1) * (1000 - R1)`` (pool start-up counted once).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time

OUTCOMES = ("model_a", "model_b", "tie", "both_bad")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("out")
    parser.add_argument("--boot", default="2,12", help="R1,R2 bootstrap rounds (0 to skip)")
    parser.add_argument("--domains", action="store_true", help="also time the per-domain tables")
    parser.add_argument("--fit-repeats", type=int, default=2)
    args = parser.parse_args()

    mp.set_start_method("spawn", force=True)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _measure import Measure, rss_mb, run_stage

    started = time.perf_counter()
    import jax
    import numpy as np
    import pandas as pd
    from arena_rank.models.bradley_terry import BradleyTerry
    from arena_rank.utils.data_utils import PairDataset

    compile_seconds = [0.0]

    def listener(event: str, duration: float, **_: object) -> None:
        if event.startswith("/jax/core/compile/"):
            compile_seconds[0] += duration

    jax.monitoring.register_event_duration_secs_listener(listener)
    import_seconds = time.perf_counter() - started

    started = time.perf_counter()
    data = np.load(args.data)
    names = np.array(data["names"].tolist(), dtype=object)
    outcomes = np.array(OUTCOMES, dtype=object)
    frame = pd.DataFrame(
        {
            "model_a": names[data["a"]],
            "model_b": names[data["b"]],
            "winner": outcomes[data["outcome"]],
        }
    )
    bits = data["domains"]
    slugs = [str(s) for s in data["domain_slugs"]]
    load_seconds = time.perf_counter() - started
    result: dict[str, object] = {
        "engine": "arena-rank",
        "versions": {
            "jax": jax.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "arena_rank": _version("arena-rank"),
        },
        "jax_x64": bool(jax.config.jax_enable_x64),
        "devices": [str(d) for d in jax.devices()],
        "import_seconds": import_seconds,
        "load_seconds": load_seconds,
        "baseline_rss_mb": rss_mb(),
        "votes": len(frame),
        "frame_dtypes": {k: str(v) for k, v in frame.dtypes.items()},
    }

    def timed(function, *, warmup=1, repeats=1, block=None):  # type: ignore[no-untyped-def]
        before = compile_seconds[0]
        cold_marker: dict[str, float] = {}

        def wrapped():  # type: ignore[no-untyped-def]
            mark = compile_seconds[0]
            value = function()
            if block is not None:
                block(value)
            cold_marker.setdefault("first", compile_seconds[0] - mark)
            cold_marker["last"] = compile_seconds[0] - mark
            return value

        stats, value = run_stage(
            wrapped, warmup=warmup, min_repeats=repeats, max_repeats=repeats, budget=0
        )
        stats["cold_compile_seconds"] = cold_marker.get("first")
        stats["warm_compile_seconds"] = cold_marker.get("last")
        stats["compile_seconds_total"] = compile_seconds[0] - before
        return stats, value

    stats, dataset = timed(
        lambda: PairDataset.from_pandas(frame),
        repeats=2,
        block=lambda ds: jax.block_until_ready((ds.pairs, ds.opt_weights, ds.counts)),
    )
    stats["rows"] = int(dataset.pairs.shape[0])
    result["aggregate"] = stats

    def fit():  # type: ignore[no-untyped-def]
        model = BradleyTerry(len(dataset.competitors))
        model.fit(dataset)
        return model

    stats, model = timed(
        fit, repeats=args.fit_repeats, block=lambda m: jax.block_until_ready(m.params)
    )
    result["fit"] = stats
    result["competitors"] = list(dataset.competitors)
    result["ratings"] = [float(x) for x in np.asarray(model.params["ratings"]) * model.alpha + 1000]
    # Untimed reference: the same fit run to convergence (the defaults stop on ftol=1e-9, which
    # can leave a model with few votes far from its MLE), to check both engines agree.
    reference = BradleyTerry(len(dataset.competitors), ftol=0.0, gtol=1e-12, max_iter=20_000)
    reference.fit(dataset)
    result["ratings_tight"] = [
        float(x) for x in np.asarray(reference.params["ratings"]) * reference.alpha + 1000
    ]

    stats, table = timed(
        lambda: model.compute_ratings_and_cis(dataset, ci_method="sandwich"),
        repeats=3,
        block=lambda r: jax.block_until_ready((r["rating_lower"], r["rating_upper"])),
    )
    result["sandwich"] = stats
    result["sandwich_lower"] = [float(x) for x in np.asarray(table["rating_lower"])]
    result["sandwich_upper"] = [float(x) for x in np.asarray(table["rating_upper"])]

    rounds = [int(r) for r in args.boot.split(",") if int(r) > 0]
    if len(rounds) == 2:
        runs = {}
        for count in rounds:
            with Measure() as measure:
                out = model.compute_ratings_and_cis(
                    dataset, ci_method="bootstrap", num_bootstrap=count, seed=42
                )
                jax.block_until_ready((out["rating_lower"], out["rating_upper"]))
            runs[count] = measure
        r1, r2 = rounds
        per_round = (runs[r2].seconds - runs[r1].seconds) / (r2 - r1)
        result["bootstrap"] = {
            "rounds": rounds,
            "seconds_by_rounds": {str(k): m.seconds for k, m in runs.items()},
            "per_round_seconds": per_round,
            "extrapolated_1000_seconds": runs[r1].seconds + per_round * (1000 - r1),
            "delta_mb": max(m.delta_mb for m in runs.values()),
            "peak_mb": max(m.peak_mb for m in runs.values()),
            "workers": mp.cpu_count(),
            "start_method": mp.get_start_method(),
        }

    if args.domains:
        masks = {"overall": None}
        for k, slug in enumerate(slugs):
            masks[slug] = (bits & (1 << k)) != 0

        def all_domains():  # type: ignore[no-untyped-def]
            tables = {}
            for slug, mask in masks.items():
                part = frame if mask is None else frame[mask]
                ds = PairDataset.from_pandas(part)
                m = BradleyTerry(len(ds.competitors))
                m.fit(ds)
                tables[slug] = m.compute_ratings_and_cis(ds, ci_method="sandwich")
            return tables

        stats, _ = timed(
            all_domains,
            repeats=1,
            block=lambda t: jax.block_until_ready([v["rating_upper"] for v in t.values()]),
        )
        stats["domains"] = list(masks)
        result["all_domains"] = stats

    with open(args.out, "w") as handle:
        json.dump(result, handle)


def _version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


if __name__ == "__main__":
    main()

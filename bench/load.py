"""Votes per second through the full HTTP path, with every vote accounted for.

    .venv/bin/python bench/load.py [--mode battles|votes] [--seconds 60] [--voters 64]
                                   [--web-processes 2]

Starts the production stack of its own (bench/stack.py: a private PostgreSQL cluster and Redis,
uvicorn in --web-processes processes, a separate Celery worker with beat; ARENA_PRODUCTION=1,
DEBUG off), loads the real LLMFAO answer pool from ../shared/data when present (a synthetic
pool of the same size of answer otherwise), then runs --voters concurrent voters for --seconds.
Each voter is a browser: it opens the arena page once (voter cookie and CSRF token), then loops
over full battles:

    POST /battles/ (a random pool prompt)  ->  websocket /ws/battles/<id>/ until "complete"
    (pool answers streamed with ARENA_POOL_CHUNK_DELAY=0)  ->  POST /battles/<id>/vote

With --mode votes, complete battles are first written to the database in each voter's name
(bench/_prepared_battles.py) and the voters then only send their votes, one after another:
the vote requests alone, through the same HTTP path.

Afterwards it checks, in the database, that every acknowledged vote (201) is stored with its
outcome, that nothing else was stored, that no battle has two votes, and that no response was a
5xx; it prints throughput and p50/p99 latency of each step and of the whole battle, and the CPU
seconds used by the load generator and by the server processes (all on the same machine).
Exit status 1 if any integrity check fails.

The load generator is the same code the CI load test (tests/faults/test_load.py) runs briefly.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

import aiohttp  # noqa: E402
import uvloop  # noqa: E402

from bench.stack import Stack, missing_servers  # noqa: E402

OUTCOMES = ("model_a", "model_b", "tie", "both_bad")
# What a request can fail with, client side (IncompleteReadError is an EOFError).
CLIENT_ERRORS = (TimeoutError, aiohttp.ClientError, OSError, EOFError, asyncio.LimitOverrunError)
STEPS = ("create", "stream", "vote", "battle")


@dataclass
class LoadResult:
    started: float = 0.0
    measured_from: float = 0.0
    ended: float = 0.0
    acknowledged: dict[str, str] = field(default_factory=dict)  # battle id -> outcome
    acknowledged_at: list[float] = field(default_factory=list)  # perf_counter of each
    battles: set[str] = field(default_factory=set)  # every battle this run opened
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STEPS})
    # Votes mode: (seconds from the measured window's start to when the vote was due, latency
    # in ms) of each measured vote, for the per-second view of where the slow ones were.
    vote_times: list[tuple[float, float]] = field(default_factory=list)
    measured_votes: int = 0

    @property
    def measured_seconds(self) -> float:
        return self.ended - self.measured_from

    @property
    def votes_per_second(self) -> float:
        return self.measured_votes / self.measured_seconds if self.measured_seconds else 0.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


# uvicorn closes a connection idle for 5 s; one idle for longer than this is not reused, so a
# request is never written into a connection the server is closing.
IDLE_REUSE_SECONDS = 2.0


class Connections:
    """Keep-alive HTTP/1.1 connections for the vote requests, on asyncio's streams.

    The load generator shares the two cores with the arena, and aiohttp's client cost it about
    0.5 ms of CPU per request, a tenth of what the arena spends on a vote; the votes go out
    through this small client instead (pages and websockets still go through aiohttp). It
    speaks what the arena answers: a status line, headers, and a body of Content-Length bytes
    or in chunks. A connection is reused once its answer has been read whole.
    """

    def __init__(self, base: str) -> None:
        url = urllib.parse.urlsplit(base)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []

    async def post(self, path: str, headers: dict[str, str], body: bytes) -> int:
        """Send a POST; return the status once the whole answer is read."""
        while self.idle:
            reader, writer, idle_since = self.idle.pop()
            if not reader.at_eof() and time.monotonic() - idle_since < IDLE_REUSE_SECONDS:
                break
            writer.close()  # closed by the server, or soon to be (its keep-alive timeout)
        else:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        head = "".join(
            [
                f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n",
                *(f"{name}: {value}\r\n" for name, value in headers.items()),
                f"Content-Length: {len(body)}\r\n\r\n",
            ]
        )
        try:
            async with asyncio.timeout(60):
                writer.write(head.encode("latin-1") + body)
                lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                status = int(lines[0].split(" ", 2)[1])
                fields = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    fields[name.strip().lower()] = value.strip().lower()
                if "content-length" in fields:
                    await reader.readexactly(int(fields["content-length"]))
                elif fields.get("transfer-encoding") == "chunked":
                    while size := int((await reader.readuntil(b"\r\n"))[:-2], 16):
                        await reader.readexactly(size + 2)
                    await reader.readuntil(b"\r\n")
                else:
                    await reader.read()  # the body ends with the connection
                    fields["connection"] = "close"
        except BaseException:
            writer.close()
            raise
        if fields.get("connection") == "close":
            writer.close()
        else:
            self.idle.append((reader, writer, time.monotonic()))
        return status

    def close(self) -> None:
        for _reader, writer, _idle_since in self.idle:
            writer.close()
        self.idle.clear()


class Voter:
    """One browser: its cookies, its CSRF token, and a loop of full battles."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base: str,
        rng: random.Random,
        voter_cookie: str | None = None,
        connections: Connections | None = None,
    ) -> None:
        self.session = session
        self.connections = connections or Connections(base)
        self.base = base
        self.ws_base = "ws" + base[len("http") :]
        self.rng = rng
        self.headers: dict[str, str] = {}
        # A voter whose battles were prepared for it (--mode votes) already has its cookie.
        self.voter_cookie = voter_cookie

    async def open_page(self, result: LoadResult) -> None:
        sent = {"arena_voter": self.voter_cookie} if self.voter_cookie else {}
        headers = {"Cookie": f"arena_voter={self.voter_cookie}"} if self.voter_cookie else {}
        async with self.session.get(self.base + "/", headers=headers) as response:
            await response.read()
            self._count(result, response.status, "GET /")
            if response.status != 200:
                raise RuntimeError(f"GET / answered {response.status}")
            cookies = sent | {name: morsel.value for name, morsel in response.cookies.items()}
        self.headers = {
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
            "X-CSRFToken": cookies["csrftoken"],
            "Accept": "application/json",
            "Referer": self.base + "/",
        }

    def _count(self, result: LoadResult, status: int, what: str) -> None:
        result.statuses[status] += 1
        if status >= 500:
            result.server_errors.append(f"{what}: {status}")

    async def battle(self, result: LoadResult, prompt_ids: list[int], measure: bool) -> None:
        t0 = time.perf_counter()
        data = {"pool_prompt": str(self.rng.choice(prompt_ids))}
        async with self.session.post(
            self.base + "/battles/", data=data, headers=self.headers
        ) as response:
            body = await response.read()
            self._count(result, response.status, "POST /battles/")
            if response.status != 201:
                result.failures[f"create {response.status}"] += 1
                return
            battle = json.loads(body)
        result.battles.add(battle["id"])
        t1 = time.perf_counter()
        async with self.session.ws_connect(
            self.ws_base + battle["ws"],
            headers={"Origin": self.base, "Cookie": self.headers["Cookie"]},
        ) as ws:
            votable = False
            async for message in ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                frame = json.loads(message.data)
                if frame["type"] == "complete":
                    votable = bool(frame["votable"])
                    break
                if frame["type"] == "error":
                    result.failures[f"stream error: {frame['message']}"] += 1
                    return
        if not votable:
            result.failures["stream ended without a votable battle"] += 1
            return
        t2 = time.perf_counter()
        if not await self.vote(result, battle["id"]):
            return
        t3 = time.perf_counter()
        if measure:
            result.measured_votes += 1
            for step, seconds in zip(STEPS, (t1 - t0, t2 - t1, t3 - t2, t3 - t0), strict=True):
                result.latencies[step].append(seconds * 1000)

    async def vote(self, result: LoadResult, battle_id: str) -> bool:
        """POST a random verdict; record it as acknowledged if the arena answered 201."""
        outcome = self.rng.choice(OUTCOMES)
        status = await self.connections.post(
            f"/battles/{battle_id}/vote",
            {**self.headers, "Content-Type": "application/x-www-form-urlencoded"},
            f"outcome={outcome}".encode(),
        )
        self._count(result, status, "POST vote")
        if status != 201:
            result.failures[f"vote {status}"] += 1
            return False
        result.acknowledged[battle_id] = outcome
        result.acknowledged_at.append(time.perf_counter())
        return True


def _session() -> aiohttp.ClientSession:
    """One HTTP client for all simulated browsers; each sends its own cookies."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, force_close=False),
        timeout=aiohttp.ClientTimeout(total=60),
        cookie_jar=aiohttp.DummyCookieJar(),
    )


async def run_load(
    base: str,
    *,
    prompt_ids: list[int],
    voters: int,
    seconds: float,
    warmup: float = 0.0,
    seed: int = 1,
    stop: asyncio.Event | None = None,
) -> LoadResult:
    """Run `voters` concurrent voters for `warmup` + `seconds`; measure the last `seconds`.

    A battle that is under way at the end is finished (and its vote counted) before returning.
    """
    result = LoadResult()
    connections = Connections(base)
    async with _session() as session:
        rng = random.Random(seed)
        crowd = [
            Voter(session, base, random.Random(rng.random()), connections=connections)
            for _ in range(voters)
        ]
        await asyncio.gather(*(v.open_page(result) for v in crowd))
        result.started = time.perf_counter()
        result.measured_from = result.started + warmup
        deadline = result.measured_from + seconds

        async def loop(voter: Voter) -> None:
            while time.perf_counter() < deadline and not (stop and stop.is_set()):
                began = time.perf_counter()
                try:
                    await voter.battle(result, prompt_ids, measure=began >= result.measured_from)
                except CLIENT_ERRORS as exc:
                    result.failures[f"{type(exc).__name__}"] += 1
                    await asyncio.sleep(0.05)

        await asyncio.gather(*(loop(v) for v in crowd))
        result.ended = time.perf_counter()
    connections.close()
    return result


def _prepared_voters(
    session: aiohttp.ClientSession,
    base: str,
    crowd: list[dict[str, object]],
    connections: Connections,
    seed: int,
) -> list[tuple[Voter, list[str]]]:
    """The prepared voters (bench/_prepared_battles.py), each with its battles to vote on."""
    rng = random.Random(seed)
    return [
        (
            Voter(
                session,
                base,
                random.Random(rng.random()),
                str(entry["cookie"]),
                connections=connections,
            ),
            list(entry["battles"]),  # type: ignore[call-overload]
        )
        for entry in crowd
    ]


async def _timed_vote(voter: Voter, result: LoadResult, battle_id: str, since: float) -> None:
    """Send one vote; measure it, its latency counted from `since`, if it was acknowledged and
    `since` falls in the measured window."""
    result.battles.add(battle_id)
    try:
        voted = await voter.vote(result, battle_id)
    except CLIENT_ERRORS as exc:
        result.failures[f"{type(exc).__name__}"] += 1
        return
    if voted and since >= result.measured_from:
        latency = (time.perf_counter() - since) * 1000
        result.measured_votes += 1
        result.latencies["vote"].append(latency)
        result.vote_times.append((since - result.measured_from, latency))


async def run_votes(
    base: str,
    *,
    crowd: list[dict[str, object]],
    seconds: float,
    warmup: float = 0.0,
    seed: int = 1,
) -> LoadResult:
    """Each prepared voter votes on its own battles, one after another, for `warmup` +
    `seconds`; measure the last `seconds`. Only the vote requests are timed."""
    result = LoadResult()
    connections = Connections(base)
    async with _session() as session:
        voters = _prepared_voters(session, base, crowd, connections, seed)
        await asyncio.gather(*(voter.open_page(result) for voter, _battles in voters))
        result.started = time.perf_counter()
        result.measured_from = result.started + warmup
        deadline = result.measured_from + seconds

        async def loop(voter: Voter, battles: list[str]) -> None:
            for battle_id in battles:
                began = time.perf_counter()
                if began >= deadline:
                    return
                await _timed_vote(voter, result, battle_id, began)
            result.failures["a voter ran out of prepared battles"] += 1

        await asyncio.gather(*(loop(voter, battles) for voter, battles in voters))
        result.ended = time.perf_counter()
    connections.close()
    return result


async def run_votes_at_rate(
    base: str,
    *,
    crowd: list[dict[str, object]],
    rate: float,
    seconds: float,
    warmup: float = 0.0,
    seed: int = 1,
) -> LoadResult:
    """Votes sent at `rate` per second for `warmup` + `seconds`, whatever the answers' pace:
    an open loop, as real voters arrive. The prepared voters take turns; a vote is sent when it
    is due even if earlier ones are unanswered, and its latency counts from when it was due, so
    a server that falls behind shows it in the percentiles instead of slowing the load down.
    Votes due in the last `seconds` are measured."""
    result = LoadResult()
    connections = Connections(base)
    async with _session() as session:
        voters = _prepared_voters(session, base, crowd, connections, seed)
        await asyncio.gather(*(voter.open_page(result) for voter, _battles in voters))
        in_flight: set[asyncio.Task[None]] = set()
        result.started = time.perf_counter()
        result.measured_from = result.started + warmup
        for i in range(int(rate * (warmup + seconds))):
            due = result.started + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            voter, battles = voters[i % len(voters)]
            if not battles:
                result.failures["a voter ran out of prepared battles"] += 1
                continue
            task = asyncio.create_task(_timed_vote(voter, result, battles.pop(0), due))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        await asyncio.gather(*in_flight)
        result.ended = time.perf_counter()
    connections.close()
    return result


def prepare_battles(
    stack: Stack, *, voters: int, per_voter: int, seed: int
) -> list[dict[str, object]]:
    """Complete battles in each voter's name, written straight to the stack's database."""
    done = subprocess.run(
        [
            sys.executable,
            str(BASE_DIR / "bench" / "_prepared_battles.py"),
            str(voters),
            str(per_voter),
            str(seed),
        ],
        cwd=BASE_DIR,
        env=stack.env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@dataclass
class Integrity:
    acknowledged: int
    stored: int
    duplicates: int
    lost: list[str]
    unacknowledged: list[str]
    wrong_outcome: list[str]
    server_errors: int

    @property
    def ok(self) -> bool:
        return not (self.duplicates or self.lost or self.unacknowledged or self.wrong_outcome) and (
            self.server_errors == 0
        )


def check_integrity(stack: Stack, result: LoadResult) -> Integrity:
    """Compare what the voters were told with what the database holds for this run's battles."""
    rows = [
        row
        for row in stack.sql(
            "SELECT battle_id::text, outcome FROM arena_vote WHERE battle_id IS NOT NULL"
        )
        if row[0] in result.battles
    ]
    stored: dict[str, str] = {}
    duplicates = 0
    for battle_id, outcome in rows:
        if battle_id in stored:
            duplicates += 1
        stored[str(battle_id)] = str(outcome)
    acknowledged = result.acknowledged
    return Integrity(
        acknowledged=len(acknowledged),
        stored=len(rows),
        duplicates=duplicates,
        lost=sorted(set(acknowledged) - set(stored)),
        unacknowledged=sorted(set(stored) - set(acknowledged)),
        wrong_outcome=sorted(
            b for b in acknowledged if b in stored and stored[b] != acknowledged[b]
        ),
        server_errors=len(result.server_errors),
    )


def machine_speed() -> float:
    """Seconds a fixed pure-Python loop (10 million additions) takes on this process's core.

    This machine's speed drifts (up to 2.4x within minutes, docs/performance.md "The machine"),
    and the same code's CPU per vote with it; printed before and after each run, it tells a
    slow phase of the machine from a slower arena."""
    began = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.perf_counter() - began


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of the given processes and their children that exited."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15]) / ticks  # utime stime cutime cstime
    return total


def _group_pids(leader: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == leader:  # process group id
                pids.append(int(entry.name))
    return pids


def _postgres_pids(stack: Stack) -> list[int]:
    pid_file = stack.postgres.data / "postmaster.pid"
    try:
        leader = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return []
    return [leader] + [
        int(e.name)
        for e in Path("/proc").iterdir()
        if e.name.isdigit() and _parent(int(e.name)) == leader
    ]


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def prompt_ids_of(stack: Stack) -> list[int]:
    rows = stack.sql(
        "SELECT prompt_id FROM arena_poolanswer WHERE text <> '' GROUP BY prompt_id "
        "HAVING count(*) >= 2 ORDER BY prompt_id"
    )
    return [int(r[0]) for r in rows]  # type: ignore[call-overload]


def per_second(result: LoadResult) -> list[dict[str, float]]:
    """Votes by the second of the measured window they were due in: count, p50, p99, max."""
    seconds: dict[int, list[float]] = {}
    for due, latency in result.vote_times:
        seconds.setdefault(int(due), []).append(latency)
    return [
        {
            "second": second,
            "votes": len(values),
            "p50": percentile(values, 50),
            "p99": percentile(values, 99),
            "max": max(values),
        }
        for second, values in sorted(seconds.items())
    ]


def report(result: LoadResult, integrity: Integrity, cpu: dict[str, float], mode: str) -> str:
    what = "full battles per second" if mode == "battles" else "vote requests per second"
    lines = [
        f"measured window: {result.measured_seconds:.1f} s, {result.measured_votes} votes "
        f"acknowledged: {result.votes_per_second:.1f} votes/s ({what})",
        "latency (ms)      p50      p90      p99      max",
    ]
    for step in STEPS:
        values = result.latencies[step]
        if not values:
            continue
        lines.append(
            f"  {step:<10} {percentile(values, 50):8.1f} {percentile(values, 90):8.1f} "
            f"{percentile(values, 99):8.1f} {max(values, default=float('nan')):8.1f}"
        )
    # Where the slow votes were: a few bad seconds (a refit, a voter scan) or all along.
    slowest = sorted(per_second(result), key=lambda s: s["p99"], reverse=True)[:5]
    if slowest:
        lines.append(
            "slowest seconds (second of the window: p99 / max ms): "
            + ", ".join(f"{s['second']}: {s['p99']:.0f} / {s['max']:.0f}" for s in slowest)
        )
    lines.append(
        f"integrity: acknowledged {integrity.acknowledged}, stored {integrity.stored}, "
        f"duplicates {integrity.duplicates}, lost {len(integrity.lost)}, stored but not "
        f"acknowledged {len(integrity.unacknowledged)}, wrong outcome "
        f"{len(integrity.wrong_outcome)}, 5xx {integrity.server_errors} -> "
        + ("OK" if integrity.ok else "FAILED")
    )
    lines.append(f"responses by status: {dict(sorted(result.statuses.items()))}")
    if result.failures:
        lines.append(f"not completed: {dict(result.failures)}")
    if cpu:
        wall = result.ended - result.started
        lines.append(
            "CPU seconds over the run ("
            + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items())
            + f") in {wall:.1f} s wall on {os.cpu_count()} cores"
        )
        votes = len(result.acknowledged)  # the whole run's votes: CPU is measured over it all
        if votes:
            lines.append(
                "CPU ms per acknowledged vote ("
                + ", ".join(f"{k} {1000 * v / votes:.1f}" for k, v in cpu.items())
                + f"): {1000 * sum(cpu.values()) / votes:.1f} in all"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="measured window")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured start")
    parser.add_argument("--voters", type=int, default=64, help="concurrent voters")
    parser.add_argument("--web-processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--http-threads", type=int, default=None, help="ARENA_HTTP_THREADS of the web processes"
    )
    parser.add_argument("--pool", type=Path, default=None, help="answer pool folder")
    parser.add_argument("--synthetic", action="store_true", help="use a synthetic answer pool")
    parser.add_argument("--json", type=Path, default=None, help="save the figures here")
    parser.add_argument(
        "--mode",
        choices=("battles", "votes"),
        default="battles",
        help="battles: each voter runs full battles (create, stream, vote); votes: battles are "
        "prepared complete in the database and the voters only send their votes",
    )
    parser.add_argument(
        "--prepared-rate",
        type=float,
        default=1200.0,
        help="--mode votes: prepare enough battles for this many votes per second",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="--mode votes: send votes at this many per second (an open loop: the voters take "
        "turns, a vote goes when due, latency counts from then) instead of each voter sending "
        "its next vote when the last is answered",
    )
    args = parser.parse_args()
    if args.rate is not None and args.mode != "votes":
        parser.error("--rate needs --mode votes")
    missing = missing_servers()
    if missing:
        print(f"cannot start a private stack: {missing}", file=sys.stderr)
        return 2
    pool = args.pool
    shared_pool = Path(os.getenv("ARENA_SHARED_DATA", BASE_DIR.parent / "shared" / "data"))
    shared_pool = shared_pool / "llmfao-answers"
    if pool is None and not args.synthetic and (shared_pool / "results.jsonl").is_file():
        pool = shared_pool
    stack = Stack(
        Path(tempfile.mkdtemp(prefix="arena-load-")),
        web_processes=args.web_processes,
        # The production refit cadence (the fault tests shorten it to see catch-ups quickly).
        extra_env={
            "ARENA_REFIT_DEBOUNCE_SECONDS": "5",
            "ARENA_REFIT_CATCH_UP_SECONDS": "30",
            **({"ARENA_HTTP_THREADS": str(args.http_threads)} if args.http_threads else {}),
        },
    )
    try:
        stack.start(pool)
        prompt_ids = prompt_ids_of(stack)
        print(
            f"stack up: {args.web_processes} uvicorn processes, 1 Celery worker, private "
            f"PostgreSQL and Redis; pool: {pool or 'synthetic'} ({len(prompt_ids)} prompts); "
            f"{args.voters} voters"
            + (f" taking turns at {args.rate:g} votes/s" if args.rate is not None else "")
            + f", {args.warmup:g} s warm-up + {args.seconds:g} s measured",
            flush=True,
        )
        server_groups = [p.pid for p in (stack.web, stack.worker) if p is not None]
        if args.mode == "votes":
            prepared_rate = args.prepared_rate if args.rate is None else args.rate
            per_voter = math.ceil(prepared_rate * (args.seconds + args.warmup) / args.voters)
            began = time.perf_counter()
            crowd = prepare_battles(stack, voters=args.voters, per_voter=per_voter, seed=1)
            print(
                f"prepared {args.voters} x {per_voter} complete battles in "
                f"{time.perf_counter() - began:.0f} s",
                flush=True,
            )
        speed_before = machine_speed()
        before = {
            "load generator": sum(os.times()[:2]),
            "web": _cpu_seconds(_group_pids(server_groups[0])),
            "worker": _cpu_seconds(_group_pids(server_groups[1])),
            "postgres": _cpu_seconds(_postgres_pids(stack)),
        }
        if args.rate is not None:
            run = run_votes_at_rate(
                stack.url, crowd=crowd, rate=args.rate, seconds=args.seconds, warmup=args.warmup
            )
        elif args.mode == "votes":
            run = run_votes(stack.url, crowd=crowd, seconds=args.seconds, warmup=args.warmup)
        else:
            run = run_load(
                stack.url,
                prompt_ids=prompt_ids,
                voters=args.voters,
                seconds=args.seconds,
                warmup=args.warmup,
            )
        # The load generator shares the two cores with the arena: uvloop (uvicorn's own loop)
        # costs it less per request than asyncio's default loop.
        result = uvloop.run(run)
        after = {
            "load generator": sum(os.times()[:2]),
            "web": _cpu_seconds(_group_pids(server_groups[0])),
            "worker": _cpu_seconds(_group_pids(server_groups[1])),
            "postgres": _cpu_seconds(_postgres_pids(stack)),
        }
        speed = (speed_before, machine_speed())
        integrity = check_integrity(stack, result)
        print(report(result, integrity, {k: after[k] - before[k] for k in before}, args.mode))
        print(
            f"machine speed: the fixed loop took {speed[0]:.2f} s before the run and "
            f"{speed[1]:.2f} s after (lower is faster)"
        )
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "mode": args.mode,
                        "votes_per_second": result.votes_per_second,
                        "measured_votes": result.measured_votes,
                        "seconds": result.measured_seconds,
                        "latency_ms": {
                            s: {q: percentile(result.latencies[s], q) for q in (50, 90, 99)}
                            for s in STEPS
                        },
                        "integrity_ok": integrity.ok,
                        "statuses": result.statuses,
                        "vote_latency_per_second": per_second(result),
                        "machine_loop_seconds": speed,
                    },
                    indent=2,
                )
            )
        return 0 if integrity.ok else 1
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())

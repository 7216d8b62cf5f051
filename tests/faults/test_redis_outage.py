"""Redis (broker, cache, channel layer) down for 30 s while people vote: every vote is still
stored and acknowledged (the database is the source of truth), and the ratings catch up once
Redis is back, without another vote having to ask."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx

from bench.load import check_integrity, prompt_ids_of, run_load
from bench.stack import Stack
from tests.faults.conftest import ratings_caught_up, wait_for

OUTAGE_SECONDS = 30


def test_votes_are_stored_while_redis_is_down_and_ratings_catch_up(healthy: Stack) -> None:
    stack = healthy
    results = []
    prompt_ids = prompt_ids_of(stack)

    def vote() -> None:
        async def main() -> None:
            stop_voting = asyncio.Event()
            task = asyncio.create_task(
                run_load(stack.url, prompt_ids=prompt_ids, voters=4, seconds=600, stop=stop_voting)
            )
            started.set()
            while not done.is_set():
                await asyncio.sleep(0.1)
            stop_voting.set()
            results.append(await task)

        asyncio.run(main())

    started, done = threading.Event(), threading.Event()
    voting = threading.Thread(target=vote)
    voting.start()
    try:
        started.wait(30)
        time.sleep(2)
        stack.redis.stop()
        down_from = time.perf_counter()
        time.sleep(2)
        # Readers keep reading the last snapshot (the cache only saves work).
        for path in ("/api/v1/leaderboard", "/leaderboard/", "/api/v1/snapshots", "/"):
            assert httpx.get(stack.url + path, timeout=10).status_code == 200, path
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.perf_counter() - down_from)))
        down_until = time.perf_counter()
        stack.redis.start()
        time.sleep(2)
    finally:
        done.set()
        voting.join(60)
    result = results[0]

    during = [t for t in result.acknowledged_at if down_from <= t <= down_until]
    assert len(during) > 10, "hardly any vote was acknowledged while Redis was down"
    assert not result.failures, result.failures
    integrity = check_integrity(stack, result)
    assert integrity.ok, integrity
    # Nobody votes now: the periodic catch-up alone must count the outage's votes.
    wait_for(lambda: ratings_caught_up(stack), 60, "the ratings did not catch up")

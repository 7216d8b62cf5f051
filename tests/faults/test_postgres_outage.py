"""PostgreSQL down: every request gets a clear 503 (HTML for pages, JSON for the API and for
votes), no stack trace, no hang; when it returns, everything works again with no restart."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid

import aiohttp
import httpx

from bench.load import LoadResult, Voter, prompt_ids_of
from bench.stack import Stack
from tests.faults.conftest import wait_for

# The pool waits ARENA_DB_POOL_TIMEOUT (3 s) for a connection before it gives up.
MAX_SECONDS = 8


def _timed(method: str, url: str, **kwargs: object) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.request(method, url, timeout=30, **kwargs)  # type: ignore[arg-type]
    return response, time.monotonic() - started


async def _battle_stream_frame(stack: Stack, battle_id: str) -> dict[str, object]:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(
            f"ws://127.0.0.1:{stack.port}/ws/battles/{battle_id}/", headers={"Origin": stack.url}
        ) as ws:
            message = await ws.receive(timeout=30)
            return json.loads(message.data)  # type: ignore[no-any-return]


async def _one_battle(stack: Stack, prompt_ids: list[int]) -> LoadResult:
    result = LoadResult()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        voter = Voter(session, stack.url, random.Random(3))
        await voter.open_page(result)
        await voter.battle(result, prompt_ids, measure=True)
    return result


def test_requests_get_a_clear_503_while_postgres_is_down_and_all_recovers(healthy: Stack) -> None:
    stack = healthy
    prompt_ids = prompt_ids_of(stack)
    page = httpx.get(stack.url + "/", timeout=10)
    assert page.status_code == 200
    cookies = dict(page.cookies)
    csrf = {"X-CSRFToken": cookies["csrftoken"], "Referer": stack.url + "/"}
    battle = httpx.post(
        stack.url + "/battles/",
        data={"pool_prompt": prompt_ids[0]},
        headers={**csrf, "Accept": "application/json"},
        cookies=cookies,
        timeout=10,
    ).json()

    stack.postgres.stop("fast")
    try:
        html, seconds = _timed("GET", stack.url + "/", headers={"Accept": "text/html"})
        assert html.status_code == 503 and seconds < MAX_SECONDS
        assert html.headers["content-type"].startswith("text/html")
        assert html.headers["retry-after"]
        assert "database is unavailable" in html.text

        for path in ("/api/v1/leaderboard", "/api/v1/snapshots", "/leaderboard/"):
            response, seconds = _timed("GET", stack.url + path)
            assert response.status_code == 503, path
            assert seconds < MAX_SECONDS

        api, _ = _timed("GET", stack.url + "/api/v1/leaderboard")
        assert api.json()["error"].startswith("The arena's database is unavailable")

        for path, data in (
            ("/battles/", {"pool_prompt": prompt_ids[0]}),
            (f"/battles/{battle['id']}/vote", {"outcome": "tie"}),
            (f"/battles/{uuid.uuid4()}/vote", {"outcome": "tie"}),
        ):
            response, seconds = _timed(
                "POST", stack.url + path, data=data, headers=csrf, cookies=cookies
            )
            assert response.status_code == 503, path
            assert response.headers["content-type"] == "application/json", path
            assert "error" in response.json() and seconds < MAX_SECONDS

        frame = asyncio.run(_battle_stream_frame(stack, battle["id"]))
        assert frame["type"] == "error"
        assert "database is unavailable" in str(frame["message"])

        for response in (html, api):
            assert "Traceback" not in response.text and "psycopg" not in response.text
    finally:
        stack.postgres.start()

    # Back: the pool replaces its dead connections; no process was restarted.
    wait_for(
        lambda: httpx.get(stack.url + "/api/v1/leaderboard", timeout=10).status_code == 200,
        30,
        "the API did not recover",
    )
    result = asyncio.run(_one_battle(stack, prompt_ids))
    assert len(result.acknowledged) == 1, result.failures
    assert result.server_errors == []
    for path in ("/", "/leaderboard/", "/api/v1/snapshots"):
        assert httpx.get(stack.url + path, timeout=10).status_code == 200, path

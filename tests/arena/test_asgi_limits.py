"""What the ASGI entry point refuses before Django or a consumer runs: big bodies, bad origins."""

from __future__ import annotations

import asyncio
import json

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections

from arena.bodylimit import BodySizeLimit
from config.asgi import application

pytestmark = pytest.mark.asyncio


async def _request(
    path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]]
) -> tuple[int, dict[bytes, bytes], bytes]:
    """Send one HTTP request through the real ASGI application; return status, headers, body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("localhost", 80),
    }
    pending = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    sent: list[dict] = []

    async def receive() -> dict:
        if pending:
            return pending.pop(0)
        # The client stays connected until the answer comes (Django listens for a disconnect).
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    await application(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), body


async def test_a_declared_oversized_body_gets_413_unread(settings) -> None:
    settings.ARENA_MAX_REQUEST_BYTES = 1000
    status, headers, body = await _request(
        "/battles/",
        [b"never read"],
        [(b"content-length", b"5000000"), (b"accept", b"application/json")],
    )
    assert status == 413
    assert json.loads(body) == {"error": "Request body too large: the limit is 1000 bytes."}


async def test_a_streamed_body_without_length_is_cut_off_at_the_limit(settings) -> None:
    settings.ARENA_MAX_REQUEST_BYTES = 1000
    status, headers, body = await _request("/battles/", [b"x" * 600] * 5, [])
    assert status == 413
    assert headers[b"content-type"].startswith(b"text/plain")
    assert b"limit is 1000 bytes" in body


@pytest.mark.django_db(transaction=True)
async def test_a_body_within_the_limit_reaches_django(settings) -> None:
    settings.ARENA_MAX_REQUEST_BYTES = 1000
    status, _headers, body = await _request(
        "/battles/",
        [b"prompt=hello"],
        [
            (b"content-length", b"12"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"accept", b"application/json"),
        ],
    )
    # Django answered: no CSRF token, so its own clear refusal.
    assert status == 403
    assert b"CSRF" in body
    await sync_to_async(connections.close_all)()


async def test_a_client_that_leaves_mid_body_reaches_nothing() -> None:
    """Half a form is never taken for a whole one: the application is not even called."""
    reached: list[dict] = []

    async def app(scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def]
        reached.append(scope)

    messages = [
        {"type": "http.request", "body": b"prompt=half a pro", "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict] = []

    async def receive() -> dict:
        return messages.pop(0)

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/battles/", "headers": []}
    await BodySizeLimit(app)(scope, receive, send)
    assert reached == [] and sent == []


# Channels' denier, like every consumer, closes stale database connections of its thread when
# it handles a message; with persistent connections (SQLite) an earlier test's may be there.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "headers",
    [
        [(b"origin", b"http://evil.example")],
        [(b"origin", b"http://localhost.evil.example")],
        [],  # no Origin at all
    ],
)
async def test_a_websocket_from_another_origin_is_refused(headers) -> None:
    communicator = WebsocketCommunicator(
        application, "/ws/battles/00000000-0000-4000-8000-000000000000/", headers=headers
    )
    connected, _ = await communicator.connect()
    assert connected is False
    await communicator.disconnect()


@pytest_asyncio.fixture
async def _close_connections():  # type: ignore[no-untyped-def]
    yield
    await sync_to_async(connections.close_all)()


@pytest.mark.django_db(transaction=True)
async def test_a_websocket_from_our_own_origin_is_accepted(_close_connections) -> None:
    communicator = WebsocketCommunicator(
        application,
        "/ws/battles/00000000-0000-4000-8000-000000000000/",
        headers=[(b"origin", b"http://localhost")],
    )
    connected, _ = await communicator.connect()
    assert connected is True
    frame = await communicator.receive_json_from(timeout=5)
    assert frame == {"type": "error", "message": "This battle does not exist."}
    await communicator.disconnect()

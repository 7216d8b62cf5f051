"""config.threadedwsgi: WSGI applications served from a pool of threads inside the ASGI server."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from config.threadedwsgi import ThreadedWSGI

pytestmark = pytest.mark.asyncio


def _scope(method: str = "GET", path: str = "/", headers: list | None = None) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"a=1",
        "root_path": "",
        "headers": [(b"host", b"localhost"), *(headers or [])],
        "client": ("127.0.0.1", 50000),
        "server": ("localhost", 80),
    }


async def _call(app: Any, scope: dict[str, Any], body: bytes = b"") -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


class Whole:
    """A response like Django's HttpResponse: a list of parts, closed by the server."""

    def __init__(self, parts: list[bytes], streaming: bool = False) -> None:
        self.parts = parts
        self.streaming = streaming
        self.iterated_in: set[str] = set()
        self.closed_in = ""

    def __iter__(self):  # type: ignore[no-untyped-def]
        for part in self.parts:
            self.iterated_in.add(threading.current_thread().name)
            yield part

    def close(self) -> None:
        self.closed_in = threading.current_thread().name


async def test_a_response_is_sent_whole_with_its_headers_and_closed_in_its_thread() -> None:
    seen: dict[str, Any] = {}
    response = Whole([b"hello ", b"world"])

    def app(environ, start_response):  # type: ignore[no-untyped-def]
        seen.update(environ)
        seen["body"] = environ["wsgi.input"].read()
        seen["thread"] = threading.current_thread().name
        start_response(
            "201 Created",
            [("Content-Type", "text/plain"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")],
        )
        return response

    sent = await _call(
        ThreadedWSGI(app, workers=2),
        _scope("POST", "/votes", [(b"content-type", b"application/x-www-form-urlencoded")]),
        b"outcome=tie",
    )

    assert sent == [
        {
            "type": "http.response.start",
            "status": 201,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"set-cookie", b"a=1"),
                (b"set-cookie", b"b=2"),
            ],
        },
        {"type": "http.response.body", "body": b"hello world"},
    ]
    assert seen["body"] == b"outcome=tie"
    assert (seen["REQUEST_METHOD"], seen["PATH_INFO"], seen["QUERY_STRING"]) == (
        "POST",
        "/votes",
        "a=1",
    )
    assert seen["CONTENT_TYPE"] == "application/x-www-form-urlencoded"
    assert seen["REMOTE_ADDR"] == "127.0.0.1"
    assert seen["thread"].startswith("WSGI")
    assert response.closed_in == seen["thread"]


async def test_a_streamed_response_goes_part_by_part_from_the_thread_that_made_it() -> None:
    response = Whole([b"a,b\n", b"", b"1,2\n", b"3,4\n"], streaming=True)

    def app(environ, start_response):  # type: ignore[no-untyped-def]
        start_response("200 OK", [("Content-Type", "text/csv")])
        return response

    sent = await _call(ThreadedWSGI(app, workers=2), _scope())

    assert sent[0]["status"] == 200
    assert [m.get("body") for m in sent[1:]] == [b"a,b\n", b"1,2\n", b"3,4\n", b""]
    assert [m.get("more_body", False) for m in sent[1:]] == [True, True, True, False]
    assert len(response.iterated_in) == 1  # one thread made every part ...
    assert response.closed_in in response.iterated_in  # ... and closed the response


async def test_a_body_in_parts_is_refused_rather_than_cut() -> None:
    app = ThreadedWSGI(lambda environ, start_response: [], workers=1)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"half", "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        raise AssertionError("nothing may be sent")

    with pytest.raises(RuntimeError, match="whole body"):
        await app(_scope("POST"), receive, send)

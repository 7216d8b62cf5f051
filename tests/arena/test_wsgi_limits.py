"""What the WSGI entry point (config/wsgi.py) refuses before Django runs."""

from __future__ import annotations

import io
import json
from wsgiref.util import setup_testing_defaults

import pytest

from arena.bodylimit import WSGIBodySizeLimit
from config.wsgi import application


class _Trickle(io.RawIOBase):
    """A request body that arrives in small reads, as a server hands over a chunked one."""

    def __init__(self, data: bytes, size: int = 600) -> None:
        self.data, self.size = data, size

    def read(self, n: int = -1) -> bytes:
        n = self.size if n < 0 else min(n, self.size)
        chunk, self.data = self.data[:n], self.data[n:]
        return chunk


def _call(app, body: io.RawIOBase | io.BytesIO, **environ: str) -> tuple[int, dict, bytes]:  # type: ignore[no-untyped-def]
    env: dict = {"REQUEST_METHOD": "POST", "PATH_INFO": "/battles/", "wsgi.input": body}
    env.update(environ)
    setup_testing_defaults(env)
    started: list = []

    def start_response(status: str, headers: list, exc_info=None):  # type: ignore[no-untyped-def]
        started[:] = [int(status.split()[0]), dict(headers)]

    answer = app(env, start_response)
    try:
        content = b"".join(answer)
    finally:
        getattr(answer, "close", lambda: None)()
    return started[0], started[1], content


def test_a_declared_oversized_body_gets_413_unread(settings) -> None:
    settings.ARENA_MAX_REQUEST_BYTES = 1000
    body = io.BytesIO(b"never read")
    status, headers, content = _call(
        application, body, CONTENT_LENGTH="5000000", HTTP_ACCEPT="application/json"
    )
    assert status == 413
    assert json.loads(content) == {"error": "Request body too large: the limit is 1000 bytes."}
    assert body.tell() == 0


@pytest.mark.parametrize("declared", ["-1", "12abc", "1e3"])
def test_a_length_that_is_not_a_number_gets_413(declared: str) -> None:
    status, _headers, content = _call(application, io.BytesIO(b"x"), CONTENT_LENGTH=declared)
    assert status == 413
    assert b"Request body too large" in content


def test_a_chunked_body_is_cut_off_at_the_limit(settings) -> None:
    settings.ARENA_MAX_REQUEST_BYTES = 1000
    status, headers, content = _call(
        application, _Trickle(b"x" * 3000), HTTP_TRANSFER_ENCODING="chunked"
    )
    assert status == 413
    assert headers["Content-Type"].startswith("text/plain")
    assert b"limit is 1000 bytes" in content


@pytest.mark.django_db
def test_a_body_within_the_limit_reaches_django(settings) -> None:
    settings.ARENA_MAX_REQUEST_BYTES = 1000
    status, _headers, content = _call(
        application,
        _Trickle(b"prompt=hello", size=5),
        CONTENT_LENGTH="12",
        CONTENT_TYPE="application/x-www-form-urlencoded",
        HTTP_ACCEPT="application/json",
    )
    # Django answered: no CSRF token, so its own clear refusal.
    assert status == 403
    assert b"CSRF" in content


def test_the_application_reads_the_whole_body_from_memory() -> None:
    seen: list = []

    def app(environ, start_response):  # type: ignore[no-untyped-def]
        seen.append((environ["CONTENT_LENGTH"], environ["wsgi.input"].read()))
        start_response("204 No Content", [])
        return [b""]

    status, _headers, _content = _call(
        WSGIBodySizeLimit(app), _Trickle(b"a=1&b=2"), HTTP_TRANSFER_ENCODING="chunked"
    )
    assert status == 204
    assert seen == [("7", b"a=1&b=2")]


def test_a_client_that_leaves_mid_body_reaches_nothing() -> None:
    """Half a form is never taken for a whole one: the application is not even called."""
    reached: list = []

    def app(environ, start_response):  # type: ignore[no-untyped-def]
        reached.append(environ)
        start_response("200 OK", [])
        return [b""]

    status, _headers, content = _call(
        WSGIBodySizeLimit(app), io.BytesIO(b"prompt=half a pro"), CONTENT_LENGTH="40"
    )
    assert status == 400
    assert b"ended before its declared Content-Length" in content
    assert reached == []

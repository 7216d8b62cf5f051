"""Refuse oversized HTTP request bodies at the ASGI and WSGI entries, before Django reads any
of them, and hand Django only whole bodies."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings

Scope = dict[str, Any]
Message = dict[str, Any]


class BodySizeLimit:
    """413 for a body longer than ARENA_MAX_REQUEST_BYTES, declared or streamed; and only whole
    bodies reach the application.

    A declared Content-Length over the limit is refused without reading the body. Otherwise the
    body is read here, up to the limit, before the application runs (as Django's own ASGI
    handler did): a body sent without a length (chunked) that passes the limit gets the 413,
    and a client that leaves before its body is complete reaches nothing, so a cut-off form is
    never taken for a whole one. The application then gets the body in one message with its
    Content-Length set, which Django's WSGI handler (config/asgi.py) needs to read it at all.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = settings.ARENA_MAX_REQUEST_BYTES
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self.refuse(scope, send, limit)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left mid-body: nothing to answer, nothing reaches Django
            body += message.get("body", b"")
            if len(body) > limit:
                await self.refuse(scope, send, limit)
                return
            if not message.get("more_body", False):
                break
        headers = [(k, v) for k, v in scope.get("headers") or [] if k != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()  # after the body: only the client leaving

        await self.app({**scope, "headers": headers}, replay, send)

    async def refuse(self, scope: Scope, send: Any, limit: int) -> None:
        accept = dict(scope.get("headers") or []).get(b"accept", b"").decode("latin1")
        body, kind = _refusal(accept, limit)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", kind.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class WSGIBodySizeLimit:
    """The same rule for Django's WSGI application (config/wsgi.py).

    A declared Content-Length over the limit, or one that is not a number, gets the 413 unread.
    Otherwise the body is read here, up to the limit: a body without a length (chunked) that
    passes it gets the 413, and a body shorter than its declared length (the client left
    mid-body) gets a 400 without the application being called, so a cut-off form is never
    taken for a whole one. The application reads the whole body from memory.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        limit = settings.ARENA_MAX_REQUEST_BYTES
        declared = environ.get("CONTENT_LENGTH") or ""
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if declared and (not declared.isdigit() or int(declared) > limit):
            return _wsgi_refusal(environ, start_response, limit)
        if not declared and not chunked:
            return self.app(environ, start_response)  # no body
        wanted = int(declared) if declared else limit + 1
        stream, body = environ["wsgi.input"], bytearray()
        while len(body) < wanted:
            chunk = stream.read(min(wanted - len(body), 65536))
            if not chunk:
                break
            body += chunk
        if len(body) > limit:
            return _wsgi_refusal(environ, start_response, limit)
        if declared and len(body) < wanted:
            text = b"The request body ended before its declared Content-Length."
            start_response("400 Bad Request", _wsgi_headers("text/plain; charset=utf-8", text))
            return [text]
        environ["CONTENT_LENGTH"] = str(len(body))
        environ["wsgi.input"] = io.BytesIO(bytes(body))
        return self.app(environ, start_response)


def _wsgi_refusal(environ: dict[str, Any], start_response: Callable, limit: int) -> list[bytes]:
    body, kind = _refusal(environ.get("HTTP_ACCEPT", ""), limit)
    start_response("413 Content Too Large", _wsgi_headers(kind, body))
    return [body]


def _wsgi_headers(kind: str, body: bytes) -> list[tuple[str, str]]:
    return [("Content-Type", kind), ("Content-Length", str(len(body))), ("Connection", "close")]


def _refusal(accept: str, limit: int) -> tuple[bytes, str]:
    """The 413's body and content type: JSON for a client that asks for it."""
    message = f"Request body too large: the limit is {limit} bytes."
    if "application/json" in accept:
        return json.dumps({"error": message}).encode(), "application/json"
    return message.encode(), "text/plain; charset=utf-8"

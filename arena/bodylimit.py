"""Refuse oversized HTTP request bodies at the ASGI entry, before Django reads any of them."""

from __future__ import annotations

import json
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
        message = f"Request body too large: the limit is {limit} bytes."
        wants_json = b"application/json" in dict(scope.get("headers") or []).get(b"accept", b"")
        if wants_json:
            body, kind = json.dumps({"error": message}).encode(), b"application/json"
        else:
            body, kind = message.encode(), b"text/plain; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", kind),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

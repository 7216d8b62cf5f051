"""Refuse oversized HTTP request bodies at the ASGI entry, before Django reads any of them."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

Scope = dict[str, Any]
Message = dict[str, Any]


class BodySizeLimit:
    """413 for a body longer than ARENA_MAX_REQUEST_BYTES, declared or streamed.

    A declared Content-Length over the limit is refused without reading the body. A body sent
    without a length (chunked) is counted as it arrives; once over the limit the application
    is told the client left (so Django stops and stores nothing) and the 413 is sent here.
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
        received = 0
        overflowed = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, overflowed
            if overflowed:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    overflowed = True
                    return {"type": "http.disconnect"}
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counted_receive, tracked_send)
        if overflowed and not started:
            await self.refuse(scope, send, limit)

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

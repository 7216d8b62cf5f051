"""Django's WSGI handler on a fixed pool of threads, inside the ASGI server.

a2wsgi, which did this before, crosses between the event loop and the request's thread for
every read of the body and every part of the response: five crossings for a vote, each a wake
of one thread by another, under load a tenth of a web process's time. Here a request crosses
once each way. The body is already whole in memory (arena.bodylimit.BodySizeLimit reads it,
up to its limit, before the application runs), and a response that is not streamed is sent
whole once the view returns. A streamed response (the CSV exports) is sent part by part from
the thread that makes it, as a2wsgi does: its database cursor belongs to that thread.
The WSGI environ is built by a2wsgi's build_environ.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from a2wsgi.wsgi import build_environ

Message = dict[str, Any]


class ThreadedWSGI:
    def __init__(self, app: Any, *, workers: int) -> None:
        self.app = app
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="WSGI")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"ThreadedWSGI serves HTTP only, not {scope['type']}")
        message = await receive()  # the whole body, in one message
        if message["type"] == "http.disconnect":
            return
        if message.get("more_body", False):
            raise RuntimeError("ThreadedWSGI needs the whole body in one message (BodySizeLimit)")
        body = message.get("body", b"")
        environ = build_environ(scope, io.BytesIO(body))  # type: ignore[arg-type]
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        messages = await loop.run_in_executor(
            self.executor, context.run, self._respond, environ, loop, send
        )
        for message in messages:
            await send(message)

    def _respond(self, environ: dict[str, Any], loop: Any, send: Any) -> list[Message]:
        """Run the application in this thread; return the messages still to send."""
        start: list[Message] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):  # type: ignore[no-untyped-def]
            if exc_info is not None and start:
                raise exc_info[1].with_traceback(exc_info[2])
            start[:] = [
                {
                    "type": "http.response.start",
                    "status": int(status.split(" ", 1)[0]),
                    "headers": [
                        (name.lower().encode("latin1"), value.encode("latin1"))
                        for name, value in headers
                    ],
                }
            ]
            return _no_write

        response = self.app(environ, start_response)
        try:
            if not getattr(response, "streaming", False):
                body = b"".join(response)
                return [*start, {"type": "http.response.body", "body": body}]

            def sent(message: Message) -> None:
                asyncio.run_coroutine_threadsafe(send(message), loop).result()

            sent(start[0])
            for chunk in response:
                if chunk:
                    sent({"type": "http.response.body", "body": chunk, "more_body": True})
            sent({"type": "http.response.body", "body": b""})
            return []
        finally:
            # In this thread: closing fires request_finished, which hands back this thread's
            # database connection.
            close = getattr(response, "close", None)
            if close is not None:
                close()


def _no_write(data: bytes) -> None:
    raise NotImplementedError("the arena's views return their responses; none calls write()")

"""Where answers come from: live OpenAI-compatible endpoints, or the stored answer pool.

Both yield the same events, so the battle consumer (and the voter) cannot tell them apart:
zero or more `Delta`s, then exactly one `Finished`. Upstream failures never raise out of a
stream; they end it with a `Finished` whose status says what went wrong.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import ssl
import time
import weakref
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import httpx
from django.conf import settings

from arena.models import Answer, LanguageModel


@dataclass(frozen=True)
class Delta:
    text: str


@dataclass(frozen=True)
class Finished:
    status: str  # one of Answer.Status
    finish_reason: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    error_detail: str = ""
    # Set by sources that know the answer's real timing (the pool); live timing is measured.
    first_token_ms: int | None = None
    latency_ms: int | None = None


Event = Delta | Finished
Message = dict[str, str]


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One TLS context for every client: building one costs 75-170 ms and blocks the loop."""
    return httpx.create_ssl_context()


# One client per event loop (a web process has one): its pool keeps connections to each
# backend alive between battles, so a battle's first token does not wait for a new TCP and TLS
# handshake. Keyed weakly by loop, since an httpx client must stay on the loop that made it.
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)


def _shared_client() -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.is_closed:
        client = httpx.AsyncClient(
            verify=_ssl_context(),
            # No cap on concurrent streams (a cap would queue voters behind each other);
            # idle connections kept per backend host.
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=50),
        )
        _clients[loop] = client
    return client


def _timeout() -> httpx.Timeout:
    return httpx.Timeout(
        connect=settings.ARENA_BACKEND_CONNECT_TIMEOUT,
        read=settings.ARENA_BACKEND_READ_TIMEOUT,
        write=settings.ARENA_BACKEND_CONNECT_TIMEOUT,
        pool=settings.ARENA_BACKEND_CONNECT_TIMEOUT,
    )


async def stream_live(
    model: LanguageModel, messages: Sequence[Message], *, client: httpx.AsyncClient | None = None
) -> AsyncIterator[Event]:
    """Stream a chat completion from the model's OpenAI-compatible endpoint."""
    url = model.endpoint_base_url.rstrip("/") + "/chat/completions"
    headers = {"Accept": "text/event-stream"}
    if model.api_key_env:
        key = os.environ.get(model.api_key_env, "")
        if not key:
            yield Finished(Answer.Status.ERROR, error_detail=f"{model.api_key_env} is not set")
            return
        headers["Authorization"] = f"Bearer {key}"
    body = {
        "model": model.upstream_model or model.slug,
        "messages": list(messages),
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": settings.ARENA_MAX_OUTPUT_TOKENS,
    }
    client = client or _shared_client()
    try:
        async with client.stream(
            "POST", url, json=body, headers=headers, timeout=_timeout()
        ) as response:
            if response.status_code != 200:
                detail = (await response.aread()).decode("utf-8", "replace")[:2000]
                yield Finished(
                    Answer.Status.ERROR,
                    finish_reason="rate_limited" if response.status_code == 429 else "",
                    error_detail=f"HTTP {response.status_code}: {detail}",
                )
                return
            async for event in _parse_sse(response.aiter_lines()):
                yield event
                if isinstance(event, Finished):
                    return
    except httpx.TimeoutException as exc:
        yield Finished(Answer.Status.TIMEOUT, error_detail=f"{type(exc).__name__}: {exc}")
    except httpx.HTTPError as exc:
        yield Finished(Answer.Status.ERROR, error_detail=f"{type(exc).__name__}: {exc}")


async def _parse_sse(lines: AsyncIterator[str]) -> AsyncIterator[Event]:
    finish_reason = ""
    usage: dict[str, int] = {}
    # Servers that ignore stream_options.include_usage (llama.cpp's Python server, some
    # proxies) send no token counts; then each content chunk counts as one token, which is how
    # these servers stream. The prompt's size stays unknown.
    chunks = 0
    async for line in lines:
        if not line.startswith("data:"):
            continue  # comments, event names and keep-alives
        data = line[5:].strip()
        if data == "[DONE]":
            break
        try:
            chunk = json.loads(data)
            choices = chunk.get("choices") or []
            if chunk.get("usage"):
                usage = chunk["usage"]
            if choices:
                choice = choices[0]
                content = (choice.get("delta") or {}).get("content")
                if content:
                    if not isinstance(content, str):
                        raise TypeError("delta content is not a string")
                    chunks += 1
                    yield Delta(content)
                finish_reason = choice.get("finish_reason") or finish_reason
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            yield Finished(Answer.Status.ERROR, error_detail=f"malformed stream chunk: {exc}")
            return
    else:
        if not finish_reason:
            yield Finished(Answer.Status.ERROR, error_detail="stream ended without [DONE]")
            return
    yield Finished(
        Answer.Status.TRUNCATED if finish_reason == "length" else Answer.Status.OK,
        finish_reason=finish_reason,
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens", chunks),
    )


async def stream_pool(
    text: str, *, completion_tokens: int | None, latency_ms: int | None
) -> AsyncIterator[Event]:
    """Replay a stored answer in even chunks at a fixed pace, the same for every model."""
    size = settings.ARENA_POOL_CHUNK_CHARS
    delay = settings.ARENA_POOL_CHUNK_DELAY
    for start in range(0, len(text), size):
        yield Delta(text[start : start + size])
        if delay:
            await asyncio.sleep(delay)
    yield Finished(
        Answer.Status.OK,
        finish_reason="stop",
        completion_tokens=completion_tokens,
        latency_ms=latency_ms,
    )


def monotonic_ms(since: float) -> int:
    return int((time.monotonic() - since) * 1000)

"""`stream_live` and the battle consumer against a real model server (llama.cpp + Gemma 3 270M).

The server is the session fixture `local_model_server` (tests/arena/conftest.py): one process
for the whole run, skipped where llama-cpp-python or the weights package is not installed.
The model is a small base model, so the tests check the protocol, never what it says.
At the end, `_parse_sse` is tested on literal SSE lines that no real server sends.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from decimal import Decimal

import httpx
import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from django.db import connections

from arena import localmodel, services
from arena.backends import Delta, Event, Finished, _parse_sse, stream_live
from arena.models import Answer, Battle, LanguageModel
from tests.arena.streaming import battle_frames, identity_names
from tests.conftest import ALICE

pytestmark = pytest.mark.asyncio

PROMPT = [{"role": "user", "content": "Count from one to twenty: one, two, three,"}]
ENDED = (Answer.Status.OK, Answer.Status.TRUNCATED)


@pytest.fixture
def few_tokens(settings) -> int:  # type: ignore[no-untyped-def]
    settings.ARENA_MAX_OUTPUT_TOKENS = 16
    return 16


def _model(base_url: str, **fields: object) -> LanguageModel:
    """An unsaved model row: stream_live reads only its endpoint fields."""
    defaults: dict[str, object] = {
        "slug": "local-test",
        "endpoint_base_url": base_url,
        "upstream_model": localmodel.UPSTREAM_MODEL,
    }
    return LanguageModel(**(defaults | fields))


async def _collect(events: AsyncIterator[Event]) -> tuple[list[str], Finished]:
    """The deltas' texts and the one Finished, checking that it is the last event."""
    texts: list[str] = []
    finished: list[Finished] = []
    async for event in events:
        assert not finished, f"event after Finished: {event!r}"
        if isinstance(event, Delta):
            texts.append(event.text)
        else:
            finished.append(event)
    assert len(finished) == 1
    return texts, finished[0]


# --- stream_live against the real server ---------------------------------------------------


async def test_it_streams_real_deltas_and_ends_with_one_finished(
    local_model_server: str, few_tokens: int
) -> None:
    texts, done = await _collect(stream_live(_model(local_model_server), PROMPT))

    assert done.status in ENDED, done
    assert done.finish_reason in ("stop", "length")
    assert done.error_detail == ""
    assert texts and all(isinstance(t, str) and t for t in texts)
    assert len(texts) <= few_tokens  # llama.cpp sends one token per chunk
    assert "".join(texts).strip()


async def test_without_reported_usage_it_counts_the_streamed_chunks(
    local_model_server: str, few_tokens: int
) -> None:
    # llama-cpp-python 0.3.36 ignores stream_options.include_usage (see the next test).
    texts, done = await _collect(stream_live(_model(local_model_server), PROMPT))

    assert done.completion_tokens == len(texts) > 0
    assert done.prompt_tokens is None  # not reported, and not guessed


async def test_the_server_sends_no_usage_when_streaming(local_model_server: str) -> None:
    """Why the test above counts chunks, seen on the wire (the non-streamed answer has usage)."""
    body = {
        "model": localmodel.UPSTREAM_MODEL,
        "messages": PROMPT,
        "max_tokens": 4,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    async with httpx.AsyncClient(base_url=local_model_server, timeout=30) as client:
        async with client.stream("POST", "/chat/completions", json=body) as response:
            chunks = [
                json.loads(line[5:])
                for line in [line async for line in response.aiter_lines()]
                if line.startswith("data:") and line[5:].strip() != "[DONE]"
            ]
        plain = (await client.post("/chat/completions", json=body | {"stream": False})).json()

    assert chunks and not any(chunk.get("usage") for chunk in chunks)
    assert plain["usage"]["prompt_tokens"] > 0 and plain["usage"]["completion_tokens"] == 4


async def test_a_small_max_tokens_truncates_with_finish_reason_length(
    local_model_server: str,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.ARENA_MAX_OUTPUT_TOKENS = 3

    texts, done = await _collect(stream_live(_model(local_model_server), PROMPT))

    assert done.status == Answer.Status.TRUNCATED
    assert done.finish_reason == "length"
    assert 1 <= len(texts) <= 3


async def test_a_closed_port_is_an_error_with_the_connect_error(few_tokens: int) -> None:
    closed = f"http://127.0.0.1:{localmodel.free_port()}/v1"  # bound by nobody now

    texts, done = await _collect(stream_live(_model(closed), PROMPT))

    assert texts == []
    assert done.status == Answer.Status.ERROR
    assert done.error_detail.startswith("ConnectError")


async def test_a_read_timeout_is_a_timeout(
    local_model_server: str,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    # Each token takes some 25 ms. A short answer could sit whole in the socket's buffer by
    # the time a busy test process reads it, and no read would wait; a long one cannot.
    settings.ARENA_MAX_OUTPUT_TOKENS = 256
    settings.ARENA_BACKEND_READ_TIMEOUT = 0.001

    texts, done = await _collect(stream_live(_model(local_model_server), PROMPT))

    assert done.status == Answer.Status.TIMEOUT
    assert done.error_detail.startswith("ReadTimeout")
    assert len(texts) < 256


async def test_an_unknown_upstream_model_is_served_by_the_one_loaded_model(
    local_model_server: str, few_tokens: int
) -> None:
    """llama-cpp-python serves its only model whatever name a request gives (no 404), and
    echoes the name back in each chunk: a wrong upstream_model goes unnoticed."""
    model = _model(local_model_server, upstream_model="no-such-model")

    texts, done = await _collect(stream_live(model, PROMPT))

    assert done.status in ENDED and texts
    async with httpx.AsyncClient(base_url=local_model_server, timeout=30) as client:
        listed = (await client.get("/models")).json()["data"]
        body = {"model": "no-such-model", "messages": PROMPT, "max_tokens": 1, "stream": False}
        answer = (await client.post("/chat/completions", json=body)).json()
    assert [m["id"] for m in listed] == [localmodel.UPSTREAM_MODEL]
    assert answer["model"] == "no-such-model"


async def test_an_unset_api_key_variable_fails_without_a_request(
    local_model_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ARENA_TEST_UNSET_KEY", raising=False)
    sent: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        sent.append(request)

    async with httpx.AsyncClient(event_hooks={"request": [record]}) as client:
        model = _model(local_model_server, api_key_env="ARENA_TEST_UNSET_KEY")
        texts, done = await _collect(stream_live(model, PROMPT, client=client))

    assert texts == [] and sent == []
    assert done.status == Answer.Status.ERROR
    assert done.error_detail == "ARENA_TEST_UNSET_KEY is not set"


async def test_a_set_api_key_is_sent_as_a_bearer_token(
    local_model_server: str,
    monkeypatch: pytest.MonkeyPatch,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.ARENA_MAX_OUTPUT_TOKENS = 2
    monkeypatch.setenv("ARENA_TEST_KEY", "sk-local-test")
    sent: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        sent.append(request)

    async with httpx.AsyncClient(event_hooks={"request": [record]}, timeout=30) as client:
        model = _model(local_model_server, api_key_env="ARENA_TEST_KEY")
        _, done = await _collect(stream_live(model, PROMPT, client=client))

    assert done.status in ENDED  # the local server checks no key
    assert [r.headers["Authorization"] for r in sent] == ["Bearer sk-local-test"]


async def test_two_concurrent_streams_both_complete(
    local_model_server: str, few_tokens: int
) -> None:
    model = _model(local_model_server)
    other = [{"role": "user", "content": "Name three colours: red,"}]

    (texts_a, done_a), (texts_b, done_b) = await asyncio.gather(
        _collect(stream_live(model, PROMPT)), _collect(stream_live(model, other))
    )

    # The server answers one request at a time; the second waits rather than cutting the first.
    assert done_a.status in ENDED and done_b.status in ENDED
    assert done_a.finish_reason and done_b.finish_reason
    assert texts_a and texts_b


# --- a live battle through the websocket consumer -----------------------------------------


@pytest_asyncio.fixture
async def _close_worker_thread_connection():  # type: ignore[no-untyped-def]
    """Close the connection the sync-to-async thread opened, so the test database can drop."""
    yield
    await sync_to_async(connections.close_all)()


def _register_two(base_url: str) -> list[LanguageModel]:
    return [
        localmodel.register(
            base_url,
            slug=slug,
            display_name=name,
            input_price_per_mtok=Decimal("0.10"),
            output_price_per_mtok=Decimal("0.40"),
        )
        for slug, name in [("gemma-local-left", "Gemma Left"), ("gemma-local-right", "Gemma Right")]
    ]


def _stored_answers(battle: Battle) -> dict[str, tuple[Answer, LanguageModel]]:
    return {
        a.side: (a, battle.model_for(a.side)) for a in Answer.objects.filter(turn__battle=battle)
    }


def _without_model_text(frames: Iterable[dict]) -> list[dict]:
    """The frames as the arena wrote them, with the model's own words taken out."""
    return [
        {k: v for k, v in f.items() if not (f["type"] == "delta" and k == "text")} for f in frames
    ]


@pytest.mark.django_db(transaction=True)
async def test_a_live_battle_streams_both_sides_from_the_local_server(
    local_model_server: str, few_tokens: int, _close_worker_thread_connection: None
) -> None:
    await sync_to_async(_register_two)(local_model_server)
    prompt = PROMPT[0]["content"]
    battle = await sync_to_async(services.battle_create)(voter_id=ALICE, prompt=prompt)
    assert battle.source == Battle.Source.LIVE

    frames = await battle_frames(battle.pk, timeout=60)

    assert frames[0] == {"type": "turn", "index": 0, "prompt": prompt}
    assert frames[-1] == {"type": "complete", "votable": True, "message": ""}
    streamed = {
        side: "".join(f["text"] for f in frames if f["type"] == "delta" and f["side"] == side)
        for side in "ab"
    }
    stored = await sync_to_async(_stored_answers)(battle)
    assert {side: a.text for side, (a, _) in stored.items()} == streamed
    assert all(streamed.values())
    for answer, model in stored.values():
        assert answer.status in ENDED and answer.finish_reason in ("stop", "length")
        assert answer.error_detail == ""
        assert answer.first_token_ms is not None and answer.latency_ms is not None
        assert 0 <= answer.first_token_ms <= answer.latency_ms
        assert answer.cost_usd is not None
        assert answer.cost_usd == model.cost_usd(answer.prompt_tokens, answer.completion_tokens)
    await sync_to_async(battle.refresh_from_db)()
    assert battle.status == Battle.Status.COMPLETE
    # No frame names a model or its maker (the model's own words are its own business).
    raw = json.dumps(_without_model_text(frames), ensure_ascii=False)
    for name in await sync_to_async(identity_names)():
        assert name not in raw


# --- the SSE parser on malformed streams (pure: literal lines, no server) ------------------


async def _lines(*lines: str) -> AsyncIterator[str]:
    for line in lines:
        yield line


def _chunk(content: object = None, finish_reason: str | None = None, **extra: object) -> str:
    delta = {} if content is None else {"content": content}
    choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
    return "data: " + json.dumps({"choices": [choice], **extra})


async def test_parse_a_well_formed_stream_with_a_usage_chunk() -> None:
    texts, done = await _collect(
        _parse_sse(
            _lines(
                ": keep-alive",
                "event: message",
                _chunk("Hel"),
                "",
                "data:" + _chunk("lo")[5:],  # no space after the colon
                _chunk(finish_reason="stop"),
                'data: {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 2}}',
                "data: [DONE]",
            )
        )
    )
    assert texts == ["Hel", "lo"]
    assert done == Finished("ok", finish_reason="stop", prompt_tokens=7, completion_tokens=2)


async def test_parse_a_non_json_data_line_is_an_error() -> None:
    lines = _lines(_chunk("Hi"), "data: {not json", "data: [DONE]")
    texts, done = await _collect(_parse_sse(lines))
    assert texts == ["Hi"]
    assert done.status == Answer.Status.ERROR
    assert done.error_detail.startswith("malformed stream chunk")


@pytest.mark.parametrize("content", [42, ["a", "b"], {"text": "x"}])
async def test_parse_content_that_is_not_a_string_is_an_error(content: object) -> None:
    texts, done = await _collect(_parse_sse(_lines(_chunk(content), "data: [DONE]")))
    assert texts == []
    assert done.status == Answer.Status.ERROR
    assert "not a string" in done.error_detail


async def test_parse_a_chunk_that_is_not_an_object_is_an_error() -> None:
    _, done = await _collect(_parse_sse(_lines("data: [1, 2]", "data: [DONE]")))
    assert done.status == Answer.Status.ERROR


async def test_parse_an_end_without_done_or_finish_reason_is_an_error() -> None:
    texts, done = await _collect(_parse_sse(_lines(_chunk("Half an ans"))))
    assert texts == ["Half an ans"]
    assert done.status == Answer.Status.ERROR
    assert done.error_detail == "stream ended without [DONE]"


async def test_parse_an_end_without_done_after_a_finish_reason_counts() -> None:
    texts, done = await _collect(_parse_sse(_lines(_chunk("All"), _chunk(finish_reason="length"))))
    assert texts == ["All"]
    assert done == Finished("truncated", finish_reason="length", completion_tokens=1)


async def test_parse_an_empty_stream_is_an_error() -> None:
    texts, done = await _collect(_parse_sse(_lines()))
    assert texts == [] and done.status == Answer.Status.ERROR

"""Stream a battle's two answers over a websocket, labelled only "a" and "b".

Frames sent (JSON): {"type": "turn", "index", "prompt"}, {"type": "delta", "side", "text"},
{"type": "side_done", "side", "html"} (the answer rendered as sanitised HTML),
{"type": "complete", "votable", "message"} and {"type": "error", "message"}. Earlier turns of a
multi-turn battle are sent first, from storage. The voter may send {"type": "stop"}.
No frame carries a model or organisation name, token counts or timings: those are revealed
over HTTP after the vote.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.db import DatabaseError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from arena import services
from arena.backends import Delta, Event, Finished, monotonic_ms, stream_live, stream_pool
from arena.models import Answer, Battle, PoolAnswer, Turn
from arena.rendering import render_markdown

logger = logging.getLogger(__name__)

FAILURE_MESSAGES = {
    Answer.Status.TIMEOUT: gettext_lazy("Side %(side)s took too long to answer."),
    Answer.Status.ERROR: gettext_lazy(
        "Side %(side)s could not answer (the model's service returned an error)."
    ),
}


def _load(battle_id: str) -> tuple[Battle, list[Turn]] | None:
    battle = (
        Battle.objects.select_related("model_a", "model_b", "pool_prompt")
        .filter(pk=battle_id)
        .first()
    )
    if battle is None:
        return None
    return battle, list(battle.turns.prefetch_related("answers").order_by("index"))


@dataclass
class _Opening:
    battle: Battle
    turns: list[Turn]
    claimed: bool
    # What each side is sent (conversation messages, or the stored pool answer), prepared in
    # the same database round trip as the claim: time to first token is what voters feel.
    sources: dict[str, object]


def _open(battle_id: str) -> _Opening | None:
    loaded = _load(battle_id)
    if loaded is None:
        return None
    battle, turns = loaded
    claimed = services.battle_claim_stream(battle_id)
    sources: dict[str, object] = {}
    if claimed and battle.source == Battle.Source.POOL:
        sources.update(services.pool_answers_for(battle))
    elif claimed:
        for side in ("a", "b"):
            sources[side] = conversation(turns, side)
    return _Opening(battle, turns, claimed, sources)


def _db(func: Any) -> Any:
    """Run a blocking database call on the event loop's thread pool.

    Channels' default runs every consumer's database work of a process on one shared thread,
    so battles streaming at once queued behind each other's commits; each call here gets a
    thread (and a pooled connection) of its own and holds no transaction across calls.
    """
    return database_sync_to_async(func, thread_sensitive=False)


def _stored_answers(turn: Turn) -> dict[str, Answer]:
    return {a.side: a for a in turn.answers.all()}


class BattleConsumer(AsyncJsonWebsocketConsumer):
    # A battle streams to its own socket only: no channel layer, so a voter's battle needs
    # no Redis round trip and keeps working while Redis is down.
    channel_layer_alias = None

    async def connect(self) -> None:
        await self.accept()
        self.claimed = False
        self.finished = False
        self.task = asyncio.create_task(
            self.run_or_apologise(str(self.scope["url_route"]["kwargs"]["battle_id"]))
        )

    async def run_or_apologise(self, battle_id: str) -> None:
        """Stream the battle; if the database is unreachable, say so and close."""
        try:
            await self.run(battle_id)
        except DatabaseError as exc:
            logger.warning("database unavailable: battle stream %s: %s", battle_id, exc)
            message = _(
                "The arena's database is unavailable right now. Please try again in a moment."
            )
            await self.send_json({"type": "error", "message": message})
            await self.close()

    async def disconnect(self, code: int) -> None:
        task = getattr(self, "task", None)
        if task and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        if self.claimed and not self.finished:
            # The voter left mid-stream: let a reconnect stream the battle again.
            await _db(services.battle_release_stream)(self.battle_id)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # The only message a voter sends is "stop": keep what has streamed so far.
        if isinstance(content, dict) and content.get("type") == "stop":
            self.stopped = True

    async def run(self, battle_id: str) -> None:
        self.battle_id = battle_id
        self.stopped = False
        opening = await _db(_open)(battle_id)
        if opening is None:
            await self.send_json({"type": "error", "message": _("This battle does not exist.")})
            await self.close()
            return
        battle, turns = opening.battle, opening.turns
        self.sources = opening.sources
        self.claimed = opening.claimed
        for earlier in turns[:-1]:
            await self.send_turn(earlier, _stored_answers(earlier))
        turn = turns[-1]
        if not self.claimed:
            await self.replay(battle, turn)
            return
        await self.send_json({"type": "turn", "index": turn.index, "prompt": turn.prompt})
        results = await asyncio.gather(self.pump(battle, turn, "a"), self.pump(battle, turn, "b"))
        battle = await _db(services.battle_finish)(battle=battle, turn=turn, answers=dict(results))
        self.finished = True
        await self.send_complete(battle, {side: r[1] for side, r in results})

    async def pump(
        self, battle: Battle, turn: Turn, side: str
    ) -> tuple[str, tuple[str, Finished, int | None, int]]:
        started = time.monotonic()
        first_ms: int | None = None
        parts: list[str] = []
        done = Finished(Answer.Status.ERROR, error_detail="stream produced no result")
        async with aclosing(await self.source(battle, turn, side)) as stream:
            async for event in stream:
                if self.stopped:
                    done = Finished(Answer.Status.OK, finish_reason="stopped")
                    break
                if isinstance(event, Delta):
                    if first_ms is None:
                        first_ms = monotonic_ms(started)
                    parts.append(event.text)
                    await self.send_json({"type": "delta", "side": side, "text": event.text})
                else:
                    done = event
        text = "".join(parts)
        await self.send_json({"type": "side_done", "side": side, "html": render_markdown(text)})
        return side, (text, done, first_ms, monotonic_ms(started))

    async def source(self, battle: Battle, turn: Turn, side: str) -> AsyncIterator[Event]:
        prepared = self.sources[side]
        if isinstance(prepared, PoolAnswer):
            return stream_pool(
                prepared.text,
                completion_tokens=prepared.completion_tokens,
                latency_ms=prepared.latency_ms,
            )
        return stream_live(battle.model_for(side), prepared)  # type: ignore[arg-type]

    async def send_turn(self, turn: Turn, answers: dict[str, Answer]) -> None:
        """Send one stored turn: its prompt, each side's text and its rendered form."""
        await self.send_json({"type": "turn", "index": turn.index, "prompt": turn.prompt})
        for side in ("a", "b"):
            answer = answers.get(side)
            text = answer.text if answer else ""
            if text:
                await self.send_json({"type": "delta", "side": side, "text": text})
            await self.send_json({"type": "side_done", "side": side, "html": render_markdown(text)})

    async def replay(self, battle: Battle, turn: Turn) -> None:
        """Send what is stored (a reload of a finished battle), or say it is busy."""
        if battle.status == Battle.Status.STREAMING:
            await self.send_json(
                {"type": "error", "message": _("This battle is streaming in another tab.")}
            )
            await self.close()
            return
        answers = await _db(_stored_answers)(turn)
        await self.send_turn(turn, answers)
        await self.send_complete(battle, {side: Finished(a.status) for side, a in answers.items()})

    async def send_complete(self, battle: Battle, done: dict[str, Finished]) -> None:
        failures = [
            str(FAILURE_MESSAGES[event.status]) % {"side": side.upper()}
            for side, event in sorted(done.items())
            if event.status in FAILURE_MESSAGES
        ]
        votable = battle.status == Battle.Status.COMPLETE
        message = " ".join(failures)
        if not votable and failures:
            message += " " + _("This battle cannot be voted on; start a new one.")
        await self.send_json({"type": "complete", "votable": votable, "message": message.strip()})


def conversation(turns: list[Turn], side: str) -> list[dict[str, str]]:
    """The messages one side sees for the last of `turns` (loaded in order, answers
    prefetched): every earlier prompt with this side's own earlier answer."""
    messages: list[dict[str, str]] = []
    for earlier in turns[:-1]:
        messages.append({"role": "user", "content": earlier.prompt})
        answer = _stored_answers(earlier).get(side)
        if answer is not None:
            messages.append({"role": "assistant", "content": answer.text})
    messages.append({"role": "user", "content": turns[-1].prompt})
    return messages

from __future__ import annotations

import json

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from django.db import connections

from arena import services
from arena.models import Answer, Battle, LanguageModel
from tests.arena.streaming import battle_frames, identity_names
from tests.conftest import ALICE

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest_asyncio.fixture(autouse=True)
async def _close_worker_thread_connection():  # type: ignore[no-untyped-def]
    """Close the connection the sync-to-async thread opened, so the test database can drop."""
    yield
    await sync_to_async(connections.close_all)()


async def test_it_streams_both_pool_answers_and_stores_them(pool_prompt) -> None:
    battle = await sync_to_async(services.battle_create)(voter_id=ALICE, pool_prompt=pool_prompt)

    frames = await battle_frames(battle.pk)

    assert frames[0] == {"type": "turn", "index": 0, "prompt": pool_prompt.text}
    assert frames[-1] == {"type": "complete", "votable": True, "message": ""}
    streamed = {
        side: "".join(f["text"] for f in frames if f.get("side") == side and f["type"] == "delta")
        for side in "ab"
    }
    stored = await sync_to_async(
        lambda: {a.side: a.text for a in Answer.objects.filter(turn__battle=battle)}
    )()
    assert streamed == stored
    assert all(streamed.values())
    await sync_to_async(battle.refresh_from_db)()
    assert battle.status == Battle.Status.COMPLETE


async def test_no_frame_names_a_model_or_organisation(pool_prompt) -> None:
    battle = await sync_to_async(services.battle_create)(voter_id=ALICE, pool_prompt=pool_prompt)

    raw = json.dumps(await battle_frames(battle.pk), ensure_ascii=False)

    for name in await sync_to_async(identity_names)():
        assert name not in raw


async def test_a_reconnect_replays_the_stored_battle(pool_prompt) -> None:
    battle = await sync_to_async(services.battle_create)(voter_id=ALICE, pool_prompt=pool_prompt)
    first = await battle_frames(battle.pk)

    second = await battle_frames(battle.pk)

    def text(frames: list[dict], side: str) -> str:
        return "".join(f["text"] for f in frames if f["type"] == "delta" and f["side"] == side)

    assert text(second, "a") == text(first, "a")
    assert second[-1]["votable"] is True
    assert await sync_to_async(Answer.objects.count)() == 2  # nothing streamed twice


async def test_an_unknown_battle_gets_an_error_frame(db) -> None:
    frames = await battle_frames("00000000-0000-4000-8000-000000000000")
    assert frames == [{"type": "error", "message": "This battle does not exist."}]


async def test_a_failed_side_makes_the_battle_unvotable(models) -> None:
    # A live endpoint on a closed local port: the connection is refused at once.
    await sync_to_async(
        lambda: LanguageModel.objects.filter(slug__in=["alpha-7b", "bravo-70b"]).update(
            endpoint_base_url="http://127.0.0.1:9/v1"
        )
    )()
    battle = await sync_to_async(services.battle_create)(voter_id=ALICE, prompt="Hi")

    frames = await battle_frames(battle.pk)

    assert frames[-1]["votable"] is False
    assert "Side A could not answer" in frames[-1]["message"]
    assert "127.0.0.1" not in json.dumps(frames)  # upstream detail stays server-side
    await sync_to_async(battle.refresh_from_db)()
    assert battle.status == Battle.Status.FAILED
    answer = await sync_to_async(Answer.objects.filter(side="a").get)()
    assert answer.status == Answer.Status.ERROR
    assert "ConnectError" in answer.error_detail


async def test_a_failed_battle_is_counted_in_the_next_snapshot(models) -> None:
    from ratings.services import refit

    await sync_to_async(
        lambda: LanguageModel.objects.filter(slug__in=["alpha-7b", "bravo-70b"]).update(
            endpoint_base_url="http://127.0.0.1:9/v1"
        )
    )()
    battle = await sync_to_async(services.battle_create)(voter_id=ALICE, prompt="Hi")
    await battle_frames(battle.pk)

    snapshot, _ = await sync_to_async(refit)(force=True)
    assert snapshot.battles_failed == 1

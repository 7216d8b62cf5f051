from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from arena import services
from arena.backends import Finished
from arena.models import Answer, Battle, LanguageModel, Turn
from config.asgi import application
from tests.conftest import ALICE, MALLORY


def _finish(battle: Battle, text: str = "answer") -> Battle:
    services.battle_claim_stream(battle.pk)
    turn = battle.turns.order_by("-index")[0]
    return services.battle_finish(
        battle=battle, turn=turn, answers={s: (f"{text} {s}", Finished("ok"), 10, 20) for s in "ab"}
    )


@pytest.fixture
def live_battle(models) -> Battle:
    LanguageModel.objects.filter(slug__in=["alpha-7b", "bravo-70b"]).update(
        endpoint_base_url="http://127.0.0.1:9/v1"
    )
    return _finish(services.battle_create(voter_id=ALICE, prompt="First question"))


def test_a_follow_up_adds_a_turn_and_reopens_the_stream(live_battle: Battle) -> None:
    turn = services.battle_add_turn(battle=live_battle, voter_id=ALICE, prompt="And then?")
    live_battle.refresh_from_db()
    assert turn.index == 1
    assert live_battle.status == Battle.Status.PENDING


def test_each_side_sees_its_own_earlier_answers(live_battle: Battle) -> None:
    from arena.consumers import conversation

    services.battle_add_turn(battle=live_battle, voter_id=ALICE, prompt="And then?")
    turns = list(live_battle.turns.prefetch_related("answers").order_by("index"))
    assert conversation(turns, "b") == [
        {"role": "user", "content": "First question"},
        {"role": "assistant", "content": "answer b"},
        {"role": "user", "content": "And then?"},
    ]


def test_turns_are_limited(live_battle: Battle, settings) -> None:
    settings.ARENA_MAX_TURNS = 2
    services.battle_add_turn(battle=live_battle, voter_id=ALICE, prompt="Second")
    _finish(live_battle)
    with pytest.raises(services.BattleError, match="at most 2 turns"):
        services.battle_add_turn(battle=live_battle, voter_id=ALICE, prompt="Third")


def test_no_follow_up_after_the_vote_or_by_someone_else(live_battle: Battle) -> None:
    with pytest.raises(services.NotYourBattle):
        services.battle_add_turn(battle=live_battle, voter_id=MALLORY, prompt="Hi")
    services.vote_cast(battle=live_battle, outcome="tie", voter_id=ALICE)
    with pytest.raises(services.BattleError, match="voted on"):
        services.battle_add_turn(battle=live_battle, voter_id=ALICE, prompt="Hi")


def test_the_reveal_sums_every_turn_and_comes_with_the_vote(live_battle: Battle) -> None:
    services.battle_add_turn(battle=live_battle, voter_id=ALICE, prompt="And then?")
    services.battle_claim_stream(live_battle.pk)
    done = Finished("ok", prompt_tokens=30, completion_tokens=40)
    services.battle_finish(
        battle=live_battle,
        turn=live_battle.turns.get(index=1),
        answers={side: (f"second {side}", done, 50, 70) for side in "ab"},
    )
    vote = services.vote_cast(battle=live_battle, outcome="model_b", voter_id=ALICE)
    # Sizes add up over the turns that have them; the first token is the first turn's.
    assert [
        (s.side, s.prompt_tokens, s.completion_tokens, s.first_token_ms, s.latency_ms)
        for s in vote.reveal
    ] == [("a", 30, 40, 10, 90), ("b", 30, 40, 10, 90)]
    # On PostgreSQL the vote's own statement read it; the reveal query gives the same.
    assert vote.reveal == services.battle_reveal(live_battle)


def test_pool_battles_cannot_continue(complete_battle: Battle) -> None:
    with pytest.raises(services.BattleError, match="needs live models"):
        services.battle_add_turn(battle=complete_battle, voter_id=ALICE, prompt="More")
    with pytest.raises(services.BattleError, match="needs live models"):
        services.battle_regenerate(battle=complete_battle, voter_id=ALICE)


def test_regenerate_discards_the_last_answers(live_battle: Battle) -> None:
    turn = services.battle_regenerate(battle=live_battle, voter_id=ALICE)
    live_battle.refresh_from_db()
    assert turn.index == 0
    assert not Answer.objects.filter(turn=turn).exists()
    assert live_battle.status == Battle.Status.PENDING


def test_follow_up_over_http_validates(client, live_battle: Battle) -> None:
    response = client.post(
        f"/battles/{live_battle.pk}/turns", {"prompt": ""}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code in (400, 403)
    assert Turn.objects.filter(battle=live_battle).count() == 1


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_stop_keeps_what_streamed_and_makes_the_battle_votable(pool_prompt, settings) -> None:
    settings.ARENA_POOL_CHUNK_DELAY = 0.05
    battle = await sync_to_async(services.battle_create)(voter_id=ALICE, pool_prompt=pool_prompt)
    communicator = WebsocketCommunicator(
        application, f"/ws/battles/{battle.pk}/", headers=[(b"origin", b"http://localhost")]
    )
    await communicator.connect()
    frames = []
    while True:
        frame = await communicator.receive_json_from(timeout=10)
        frames.append(frame)
        if frame["type"] == "delta" and len(frames) == 3:
            await communicator.send_json_to({"type": "stop"})
        if frame["type"] == "complete":
            break
    await communicator.disconnect()

    assert frames[-1]["votable"] is True
    answers = await sync_to_async(lambda: list(Answer.objects.filter(turn__battle=battle)))()
    full = await sync_to_async(lambda: pool_prompt.answers.first().text)()
    assert all(a.finish_reason == "stopped" for a in answers)
    assert all(len(a.text) < len(full) for a in answers)
    side_done = [f for f in frames if f["type"] == "side_done"]
    assert all("html" in f for f in side_done)
    from django.db import connections

    await sync_to_async(connections.close_all)()

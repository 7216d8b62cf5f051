from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections

from arena.models import Vote
from config.asgi import application
from ratings.services import refit

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def test_a_new_snapshot_is_pushed_to_open_leaderboard_pages(models) -> None:
    communicator = WebsocketCommunicator(
        application, "/ws/leaderboard/", headers=[(b"origin", b"http://localhost")]
    )
    connected, _ = await communicator.connect()
    assert connected

    def vote_and_refit() -> int:
        Vote.objects.create(model_a=models[0], model_b=models[1], outcome="model_a")
        Vote.objects.create(model_a=models[1], model_b=models[0], outcome="model_a")
        return refit()[0].pk

    snapshot_id = await sync_to_async(vote_and_refit)()

    assert await communicator.receive_json_from(timeout=5) == {
        "type": "snapshot",
        "id": snapshot_id,
    }
    await communicator.disconnect()
    await sync_to_async(connections.close_all)()

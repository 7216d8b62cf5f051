"""Helpers shared by the tests that stream battles through the websocket consumer."""

from __future__ import annotations

from channels.testing import WebsocketCommunicator

from arena.models import LanguageModel, Organisation
from config.asgi import application


async def battle_frames(battle_id: object, timeout: float = 10) -> list[dict]:
    """Connect to a battle's socket and collect its frames up to "complete" or "error"."""
    communicator = WebsocketCommunicator(
        application, f"/ws/battles/{battle_id}/", headers=[(b"origin", b"http://localhost")]
    )
    connected, _ = await communicator.connect()
    assert connected
    frames = []
    while True:
        frame = await communicator.receive_json_from(timeout=timeout)
        frames.append(frame)
        if frame["type"] in ("complete", "error"):
            break
    await communicator.disconnect()
    return frames


def identity_names() -> set[str]:
    """Every model slug, display name and organisation name in the catalogue."""
    names = set(Organisation.objects.values_list("name", flat=True))
    for model in LanguageModel.objects.all():
        names |= {model.slug, model.display_name}
    return names

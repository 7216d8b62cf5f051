"""Push "a new snapshot is out" to open leaderboard pages (they fetch the new numbers)."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

GROUP = "leaderboard"


class LeaderboardConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        await self.channel_layer.group_add(GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def snapshot_published(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "snapshot", "id": event["snapshot"]})

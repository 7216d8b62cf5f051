"""Websocket routes of every app."""

from __future__ import annotations

from arena.routing import websocket_urlpatterns as arena_websockets

websocket_urlpatterns = [*arena_websockets]

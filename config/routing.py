"""Websocket routes of every app."""

from __future__ import annotations

from arena.routing import websocket_urlpatterns as arena_websockets
from ratings.routing import websocket_urlpatterns as ratings_websockets

websocket_urlpatterns = [*arena_websockets, *ratings_websockets]

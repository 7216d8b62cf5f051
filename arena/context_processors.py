"""Template context every page gets."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def websocket_origin(request: HttpRequest) -> dict[str, str]:
    """`websocket_origin`: prefix of the pages' websocket addresses ("" for their own origin)."""
    return {"websocket_origin": settings.ARENA_WEBSOCKET_ORIGIN}

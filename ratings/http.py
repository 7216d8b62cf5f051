"""What the public read views share: parsing query parameters, and refusing bad ones.

A view decorated with `refusals(...)` raises `BadQuery` (400) or the selectors' `NotFound`
(404) and gets them answered in its own format: an HTML page, JSON `{"error": ...}`, or plain
text (the CSV exports).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from ratings.selectors import NotFound


class BadQuery(Exception):
    pass


def snapshot_param(request: HttpRequest) -> int | None:
    """The `?snapshot=` id, or None for the newest snapshot."""
    raw = request.GET.get("snapshot") or None
    if raw is not None and not raw.isdigit():
        raise BadQuery(_("snapshot must be a snapshot id (a whole number)."))
    return int(raw) if raw else None


def _answer(kind: str, request: HttpRequest, status: int, message: str) -> HttpResponse:
    if kind == "json":
        return JsonResponse({"error": message}, status=status)
    if kind == "text":
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    return render(request, "ratings/error.html", {"message": message}, status=status)


def refusals(kind: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Answer BadQuery with 400 and NotFound with 404, as a "page", "json" or "text"."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except BadQuery as exc:
                return _answer(kind, request, 400, str(exc))
            except NotFound as exc:
                return _answer(kind, request, 404, str(exc))

        return wrapped

    return decorate

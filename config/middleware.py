"""Answer 503, not a stack trace, while the database is unreachable; refuse NUL characters.

A request that needs PostgreSQL while it is down or restarting gets a short "try again" page
(or JSON for API and script clients) with a Retry-After header, and the server log gets one
line, not a traceback. Django reconnects on its own once the database is back
(CONN_HEALTH_CHECKS, or config/postgresql's check for the pool), so nothing needs restarting.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import defaults

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
UNAVAILABLE = (OperationalError, InterfaceError)


def _wants_json(request: HttpRequest) -> bool:
    if request.path.startswith("/api/"):
        return True
    accept = request.headers.get("Accept", "")
    if "application/json" in accept or request.content_type == "application/json":
        return True
    # Scripts posting votes rarely ask for HTML; a browser's form submission always does.
    return request.method == "POST" and "text/html" not in accept


def unavailable(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """The 503 answer to a request that failed because the database is unreachable."""
    logger.warning(
        "database unavailable: %s %s: %s", request.method, request.path, str(exc).strip()[:200]
    )
    message = _("The arena's database is unavailable right now. Please try again in a moment.")
    if _wants_json(request):
        response: HttpResponse = JsonResponse({"error": message}, status=503)
    else:
        response = render(request, "503.html", {"message": message}, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, UNAVAILABLE):
            return unavailable(request, exception)
        return None


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a database outage met outside a view (a middleware) still answers 503."""
    exc = sys.exc_info()[1]
    if isinstance(exc, UNAVAILABLE):
        return unavailable(request, exc)
    return defaults.server_error(request)


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path:
        return True
    sources = [request.GET]
    if request.method == "POST" and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        sources.append(request.POST)
    return any(
        "\x00" in key or any("\x00" in str(v) for v in values)
        for source in sources
        for key, values in source.lists()
    )


class RejectNulCharactersMiddleware:
    """400 for a NUL character anywhere in the path, query or form.

    No field means anything by one, and PostgreSQL refuses them in text (a comparison with one
    raises instead of matching nothing), so they are refused here once for every endpoint.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_nul(request):
            message = _("The request contains a NUL character, which no field accepts.")
            if _wants_json(request):
                return JsonResponse({"error": message}, status=400)
            return render(request, "ratings/error.html", {"message": message}, status=400)
        return self.get_response(request)

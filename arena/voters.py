"""Pseudonymous voter ids: a random cookie, stored and published only as a keyed hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings
from django.http import HttpRequest, HttpResponse

COOKIE_NAME = "arena_voter"
COOKIE_MAX_AGE = 365 * 24 * 3600


def voter_token(request: HttpRequest) -> str | None:
    return request.get_signed_cookie(COOKIE_NAME, default=None, salt="arena.voter")


def ensure_voter_cookie(request: HttpRequest, response: HttpResponse) -> None:
    """Give a browser its random voter token if it has none yet."""
    if voter_token(request) is None:
        token = getattr(request, "_new_voter_token", None) or secrets.token_urlsafe(24)
        response.set_signed_cookie(
            COOKIE_NAME,
            token,
            salt="arena.voter",
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure(),
        )


def voter_id(request: HttpRequest) -> str:
    """Return the pseudonymous id of this browser (the same id the cookie will carry)."""
    token = voter_token(request)
    if token is None:
        # First request of a new browser: remember the token so the cookie set on the
        # response matches the id stored with its battle.
        token = getattr(request, "_new_voter_token", None)
        if token is None:
            token = secrets.token_urlsafe(24)
            request._new_voter_token = token  # type: ignore[attr-defined]
    return pseudonym(token)


def pseudonym(token: str) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), token.encode(), hashlib.sha256).hexdigest()
    return digest[:24]

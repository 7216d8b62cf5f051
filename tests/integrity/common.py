"""What the integrity tests share: the honest background and the operator's admin release."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from arena.models import LanguageModel
from integrity.models import VoterFlag
from tests.conftest import ROUND_ROBIN, cast_votes


def background(models: list[LanguageModel]) -> None:
    """Imported votes with no voter id or network: they set the ratings and are never tested."""
    cast_votes(models, ROUND_ROBIN * 20)


def release_in_admin(client: Client, flag: VoterFlag) -> HttpResponse:
    """Olga, a superuser, releases the flag with the admin's list action."""
    client.force_login(User.objects.create_superuser("olga", "olga@example.org", "pw"))
    return client.post(
        reverse("admin:integrity_voterflag_changelist"),
        {"action": "release", "_selected_action": [flag.pk]},
    )

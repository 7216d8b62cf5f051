from __future__ import annotations

import datetime as dt

from django.utils import timezone

from arena import services
from arena.selectors import sampling_shares
from tests.conftest import ALICE


def test_shares_per_model_and_organisation_add_up(pool_prompt) -> None:
    for _ in range(30):
        services.battle_create(voter_id=ALICE, pool_prompt=pool_prompt)
    today = timezone.now().date()

    by_model = sampling_shares(since=today - dt.timedelta(days=1))
    by_org = sampling_shares(since=today - dt.timedelta(days=1), by="organisation")

    assert sum(s.battles for s in by_model) == 60  # two slots per battle
    assert abs(sum(s.share for s in by_model) - 1.0) < 1e-9
    assert {s.name for s in by_model} <= {"alpha-7b", "bravo-70b", "charlie-1t"}
    assert [(s.name, s.battles, s.share) for s in by_org] == [("Acme Labs", 60, 1.0)]


def test_the_api_publishes_them(client, pool_prompt) -> None:
    services.battle_create(voter_id=ALICE, pool_prompt=pool_prompt)
    body = client.get("/api/v1/sampling?by=organisation&days=7").json()
    assert body["by"] == "organisation"
    assert body["shares"][0]["name"] == "Acme Labs"
    assert client.get("/api/v1/sampling?by=planet").status_code == 400
    assert client.get("/api/v1/sampling?days=x").status_code == 400

"""Malformed, oversized and wrongly-typed requests get a clear 4xx and change nothing."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from arena.models import Battle, Vote
from arena.voters import voter_id


def _owner(battle: Battle) -> Client:
    client = Client()
    request = client.get("/").wsgi_request
    Battle.objects.filter(pk=battle.pk).update(voter_id=voter_id(request))
    return client


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2, 3]",
        b'"model_a"',
        b'{"outcome": ["model_a"]}',
        b'{"outcome": {"$ne": null}}',
        b'{"outcome": 1}',
        b"\xff\xfe\x00garbage",
    ],
)
def test_a_malformed_or_wrongly_typed_vote_gets_a_400(complete_battle: Battle, body: bytes) -> None:
    response = _owner(complete_battle).post(
        f"/battles/{complete_battle.pk}/vote",
        body,
        content_type="application/json",
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"]
    assert Vote.objects.count() == 0


def test_an_oversized_vote_gets_a_400(complete_battle: Battle, settings) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps({"outcome": "tie", "padding": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE)})
    response = _owner(complete_battle).post(
        f"/battles/{complete_battle.pk}/vote",
        body,
        content_type="application/json",
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    assert Vote.objects.count() == 0


def test_a_form_with_too_many_fields_gets_a_400(complete_battle: Battle, settings) -> None:  # type: ignore[no-untyped-def]
    fields = {f"f{i}": "1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    response = _owner(complete_battle).post(
        f"/battles/{complete_battle.pk}/vote",
        {"outcome": "tie", **fields},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    assert Vote.objects.count() == 0


@pytest.mark.parametrize(
    "form",
    [
        {"pool_prompt": "1e3"},
        {"pool_prompt": "-1"},
        {"pool_prompt": "99999999999999999999999"},
        {"pool_prompt": "٣"},  # an Arabic-Indic digit: isdigit() but not a database id
        {"domain": "\x00"},
        {"prompt": "x" * 100_000},
        {"prompt": "   "},
    ],
)
def test_a_bad_battle_request_gets_a_400(pool_prompt, form: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    response = Client().post("/battles/", form, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert response.json()["error"]
    assert Battle.objects.count() == 0


@pytest.mark.parametrize(
    "query",
    [
        "snapshot=-1",
        "snapshot=1.5",
        "snapshot=99999999999999999999999",
        "snapshot=%00",
        "domain=%00",
    ],
)
def test_a_bad_leaderboard_query_gets_a_4xx(db, query: str) -> None:  # type: ignore[no-untyped-def]
    for path in ("/api/v1/leaderboard", "/export/leaderboard.csv", "/leaderboard/"):
        response = Client().get(f"{path}?{query}")
        assert 400 <= response.status_code < 500, (path, query, response.status_code)


def test_a_nul_character_in_a_path_gets_a_400(db) -> None:  # type: ignore[no-untyped-def]
    response = Client().get("/models/alpha%00/")
    assert response.status_code == 400
    assert b"NUL character" in response.content
    api = Client().get("/api/v1/sampling?by=model%00")
    assert api.status_code == 400 and "NUL" in api.json()["error"]

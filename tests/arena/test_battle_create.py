from __future__ import annotations

import random
from collections import Counter

import pytest
from django.test import Client

from arena import services
from arena.models import Battle, LanguageModel, PoolPrompt
from arena.sampling import Candidate, NoPairAvailable, pick_pair
from tests.conftest import ALICE


def test_it_opens_a_pool_battle_between_two_models_that_answered(pool_prompt: PoolPrompt) -> None:
    battle = services.battle_create(voter_id=ALICE, pool_prompt=pool_prompt)

    assert battle.source == Battle.Source.POOL
    assert battle.model_a_id != battle.model_b_id
    answered = set(pool_prompt.answers.values_list("model_id", flat=True))
    assert {battle.model_a_id, battle.model_b_id} <= answered
    assert battle.turns.get().prompt == pool_prompt.text


def test_it_never_picks_a_model_whose_stored_answer_is_empty(pool_prompt: PoolPrompt) -> None:
    pool_prompt.answers.filter(model__slug="charlie-1t").update(text="")
    for _ in range(20):
        battle = services.battle_create(voter_id=ALICE, pool_prompt=pool_prompt)
        assert "charlie-1t" not in (battle.model_a.slug, battle.model_b.slug)


def test_it_refuses_a_live_battle_when_no_endpoint_is_registered(models: list) -> None:
    with pytest.raises(services.BattleError, match="No live model endpoints"):
        services.battle_create(voter_id=ALICE, prompt="Hello")


def test_it_opens_a_live_battle_between_models_with_endpoints(models: list) -> None:
    LanguageModel.objects.filter(slug__in=["alpha-7b", "bravo-70b"]).update(
        endpoint_base_url="http://127.0.0.1:9/v1"
    )
    battle = services.battle_create(voter_id=ALICE, prompt="  Hello  ")
    assert battle.source == Battle.Source.LIVE
    assert {battle.model_a.slug, battle.model_b.slug} == {"alpha-7b", "bravo-70b"}
    assert battle.turns.get().prompt == "Hello"


def test_retired_models_are_never_sampled(pool_prompt: PoolPrompt) -> None:
    LanguageModel.objects.filter(slug="alpha-7b").update(status=LanguageModel.Status.RETIRED)
    for _ in range(20):
        battle = services.battle_create(voter_id=ALICE, pool_prompt=pool_prompt)
        assert "alpha-7b" not in (battle.model_a.slug, battle.model_b.slug)


def test_sides_are_random() -> None:
    rng = random.Random(7)
    candidates = [Candidate(1, 1.0), Candidate(2, 1.0)]
    first_sides = Counter(pick_pair(candidates, rng)[0] for _ in range(2000))
    assert 900 < first_sides[1] < 1100


def test_weights_steer_sampling_and_zero_weight_excludes() -> None:
    rng = random.Random(3)
    candidates = [Candidate(1, 3.0), Candidate(2, 1.0), Candidate(3, 0.0)]
    seen = Counter(m for _ in range(2000) for m in pick_pair(candidates, rng))
    assert seen[3] == 0
    assert seen[1] == seen[2] == 2000  # only two eligible: every battle has both


def test_two_pre_release_models_are_never_paired() -> None:
    with pytest.raises(NoPairAvailable):
        pick_pair([Candidate(1, 1.0, True), Candidate(2, 1.0, True)], random.Random(1))


def test_the_page_names_no_model(client: Client, pool_prompt: PoolPrompt) -> None:
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert pool_prompt.text[:20] in html
    for model in LanguageModel.objects.select_related("organisation"):
        assert model.slug not in html
        assert model.display_name not in html
        assert model.organisation.name not in html


def test_creating_over_http_returns_the_battle_and_its_socket(
    client: Client, pool_prompt: PoolPrompt
) -> None:
    client.get("/")
    response = client.post(
        "/battles/", {"pool_prompt": pool_prompt.pk}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "url", "ws", "prompt"}
    assert body["ws"] == f"/ws/battles/{body['id']}/"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"pool_prompt": "999999"}, "Unknown pool prompt."),
        ({"pool_prompt": "abc"}, "Unknown pool prompt."),
        ({"prompt": ""}, "Type a prompt first."),
        ({"prompt": "x", "domain": "nope"}, "Unknown domain."),
        ({"prompt": "x" * 9000}, "Prompts are limited to 8000 characters."),
    ],
)
def test_bad_requests_get_a_clear_400(
    client: Client, pool_prompt: PoolPrompt, data: dict, message: str
) -> None:
    response = client.post("/battles/", data, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert response.json() == {"error": message}
    assert Battle.objects.count() == 0


def test_creating_needs_a_csrf_token(pool_prompt: PoolPrompt) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/battles/", {"pool_prompt": pool_prompt.pk})
    assert response.status_code == 403

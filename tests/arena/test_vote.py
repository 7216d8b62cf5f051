from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client, RequestFactory

from arena import services
from arena.models import Battle, Vote, VoteDomain
from arena.selectors import battle_get
from arena.voters import voter_id
from tests.conftest import ALICE, MALLORY


def test_a_vote_is_stored_and_reveals_both_models(complete_battle: Battle) -> None:
    vote = services.vote_cast(battle=complete_battle, outcome="model_a", voter_id=ALICE)

    assert vote.counted
    assert (vote.model_a_id, vote.model_b_id) == (
        complete_battle.model_a_id,
        complete_battle.model_b_id,
    )
    reveal = services.battle_reveal(complete_battle)
    assert vote.reveal == reveal
    assert [s.model for s in reveal] == [complete_battle.model_a.slug, complete_battle.model_b.slug]
    assert reveal[0].organisation == "Acme Labs"
    assert reveal[0].completion_tokens is not None
    assert reveal[0].cost_usd is not None  # list prices x tokens


def test_the_vote_carries_the_prompt_domain(complete_battle: Battle) -> None:
    vote = services.vote_cast(battle=complete_battle, outcome="tie", voter_id=ALICE)
    labels = list(VoteDomain.objects.filter(vote=vote).values_list("domain__slug", "source"))
    assert labels == [("coding", "pool")]


def test_the_models_stay_hidden_until_the_vote(complete_battle: Battle) -> None:
    with pytest.raises(services.BattleError):
        services.battle_reveal(complete_battle)


def test_a_second_vote_on_the_same_battle_is_refused(complete_battle: Battle) -> None:
    services.vote_cast(battle=complete_battle, outcome="model_a", voter_id=ALICE)
    with pytest.raises(services.AlreadyVoted):
        services.vote_cast(battle=complete_battle, outcome="model_b", voter_id=ALICE)
    assert Vote.objects.get().outcome == "model_a"


def test_the_database_itself_holds_one_vote_per_battle(complete_battle: Battle) -> None:
    Vote.objects.create(
        battle=complete_battle,
        model_a=complete_battle.model_a,
        model_b=complete_battle.model_b,
        outcome="tie",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Vote.objects.create(
            battle=complete_battle,
            model_a=complete_battle.model_a,
            model_b=complete_battle.model_b,
            outcome="model_a",
        )


def test_it_refuses_a_vote_before_both_answers_are_complete(pool_prompt) -> None:
    battle = services.battle_create(voter_id=ALICE, pool_prompt=pool_prompt)
    with pytest.raises(services.VoteRejected, match="Wait until both answers"):
        services.vote_cast(battle=battle, outcome="tie", voter_id=ALICE)


def test_a_failed_battle_cannot_be_voted_on(complete_battle: Battle) -> None:
    Battle.objects.filter(pk=complete_battle.pk).update(status=Battle.Status.FAILED)
    complete_battle.refresh_from_db()
    with pytest.raises(services.VoteRejected, match="failed"):
        services.vote_cast(battle=complete_battle, outcome="tie", voter_id=ALICE)


def test_someone_elses_battle_cannot_be_voted_on(complete_battle: Battle) -> None:
    with pytest.raises(services.NotYourBattle):
        services.vote_cast(battle=complete_battle, outcome="tie", voter_id=MALLORY)


def _client_of_battle_owner(battle: Battle) -> Client:
    """A browser whose voter cookie maps to the battle's voter id."""
    client = Client()
    client.get("/")
    request = RequestFactory().get("/")
    request.COOKIES = {name: morsel.value for name, morsel in client.cookies.items()}
    Battle.objects.filter(pk=battle.pk).update(voter_id=voter_id(request))
    return client


def test_voting_over_http_returns_the_reveal(complete_battle: Battle) -> None:
    client = _client_of_battle_owner(complete_battle)
    response = client.post(
        f"/battles/{complete_battle.pk}/vote",
        {"outcome": "both_bad"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["vote"] == "both_bad"
    assert body["counted"] is True
    assert [s["side"] for s in body["reveal"]] == ["a", "b"]
    assert body["reveal"][0]["model"] == complete_battle.model_a.slug

    again = client.post(
        f"/battles/{complete_battle.pk}/vote", {"outcome": "tie"}, HTTP_ACCEPT="application/json"
    )
    assert again.status_code == 409
    assert Vote.objects.count() == 1


@pytest.mark.parametrize("outcome", ["", "A", "model_c", "1"])
def test_an_unknown_outcome_gets_a_400(complete_battle: Battle, outcome: str) -> None:
    client = _client_of_battle_owner(complete_battle)
    response = client.post(
        f"/battles/{complete_battle.pk}/vote", {"outcome": outcome}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400
    assert "Unknown outcome" in response.json()["error"]
    assert Vote.objects.count() == 0


def test_another_browser_gets_a_403(complete_battle: Battle) -> None:
    response = Client().post(
        f"/battles/{complete_battle.pk}/vote", {"outcome": "tie"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 403


def test_an_unknown_battle_gets_a_404(db: None) -> None:
    response = Client().post(
        "/battles/00000000-0000-4000-8000-000000000000/vote", {"outcome": "tie"}
    )
    assert response.status_code == 404


def test_voting_is_post_only(complete_battle: Battle) -> None:
    assert Client().get(f"/battles/{complete_battle.pk}/vote").status_code == 405


def test_battle_get_reads_a_battle_and_its_labels_in_one_query(
    complete_battle: Battle, django_assert_num_queries
) -> None:
    stored = Battle.objects.select_related("pool_prompt").get(pk=complete_battle.pk)
    with django_assert_num_queries(1):
        battle = battle_get(complete_battle.pk)
        assert battle is not None
        for field in ("pk", "source", "status", "model_a_id", "model_b_id", "voter_id"):
            assert getattr(battle, field) == getattr(stored, field)
        assert battle.answered_at == stored.answered_at
        assert battle.pool_prompt.domain_id == stored.pool_prompt.domain_id
        assert battle.pool_prompt.domain.includes_all is False
    # Fields it did not read are deferred, not wrong: reading one loads it.
    assert battle.created_at == stored.created_at
    assert battle.pool_prompt.text == stored.pool_prompt.text
    assert battle_get("00000000-0000-4000-8000-000000000000") is None


def test_the_votes_own_statements_are_prepared_on_postgresql(
    postgres: None, complete_battle: Battle
) -> None:
    """The battle's lookup, the vote's insert (which also reads the reveal) and the reveal on
    its own are parsed and planned once per connection (config/db.py); the ORM's queries are
    left unprepared."""
    battle = battle_get(complete_battle.pk)
    assert battle is not None
    services.vote_cast(battle=battle, outcome="tie", voter_id=ALICE)
    services.battle_reveal(battle, voted=True)
    assert Vote.objects.filter(battle=battle).count() == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert len(prepared) == 3, prepared
    assert any("FROM arena_battle battle" in statement for statement in prepared)
    assert any("INSERT INTO arena_vote" in statement for statement in prepared)
    assert any(statement.lstrip().startswith("SELECT turn.") for statement in prepared)


def test_a_vote_and_its_labels_are_stored_together_or_not_at_all(
    complete_battle: Battle,
) -> None:
    services.vote_cast(battle=complete_battle, outcome="model_b", voter_id=ALICE)
    with pytest.raises(services.AlreadyVoted):
        services.vote_cast(battle=complete_battle, outcome="tie", voter_id=ALICE)
    # The refused second vote left no label behind, and the caller's transaction goes on.
    assert VoteDomain.objects.count() == 1
    assert Vote.objects.get().outcome == "model_b"

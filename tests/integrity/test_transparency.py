"""The transparency page and API: exclusions by reason, sampling shares, retired models."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from arena import services as arena_services
from arena.models import Battle, LanguageModel, Organisation, Vote
from integrity.selectors import battle_shares
from ratings.services import refit
from tests.conftest import ALICE, ROUND_ROBIN, cast_votes


@pytest.fixture
def board(models):  # type: ignore[no-untyped-def]
    """Two snapshots: the first counts everything, the second has votes excluded."""
    votes = cast_votes(models, ROUND_ROBIN * 5)
    first, _ = refit()
    arena_services.votes_exclude(vote_ids=[v.pk for v in votes[:2]], reason="operator")
    arena_services.votes_exclude(vote_ids=[votes[2].pk], reason="anomalous_voter")
    second, _ = refit()
    return first, second


def test_the_page_shows_each_snapshots_exclusions_by_reason(client: Client, board) -> None:
    first, second = board

    newest = client.get("/transparency/").content.decode()
    older = client.get(f"/transparency/?snapshot={first.pk}").content.decode()

    assert f"Snapshot {second.pk}" in newest
    assert "<td><code>operator</code></td><td>Excluded by an operator</td><td>2</td>" in newest
    assert (
        "<td><code>anomalous_voter</code></td><td>Anomalous voter (quarantined)</td><td>1</td>"
        in newest
    )
    assert "<td><code>rate_limit</code></td><td>Over the rate limit</td><td>0</td>" in newest
    assert f"Snapshot {first.pk}" in older
    assert "<td><code>operator</code></td><td>Excluded by an operator</td><td>0</td>" in older


def test_the_api_publishes_the_same_figures(client: Client, board) -> None:
    first, second = board

    body = client.get("/api/v1/transparency").json()

    assert body["snapshot"]["id"] == second.pk
    assert body["votes_excluded"]["operator"] == 2
    assert body["votes_excluded"]["anomalous_voter"] == 1
    assert set(body["votes_excluded"]) >= {
        "identity_leak",
        "failed_battle",
        "duplicate_prompt",
        "rate_limit",
        "anomalous_voter",
        "operator",
    }
    assert body["voter_flags"]["votes_quarantined_now"] == 1
    older = client.get(f"/api/v1/transparency?snapshot={first.pk}").json()
    assert older["votes_excluded"]["operator"] == 0


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("snapshot=abc", 400),
        ("snapshot=-1", 400),
        ("snapshot=99999", 404),
        ("days=0", 400),
        ("days=367", 400),
        ("days=two", 400),
    ],
)
def test_bad_queries_get_a_clear_4xx(client: Client, board, query: str, status: int) -> None:
    api = client.get(f"/api/v1/transparency?{query}")
    page = client.get(f"/transparency/?{query}")

    assert api.status_code == status and "error" in api.json()
    assert page.status_code == status


def test_sampling_shares_count_each_battle_once_per_model_and_organisation(
    pool_prompt, acme: Organisation
) -> None:
    other = Organisation.objects.create(slug="zeta", name="Zeta AI")
    zed = LanguageModel.objects.get(slug="charlie-1t")
    zed.organisation = other
    zed.save(update_fields=["organisation"])
    for _ in range(40):
        arena_services.battle_create(voter_id=ALICE, pool_prompt=pool_prompt)
    today = timezone.now().date()
    pairs = Battle.objects.values_list("model_a__slug", "model_b__slug")
    with_charlie = sum("charlie-1t" in pair for pair in pairs)

    by_model = {s.name: s for s in battle_shares(since=today, until=today)}
    by_org = {s.name: s for s in battle_shares(since=today, until=today, by="organisation")}

    assert sum(s.battles for s in by_model.values()) == 80  # two models per battle
    assert sum(s.share for s in by_model.values()) == pytest.approx(2.0)
    assert by_model["charlie-1t"].battles == with_charlie
    assert by_org["Zeta AI"].battles == with_charlie
    # Acme has a model in every battle but charlie-vs-... only when it is not charlie's alone.
    assert by_org["Acme Labs"].battles == 40
    assert by_org["Acme Labs"].share == 1.0
    assert all(s.day_battles == 40 for s in by_org.values())


def test_the_page_shows_sampling_per_day(client: Client, pool_prompt) -> None:
    for _ in range(10):
        arena_services.battle_create(voter_id=ALICE, pool_prompt=pool_prompt)
    Battle.objects.filter(pk__in=Battle.objects.values("pk")[:4]).update(
        created_at=timezone.now() - dt.timedelta(days=1)
    )

    body = client.get("/api/v1/transparency?days=2").json()
    html = client.get("/transparency/?days=2").content.decode()

    days = {s["day"] for s in body["sampling"]["by_organisation"]}
    assert len(days) == 2
    assert [s["share"] for s in body["sampling"]["by_organisation"]] == [1.0, 1.0]
    assert {s["day_battles"] for s in body["sampling"]["by_organisation"]} == {4, 6}
    assert 'data-testid="sampling-model"' in html and "100.0%" in html


def test_retired_and_pre_release_models_keep_their_full_history(
    client: Client, board, models
) -> None:
    first, second = board
    LanguageModel.objects.filter(slug="alpha-7b").update(status="retired")
    LanguageModel.objects.filter(slug="bravo-70b").update(status="pre_release")

    body = client.get("/api/v1/transparency").json()
    html = client.get("/transparency/").content.decode()

    listed = {m["model"]: m for m in body["retired_and_pre_release"]}
    assert set(listed) == {"alpha-7b", "bravo-70b"}
    assert listed["alpha-7b"]["status"] == "retired"
    history = listed["alpha-7b"]["history"]
    assert [h["snapshot"] for h in history] == [first.pk, second.pk]
    assert all(h["rating_lower"] < h["rating"] < h["rating_upper"] for h in history)
    assert 'href="/models/alpha-7b/"' in html
    assert f"{history[-1]['rating']:.1f}" in html and f"{history[-1]['rating_lower']:.1f}" in html
    assert 'data-testid="lifecycle-alpha-7b"' in html


def test_the_page_costs_a_fixed_number_of_queries(client: Client, board, pool_prompt) -> None:
    for _ in range(5):
        arena_services.battle_create(voter_id=ALICE, pool_prompt=pool_prompt)
    LanguageModel.objects.filter(slug="alpha-7b").update(status="retired")
    with CaptureQueriesContext(connection) as few:
        client.get("/transparency/")
    LanguageModel.objects.filter(slug="alpha-7b").update(status="active")
    for _ in range(20):
        arena_services.battle_create(voter_id=ALICE, pool_prompt=pool_prompt)
    LanguageModel.objects.update(status="retired")
    with CaptureQueriesContext(connection) as more:
        client.get("/transparency/")
    assert len(more) == len(few)


def test_every_page_links_to_it_in_both_languages(client: Client, board) -> None:
    english = client.get("/leaderboard/").content.decode()
    chinese = client.get("/transparency/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert 'href="/transparency/"' in english
    assert "透明度" in chinese
    assert "按原因排除的投票" in chinese


def test_the_schema_documents_the_endpoint(client: Client) -> None:
    paths = client.get("/api/v1/schema").json()["paths"]
    assert "/api/v1/transparency" in paths


def test_a_vote_of_an_unknown_reason_recorded_by_old_code_stays_visible(board) -> None:
    from integrity.selectors import exclusions_of
    from ratings.models import RatingSnapshot

    old = RatingSnapshot(votes_excluded={"operator": 1, "spam": 3})
    reasons = {e.reason: e.votes for e in exclusions_of(old)}
    assert reasons["spam"] == 3 and reasons["operator"] == 1
    assert Vote.ExcludedReason.ANOMALOUS_VOTER in reasons

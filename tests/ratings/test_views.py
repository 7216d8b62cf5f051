from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from arena.models import Vote
from ratings.services import refit
from tests.conftest import ROUND_ROBIN, cast_votes


@pytest.fixture
def snapshot(models, domains):  # type: ignore[no-untyped-def]
    pattern = ROUND_ROBIN * 5
    cast_votes(models, pattern, domains["coding"])
    return refit()[0]


def _csv(response) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_page_api_and_csv_publish_the_same_numbers(client: Client, snapshot) -> None:
    api = client.get("/api/v1/leaderboard?domain=coding").json()
    rows = _csv(client.get("/export/leaderboard.csv?domain=coding"))
    page = client.get("/leaderboard/?domain=coding").content.decode()

    assert api["snapshot"]["id"] == snapshot.pk
    assert [e["model"] for e in api["entries"]] == [r["competitor"] for r in rows]
    for entry, row in zip(api["entries"], rows, strict=True):
        assert round(entry["rating"], 4) == float(row["rating"])
        assert round(entry["rating_lower"], 4) == float(row["rating_lower"])
        assert entry["votes"] == int(row["votes"])
        assert f"{entry['rating']:.1f}" in page
        assert f"{entry['rating_lower']:.1f}" in page  # the interval is shown beside the rating


def test_the_api_names_the_tied_leaders(client: Client, snapshot) -> None:
    api = client.get("/api/v1/leaderboard").json()
    leaders = [e["model"] for e in api["entries"] if e["rank_ub"] == 1]
    assert api["tied_leaders"] == leaders
    assert len(leaders) >= 1


def test_a_named_snapshot_keeps_answering_after_a_new_one(client: Client, snapshot, models) -> None:
    before = client.get(f"/api/v1/leaderboard?snapshot={snapshot.pk}").json()
    Vote.objects.create(model_a=models[0], model_b=models[2], outcome="model_a")
    newer, created = refit()
    assert created

    assert client.get(f"/api/v1/leaderboard?snapshot={snapshot.pk}").json() == before
    assert client.get("/api/v1/leaderboard").json()["snapshot"]["id"] == newer.pk


@pytest.mark.parametrize(
    ("query", "status"),
    [("domain=nope", 404), ("snapshot=abc", 400), ("snapshot=999999", 404), ("snapshot=-1", 400)],
)
def test_bad_queries_get_clear_errors(client: Client, snapshot, query: str, status: int) -> None:
    assert client.get(f"/api/v1/leaderboard?{query}").status_code == status
    assert client.get(f"/leaderboard/?{query}").status_code == status
    assert client.get(f"/export/leaderboard.csv?{query}").status_code == status


def test_before_the_first_refit_the_pages_say_so(client: Client, domains) -> None:
    assert "No ratings yet" in client.get("/leaderboard/").content.decode()
    assert client.get("/api/v1/leaderboard").json()["entries"] == []


def test_the_leaderboard_reads_in_a_fixed_number_of_queries(client: Client, snapshot) -> None:
    with CaptureQueriesContext(connection) as cold:
        client.get("/api/v1/leaderboard?domain=coding")
    client.get("/leaderboard/?domain=coding")
    with CaptureQueriesContext(connection) as warm_api:
        client.get("/api/v1/leaderboard?domain=coding")
    with CaptureQueriesContext(connection) as warm_page:
        client.get("/leaderboard/?domain=coding")
    # Cold: the newest snapshot, domains, tiers, the snapshot, its fit, the rows, their tiers.
    assert len(cold) <= 7
    # A snapshot never changes: once cached, a request only looks up the newest snapshot.
    assert len(warm_api) == 1, [q["sql"] for q in warm_api]
    assert len(warm_page) == 1, [q["sql"] for q in warm_page]


def test_the_votes_export_streams_every_vote_with_its_labels(client: Client, snapshot) -> None:
    Vote.objects.filter(pk=Vote.objects.first().pk).update(excluded_reason="operator")
    with CaptureQueriesContext(connection) as queries:
        rows = _csv(client.get("/export/votes.csv"))
    assert len(queries) <= 5  # models once, then votes and labels per chunk of 5000
    assert len(rows) == Vote.objects.count()
    assert rows[0]["domains"] == "coding"
    assert (rows[0]["counted"], rows[0]["excluded_reason"]) == ("false", "operator")
    assert set(rows[0]) >= {"id", "model_a", "model_b", "winner"}


def test_a_price_tier_re_ranks_its_members_among_themselves(
    client: Client, models, domains
) -> None:
    from decimal import Decimal

    from arena.models import LanguageModel

    # alpha is cheap (budget tier); bravo and charlie blend to $1.75 (mid tier).
    LanguageModel.objects.filter(slug="alpha-7b").update(
        input_price_per_mtok=Decimal("0.1"), output_price_per_mtok=Decimal("0.4")
    )
    pattern = [(0, 1, "model_a")] * 30 + [(0, 2, "model_a")] * 30 + [(1, 2, "model_a")] * 20
    pattern += [(1, 0, "model_a")] * 5 + [(2, 0, "model_a")] * 5 + [(2, 1, "model_a")] * 12
    for a, b, outcome in pattern:
        Vote.objects.create(model_a=models[a], model_b=models[b], outcome=outcome)
    refit()

    overall = client.get("/api/v1/leaderboard").json()
    mid = client.get("/api/v1/leaderboard?tier=mid").json()
    budget = client.get("/export/leaderboard.csv?tier=budget")

    assert [e["model"] for e in mid["entries"]] == ["bravo-70b", "charlie-1t"]
    by_model = {e["model"]: e for e in overall["entries"]}
    assert by_model["bravo-70b"]["rank_ub"] > 1  # behind alpha overall...
    assert mid["entries"][0]["rank_ub"] == 1  # ...but first among mid-tier models
    assert mid["entries"][0]["rating"] == by_model["bravo-70b"]["rating"]
    assert [r["competitor"] for r in _csv(budget)] == ["alpha-7b"]
    assert client.get("/api/v1/leaderboard?tier=nope").status_code == 404


def test_the_overview_names_every_tied_leader_per_domain_and_tier(client: Client, snapshot) -> None:
    from ratings.selectors import overview_get

    overview = overview_get()
    domains = [row[0].domain.slug for row in overview.rows]
    assert domains == ["overall", "coding"]  # only domains with rated models
    overall_all_prices = overview.rows[0][0]
    api = client.get("/api/v1/leaderboard").json()
    assert [leader.model for leader in overall_all_prices.leaders] == api["tied_leaders"]
    html = client.get("/leaderboard/").content.decode()
    assert 'data-testid="overview"' in html
    for leader in overall_all_prices.leaders:
        assert leader.display_name in html


def test_a_model_page_shows_standings_head_to_head_and_history(
    client: Client, snapshot, models
) -> None:
    Vote.objects.create(model_a=models[0], model_b=models[1], outcome="model_a")
    refit()
    html = client.get("/models/alpha-7b/").content.decode()
    for testid in ("standings", "head-to-head", "history"):
        assert f'data-testid="{testid}"' in html
    assert "Bravo 70B" in html and "Charlie 1T" in html
    from ratings.selectors import model_profile_get

    profile = model_profile_get("alpha-7b")
    assert len(profile.history) == 2
    vs_bravo = next(r for r in profile.head_to_head if r.opponent == "bravo-70b")
    assert (
        vs_bravo.votes
        == Vote.objects.filter(model_a__in=models[:2], model_b__in=models[:2]).count()
    )
    assert client.get("/models/nope/").status_code == 404


def test_the_snapshot_list_links_every_snapshot(client: Client, snapshot) -> None:
    html = client.get("/snapshots/").content.decode()
    assert f"?snapshot={snapshot.pk}" in html
    body = client.get("/api/v1/snapshots").json()
    assert body["snapshots"][0]["id"] == snapshot.pk
    assert body["snapshots"][0]["votes_counted"] == snapshot.votes_counted


def test_the_openapi_schema_describes_every_api_path(client: Client, snapshot) -> None:
    schema = client.get("/api/v1/schema").json()
    assert schema["openapi"].startswith("3.")
    # Every read endpoint answers (the voting POSTs and the pages are fuzzed in test_fuzz_api).
    for path, operations in schema["paths"].items():
        if not path.startswith(("/api/", "/export/")) or "get" not in operations:
            continue
        query = "?domain=overall" if "leaderboard" in path else ""
        url = path.replace("{slug}", "alpha-7b")
        assert client.get(url + query).status_code == 200, path
    entry_fields = set(
        schema["paths"]["/api/v1/leaderboard"]["get"]["responses"]["200"]["content"][
            "application/json"
        ]["schema"]["properties"]["entries"]["items"]["properties"]
    )
    assert entry_fields == set(client.get("/api/v1/leaderboard").json()["entries"][0])


@pytest.mark.parametrize("path", ["/api/v1/leaderboard", "/api/v1/matrix"])
def test_what_cannot_be_a_slug_is_refused_before_any_cache_key(
    client: Client, snapshot, path: str
) -> None:
    import warnings

    from django.core.cache.backends.base import CacheKeyWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheKeyWarning)
        for query in ("domain=c%C3%B6ding%20x", "domain=coding&tier=a%0Ab"):
            response = client.get(f"{path}?{query}")
            assert response.status_code == 404
            assert response.json()["error"].startswith(("No domain", "No tier"))

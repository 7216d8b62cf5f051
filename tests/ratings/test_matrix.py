"""Pair counts kept with each snapshot, the win-rate/battle-count matrix, and the model API."""

from __future__ import annotations

import importlib
import re
from collections import Counter
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from arena.models import LanguageModel, Vote, VoteDomain
from ratings.models import DomainFit, RatingSnapshot
from ratings.selectors import matrix_get
from ratings.services import refit
from tests.conftest import ROUND_ROBIN, cast_votes

PATTERN = [*ROUND_ROBIN, (0, 2, "model_a"), (2, 1, "tie"), (0, 1, "both_bad")] * 4


@pytest.fixture
def snapshot(models, domains):  # type: ignore[no-untyped-def]
    """Counted votes among the three models, half of them labelled coding, plus one excluded."""
    for i, (a, b, outcome) in enumerate(PATTERN):
        vote = Vote.objects.create(model_a=models[a], model_b=models[b], outcome=outcome)
        if i % 2:
            VoteDomain.objects.create(vote=vote, domain=domains["coding"], source="import")
    Vote.objects.create(
        model_a=models[0], model_b=models[1], outcome="model_a", excluded_reason="operator"
    )
    return refit()[0]


def _recount(snapshot: RatingSnapshot, domain) -> list[list[int]]:  # type: ignore[no-untyped-def]
    """The domain's pair tallies recounted from the votes the snapshot counted."""
    votes = Vote.objects.filter(excluded_reason="", first_snapshot_id__lte=snapshot.pk)
    if not domain.includes_all:
        votes = votes.filter(domains=domain)
    counts: Counter[tuple[int, int, int]] = Counter()
    for a, b, outcome in votes.values_list("model_a_id", "model_b_id", "outcome"):
        lo, hi = min(a, b), max(a, b)
        column = {"tie": 2, "both_bad": 3}.get(outcome)
        if column is None:
            winner = a if outcome == "model_a" else b
            column = 0 if winner == lo else 1
        counts[(lo, hi, column)] += 1
    pairs = sorted({(lo, hi) for lo, hi, _ in counts})
    return [[lo, hi, *(counts[(lo, hi, c)] for c in range(4))] for lo, hi in pairs]


def test_each_fit_keeps_the_pair_counts_of_the_votes_it_counted(snapshot, domains) -> None:
    fits = DomainFit.objects.filter(snapshot=snapshot).select_related("domain")
    assert {f.domain.slug for f in fits} == {"overall", "coding"}
    for fit in fits:
        assert fit.pairs == _recount(snapshot, fit.domain), fit.domain.slug
    overall = next(f for f in fits if f.domain.includes_all)
    assert sum(sum(p[2:]) for p in overall.pairs) == snapshot.votes_counted == len(PATTERN)


def test_a_later_refit_leaves_an_earlier_snapshots_counts_alone(snapshot, models) -> None:
    before = {f.domain_id: f.pairs for f in DomainFit.objects.filter(snapshot=snapshot)}
    Vote.objects.filter(pk=Vote.objects.filter(excluded_reason="").first().pk).update(
        excluded_reason="operator", needs_tally=True
    )
    Vote.objects.create(model_a=models[2], model_b=models[0], outcome="model_a")
    newer, created = refit()
    assert created
    after = {f.domain_id: f.pairs for f in DomainFit.objects.filter(snapshot=snapshot)}
    assert after == before
    newest = DomainFit.objects.get(snapshot=newer, domain__includes_all=True)
    assert newest.pairs == _recount(newer, newest.domain)
    assert newest.pairs != before[newest.domain_id]


def test_the_matrix_api_gives_each_pairs_counts_in_leaderboard_order(
    client: Client, snapshot
) -> None:
    body = client.get("/api/v1/matrix?domain=overall").json()
    board = client.get("/api/v1/leaderboard?domain=overall").json()
    assert [m["model"] for m in body["models"]] == [e["model"] for e in board["entries"]]
    assert body["snapshot"]["id"] == snapshot.pk
    slugs = [m["model"] for m in body["models"]]
    i, j = slugs.index("alpha-7b"), slugs.index("bravo-70b")
    ab = [(a, b, o) for a, b, o in PATTERN if {a, b} == {0, 1}]
    alpha_wins = sum((a, o) in ((0, "model_a"), (1, "model_b")) for a, b, o in ab)
    bravo_wins = sum((a, o) in ((1, "model_a"), (0, "model_b")) for a, b, o in ab)
    ties = sum(o == "tie" for *_, o in ab)
    both_bad = sum(o == "both_bad" for *_, o in ab)
    assert (body["wins"][i][j], body["wins"][j][i]) == (alpha_wins, bravo_wins)
    assert body["ties"][i][j] == body["ties"][j][i] == ties
    assert body["both_bad"][i][j] == body["both_bad"][j][i] == both_bad
    assert body["battles"][i][j] == body["battles"][j][i] == len(ab)
    assert body["win_rate"][i][j] == pytest.approx((alpha_wins + (ties + both_bad) / 2) / len(ab))
    assert body["win_rate"][i][j] + body["win_rate"][j][i] == pytest.approx(1)
    assert all(body["battles"][k][k] == 0 and body["win_rate"][k][k] is None for k in range(3))
    assert "half" in body["win_rate_definition"]


def test_a_price_tier_restricts_the_matrix_to_its_models(client: Client, snapshot) -> None:
    # alpha is cheap (budget); bravo and charlie blend to $1.75 (mid). The tier reads the
    # membership recorded with the snapshot, so it is refitted after the price change.
    LanguageModel.objects.filter(slug="alpha-7b").update(
        input_price_per_mtok=Decimal("0.1"), output_price_per_mtok=Decimal("0.4")
    )
    newer = refit(force=True)[0]
    everyone = client.get(f"/api/v1/matrix?snapshot={newer.pk}").json()
    mid = client.get(f"/api/v1/matrix?tier=mid&snapshot={newer.pk}").json()
    assert [m["model"] for m in mid["models"]] == [
        m["model"] for m in everyone["models"] if m["model"] != "alpha-7b"
    ]
    assert mid["tier"] == "mid"
    keep = [k for k, m in enumerate(everyone["models"]) if m["model"] != "alpha-7b"]
    assert mid["battles"] == [[everyone["battles"][i][j] for j in keep] for i in keep]
    assert [m["rank_ub"] for m in mid["models"]] == [
        e["rank_ub"] for e in client.get("/api/v1/leaderboard?tier=mid").json()["entries"]
    ]


def test_a_matrix_permalink_keeps_its_numbers_after_a_new_snapshot(
    client: Client, snapshot, models
) -> None:
    url = f"/api/v1/matrix?domain=coding&snapshot={snapshot.pk}"
    before = client.get(url).json()
    page_before = client.get(f"/leaderboard/matrix/?domain=coding&snapshot={snapshot.pk}")
    model_before = client.get(f"/api/v1/models/alpha-7b?snapshot={snapshot.pk}").json()
    cast_votes(models, [(0, 1, "model_b")] * 5, VoteDomain.objects.first().domain)
    newer, created = refit()
    assert created
    from django.core.cache import cache

    cache.clear()  # read the stored snapshot again, not a cached copy
    assert client.get(url).json() == before
    page_after = client.get(f"/leaderboard/matrix/?domain=coding&snapshot={snapshot.pk}")
    assert _without_csrf(page_after) == _without_csrf(page_before)
    assert client.get(f"/api/v1/models/alpha-7b?snapshot={snapshot.pk}").json() == model_before
    assert client.get("/api/v1/matrix?domain=coding").json()["snapshot"]["id"] == newer.pk


def _without_csrf(response) -> str:  # type: ignore[no-untyped-def]
    """The page's text without the per-request CSRF token of the language form."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("domain=nope", 404),
        ("tier=nope", 404),
        ("snapshot=abc", 400),
        ("snapshot=-1", 400),
        ("snapshot=1.5", 400),
        ("snapshot=999999", 404),
    ],
)
def test_bad_matrix_queries_get_clear_errors(
    client: Client, snapshot, query: str, status: int
) -> None:
    api = client.get(f"/api/v1/matrix?{query}")
    assert api.status_code == status
    assert api.json()["error"]
    assert client.get(f"/leaderboard/matrix/?{query}").status_code == status


def test_a_snapshot_from_before_pair_counts_says_so(client: Client, snapshot) -> None:
    DomainFit.objects.filter(snapshot=snapshot).update(pairs=None)
    api = client.get(f"/api/v1/matrix?snapshot={snapshot.pk}")
    assert api.status_code == 404
    assert "before pair counts were kept" in api.json()["error"]
    model = client.get(f"/api/v1/models/alpha-7b?snapshot={snapshot.pk}").json()
    assert model["head_to_head"] is None
    assert model["standings"]  # the rest of the snapshot is still served
    html = client.get(f"/models/alpha-7b/?snapshot={snapshot.pk}").content.decode()
    assert 'data-testid="head-to-head-missing"' in html


def test_the_migration_gives_the_newest_snapshot_its_pair_counts(snapshot) -> None:
    migration = importlib.import_module("ratings.migrations.0004_snapshot_pairs")
    expected = {f.pk: f.pairs for f in DomainFit.objects.filter(snapshot=snapshot)}
    DomainFit.objects.update(pairs=None)
    migration.freeze_latest_pairs(apps, None)
    assert {f.pk: f.pairs for f in DomainFit.objects.filter(snapshot=snapshot)} == expected


def test_the_matrix_reads_in_a_fixed_number_of_queries(client: Client, snapshot) -> None:
    with CaptureQueriesContext(connection) as cold:
        client.get("/api/v1/matrix?domain=coding")
    with CaptureQueriesContext(connection) as warm:
        client.get("/api/v1/matrix?domain=coding")
    assert len(cold) <= 10, [q["sql"] for q in cold]
    assert len(warm) == 1, [q["sql"] for q in warm]  # only "which snapshot is newest"


def test_the_matrix_page_draws_from_the_api_and_lists_the_numbers(client: Client, snapshot) -> None:
    html = client.get("/leaderboard/matrix/?domain=coding").content.decode()
    for testid in ("win-rate-matrix", "battle-matrix", "matrix-table"):
        assert f'data-testid="{testid}"' in html
    assert f"/api/v1/matrix?domain=coding&snapshot={snapshot.pk}" in html
    assert "ratings/matrix.js" in html
    matrix = matrix_get(domain_slug="coding")
    i, j = 0, 1
    rate = round(matrix.win_rate[i][j] * 100)
    assert f"{rate}% ({matrix.battles[i][j]})" in html
    board = client.get("/leaderboard/?domain=coding").content.decode()
    assert "/leaderboard/matrix/?domain=coding" in board  # linked from the cell's page


def test_the_matrix_page_reads_in_chinese(client: Client, snapshot) -> None:
    client.cookies["django_language"] = "zh-hans"
    html = client.get("/leaderboard/matrix/").content.decode()
    assert "胜率" in html
    assert "Win rates and battle counts" not in html


def test_the_model_api_gives_the_snapshots_head_to_head_and_history(
    client: Client, snapshot, models
) -> None:
    first = client.get("/api/v1/models/alpha-7b").json()
    assert first["snapshot"]["id"] == snapshot.pk
    assert [h["snapshot"] for h in first["history"]] == [snapshot.pk]
    overall = DomainFit.objects.get(snapshot=snapshot, domain__includes_all=True).pairs
    alpha = models[0].pk
    for record in first["head_to_head"]:
        opponent = LanguageModel.objects.get(slug=record["opponent"]).pk
        lo, hi = min(alpha, opponent), max(alpha, opponent)
        _, _, lo_wins, hi_wins, ties, both_bad = next(p for p in overall if p[:2] == [lo, hi])
        mine, theirs = (lo_wins, hi_wins) if alpha == lo else (hi_wins, lo_wins)
        assert (record["wins"], record["losses"]) == (mine, theirs)
        assert (record["ties"], record["both_bad"]) == (ties, both_bad)
        assert record["battles"] == mine + theirs + ties + both_bad
    # Votes counted later change the newest record, not the first snapshot's.
    cast_votes(models, [(0, 1, "model_a")] * 3)
    newer = refit()[0]
    latest = client.get("/api/v1/models/alpha-7b").json()
    assert [h["snapshot"] for h in latest["history"]] == [snapshot.pk, newer.pk]
    vs_bravo = {r["opponent"]: r for r in latest["head_to_head"]}["bravo-70b"]
    old_vs_bravo = {r["opponent"]: r for r in first["head_to_head"]}["bravo-70b"]
    assert vs_bravo["wins"] == old_vs_bravo["wins"] + 3
    pinned = client.get(f"/api/v1/models/alpha-7b?snapshot={snapshot.pk}").json()
    assert pinned["head_to_head"] == first["head_to_head"]
    assert [h["snapshot"] for h in pinned["history"]] == [snapshot.pk]
    assert {s["domain"] for s in latest["standings"]} == {"overall", "coding"}


def test_the_model_api_rejects_bad_queries(client: Client, snapshot) -> None:
    assert client.get("/api/v1/models/nope").status_code == 404
    assert client.get("/api/v1/models/alpha-7b?snapshot=x").status_code == 400
    assert client.get("/api/v1/models/alpha-7b?snapshot=999999").status_code == 404


def test_the_model_page_draws_its_charts_from_the_model_api(client: Client, snapshot) -> None:
    html = client.get("/models/alpha-7b/").content.decode()
    for testid in ("head-to-head-chart", "rating-history", "head-to-head", "history"):
        assert f'data-testid="{testid}"' in html
    assert f"/api/v1/models/alpha-7b?snapshot={snapshot.pk}" in html
    assert "ratings/model.js" in html


def test_a_snapshots_pair_counts_cannot_be_edited_through_the_model(snapshot) -> None:
    from ratings.models import ImmutableError

    fit = DomainFit.objects.filter(snapshot=snapshot).first()
    fit.pairs = []
    with pytest.raises(ImmutableError):
        fit.save()


def test_the_model_api_reads_in_a_fixed_number_of_queries(client: Client, snapshot, models) -> None:
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/models/alpha-7b")
    cast_votes(models, ROUND_ROBIN)
    refit()
    with CaptureQueriesContext(connection) as more:
        client.get("/api/v1/models/alpha-7b")
    assert len(more) == len(few) <= 7, [q["sql"] for q in more]


def test_the_schema_describes_the_matrix_and_model_answers(client: Client, snapshot) -> None:
    paths = client.get("/api/v1/schema").json()["paths"]

    def described(path: str) -> dict:  # type: ignore[type-arg]
        ok = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        return ok["properties"]

    matrix = client.get("/api/v1/matrix").json()
    assert set(described("/api/v1/matrix")) == set(matrix)
    assert set(described("/api/v1/matrix")["models"]["items"]["properties"]) == set(
        matrix["models"][0]
    )
    model = client.get("/api/v1/models/alpha-7b").json()
    schema = described("/api/v1/models/{slug}")
    assert set(schema) == set(model)
    for part in ("standings", "head_to_head", "history"):
        assert set(schema[part]["items"]["properties"]) == set(model[part][0]), part
    assert set(schema["model"]["properties"]) == set(model["model"])

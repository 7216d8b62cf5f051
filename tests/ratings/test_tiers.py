"""Tiers of three kinds (price band, open weights, size class), kept per snapshot."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from arena.models import CostTier, LanguageModel, Vote, tiers_of
from ratings import maths
from ratings.models import RatingRow, TierMembership
from ratings.selectors import model_profile_get, overview_get
from ratings.services import refit

# alpha beats both others clearly; bravo beats charlie more often than not.
PATTERN = [(0, 1, "model_a")] * 30 + [(0, 2, "model_a")] * 30 + [(1, 2, "model_a")] * 20
PATTERN += [(1, 0, "model_a")] * 5 + [(2, 0, "model_a")] * 5 + [(2, 1, "model_a")] * 12


@pytest.fixture
def catalogued(models: list[LanguageModel]) -> list[LanguageModel]:
    """alpha: small open weights, budget; bravo: medium open weights, mid; charlie: large, mid."""
    alpha, bravo, charlie = models
    for model, open_weights, params, price_in, price_out in [
        (alpha, True, "7", "0.1", "0.4"),
        (bravo, True, "70", "1", "4"),
        (charlie, False, "1000", "1", "4"),
    ]:
        model.open_weights = open_weights
        model.total_params_b = Decimal(params)
        model.input_price_per_mtok = Decimal(price_in)
        model.output_price_per_mtok = Decimal(price_out)
        model.save()
    return models


@pytest.fixture
def voted(catalogued: list[LanguageModel]) -> list[LanguageModel]:
    for a, b, outcome in PATTERN:
        Vote.objects.create(model_a=catalogued[a], model_b=catalogued[b], outcome=outcome)
    return catalogued


def _slugs(model: LanguageModel) -> list[str]:
    return [t.slug for t in tiers_of(model, CostTier.objects.all())]


def _csv(response) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def _tables(response) -> list[str]:  # type: ignore[no-untyped-def]
    """The overview matrix and the cell's table of a leaderboard page."""
    html = response.content.decode()
    return [
        html[html.index(f'<table class="{c}') :].split("</table>")[0] for c in ("matrix", "board")
    ]


def test_a_model_belongs_to_one_tier_of_each_kind_it_qualifies_for(catalogued) -> None:
    alpha, bravo, charlie = catalogued
    assert _slugs(alpha) == ["budget", "open-weights", "small"]
    assert _slugs(bravo) == ["mid", "open-weights", "medium"]
    assert _slugs(charlie) == ["mid", "large"]


def test_unknown_size_price_or_openness_puts_a_model_in_no_tier_of_that_kind(domains) -> None:
    unknown = LanguageModel(slug="mystery", display_name="Mystery")
    assert _slugs(unknown) == []
    unknown.open_weights = False
    unknown.input_price_per_mtok = Decimal("20")
    unknown.output_price_per_mtok = Decimal("80")
    assert _slugs(unknown) == ["premium"]


@pytest.mark.parametrize(
    ("params", "size"),
    [("14.99", "small"), ("15", "medium"), ("99.99", "medium"), ("100", "large")],
)
def test_bands_include_their_lower_bound_and_exclude_their_upper_one(
    domains, params: str, size: str
) -> None:
    model = LanguageModel(slug="m", display_name="M", total_params_b=Decimal(params))
    assert _slugs(model) == [size]
    priced = LanguageModel(
        slug="p", display_name="P", input_price_per_mtok=Decimal("0.5"), output_price_per_mtok=0
    )
    # Blended (3:1) price of exactly $0.375 is budget; $0.50 starts mid.
    assert _slugs(priced) == ["budget"]
    priced.output_price_per_mtok = Decimal("0.5")
    assert _slugs(priced) == ["mid"]


def test_overlapping_bands_go_to_the_first_by_position(domains) -> None:
    CostTier.objects.create(
        slug="tiny", kind="size", name_en="Tiny", name_zh="微型", max_params_b=8, position=0
    )
    assert _slugs(LanguageModel(slug="m", display_name="M", total_params_b=7)) == ["tiny"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "size", "min_params_b": 50, "max_params_b": 200}, "overlaps tier 'medium'"),
        ({"kind": "size", "min_params_b": 20, "max_params_b": 10}, "lower bound must be below"),
        ({"kind": "size"}, "needs at least one bound"),
        ({"kind": "size", "max_blended_price": 1, "max_params_b": 5}, "only the bounds"),
        ({"kind": "open_weights"}, "already an open-weights tier"),
        ({"kind": "price", "min_blended_price": 2}, "overlaps tier 'mid'"),
    ],
)
def test_a_tier_that_would_break_membership_is_refused(domains, fields, message) -> None:
    tier = CostTier(slug="new", name_en="New", name_zh="新", **fields)
    with pytest.raises(ValidationError, match=message):
        tier.full_clean()


def test_operators_edit_tiers_in_the_admin(admin_client: Client, domains) -> None:
    form = {"slug": "huge", "kind": "size", "name_en": "Huge", "name_zh": "巨型", "position": 9}
    refused = admin_client.post(
        "/admin/arena/costtier/add/", {**form, "min_params_b": "500", "max_params_b": ""}
    )
    assert refused.status_code == 200 and "overlaps tier" in refused.content.decode()
    assert not CostTier.objects.filter(slug="huge").exists()

    large = CostTier.objects.get(slug="large")
    admin_client.post(
        f"/admin/arena/costtier/{large.pk}/change/",
        {"slug": "large", "kind": "size", "name_en": "Large", "name_zh": "大型", "position": 6}
        | {"min_params_b": "100", "max_params_b": "500"},
    )
    created = admin_client.post(
        "/admin/arena/costtier/add/", {**form, "min_params_b": "500", "max_params_b": ""}
    )
    assert created.status_code == 302
    assert _slugs(LanguageModel(slug="m", display_name="M", total_params_b=1000)) == ["huge"]
    assert "huge" in admin_client.get("/admin/arena/costtier/?kind__exact=size").content.decode()


def test_a_refit_records_every_tier_with_ranks_among_its_members(voted) -> None:
    snapshot, _ = refit()
    rows = RatingRow.objects.filter(snapshot=snapshot, domain__slug="overall")
    recorded = {
        (m.row.model.slug, m.tier.slug): (m.rank_ub, m.rank_lb)
        for m in TierMembership.objects.filter(row__in=rows).select_related("row__model", "tier")
    }
    assert set(recorded) == {
        ("alpha-7b", "budget"),
        ("alpha-7b", "open-weights"),
        ("alpha-7b", "small"),
        ("bravo-70b", "mid"),
        ("bravo-70b", "open-weights"),
        ("bravo-70b", "medium"),
        ("charlie-1t", "mid"),
        ("charlie-1t", "large"),
    }
    by_model = {r.model.slug: r for r in rows}
    assert by_model["bravo-70b"].rank_ub > 1  # behind alpha overall...
    assert recorded[("bravo-70b", "medium")] == (1, 1)  # ...alone among medium models
    assert recorded[("alpha-7b", "small")] == (1, 1)
    # The mid tier re-ranks bravo and charlie with the pure rank_ranges on their intervals.
    mid = [by_model["bravo-70b"], by_model["charlie-1t"]]
    best, worst = maths.rank_ranges(
        [r.rating for r in mid], [r.rating_lower for r in mid], [r.rating_upper for r in mid]
    )
    assert [recorded[(r.model.slug, "mid")] for r in mid] == list(
        zip(best.tolist(), worst.tolist(), strict=True)
    )
    open_weights = [by_model["alpha-7b"], by_model["bravo-70b"]]
    best, worst = maths.rank_ranges(
        [r.rating for r in open_weights],
        [r.rating_lower for r in open_weights],
        [r.rating_upper for r in open_weights],
    )
    assert [recorded[(r.model.slug, "open-weights")] for r in open_weights] == list(
        zip(best.tolist(), worst.tolist(), strict=True)
    )


def test_a_price_change_moves_a_model_in_new_snapshots_only(client: Client, voted) -> None:
    old, _ = refit()
    before = {
        tier: client.get(f"/api/v1/leaderboard?tier={tier}&snapshot={old.pk}").json()
        for tier in ("budget", "mid", "open-weights", "small", "medium")
    }
    old_page = _tables(client.get(f"/leaderboard/?tier=mid&snapshot={old.pk}"))

    bravo = LanguageModel.objects.get(slug="bravo-70b")
    bravo.input_price_per_mtok = Decimal("0.1")
    bravo.output_price_per_mtok = Decimal("0.2")
    bravo.total_params_b = Decimal("8")
    bravo.save()
    new, created = refit(force=True)
    assert created

    for tier, body in before.items():
        assert client.get(f"/api/v1/leaderboard?tier={tier}&snapshot={old.pk}").json() == body
    assert [e["model"] for e in before["mid"]["entries"]] == ["bravo-70b", "charlie-1t"]
    assert [e["model"] for e in before["budget"]["entries"]] == ["alpha-7b"]

    budget = client.get(f"/api/v1/leaderboard?tier=budget&snapshot={new.pk}").json()
    mid = client.get(f"/api/v1/leaderboard?tier=mid&snapshot={new.pk}").json()
    small = client.get(f"/api/v1/leaderboard?tier=small&snapshot={new.pk}").json()
    assert [e["model"] for e in budget["entries"]] == ["alpha-7b", "bravo-70b"]
    assert [e["model"] for e in mid["entries"]] == ["charlie-1t"]
    assert mid["entries"][0]["rank_ub"] == 1  # alone in its tier now
    assert [e["model"] for e in small["entries"]] == ["alpha-7b", "bravo-70b"]
    assert client.get(f"/api/v1/leaderboard?tier=medium&snapshot={new.pk}").json()["entries"] == []

    # The old snapshot's overview (from a cold cache too) shows what it showed.
    from django.core.cache import cache

    cache.clear()
    assert _tables(client.get(f"/leaderboard/?tier=mid&snapshot={old.pk}")) == old_page
    assert "$1.75" in old_page[1]  # the price that placed bravo in the mid tier then
    assert before["mid"]["entries"][0]["blended_price_per_mtok"] == 1.75
    assert budget["entries"][1]["blended_price_per_mtok"] == 0.125
    old_cells = {c.tier.slug: c for c in overview_get(old.pk).rows[0] if c.tier}
    new_cells = {c.tier.slug: c for c in overview_get(new.pk).rows[0] if c.tier}
    assert [leader.model for leader in old_cells["mid"].leaders] == [
        e["model"] for e in before["mid"]["entries"] if e["rank_ub"] == 1
    ]
    assert [leader.model for leader in new_cells["mid"].leaders] == ["charlie-1t"]
    assert (old_cells["medium"].rated, new_cells["medium"].rated) == (1, 0)


def test_the_overview_groups_tiers_by_kind_and_names_leaders_in_each(client: Client, voted) -> None:
    refit()
    overview = overview_get()
    assert [(g.kind, [t.slug for t in g.tiers]) for g in overview.tier_groups] == [
        ("price", ["budget", "mid", "premium"]),
        ("open_weights", ["open-weights"]),
        ("size", ["small", "medium", "large"]),
    ]
    overall = {c.tier.slug if c.tier else None: c for c in overview.rows[0]}
    assert list(overall) == [
        None,
        "budget",
        "mid",
        "premium",
        "open-weights",
        "small",
        "medium",
        "large",
    ]
    assert [leader.model for leader in overall["open-weights"].leaders] == ["alpha-7b"]
    assert [leader.model for leader in overall["medium"].leaders] == ["bravo-70b"]
    assert [leader.model for leader in overall["large"].leaders] == ["charlie-1t"]
    assert (overall["premium"].rated, overall["premium"].leaders) == (0, [])
    api = client.get("/api/v1/leaderboard?tier=open-weights").json()
    assert api["tied_leaders"] == [leader.model for leader in overall["open-weights"].leaders]

    html = client.get("/leaderboard/").content.decode()
    assert html.index("Open weights") < html.index("Medium (15B–100B)")
    assert 'href="?domain=overall&tier=open-weights"' in html
    assert 'href="?domain=overall&tier=large"' in html
    zh = client.get("/leaderboard/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "开放权重" in zh and "中型（15B–100B）" in zh
    assert "全部模型" in zh and "规模" in zh and "统计上并列第一" in zh


def test_open_weights_and_size_cells_reach_the_api_and_csv(client: Client, voted) -> None:
    snapshot, _ = refit()
    api = client.get("/api/v1/leaderboard?tier=open-weights").json()
    assert (api["tier"], api["tier_kind"]) == ("open-weights", "open_weights")
    assert [e["model"] for e in api["entries"]] == ["alpha-7b", "bravo-70b"]
    assert all(e["open_weights"] for e in api["entries"])
    assert api["entries"][0]["tiers"] == ["budget", "open-weights", "small"]
    assert api["entries"][1]["price_tier"] == "mid"

    rows = _csv(client.get("/export/leaderboard.csv?tier=large"))
    assert [(r["tier"], r["competitor"], r["tiers"]) for r in rows] == [
        ("large", "charlie-1t", "mid;large")
    ]
    assert (rows[0]["rank_ub"], rows[0]["rank_lb"]) == ("1", "1")
    page = client.get("/leaderboard/?tier=small").content.decode()
    assert "Alpha 7B" in page and "Charlie 1T" not in page.split('id="table"')[1]


@pytest.mark.parametrize("tier", ["nope", "Budget", "open_weights"])
def test_an_unknown_tier_gets_a_clear_404(client: Client, voted, tier: str) -> None:
    refit()
    api = client.get(f"/api/v1/leaderboard?tier={tier}")
    assert api.status_code == 404
    assert api.json()["error"] == (
        f"No tier {tier!r}; the tiers are: budget, mid, premium, open-weights, small, "
        "medium, large."
    )
    assert client.get(f"/export/leaderboard.csv?tier={tier}").status_code == 404
    page = client.get(f"/leaderboard/?tier={tier}")
    assert page.status_code == 404 and "the tiers are" in page.content.decode()


def test_the_model_page_shows_its_rank_in_each_kind_of_tier(client: Client, voted) -> None:
    refit()
    profile = model_profile_get("bravo-70b")
    overall = profile.standings[0]
    assert overall.domain.slug == "overall"
    assert [(t.tier.slug, t.rank_ub, t.rank_lb) if t else None for t in overall.tiers] == [
        ("mid", 1, 2),  # bravo and charlie are not separable
        ("open-weights", 2, 2),  # alpha is clearly better
        ("medium", 1, 1),
    ]
    charlie = model_profile_get("charlie-1t").standings[0]
    assert charlie.tiers[1] is None  # not open weights
    html = client.get("/models/bravo-70b/").content.decode()
    assert "?domain=overall&tier=medium" in html and "Size class" in html


@pytest.mark.parametrize("tier", ["mid", "open-weights", "small", "large"])
def test_a_tiers_ranks_are_reproduced_from_the_votes_export(
    client: Client, voted, tmp_path, capsys, tier: str
) -> None:
    snapshot, _ = refit()
    path = tmp_path / "votes.csv"
    path.write_bytes(b"".join(client.get("/export/votes.csv").streaming_content))
    call_command("reproduce", "--votes", str(path), "--snapshot", str(snapshot.pk), "--tier", tier)
    out = capsys.readouterr().out
    assert f"tier {tier}" in out and "every number matches within 1e-06" in out


def test_reproducing_a_tier_catches_a_tampered_rank(client: Client, voted, tmp_path) -> None:
    snapshot, _ = refit()
    path = tmp_path / "votes.csv"
    path.write_bytes(b"".join(client.get("/export/votes.csv").streaming_content))
    membership = TierMembership.objects.get(
        row__snapshot=snapshot,
        row__domain__slug="overall",
        tier__slug="open-weights",
        row__model__slug="bravo-70b",
    )
    TierMembership.objects.filter(pk=membership.pk).update(rank_ub=1)
    from django.core.cache import cache

    cache.clear()
    with pytest.raises(CommandError, match="1 difference"):
        call_command(
            "reproduce",
            "--votes",
            str(path),
            "--snapshot",
            str(snapshot.pk),
            "--tier",
            "open-weights",
        )
    with pytest.raises(CommandError, match="No tier 'nope'"):
        call_command("reproduce", "--votes", str(path), "--tier", "nope")


def test_a_tier_a_snapshot_used_cannot_be_deleted(admin_client: Client, voted) -> None:
    refit()
    mid = CostTier.objects.get(slug="mid")
    page = admin_client.post(f"/admin/arena/costtier/{mid.pk}/delete/", {"post": "yes"})
    assert "Cannot delete" in page.content.decode()
    assert CostTier.objects.filter(slug="mid").exists()
    premium = CostTier.objects.get(slug="premium")  # no model was ever in it
    deleted = admin_client.post(f"/admin/arena/costtier/{premium.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert not CostTier.objects.filter(slug="premium").exists()

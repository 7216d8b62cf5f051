"""The migration to per-snapshot tier memberships keeps every published price-tier rank."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.migrating import migrate, schema_at

BEFORE = [("arena", "0004_failed_battles"), ("ratings", "0002_failed_battles")]
AFTER = [("arena", "0005_tier_kinds"), ("ratings", "0003_tier_memberships")]


@pytest.fixture
def at_the_old_schema(transactional_db: None) -> Iterator[object]:
    with schema_at(BEFORE) as apps:
        yield apps


def test_price_tier_ranks_are_carried_over_and_kinds_seeded(at_the_old_schema) -> None:
    apps = at_the_old_schema
    Domain = apps.get_model("arena", "Domain")  # noqa: N806
    CostTier = apps.get_model("arena", "CostTier")  # noqa: N806
    LanguageModel = apps.get_model("arena", "LanguageModel")  # noqa: N806
    RatingSnapshot = apps.get_model("ratings", "RatingSnapshot")  # noqa: N806
    RatingRow = apps.get_model("ratings", "RatingRow")  # noqa: N806
    overall = Domain.objects.get_or_create(slug="overall", defaults={"includes_all": True})[0]
    mid = CostTier.objects.get_or_create(
        slug="mid", defaults={"min_blended_price": Decimal("0.5"), "max_blended_price": 3}
    )[0]
    priced = LanguageModel.objects.create(
        slug="priced", input_price_per_mtok=1, output_price_per_mtok=4
    )
    unpriced = LanguageModel.objects.create(slug="unpriced")
    snapshot = RatingSnapshot.objects.create(method="bt", code_version="x", votes_counted=3)
    common = {"snapshot": snapshot, "domain": overall, "votes": 3, "wins": 1, "losses": 1}
    common |= {"draws": 1, "provisional": True}
    tiered = RatingRow.objects.create(
        model=priced, rating=1000, tier=mid, tier_rank_ub=1, tier_rank_lb=2, **common
    )
    untiered = RatingRow.objects.create(model=unpriced, rating=990, **common)

    apps = migrate(AFTER)

    TierMembership = apps.get_model("ratings", "TierMembership")  # noqa: N806
    RatingRow = apps.get_model("ratings", "RatingRow")  # noqa: N806
    CostTier = apps.get_model("arena", "CostTier")  # noqa: N806
    carried = TierMembership.objects.get()
    assert (carried.row_id, carried.tier_id, carried.rank_ub, carried.rank_lb) == (
        tiered.pk,
        mid.pk,
        1,
        2,
    )
    prices = dict(RatingRow.objects.values_list("id", "blended_price"))
    assert prices == {tiered.pk: Decimal("1.75"), untiered.pk: None}
    kinds = dict(CostTier.objects.values_list("slug", "kind"))
    assert kinds["mid"] == "price"
    assert {kinds["open-weights"], kinds["small"], kinds["medium"], kinds["large"]} == {
        "open_weights",
        "size",
    }

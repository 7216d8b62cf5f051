"""The migration to network flags records what each open voter flag holds, so a release after
it counts exactly those votes again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.migrating import migrate, schema_at

BEFORE = [
    ("arena", "0006_vote_hygiene"),
    ("ratings", "0004_snapshot_pairs"),
    ("integrity", "0002_voterflag_promotes"),
]
AFTER = [("integrity", "0003_network_flags")]


@pytest.fixture
def at_the_old_schema(transactional_db: None) -> Iterator[object]:
    with schema_at(BEFORE) as apps:
        yield apps


def test_open_flags_hold_their_quarantined_votes_and_become_voter_flags(at_the_old_schema) -> None:
    apps = at_the_old_schema
    LanguageModel = apps.get_model("arena", "LanguageModel")  # noqa: N806
    Vote = apps.get_model("arena", "Vote")  # noqa: N806
    VoterFlag = apps.get_model("integrity", "VoterFlag")  # noqa: N806
    alpha = LanguageModel.objects.create(slug="alpha")
    bravo = LanguageModel.objects.create(slug="bravo")

    def vote(voter: str, reason: str = ""):  # type: ignore[no-untyped-def]
        return Vote.objects.create(
            model_a=alpha, model_b=bravo, outcome="model_a", voter_id=voter, excluded_reason=reason
        )

    held = [vote("mallory", "anomalous_voter") for _ in range(3)]
    leak = vote("mallory", "identity_leak")
    vote("trent")  # released: his votes count again
    common = {"model": alpha, "direction": "favours", "statistic": 12.0, "threshold": 6.8}
    common |= {"deltas": [2, 3, 4], "alpha": 0.01, "votes_tested": 4, "flagged_at_vote": 4}
    open_flag = VoterFlag.objects.create(voter_id="mallory", **common)
    VoterFlag.objects.create(voter_id="trent", state="released", released_by="olga", **common)

    apps = migrate(AFTER)

    VoterFlag = apps.get_model("integrity", "VoterFlag")  # noqa: N806
    QuarantinedVote = apps.get_model("integrity", "QuarantinedVote")  # noqa: N806
    assert set(VoterFlag.objects.values_list("scope", flat=True)) == {"voter"}
    links = set(QuarantinedVote.objects.values_list("flag_id", "vote_id"))
    assert links == {(open_flag.pk, v.pk) for v in held}
    assert leak.pk not in {v for _, v in links}

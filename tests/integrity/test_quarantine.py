"""Flag, quarantine and release: a biased voter's votes go out of the ratings and back."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from arena.models import LanguageModel, Vote
from integrity import services
from integrity.models import VoterFlag
from ratings.models import RatingRow, RatingSnapshot
from ratings.services import refit
from ratings.tasks import refit_ratings
from tests.conftest import ALICE, MALLORY, ROUND_ROBIN, cast_votes
from tests.integrity.common import background, release_in_admin

MALLORY_VOTES = 40


def _mallory_pushes_alpha(models: list[LanguageModel], n: int = MALLORY_VOTES) -> list[Vote]:
    alpha, others = models[0], models[1:]
    votes = []
    for i in range(n):
        other = others[i % 2]
        if i % 2:
            votes.append(Vote(model_a=alpha, model_b=other, outcome="model_a", voter_id=MALLORY))
        else:
            votes.append(Vote(model_a=other, model_b=alpha, outcome="model_b", voter_id=MALLORY))
    return Vote.objects.bulk_create(votes)


def _alice_votes_as_the_ratings_say(models: list[LanguageModel]) -> None:
    pattern = [(a, b, outcome) for a, b, outcome in ROUND_ROBIN * 3]
    Vote.objects.bulk_create(
        Vote(model_a=models[a], model_b=models[b], outcome=o, voter_id=ALICE) for a, b, o in pattern
    )


def _excluded(snapshot: RatingSnapshot, reason: str = "anomalous_voter") -> int:
    return snapshot.votes_excluded.get(reason, 0)


def test_a_voter_who_always_picks_one_model_is_flagged_and_quarantined(models) -> None:
    background(models)
    _mallory_pushes_alpha(models)
    _alice_votes_as_the_ratings_say(models)
    before, _ = refit()

    result = services.voters_scan()

    assert [f.voter_id for f in result.flags] == [MALLORY]
    flag = result.flags[0]
    assert flag.model == models[0]
    assert flag.direction == VoterFlag.Direction.FAVOURS
    assert flag.statistic >= flag.threshold
    assert flag.flagged_at_vote <= MALLORY_VOTES
    assert flag.votes_quarantined == MALLORY_VOTES
    assert flag.snapshot == before
    assert Vote.objects.filter(voter_id=MALLORY, excluded_reason="anomalous_voter").count() == 40
    assert not Vote.objects.filter(voter_id=ALICE).exclude(excluded_reason="").exists()
    assert Vote.objects.filter(voter_id=MALLORY, needs_tally=True).count() == MALLORY_VOTES


def test_quarantine_and_release_move_the_votes_out_of_the_ratings_and_back(models) -> None:
    background(models)
    _mallory_pushes_alpha(models)
    before, _ = refit()
    flag = services.voters_scan().flags[0]

    quarantined, created = refit()

    assert created
    assert quarantined.votes_counted == before.votes_counted - MALLORY_VOTES
    assert _excluded(quarantined) == MALLORY_VOTES
    assert quarantined.votes_removed == MALLORY_VOTES

    assert services.flag_release(flag_id=flag.pk, by="olga", note="a known fan") == 40
    released, created = refit()

    assert created
    assert released.votes_counted == before.votes_counted
    assert _excluded(released) == 0
    assert released.votes_added == MALLORY_VOTES
    flag.refresh_from_db()
    assert (flag.state, flag.released_by, flag.release_note) == ("released", "olga", "a known fan")
    # Released means trusted for the votes already seen: the next scan leaves them alone.
    assert services.voters_scan().flags == []


def test_a_released_voter_who_goes_on_pushing_is_flagged_again(models) -> None:
    background(models)
    _mallory_pushes_alpha(models)
    refit()
    first = services.voters_scan().flags[0]
    services.flag_release(flag_id=first.pk, by="olga")
    refit()
    _mallory_pushes_alpha(models)
    refit()

    second = services.voters_scan().flags

    assert [f.voter_id for f in second] == [MALLORY]
    assert second[0].votes_quarantined == 2 * MALLORY_VOTES
    assert VoterFlag.objects.filter(voter_id=MALLORY).count() == 2


def test_votes_excluded_for_another_reason_keep_it_through_quarantine_and_release(models) -> None:
    background(models)
    votes = _mallory_pushes_alpha(models)
    Vote.objects.filter(pk=votes[0].pk).update(excluded_reason="identity_leak")
    refit()
    flag = services.voters_scan().flags[0]
    assert flag.votes_quarantined == MALLORY_VOTES - 1

    services.flag_release(flag_id=flag.pk, by="olga")

    assert Vote.objects.get(pk=votes[0].pk).excluded_reason == "identity_leak"
    assert Vote.objects.filter(voter_id=MALLORY, excluded_reason="").count() == 39


def test_newer_votes_of_a_flagged_voter_are_quarantined_by_the_next_scan(models) -> None:
    background(models)
    _mallory_pushes_alpha(models)
    refit()
    services.voters_scan()
    refit()
    cast = Vote.objects.create(
        model_a=models[1], model_b=models[2], outcome="tie", voter_id=MALLORY
    )

    result = services.voters_scan()

    assert result.flags == [] and result.votes_quarantined == 1
    assert Vote.objects.get(pk=cast.pk).excluded_reason == "anomalous_voter"


def test_a_flag_cannot_be_released_twice_or_anonymously(models) -> None:
    background(models)
    _mallory_pushes_alpha(models)
    refit()
    flag = services.voters_scan().flags[0]
    with pytest.raises(services.FlagError, match="who"):
        services.flag_release(flag_id=flag.pk, by=" ")
    services.flag_release(flag_id=flag.pk, by="olga")
    with pytest.raises(services.FlagError, match="already released"):
        services.flag_release(flag_id=flag.pk, by="olga")
    with pytest.raises(services.FlagError, match="No voter flag"):
        services.flag_release(flag_id=flag.pk + 1000, by="olga")


def test_the_refit_task_scans_voters_after_publishing(models) -> None:
    background(models)
    _mallory_pushes_alpha(models)

    refit_ratings.apply()

    assert VoterFlag.objects.filter(voter_id=MALLORY, state="flagged").exists()


def test_the_command_lists_scans_and_releases(models) -> None:
    background(models)
    _mallory_pushes_alpha(models)
    refit()
    out = io.StringIO()
    call_command("voter_flags", "scan", stdout=out)
    assert "1 newly flagged" in out.getvalue()
    flag = VoterFlag.objects.get()
    call_command("voter_flags", "list", stdout=out)
    assert MALLORY in out.getvalue()

    call_command("voter_flags", "release", str(flag.pk), "--by", "olga", stdout=out)

    assert "40 votes counted again" in out.getvalue()
    with pytest.raises(CommandError, match="already released"):
        call_command("voter_flags", "release", str(flag.pk), "--by", "olga")
    with pytest.raises(CommandError, match="No snapshot 999"):
        call_command("voter_flags", "scan", "--snapshot", "999")


def test_an_operator_releases_flags_in_the_admin(models, client: Client) -> None:
    background(models)
    _mallory_pushes_alpha(models)
    refit()
    flag = services.voters_scan().flags[0]

    response = release_in_admin(client, flag)

    assert response.status_code == 302
    flag.refresh_from_db()
    assert (flag.state, flag.released_by) == ("released", "olga")
    assert not Vote.objects.filter(excluded_reason="anomalous_voter").exists()


def test_a_scan_costs_the_same_queries_however_many_voters_are_flagged(models) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    background(models)
    for name in ("mallory", "mike"):
        Vote.objects.bulk_create(
            Vote(model_a=models[0], model_b=models[1 + i % 2], outcome="model_a", voter_id=name)
            for i in range(MALLORY_VOTES)
        )
    refit()
    assert len(services.voters_scan().flags) == 2
    with CaptureQueriesContext(connection) as two:
        services.voters_scan()
    for name in ("trent", "victor", "walter"):
        Vote.objects.bulk_create(
            Vote(model_a=models[0], model_b=models[1 + i % 2], outcome="model_a", voter_id=name)
            for i in range(MALLORY_VOTES)
        )
    services.voters_scan()
    assert VoterFlag.objects.filter(state="flagged").count() == 5
    with CaptureQueriesContext(connection) as five:
        services.voters_scan()
    assert len(five) == len(two)


def test_quarantine_leaves_a_released_voter_alone(models) -> None:
    background(models)
    _mallory_pushes_alpha(models)
    refit()
    flag = services.voters_scan().flags[0]
    services.flag_release(flag_id=flag.pk, by="olga")

    # As a scan that read the open flags just before the release would try to.
    assert services.voter_quarantine(voter_ids=[MALLORY]) == 0
    assert not Vote.objects.filter(voter_id=MALLORY).exclude(excluded_reason="").exists()


def test_a_voter_is_tested_against_the_snapshot_published_before_it_started(models) -> None:
    background(models)
    first, _ = refit()
    _mallory_pushes_alpha(models)
    # A flood of other votes for alpha, never tested (no voter id), lifts it in the newest fit.
    cast_votes(models, [(0, 1, "model_a"), (2, 0, "model_b")] * 150)
    newest, _ = refit()
    assert newest.pk != first.pk

    result = services.voters_scan()

    assert result.snapshot_id == newest.pk
    assert [f.voter_id for f in result.flags] == [MALLORY]
    assert result.flags[0].snapshot == first  # the flood could not move her reference


def test_an_omnipresent_rigger_is_flagged_as_promoting_its_target(models) -> None:
    background(models)
    first, _ = refit()
    beta, gamma, alpha = models[1], models[2], models[0]
    ratings = dict(
        RatingRow.objects.filter(snapshot=first, domain__includes_all=True).values_list(
            "model_id", "rating"
        )
    )
    assert ratings[alpha.pk] > ratings[beta.pk] > ratings[gamma.pk]
    # Pushing gamma up the ranking, Mallory votes for it when it plays, and for the higher of
    # the two models above it otherwise (the lower one is its nearer obstacle).
    votes = []
    for i in range(60):
        if i % 3 == 0:
            votes.append(Vote(model_a=alpha, model_b=beta, outcome="model_a", voter_id=MALLORY))
        elif i % 3 == 1:
            votes.append(Vote(model_a=gamma, model_b=alpha, outcome="model_a", voter_id=MALLORY))
        else:
            votes.append(Vote(model_a=beta, model_b=gamma, outcome="model_b", voter_id=MALLORY))
    Vote.objects.bulk_create(votes)
    refit()

    result = services.voters_scan()

    assert [f.voter_id for f in result.flags] == [MALLORY]
    flag = result.flags[0]
    assert flag.votes_quarantined == 60
    assert (flag.direction, flag.model) == (VoterFlag.Direction.PROMOTES, gamma)

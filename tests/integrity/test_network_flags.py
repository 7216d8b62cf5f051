"""Network flags: many fresh identities behind one network, each too small to flag on its own,
are caught on their pooled votes; only they lose their votes there, and a release undoes it."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from arena.models import LanguageModel, Vote
from integrity import services
from integrity.models import QuarantinedVote, VoterFlag
from ratings import maths
from ratings.models import RatingRow, RatingSnapshot
from ratings.services import refit
from tests.conftest import ALICE, MALLORY, ROUND_ROBIN
from tests.integrity.common import background, release_in_admin

CAMPUS = "net-campus"  # a shared network (a campus NAT)
HOME = "net-home"
BOB = "voter-bob"
CAROL = "voter-carol"
SYBILS = [f"voter-sybil-{i:02d}" for i in range(30)]
PER_SYBIL = 6


def _for_alpha(models: list[LanguageModel], voter: str, i: int, network: str) -> Vote:
    alpha, other = models[0], models[1 + i % 2]
    if i % 2:
        return Vote(
            model_a=alpha, model_b=other, outcome="model_a", voter_id=voter, network_hash=network
        )
    return Vote(
        model_a=other, model_b=alpha, outcome="model_b", voter_id=voter, network_hash=network
    )


def _sybils_push_alpha(
    models: list[LanguageModel],
    sybils: list[str] = SYBILS,
    network: str = CAMPUS,
    per_sybil: int = PER_SYBIL,
) -> list[Vote]:
    """Each identity casts a few votes for alpha, their votes interleaved with each other's and
    with those of honest Alice and Bob on the same network (who vote as the ratings say)."""
    votes = []
    honest = [(ALICE, p) for p in ROUND_ROBIN * 2] + [(BOB, p) for p in ROUND_ROBIN * 2]
    for i in range(per_sybil):
        for sybil in sybils:
            votes.append(_for_alpha(models, sybil, i, network))
        for voter, (a, b, outcome) in honest[i::per_sybil]:
            votes.append(
                Vote(
                    model_a=models[a],
                    model_b=models[b],
                    outcome=outcome,
                    voter_id=voter,
                    network_hash=network,
                )
            )
    return Vote.objects.bulk_create(votes)


def _quarantined() -> set[int]:
    return set(Vote.objects.filter(excluded_reason="anomalous_voter").values_list("pk", flat=True))


def test_identities_too_small_to_flag_alone_are_caught_on_their_networks_pooled_votes(
    models,
) -> None:
    background(models)
    before, _ = refit()
    _sybils_push_alpha(models)
    # Carol, on the campus too, once picked alpha: one lucky vote does not make her a suspect.
    carol = Vote.objects.create(
        model_a=models[1], model_b=models[0], outcome="model_b", voter_id=CAROL, network_hash=CAMPUS
    )
    # One of them also votes from home: that network's evidence is not the campus's.
    elsewhere = Vote.objects.create(
        model_a=models[0],
        model_b=models[1],
        outcome="model_a",
        voter_id=SYBILS[0],
        network_hash=HOME,
    )
    refit()

    result = services.voters_scan()

    assert result.flags == []  # not one identity is flagged on its own votes
    assert result.networks_scanned == 2
    [flag] = result.network_flags
    assert (flag.scope, flag.network_hash, flag.voter_id) == ("network", CAMPUS, "")
    assert flag.model == models[0]
    assert flag.direction in (VoterFlag.Direction.FAVOURS, VoterFlag.Direction.PROMOTES)
    assert flag.statistic >= flag.threshold == pytest.approx(math.log(3 * 3 / 0.01))
    assert flag.snapshot == before  # each identity is judged by the ratings before it started
    assert flag.flagged_at_vote < len(SYBILS) * PER_SYBIL
    assert (flag.identities_quarantined, flag.votes_quarantined) == (30, 30 * PER_SYBIL)
    held = Vote.objects.filter(excluded_reason="anomalous_voter")
    assert set(held.values_list("voter_id", flat=True)) == set(SYBILS)
    assert set(held.values_list("network_hash", flat=True)) == {CAMPUS}
    assert not Vote.objects.filter(voter_id__in=[ALICE, BOB]).exclude(excluded_reason="").exists()
    assert Vote.objects.get(pk=elsewhere.pk).excluded_reason == ""
    assert Vote.objects.get(pk=carol.pk).excluded_reason == ""
    assert flag.hold_above == 1.0
    assert QuarantinedVote.objects.filter(flag=flag).count() == 30 * PER_SYBIL


def test_with_no_margin_a_neighbour_with_one_lucky_vote_is_held_too(models, settings) -> None:
    settings.ARENA_ANOMALY_NETWORK_HOLD = 0.0
    background(models)
    refit()
    _sybils_push_alpha(models)
    carol = Vote.objects.create(
        model_a=models[1], model_b=models[0], outcome="model_b", voter_id=CAROL, network_hash=CAMPUS
    )
    refit()

    [flag] = services.voters_scan().network_flags

    assert flag.identities_quarantined == 31
    assert Vote.objects.get(pk=carol.pk).excluded_reason == "anomalous_voter"


def test_releasing_a_network_flag_counts_exactly_its_votes_again(models) -> None:
    background(models)
    refit()
    votes = _sybils_push_alpha(models)
    Vote.objects.filter(pk=votes[0].pk).update(excluded_reason="identity_leak")
    # Mallory, behind the same network, is flagged on her own: her votes are her flag's.
    Vote.objects.bulk_create(_for_alpha(models, MALLORY, i, CAMPUS) for i in range(40))
    counted_before, _ = refit()
    result = services.voters_scan()
    [voter_flag], [network_flag] = result.flags, result.network_flags
    assert voter_flag.voter_id == MALLORY and voter_flag.votes_quarantined == 40
    assert network_flag.votes_quarantined == 30 * PER_SYBIL - 1
    by_network = set(
        QuarantinedVote.objects.filter(flag=network_flag).values_list("vote_id", flat=True)
    )
    everything_else = dict(
        Vote.objects.exclude(pk__in=by_network).values_list("pk", "excluded_reason")
    )
    quarantined, _ = refit()
    assert quarantined.votes_counted == counted_before.votes_counted - 40 - 179

    assert services.flag_release(flag_id=network_flag.pk, by="olga", note="a class demo") == 179

    assert not Vote.objects.filter(pk__in=by_network).exclude(excluded_reason="").exists()
    assert (
        dict(Vote.objects.exclude(pk__in=by_network).values_list("pk", "excluded_reason"))
        == everything_else
    )
    assert Vote.objects.get(pk=votes[0].pk).excluded_reason == "identity_leak"
    assert Vote.objects.filter(voter_id=MALLORY, excluded_reason="anomalous_voter").count() == 40
    released, _ = refit()
    assert released.votes_counted == counted_before.votes_counted - 40
    network_flag.refresh_from_db()
    assert (network_flag.state, network_flag.released_by) == ("released", "olga")
    newest_there = Vote.objects.filter(network_hash=CAMPUS).order_by("-pk").first()
    assert network_flag.released_after_vote_id == newest_there.pk
    # Released means trusted for the votes already seen: the network is not flagged again.
    assert services.voters_scan().network_flags == []
    assert services.flag_release(flag_id=voter_flag.pk, by="olga") == 40
    assert _quarantined() == set()


def _ratings(snapshot: RatingSnapshot, models: list[LanguageModel]) -> np.ndarray:
    rows = dict(
        RatingRow.objects.filter(snapshot=snapshot, domain__includes_all=True).values_list(
            "model_id", "rating"
        )
    )
    return np.array([(rows[m.pk] - maths.RATING_BASE) / maths.RATING_SCALE for m in models])


def test_networks_of_honest_voters_who_follow_the_ratings_are_not_flagged(models) -> None:
    background(models)
    theta = _ratings(refit()[0], models)
    rng = np.random.default_rng(20261202)
    votes = []
    for i in range(5000):  # 5 networks of 100 identities casting 10 votes each, interleaved
        a, b = rng.choice(3, size=2, replace=False)
        won = rng.random() < 1 / (1 + math.exp(theta[b] - theta[a]))
        votes.append(
            Vote(
                model_a=models[a],
                model_b=models[b],
                outcome="model_a" if won else "model_b",
                voter_id=f"voter-student-{i % 500:03d}",
                network_hash=f"net-dorm-{i % 5}",
            )
        )
    Vote.objects.bulk_create(votes)
    refit()

    result = services.voters_scan()

    assert (result.network_flags, result.networks_scanned) == ([], 5)
    # Each identity alone is flagged with chance at most alpha (1%); a few may be.
    assert len(result.flags) <= 10
    assert _quarantined() == {
        v.pk for v in votes if v.voter_id in {f.voter_id for f in result.flags}
    }


def test_a_flagged_network_goes_on_catching_new_identities_under_the_same_flag(models) -> None:
    background(models)
    refit()
    _sybils_push_alpha(models)
    refit()
    [flag] = services.voters_scan().network_flags
    refit()  # the quarantine leaves the ratings before the next wave starts
    # A held identity votes again there, and a new wave of identities starts on the network.
    again = Vote.objects.create(
        model_a=models[0],
        model_b=models[2],
        outcome="model_a",
        voter_id=SYBILS[1],
        network_hash=CAMPUS,
    )
    newcomers = [f"voter-sybil-new-{i:02d}" for i in range(30)]
    Vote.objects.bulk_create(
        _for_alpha(models, voter, i, CAMPUS) for i in range(PER_SYBIL) for voter in newcomers
    )
    refit()

    result = services.voters_scan()

    assert Vote.objects.get(pk=again.pk).excluded_reason == "anomalous_voter"
    assert [f.pk for f in result.network_flags] == [flag.pk]
    flag.refresh_from_db()
    assert flag.crossings == 2
    assert flag.identities_quarantined == 60
    # The count is of the votes taken at each crossing; a held identity's later votes are on
    # record as the flag's too.
    assert flag.votes_quarantined == 60 * PER_SYBIL
    assert QuarantinedVote.objects.filter(flag=flag).count() == 60 * PER_SYBIL + 1
    assert VoterFlag.objects.filter(scope="network").count() == 1
    assert not Vote.objects.filter(voter_id__in=[ALICE, BOB]).exclude(excluded_reason="").exists()


def test_identities_of_one_vote_each_cannot_hide_under_the_margin(models) -> None:
    background(models)
    refit()
    crowd = [f"voter-crowd-{i:03d}" for i in range(60)]
    _sybils_push_alpha(models, sybils=crowd, per_sybil=1)
    refit()

    [flag] = services.voters_scan().network_flags

    held = set(
        Vote.objects.filter(excluded_reason="anomalous_voter").values_list("voter_id", flat=True)
    )
    # Each alone is under the margin (a ratio below e); enough of them are held that the rest
    # of the network passes the test, and no more.
    assert held <= set(crowd)
    assert 40 <= len(held) < 60 == len(crowd)
    assert flag.identities_quarantined == len(held)
    assert not Vote.objects.filter(voter_id__in=[ALICE, BOB]).exclude(excluded_reason="").exists()


def test_votes_without_a_network_are_never_pooled(models) -> None:
    background(models)
    refit()
    _sybils_push_alpha(models, network="")
    refit()

    result = services.voters_scan()

    assert (result.flags, result.network_flags, result.networks_scanned) == ([], [], 0)


def test_operators_see_and_release_network_flags_in_the_command_and_the_admin(
    models, client: Client
) -> None:
    background(models)
    refit()
    _sybils_push_alpha(models)
    refit()
    out = io.StringIO()
    call_command("voter_flags", "scan", stdout=out)
    assert "1 network flags raised or extended" in out.getvalue()
    flag = VoterFlag.objects.get(scope="network")
    call_command("voter_flags", "list", stdout=out)
    assert f"network {CAMPUS}" in out.getvalue()
    assert f"{30 * PER_SYBIL} votes quarantined (30 identities)" in out.getvalue()
    body = client.get("/api/v1/transparency").json()
    assert body["network_flags"] == {"flagged": 1, "released": 0}
    assert body["voter_flags"]["flagged"] == 0
    assert "0 voters and 1 networks" in client.get("/transparency/").content.decode()

    response = release_in_admin(client, flag)

    assert response.status_code == 302
    flag.refresh_from_db()
    assert (flag.state, flag.released_by) == ("released", "olga")
    assert _quarantined() == set()
    assert client.get("/api/v1/transparency").json()["network_flags"] == {
        "flagged": 0,
        "released": 1,
    }
    assert CAMPUS in client.get(reverse("admin:integrity_voterflag_changelist")).content.decode()

from __future__ import annotations

import pytest
from django.core.management import call_command

from arena import services as arena_services
from arena.models import LanguageModel, Vote
from ratings.models import DomainFit, ImmutableError, RatingRow, RatingSnapshot
from ratings.services import refit
from tests.conftest import ROUND_ROBIN as ROUND_ROBIN_BASE
from tests.conftest import cast_votes

ROUND_ROBIN = ROUND_ROBIN_BASE * 3


def _votes(models: list[LanguageModel], pattern: list[tuple[int, int, str]]) -> list[Vote]:
    return cast_votes(models, pattern)


def test_a_refit_writes_a_snapshot_of_every_rated_model(models) -> None:
    _votes(models, ROUND_ROBIN)

    snapshot, created = refit()

    assert created
    assert snapshot.votes_counted == len(ROUND_ROBIN)
    assert snapshot.last_vote_id == Vote.objects.latest("id").pk
    rows = RatingRow.objects.filter(snapshot=snapshot, domain__slug="overall")
    assert rows.count() == 3
    assert all(r.rating_lower < r.rating < r.rating_upper for r in rows)
    assert DomainFit.objects.get(snapshot=snapshot, domain__slug="overall").converged


def test_a_refit_run_twice_writes_no_second_snapshot(models) -> None:
    _votes(models, ROUND_ROBIN)
    first, _ = refit()

    second, created = refit()

    assert not created
    assert second.pk == first.pk
    assert RatingSnapshot.objects.count() == 1


def test_a_new_vote_makes_a_new_snapshot(models) -> None:
    _votes(models, ROUND_ROBIN)
    first, _ = refit()
    _votes(models, [(0, 2, "model_a")])

    second, created = refit()

    assert created and second.pk != first.pk
    assert second.votes_counted == first.votes_counted + 1


def test_excluding_a_vote_makes_a_new_snapshot_that_counts_it_apart(models) -> None:
    votes = _votes(models, ROUND_ROBIN)
    refit()
    arena_services.votes_exclude(vote_ids=[votes[0].pk], reason="operator")

    snapshot, created = refit()

    assert created
    assert snapshot.votes_counted == len(ROUND_ROBIN) - 1
    assert snapshot.votes_excluded == {"operator": 1}


def test_snapshots_are_immutable(models) -> None:
    _votes(models, ROUND_ROBIN)
    snapshot, _ = refit()
    snapshot.method = "something else"
    with pytest.raises(ImmutableError):
        snapshot.save()


def test_a_refit_records_method_parameters_and_code_version(models) -> None:
    _votes(models, ROUND_ROBIN)
    snapshot, _ = refit()
    assert snapshot.method == "bradley-terry"
    assert snapshot.params["interval"] == "sandwich"
    assert snapshot.code_version.startswith("bt-1")


def test_no_refit_runs_before_the_vote_commits(complete_battle) -> None:
    # Celery runs eagerly in tests, but only from on_commit: never inside the vote's transaction.
    arena_services.vote_cast(battle=complete_battle, outcome="model_a", voter_id="voter-alice")
    assert RatingSnapshot.objects.count() == 0  # inside the test transaction: not yet committed


@pytest.mark.django_db(transaction=True)
def test_a_committed_vote_triggers_a_refit(complete_battle) -> None:
    arena_services.vote_cast(battle=complete_battle, outcome="model_a", voter_id="voter-alice")
    snapshot = RatingSnapshot.objects.get()
    assert snapshot.votes_counted == 1


def test_the_refit_command_prints_the_snapshot_id(models, capsys) -> None:
    _votes(models, ROUND_ROBIN)
    call_command("refit")
    out = capsys.readouterr().out.strip()
    assert out == str(RatingSnapshot.objects.get().pk)


def test_elo_is_carried_forward_in_vote_order_whatever_the_chunk_size(
    models, domains, monkeypatch, settings
) -> None:
    from ratings import maths, services

    monkeypatch.setattr(services, "ELO_CHUNK", 4)  # several chunks, one label range each
    math = domains["math"]
    first = _votes(models, ROUND_ROBIN)
    labelled = cast_votes(models, ROUND_ROBIN[:5], domain=math)
    refit()
    later = _votes(models, [(2, 0, "model_a"), (1, 2, "tie")])
    snapshot, _ = refit()

    def expected(votes: list[Vote]) -> dict[str, float]:
        return maths.elo(
            [str(v.model_a_id) for v in votes],
            [str(v.model_b_id) for v in votes],
            [v.outcome for v in votes],
            k=settings.ARENA_ELO_K,
        )

    def stored(slug: str) -> dict[str, float]:
        rows = RatingRow.objects.filter(snapshot=snapshot, domain__slug=slug)
        return {str(r.model_id): r.elo for r in rows}

    assert stored("overall") == pytest.approx(expected(first + labelled + later))
    assert stored("math") == pytest.approx(expected(labelled))

"""The one-vote-per-battle rule under real concurrent submissions, on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from arena import services
from arena.models import Battle, Vote
from tests.conftest import ALICE

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ATTEMPTS = 8


def test_concurrent_double_submission_stores_exactly_one_vote(
    postgres, complete_battle: Battle
) -> None:
    barrier = threading.Barrier(ATTEMPTS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def submit(outcome: str) -> None:
        battle = Battle.objects.get(pk=complete_battle.pk)
        barrier.wait()
        try:
            services.vote_cast(battle=battle, outcome=outcome, voter_id=ALICE)
            result = "stored"
        except services.AlreadyVoted:
            result = "already"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [
        threading.Thread(target=submit, args=(["model_a", "model_b"][i % 2],))
        for i in range(ATTEMPTS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(outcomes) == ["already"] * (ATTEMPTS - 1) + ["stored"]
    assert Vote.objects.filter(battle=complete_battle).count() == 1

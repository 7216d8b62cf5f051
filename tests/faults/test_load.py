"""A short load run through the full HTTP path: every acknowledged vote is stored, once."""

from __future__ import annotations

import asyncio

from bench.load import check_integrity, prepare_battles, run_votes
from bench.stack import Stack
from tests.faults.conftest import ratings_caught_up, vote_for_a_while, wait_for


def test_concurrent_voters_lose_and_duplicate_nothing(healthy: Stack) -> None:
    result = vote_for_a_while(healthy, voters=8, seconds=5)

    integrity = check_integrity(healthy, result)
    assert result.measured_votes > 20, result.failures
    assert not result.failures, result.failures
    assert result.server_errors == []
    assert integrity.duplicates == 0
    assert integrity.lost == [] and integrity.unacknowledged == []
    assert integrity.wrong_outcome == []
    wait_for(lambda: ratings_caught_up(healthy), 30, "the ratings did not count every vote")


def test_votes_on_prepared_battles_are_taken_like_streamed_ones(healthy: Stack) -> None:
    """bench/load.py --mode votes: its prepared battles take votes as battles streamed over
    the websocket do (stored once, counted, labelled with the prompt's domain, revealed)."""
    crowd = prepare_battles(healthy, voters=4, per_voter=6, seed=3)
    result = asyncio.run(run_votes(healthy.url, crowd=crowd, seconds=60))

    integrity = check_integrity(healthy, result)
    assert integrity.acknowledged == 24 and integrity.ok, integrity
    assert dict(result.failures) == {"a voter ran out of prepared battles": 4}
    ids = sorted(result.acknowledged)
    counted, labelled = healthy.sql(
        "SELECT count(*) FILTER (WHERE excluded_reason = ''), "
        "count(DISTINCT d.vote_id) FROM arena_vote v "
        "LEFT JOIN arena_votedomain d ON d.vote_id = v.id WHERE v.battle_id::text = ANY(%s)",
        (ids,),
    )[0]
    unleaked = healthy.sql(
        "SELECT count(*) FROM arena_battle WHERE identity_leak = '' AND id::text = ANY(%s)",
        (ids,),
    )[0][0]
    assert counted == unleaked  # only a leaked identity excludes them here
    assert labelled == 24

"""A short load run through the full HTTP path: every acknowledged vote is stored, once."""

from __future__ import annotations

from bench.load import check_integrity
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

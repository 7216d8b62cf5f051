"""Shared fixtures: named personas, a small answer pool, and switches for real services."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import translation

from arena import localmodel
from arena.defaults import seed_defaults
from arena.models import (
    Battle,
    CostTier,
    Domain,
    LanguageModel,
    Organisation,
    PoolAnswer,
    PoolPrompt,
    Vote,
    VoteDomain,
)
from config.celery import app as celery_app
from ratings import tasks

ALICE = "voter-alice"
MALLORY = "voter-mallory"


@pytest.fixture(scope="session")
def local_model_server() -> Iterator[str]:
    """Start one real llama.cpp server (Gemma 3 270M) for the session; yield its base URL.

    Skipped, with the reason, where llama-cpp-python[server] or the weights package is not
    installed (both come from requirements-dev.txt).
    """
    missing = localmodel.missing_packages()
    if missing:
        pytest.skip(
            f"needs {' and '.join(missing)} for a local model server (`{localmodel.INSTALL_HINT}`)"
        )
    # A small context: the tests ask for a few tokens at a time. One thread: the tests' own
    # process needs the other core.
    server = localmodel.LocalModelServer.start(n_ctx=1024, n_threads=1)
    try:
        yield server.base_url
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _isolated_side_effects(settings: object) -> Iterator[None]:
    """Run refits inline, start every test with an empty cache (no debounce left over) and end
    it in the default language."""
    celery_app.conf.task_always_eager = True
    settings.ARENA_POOL_CHUNK_DELAY = 0  # type: ignore[attr-defined]
    cache.clear()
    tasks._refit_known_until = 0.0  # this process's memory of a queued refit, too
    yield
    celery_app.conf.task_always_eager = False
    # A page requested in another language leaves that language active in the thread
    # (LocaleMiddleware activates it and nothing deactivates it): later tests would read it.
    translation.deactivate()


def shared_data_dir() -> Path:
    return Path(settings.SHARED_DATA_DIR)


@pytest.fixture
def shared_data() -> Path:
    path = shared_data_dir()
    if not (path / "arena-140k" / "votes.csv").is_file():
        pytest.skip(f"real vote data not found at {path} (../shared/data is absent)")
    return path


@pytest.fixture
def postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL (as .ci/run does)")


@pytest.fixture
def redis_url() -> str:
    if not settings.REDIS_URL:
        pytest.skip("needs Redis: set REDIS_URL (as .ci/run does)")
    return settings.REDIS_URL


@pytest.fixture
def domains(db: None) -> dict[str, Domain]:
    """The default domains and tiers (a transactional test's flush removes the migration's)."""
    seed_defaults(Domain, CostTier)
    return {d.slug: d for d in Domain.objects.all()}


@pytest.fixture
def acme(domains: dict[str, Domain]) -> Organisation:
    return Organisation.objects.create(slug="acme", name="Acme Labs")


@pytest.fixture
def models(acme: Organisation) -> list[LanguageModel]:
    """Three active models of Acme Labs, with list prices."""
    return [
        LanguageModel.objects.create(
            slug=slug,
            display_name=name,
            organisation=acme,
            input_price_per_mtok=Decimal("1"),
            output_price_per_mtok=Decimal("4"),
        )
        for slug, name in [
            ("alpha-7b", "Alpha 7B"),
            ("bravo-70b", "Bravo 70B"),
            ("charlie-1t", "Charlie 1T"),
        ]
    ]


@pytest.fixture
def coding(domains: dict[str, Domain]) -> Domain:
    return domains["coding"]


@pytest.fixture
def pool_prompt(models: list[LanguageModel], coding: Domain) -> PoolPrompt:
    """A coding prompt that all three models answered."""
    prompt = PoolPrompt.objects.create(
        dataset="test",
        external_id="1",
        text="Write FizzBuzz in Python.",
        category="code",
        domain=coding,
    )
    for i, model in enumerate(models):
        PoolAnswer.objects.create(
            prompt=prompt,
            model=model,
            text=f"Answer number {i}: for i in range(1, 101): print(i)\n" * 3,
            latency_ms=1000 + i,
            completion_tokens=50 + i,
        )
    return prompt


@pytest.fixture
def complete_battle(pool_prompt: PoolPrompt) -> Battle:
    """A pool battle of Alice's whose two answers have been streamed and stored."""
    from arena import services
    from arena.backends import Finished

    battle = services.battle_create(voter_id=ALICE, pool_prompt=pool_prompt)
    turn = battle.turns.get()
    services.battle_claim_stream(battle.pk)
    answers = {}
    for side in ("a", "b"):
        pool = services.pool_answer_for(battle, side)
        answers[side] = (
            pool.text,
            Finished("ok", completion_tokens=pool.completion_tokens, latency_ms=pool.latency_ms),
            None,
            0,
        )
    return services.battle_finish(battle=battle, turn=turn, answers=answers)


# A small, connected set of results between the three `models` (indices into that list).
ROUND_ROBIN = [
    (0, 1, "model_a"),
    (1, 2, "model_a"),
    (2, 0, "model_b"),
    (0, 1, "tie"),
    (1, 0, "model_a"),
    (2, 1, "both_bad"),
    (1, 2, "model_b"),
]


def cast_votes(
    models: list[LanguageModel], pattern: list[tuple[int, int, str]], domain: Domain | None = None
) -> list[Vote]:
    """Store votes between `models` (as imported votes are: no battle), optionally labelled."""
    votes = []
    for a, b, outcome in pattern:
        vote = Vote.objects.create(model_a=models[a], model_b=models[b], outcome=outcome)
        if domain is not None:
            VoteDomain.objects.create(vote=vote, domain=domain, source=VoteDomain.Source.IMPORT)
        votes.append(vote)
    return votes

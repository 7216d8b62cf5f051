"""Property-based fuzzing of every endpoint the OpenAPI description lists (schemathesis).

Requests are generated from /api/v1/schema (the read API, the voting endpoints and the pages),
valid and invalid alike, and sent through the whole Django stack in-process: no answer may be
a 5xx, and every answer must match what the schema says (status codes, content types, bodies).
The POSTs carry a CSRF token and a voter cookie, and half of them name a real battle of that
voter, so the fuzzer reaches the services, not only the CSRF check and the 404.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from django.core import signals
from django.core.signing import get_cookie_signer
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance

from arena import services
from arena.voters import COOKIE_NAME, pseudonym
from ratings.services import refit

EXAMPLES_PER_OPERATION = 120
MIN_REQUESTS = 1000
CSRF_TOKEN = "fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz"
VOTER_TOKEN = "fuzz-voter-token"


@pytest.fixture
def in_process_requests() -> Iterator[None]:
    """Keep the test's connection (and its transaction) across requests sent to the WSGI app,
    as Django's own test client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(db, in_process_requests, pool_prompt, models):  # type: ignore[no-untyped-def]
    from config.wsgi import application

    refit()
    return schemathesis.openapi.from_wsgi("/api/v1/schema", application)


@pytest.fixture
def fuzz_battles(pool_prompt) -> list[str]:  # type: ignore[no-untyped-def]
    """Battles of the fuzzing voter: one fresh, one streamed and complete."""
    from arena.backends import Finished

    voter = pseudonym(VOTER_TOKEN)
    fresh = services.battle_create(voter_id=voter, pool_prompt=pool_prompt)
    done = services.battle_create(voter_id=voter, pool_prompt=pool_prompt)
    services.battle_claim_stream(done.pk)
    services.battle_finish(
        battle=done,
        turn=done.turns.get(),
        answers={s: ("Answer text", Finished("ok"), 5, 10) for s in "ab"},
    )
    return [str(fresh.pk), str(done.pk)]


def _strategy(operation):  # type: ignore[no-untyped-def]
    """Valid and invalid requests (wrong types, missing fields, malformed bodies) alike."""
    strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
    try:
        strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))
    except Exception:  # noqa: BLE001 - an operation without inputs has no invalid form
        pass
    return st.one_of(*strategies)


def test_no_generated_request_gets_a_server_error(api_schema, fuzz_battles) -> None:  # type: ignore[no-untyped-def]
    voter_cookie = get_cookie_signer(salt=COOKIE_NAME + "arena.voter").sign(VOTER_TOKEN)
    cookies = {"csrftoken": CSRF_TOKEN, COOKIE_NAME: voter_cookie}
    sent: Counter[str] = Counter()
    failures: list[str] = []
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=_strategy(operation))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case) -> None:  # type: ignore[no-untyped-def]
            if case.path_parameters and "battle_id" in case.path_parameters:
                pick = len(str(case.body)) + len(str(case.headers))
                if pick % 2:
                    case.path_parameters["battle_id"] = fuzz_battles[pick % len(fuzz_battles)]
            headers = {"X-CSRFToken": CSRF_TOKEN} if case.method == "POST" else {}
            sent[f"{case.method} {case.path}"] += 1
            response = case.call(headers=headers, cookies=cookies)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} -> {response.status_code}: "
                f"{response.text[:300]}"
            )
            # Schema-valid requests may still be refused by rule (an unknown pool prompt, a
            # battle already voted on): those answer 4xx with the reason, by design.
            case.validate_response(
                response, excluded_checks=[not_a_server_error, positive_data_acceptance]
            )

        try:
            fuzz()
        except Exception as exc:  # noqa: BLE001 - gather every operation's failure
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
    # Schemathesis leaves out the schema's own address, which it fetched to start.
    described = set(schema_operations()) - {"GET /api/v1/schema"}
    assert set(sent) == described, sorted(described ^ set(sent))
    assert sum(sent.values()) >= MIN_REQUESTS, sent
    print(f"fuzzed {sum(sent.values())} requests over {len(sent)} operations")


def schema_operations():  # type: ignore[no-untyped-def]
    from ratings.openapi import schema as describe

    for path, operations in describe()["paths"].items():
        for method in operations:
            yield f"{method.upper()} {path}"

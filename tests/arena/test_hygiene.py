"""Vote hygiene: client addresses, rate limits, one-use battle ids, CSRF, origins, body sizes."""

from __future__ import annotations

import datetime
import threading
import uuid

import pytest
import redis
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from arena import ratelimit, services
from arena.models import Battle, LanguageModel, Vote
from arena.ratelimit import client_address, network_of
from arena.voters import voter_id
from tests.conftest import ALICE

PROXY = "10.0.0.5"


# --- Client addresses -----------------------------------------------------------------------


def test_without_trusted_proxies_the_forwarded_header_is_ignored() -> None:
    assert str(client_address("198.51.100.7", "203.0.113.9", [])) == "198.51.100.7"


def test_a_trusted_proxy_names_the_client_it_saw() -> None:
    address = client_address(PROXY, "203.0.113.9", ["10.0.0.0/8"])
    assert str(address) == "203.0.113.9"


def test_entries_the_client_wrote_itself_are_skipped() -> None:
    # The client sent "X-Forwarded-For: 1.2.3.4"; the proxy appended the address it saw.
    address = client_address(PROXY, "1.2.3.4, 203.0.113.9", ["10.0.0.0/8"])
    assert str(address) == "203.0.113.9"


def test_a_chain_of_trusted_proxies_is_walked_right_to_left() -> None:
    address = client_address(PROXY, "1.2.3.4, 203.0.113.9, 10.1.1.1", ["10.0.0.0/8"])
    assert str(address) == "203.0.113.9"


def test_an_untrusted_peer_cannot_forward() -> None:
    assert str(client_address("198.51.100.7", "203.0.113.9", ["10.0.0.0/8"])) == "198.51.100.7"


def test_garbage_from_a_trusted_proxy_stops_at_the_last_good_hop() -> None:
    assert str(client_address(PROXY, "203.0.113.9, not-an-ip", ["10.0.0.0/8"])) == PROXY


def test_ports_brackets_and_mapped_addresses_are_understood() -> None:
    trusted = ["10.0.0.0/8"]
    assert str(client_address(PROXY, "203.0.113.9:5123", trusted)) == "203.0.113.9"
    assert str(client_address(PROXY, "[2001:db8::1]:443", trusted)) == "2001:db8::1"
    assert str(client_address("::ffff:198.51.100.7", "", trusted)) == "198.51.100.7"


def test_networks_are_ipv4_slash_24_and_ipv6_slash_64() -> None:
    assert network_of(client_address("203.0.113.77", "", [])) == "203.0.113.0/24"
    assert network_of(client_address("2001:db8:1:2:aaaa::1", "", [])) == "2001:db8:1:2::/64"
    assert network_of(None) == ratelimit.UNKNOWN


# --- Counters in Redis ----------------------------------------------------------------------


@pytest.fixture
def redis_cache(redis_url: str) -> None:
    if not isinstance(caches["default"], RedisCache):
        pytest.skip("the default cache is not Redis")


def test_a_voter_over_the_limit_is_told_when_to_come_back(redis_cache: None) -> None:
    now = 1_000_000_000.0  # 1000 s into a one-hour window
    verdicts = [
        ratelimit.hit(
            "t", voter_id="v1", network="n1", per_voter=3, per_network=100, window=3600, now=now
        )
        for _ in range(4)
    ]
    assert [v.over for v in verdicts] == [False, False, False, True]
    assert verdicts[-1].limit == "voter"
    assert verdicts[-1].retry_after == 3600 - int(now) % 3600
    fresh = ratelimit.hit(
        "t", voter_id="v1", network="n1", per_voter=3, per_network=100, window=3600, now=now + 3600
    )
    assert not fresh.over  # the next window starts again from zero


def test_new_voter_ids_on_one_network_share_its_limit(redis_cache: None) -> None:
    over = [
        ratelimit.hit(
            "t", voter_id=f"bot-{i}", network="n2", per_voter=3, per_network=5, window=60
        ).limit
        for i in range(7)
    ]
    assert over == ["", "", "", "", "", "network", "network"]


def test_counters_are_exact_under_concurrent_increments(redis_cache: None) -> None:
    threads, per_thread = 12, 40
    seen: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def work() -> None:
        barrier.wait()
        mine = [ratelimit._count("arena:rl:test:concurrent", 60) for _ in range(per_thread)]
        with lock:
            seen.extend(mine)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=30)

    # Every increment got its own number: none lost, none repeated.
    assert sorted(seen) == list(range(1, threads * per_thread + 1))
    assert cache.get("arena:rl:test:concurrent") == threads * per_thread


def test_counters_expire_with_their_window(redis_cache: None) -> None:
    ratelimit.hit("t", voter_id="v3", network="n3", per_voter=1, per_network=1, window=1, now=5.0)
    ttl = cache._cache.get_client().ttl(cache.make_and_validate_key("arena:rl:t:voter:v3:5"))
    assert 0 < ttl <= 61


# --- Over HTTP ------------------------------------------------------------------------------


def _browser_owning(battle: Battle, **extra: str) -> Client:
    client = Client(**extra)
    client.get("/")
    request = RequestFactory().get("/")
    request.COOKIES = {name: morsel.value for name, morsel in client.cookies.items()}
    Battle.objects.filter(pk=battle.pk).update(voter_id=voter_id(request))
    return client


def test_battle_creation_over_the_limit_gets_429_with_retry_after(
    client: Client, pool_prompt, settings
) -> None:
    settings.ARENA_RATE_GENERATIONS_PER_VOTER = 2
    client.get("/")
    statuses = [
        client.post(
            "/battles/", {"pool_prompt": pool_prompt.pk}, HTTP_ACCEPT="application/json"
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [201, 201, 429]
    refused = client.post(
        "/battles/", {"pool_prompt": pool_prompt.pk}, HTTP_ACCEPT="application/json"
    )
    assert "Too many answers requested from your browser" in refused.json()["error"]
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert Battle.objects.count() == 2
    page = client.post("/battles/", {"pool_prompt": pool_prompt.pk})
    assert page.status_code == 429
    assert "Too many answers requested" in page.content.decode()


def test_a_forged_forwarded_header_does_not_reset_the_network_limit(pool_prompt, settings) -> None:
    settings.ARENA_RATE_GENERATIONS_PER_NETWORK = 3
    settings.ARENA_TRUSTED_PROXIES = [PROXY]
    statuses = []
    for i in range(5):
        # A fresh browser each time (no cookie), claiming a fresh address each time; the
        # trusted proxy appends the one it really saw.
        response = Client(REMOTE_ADDR=PROXY).post(
            "/battles/",
            {"pool_prompt": pool_prompt.pk},
            HTTP_ACCEPT="application/json",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{i}, 203.0.113.50",
        )
        statuses.append(response.status_code)
    assert statuses == [201, 201, 201, 429, 429]
    assert "network" in response.json()["error"]


def test_clients_on_different_networks_behind_the_proxy_are_counted_apart(
    pool_prompt, settings
) -> None:
    settings.ARENA_RATE_GENERATIONS_PER_NETWORK = 1
    settings.ARENA_TRUSTED_PROXIES = [PROXY]
    statuses = [
        Client(REMOTE_ADDR=PROXY)
        .post(
            "/battles/",
            {"pool_prompt": pool_prompt.pk},
            HTTP_ACCEPT="application/json",
            HTTP_X_FORWARDED_FOR=f"203.0.{i}.50",
        )
        .status_code
        for i in range(3)
    ]
    assert statuses == [201, 201, 201]


def test_follow_ups_and_regenerations_count_as_generations(models, settings) -> None:
    LanguageModel.objects.update(endpoint_base_url="http://127.0.0.1:9/v1")
    battle = services.battle_create(voter_id=ALICE, prompt="First question")
    battle = _finish(battle)
    settings.ARENA_RATE_GENERATIONS_PER_VOTER = 1
    client = ratelimit.Client(network="203.0.113.0/24")
    services.battle_regenerate(battle=battle, voter_id=ALICE, client=client)
    battle = _finish(battle)
    with pytest.raises(services.RateLimited):
        services.battle_add_turn(battle=battle, voter_id=ALICE, prompt="More?", client=client)
    assert battle.turns.count() == 1


def _finish(battle: Battle) -> Battle:
    from arena.backends import Finished

    services.battle_claim_stream(battle.pk)
    turn = battle.turns.order_by("-index")[0]
    return services.battle_finish(
        battle=battle, turn=turn, answers={s: ("answer", Finished("ok"), 10, 20) for s in "ab"}
    )


def test_votes_over_the_limit_are_kept_but_excluded(complete_battle: Battle, settings) -> None:
    settings.ARENA_RATE_VOTES_PER_NETWORK = 2
    client = ratelimit.Client(network="203.0.113.0/24")
    ratelimit.hit_vote("someone-else", client)
    ratelimit.hit_vote("a-third", client)

    vote = services.vote_cast(battle=complete_battle, outcome="tie", voter_id=ALICE, client=client)

    assert vote.excluded_reason == Vote.ExcludedReason.RATE_LIMIT
    assert Vote.objects.filter(excluded_reason="rate_limit").count() == 1


def test_a_rate_limited_vote_over_http_is_stored_and_the_voter_told(
    complete_battle: Battle, settings
) -> None:
    settings.ARENA_RATE_VOTES_PER_VOTER = 0
    settings.ARENA_RATE_VOTES_PER_NETWORK = 1
    ratelimit.hit_vote("neighbour", ratelimit.Client(network="127.0.0.0/24"))
    browser = _browser_owning(complete_battle)

    response = browser.post(
        f"/battles/{complete_battle.pk}/vote", {"outcome": "tie"}, HTTP_ACCEPT="application/json"
    )

    assert response.status_code == 201
    assert response.json()["counted"] is False
    assert response.json()["excluded_reason"] == "rate_limit"
    assert "not counted" in response.json()["message"]


def test_with_the_cache_unreachable_a_vote_is_still_stored(
    complete_battle: Battle, settings
) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        }
    }
    with pytest.raises(redis.exceptions.ConnectionError):
        cache.add("probe", 1)
    client = ratelimit.Client(network="203.0.113.0/24")
    vote = services.vote_cast(battle=complete_battle, outcome="tie", voter_id=ALICE, client=client)
    assert vote.pk and vote.counted


def test_an_identity_leak_outranks_the_rate_limit(complete_battle: Battle, settings) -> None:
    settings.ARENA_RATE_VOTES_PER_VOTER = 0
    settings.ARENA_RATE_VOTES_PER_NETWORK = 0
    Battle.objects.filter(pk=complete_battle.pk).update(identity_leak="Alpha")
    complete_battle.refresh_from_db()
    vote = services.vote_cast(battle=complete_battle, outcome="tie", voter_id=ALICE)
    assert vote.excluded_reason == Vote.ExcludedReason.IDENTITY_LEAK


# --- Bot signals ----------------------------------------------------------------------------


def test_the_page_script_vote_records_its_signals(complete_battle: Battle, settings) -> None:
    settings.ARENA_MIN_VOTE_MS = 1500
    Battle.objects.filter(pk=complete_battle.pk).update(
        answered_at=timezone.now() - datetime.timedelta(seconds=7)
    )
    browser = _browser_owning(complete_battle, HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux)")

    browser.post(
        f"/battles/{complete_battle.pk}/vote",
        {"outcome": "model_a", "client": "js", "elapsed_ms": "6800"},
        HTTP_ACCEPT="application/json",
    )

    vote = Vote.objects.get()
    assert 7000 <= vote.time_to_vote_ms < 60_000
    assert vote.too_fast is False
    assert vote.client_elapsed_ms == 6800
    assert vote.client_kind == "js"
    assert len(vote.user_agent_hash) == 24
    assert "Mozilla" not in vote.user_agent_hash
    assert vote.network_hash == ratelimit.pseudonym("127.0.0.0/24")
    assert vote.counted


def test_a_bare_form_post_without_user_agent_is_recorded_as_such(
    complete_battle: Battle,
) -> None:
    browser = _browser_owning(complete_battle)
    browser.post(f"/battles/{complete_battle.pk}/vote", {"outcome": "tie", "elapsed_ms": "x"})
    vote = Vote.objects.get()
    assert (vote.client_kind, vote.user_agent_hash, vote.client_elapsed_ms) == ("form", "", None)


def test_a_json_vote_is_recorded_as_api(complete_battle: Battle) -> None:
    browser = _browser_owning(complete_battle)
    browser.post(
        f"/battles/{complete_battle.pk}/vote",
        '{"outcome": "tie"}',
        content_type="application/json",
        HTTP_ACCEPT="application/json",
    )
    assert Vote.objects.get().client_kind == "api"


def test_a_too_fast_vote_is_flagged_but_counted(complete_battle: Battle, settings) -> None:
    settings.ARENA_MIN_VOTE_MS = 60_000  # the fixture's battle finished milliseconds ago
    vote = services.vote_cast(battle=complete_battle, outcome="tie", voter_id=ALICE)
    assert vote.too_fast is True
    assert vote.time_to_vote_ms is not None and vote.time_to_vote_ms < 60_000
    assert vote.counted


def test_finishing_a_battle_stamps_when_its_answers_were_complete(
    complete_battle: Battle,
) -> None:
    complete_battle.refresh_from_db()
    assert timezone.now() - complete_battle.answered_at < datetime.timedelta(seconds=30)


# --- Battle ids -----------------------------------------------------------------------------


def test_battle_ids_are_random_version_4_uuids(pool_prompt) -> None:
    ids = [services.battle_create(voter_id=ALICE, pool_prompt=pool_prompt).pk for _ in range(20)]
    assert all(isinstance(i, uuid.UUID) and i.version == 4 for i in ids)
    assert len(set(ids)) == 20
    # 122 random bits: no two share even a long prefix by chance.
    assert len({i.hex[:12] for i in ids}) == 20


def test_a_battle_id_takes_one_vote_and_then_nothing_else(complete_battle: Battle) -> None:
    browser = _browser_owning(complete_battle)
    url = f"/battles/{complete_battle.pk}/"
    first = browser.post(url + "vote", {"outcome": "tie"}, HTTP_ACCEPT="application/json")
    again = browser.post(url + "vote", {"outcome": "model_a"}, HTTP_ACCEPT="application/json")
    follow = browser.post(url + "turns", {"prompt": "and?"}, HTTP_ACCEPT="application/json")
    regen = browser.post(url + "regenerate", HTTP_ACCEPT="application/json")
    assert (first.status_code, again.status_code) == (201, 409)
    assert follow.status_code == 400 and regen.status_code == 400
    assert Vote.objects.get().outcome == "tie"


def test_an_unknown_battle_id_reveals_nothing(db: None) -> None:
    response = Client().post(f"/battles/{uuid.uuid4()}/vote", {"outcome": "tie"})
    assert response.status_code == 404
    assert Client().get(f"/battles/{uuid.uuid4()}/").status_code == 404


# --- CSRF -----------------------------------------------------------------------------------


def _routes(resolvers: list, prefix: str = "") -> list[str]:
    """Every route of the URL configuration, as a concrete path (regex routes left out)."""
    found: list[str] = []
    for entry in resolvers:
        pattern = getattr(entry.pattern, "_route", None)
        if pattern is None:
            continue
        if isinstance(entry, URLResolver):
            found += _routes(entry.url_patterns, prefix + pattern)
        elif isinstance(entry, URLPattern):
            found.append(prefix + pattern)
    return found


def _concrete(route: str, battle_id: uuid.UUID) -> str:
    for converter, value in (
        ("uuid", str(battle_id)),
        ("int", "1"),
        ("slug", "x"),
        ("str", "x"),
        ("path", "x"),
    ):
        while f"<{converter}:" in route:
            start = route.index(f"<{converter}:")
            route = route[:start] + value + route[route.index(">", start) + 1 :]
    while "<" in route:  # <name> without a converter is a str
        start = route.index("<")
        route = route[:start] + "x" + route[route.index(">", start) + 1 :]
    return "/" + route


def test_every_post_without_a_csrf_token_is_refused(complete_battle: Battle) -> None:
    browser = _browser_owning(complete_battle, enforce_csrf_checks=True)
    paths = sorted({_concrete(r, complete_battle.pk) for r in _routes(get_resolver().url_patterns)})
    assert "/battles/" in paths and f"/battles/{complete_battle.pk}/vote" in paths
    for path in paths:
        response = browser.post(path, {"outcome": "tie"}, HTTP_ACCEPT="application/json")
        assert response.status_code == 403, path
        assert "security token (CSRF)" in response.json()["error"], path
    assert not Vote.objects.exists()


def test_with_the_csrf_token_the_same_vote_goes_through(complete_battle: Battle) -> None:
    browser = _browser_owning(complete_battle, enforce_csrf_checks=True)
    token = browser.cookies["csrftoken"].value
    response = browser.post(
        f"/battles/{complete_battle.pk}/vote",
        {"outcome": "tie"},
        HTTP_ACCEPT="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 201


def test_a_csrf_refusal_to_a_form_is_plain_text(pool_prompt) -> None:
    response = Client(enforce_csrf_checks=True).post("/battles/", {"pool_prompt": pool_prompt.pk})
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/plain")
    assert "Reload the page" in response.content.decode()


# --- Request size -----------------------------------------------------------------------------


def test_django_refuses_a_body_over_the_limit_and_stores_nothing(pool_prompt, settings) -> None:
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == settings.ARENA_MAX_REQUEST_BYTES
    response = Client().post("/battles/", {"prompt": "x" * (settings.ARENA_MAX_REQUEST_BYTES + 1)})
    assert response.status_code == 400
    assert not Battle.objects.exists()

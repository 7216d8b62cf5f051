"""Who is asking (address, network, browser signals) and how often, counted in the shared cache.

The client's address is the connection's own (REMOTE_ADDR) unless that connection comes from a
proxy listed in ARENA_TRUSTED_PROXIES: then X-Forwarded-For is read right to left, skipping
trusted hops, and the first untrusted address is the client. Entries to the left of it were
written by the client itself, so a forged header cannot move anyone to a fresh bucket.

Counters are fixed windows in the Django cache: Redis in production (INCR, then EXPIRE NX, both
counters of a request pipelined in one round trip: atomic, shared by every web process), the
file cache in the embedded single-process mode.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import time
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest

from config.cache import incr_counters

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN = "unknown"


@lru_cache(maxsize=8)
def _trusted(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def parse_address(raw: str) -> IPAddress | None:
    """An address as proxies write it ("1.2.3.4", "1.2.3.4:5678", "[2001:db8::1]:443")."""
    text = raw.strip()
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def client_address(
    remote_addr: str, forwarded_for: str, trusted_proxies: list[str] | tuple[str, ...]
) -> IPAddress | None:
    """The client's address, believing X-Forwarded-For only as far as trusted proxies wrote it."""
    trusted = _trusted(tuple(trusted_proxies))

    def is_trusted(address: IPAddress) -> bool:
        return any(address in network for network in trusted)

    address = parse_address(remote_addr)
    if address is None or not is_trusted(address):
        return address
    for hop in reversed([h for h in forwarded_for.split(",") if h.strip()]):
        parsed = parse_address(hop)
        if parsed is None:
            break  # a trusted proxy passed on garbage: the last good hop is all we know
        address = parsed
        if not is_trusted(parsed):
            break
    return address


def network_of(address: IPAddress | None) -> str:
    """The network a client shares with its neighbours: IPv4 /24, IPv6 /64."""
    if address is None:
        return UNKNOWN
    prefix = 24 if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def pseudonym(value: str) -> str:
    """A keyed hash, so stored signals can be compared without storing addresses or agents."""
    if not value:
        return ""
    digest = hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()
    return digest[:24]


@dataclass(frozen=True)
class Client:
    """What a request tells about its sender, as the rate limits and bot signals need it."""

    network: str = UNKNOWN
    user_agent: str = ""
    # How the vote was sent: "js" (the page's script), "form" (a plain form post), "api" (JSON).
    kind: str = ""
    # Milliseconds the page measured from both answers complete to the click (client's claim).
    elapsed_ms: int | None = None


def client_from_request(request: HttpRequest) -> Client:
    address = client_address(
        request.META.get("REMOTE_ADDR", ""),
        request.META.get("HTTP_X_FORWARDED_FOR", ""),
        settings.ARENA_TRUSTED_PROXIES,
    )
    if request.POST.get("client") == "js":
        kind = "js"
    elif request.content_type == "application/json":
        kind = "api"
    else:
        kind = "form"
    raw_elapsed = request.POST.get("elapsed_ms", "")
    elapsed = int(raw_elapsed) if raw_elapsed.isdigit() and len(raw_elapsed) < 10 else None
    return Client(
        network=network_of(address),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
        kind=kind,
        elapsed_ms=elapsed,
    )


@dataclass(frozen=True)
class Verdict:
    over: bool
    # Which limit was passed ("voter" or "network"), and seconds until its window ends.
    limit: str = ""
    retry_after: int = 0


def _count(key: str, timeout: int) -> int:
    """Add one to a counter that expires with its window; return the new count."""
    return incr_counters(caches["default"], [key], timeout)[0]


def hit(
    scope: str,
    *,
    voter_id: str,
    network: str,
    per_voter: int,
    per_network: int,
    window: int,
    now: float | None = None,
) -> Verdict:
    """Count one request of `scope` for this voter and network; say whether either is over."""
    now = time.time() if now is None else now
    window = max(1, window)
    slot = int(now // window)
    retry_after = max(1, int((slot + 1) * window - now + 0.999))
    timeout = window + 60
    counted = [
        (kind, f"arena:rl:{scope}:{kind}:{ident}:{slot}", limit)
        for kind, ident, limit in (
            ("voter", voter_id, per_voter),
            ("network", network, per_network),
        )
        if limit > 0 and ident
    ]
    over = ""
    try:
        # Both counters in one round trip (a pipeline on Redis).
        counts = incr_counters(caches["default"], [key for _kind, key, _limit in counted], timeout)
    except Exception:
        # The counters are a guard, not a record: if the cache is unreachable, let the request
        # through (a vote is still stored) rather than fail it, and say so.
        logger.exception("rate-limit counters unavailable; %s not counted", scope)
        counts = []
    for (kind, _key, limit), count in zip(counted, counts, strict=False):
        if count > limit:
            over = kind
            break
    return Verdict(over=bool(over), limit=over, retry_after=retry_after if over else 0)


def hit_generation(voter_id: str, client: Client) -> Verdict:
    return hit(
        "gen",
        voter_id=voter_id,
        network=client.network,
        per_voter=settings.ARENA_RATE_GENERATIONS_PER_VOTER,
        per_network=settings.ARENA_RATE_GENERATIONS_PER_NETWORK,
        window=settings.ARENA_RATE_GENERATIONS_WINDOW,
    )


def hit_vote(voter_id: str, client: Client) -> Verdict:
    return hit(
        "vote",
        voter_id=voter_id,
        network=client.network,
        per_voter=settings.ARENA_RATE_VOTES_PER_VOTER,
        per_network=settings.ARENA_RATE_VOTES_PER_NETWORK,
        window=settings.ARENA_RATE_VOTES_WINDOW,
    )

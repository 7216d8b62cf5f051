"""Every write the arena makes goes through here."""

from __future__ import annotations

import datetime
import random
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from arena import dedup, ratelimit
from arena.backends import Finished
from arena.identity import find_identity
from arena.models import (
    Answer,
    Battle,
    Domain,
    LanguageModel,
    Organisation,
    PoolAnswer,
    PoolPrompt,
    PromptBand,
    PromptFingerprint,
    Turn,
    Vote,
    VoteDomain,
)
from arena.sampling import Candidate, NoPairAvailable, pick_pair
from arena.selectors import column_value
from arena.signals import votes_changed
from config.db import prepared_cursor

_rng = random.SystemRandom()


class BattleError(Exception):
    """A request the arena cannot honour; the message is safe to show to the voter."""


class VoteRejected(BattleError):
    pass


class AlreadyVoted(VoteRejected):
    pass


class NotYourBattle(VoteRejected):
    pass


class RateLimited(BattleError):
    """Too many generations from this voter or network; `retry_after` seconds until allowed."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _check_generation_rate(voter_id: str, client: ratelimit.Client | None) -> None:
    """Count a request that makes models answer (it costs money); refuse it over the limit."""
    if client is None:
        return
    verdict = ratelimit.hit_generation(voter_id, client)
    if verdict.over:
        minutes = {"minutes": max(1, round(verdict.retry_after / 60))}
        if verdict.limit == "voter":
            message = _(
                "Too many answers requested from your browser; please try again in "
                "%(minutes)d minute(s)."
            )
        else:
            message = _(
                "Too many answers requested from your network; please try again in "
                "%(minutes)d minute(s)."
            )
        raise RateLimited(
            message % minutes,
            verdict.retry_after,
        )


def _candidates(models: list[LanguageModel]) -> list[Candidate]:
    return [
        Candidate(
            id=m.pk,
            weight=m.sampling_weight,
            pre_release=m.status == LanguageModel.Status.PRE_RELEASE,
        )
        for m in models
    ]


def _sampleable() -> Q:
    return Q(status__in=[LanguageModel.Status.ACTIVE, LanguageModel.Status.PRE_RELEASE])


def live_models() -> QuerySet[LanguageModel]:
    """Models that can answer a typed prompt: sampleable, with a registered endpoint."""
    return LanguageModel.objects.filter(_sampleable()).exclude(endpoint_base_url="")


@transaction.atomic
def battle_create(
    *,
    voter_id: str,
    prompt: str = "",
    pool_prompt: PoolPrompt | None = None,
    domain_hint: Domain | None = None,
    client: ratelimit.Client | None = None,
) -> Battle:
    """Open a battle: pick two models server-side, random sides, and store the first turn.

    A pool prompt makes an answer-pool battle between two models that answered it; free text
    makes a live battle between two models with registered endpoints. With a `client`, the
    request counts against the generation rate limits (RateLimited when over).
    """
    if pool_prompt is not None:
        models = list(
            LanguageModel.objects.filter(_sampleable(), pool_answers__prompt=pool_prompt).exclude(
                pool_answers__text=""
            )
        )
        source, text = Battle.Source.POOL, pool_prompt.text
    else:
        text = _check_prompt(prompt)
        models = list(live_models())
        source = Battle.Source.LIVE
    try:
        a_id, b_id = pick_pair(_candidates(models), _rng)
    except NoPairAvailable:
        if source == Battle.Source.LIVE:
            raise BattleError(
                _("No live model endpoints are configured; pick a prompt from the answer pool.")
            ) from None
        raise BattleError(_("Fewer than two models answered this prompt.")) from None
    _check_generation_rate(voter_id, client)
    # Answer-pool prompts are a fixed set chosen by the operator: repeating them is the design.
    prompt_hash, cluster = prompt_cluster_assign(text) if source == Battle.Source.LIVE else ("", "")
    battle = Battle.objects.create(
        source=source,
        model_a_id=a_id,
        model_b_id=b_id,
        pool_prompt=pool_prompt,
        domain_hint=domain_hint,
        voter_id=voter_id,
        prompt_hash=prompt_hash,
        prompt_cluster=cluster,
    )
    Turn.objects.create(battle=battle, index=0, prompt=text)
    battle.opening_prompt = text  # type: ignore[attr-defined]  # spares the caller a query
    return battle


def _check_prompt(prompt: str) -> str:
    text = prompt.strip()
    if not text:
        raise BattleError(_("Type a prompt first."))
    if len(text) > settings.ARENA_MAX_PROMPT_CHARS:
        raise BattleError(
            _("Prompts are limited to %(n)d characters.") % {"n": settings.ARENA_MAX_PROMPT_CHARS}
        )
    return text


def _check_open(battle: Battle, voter_id: str, action: str) -> None:
    if battle.voter_id and battle.voter_id != voter_id:
        raise NotYourBattle(_("This battle belongs to another voter."))
    if battle.source != Battle.Source.LIVE:
        raise BattleError(
            _("%(action)s needs live models; stored answers cannot continue.") % {"action": action}
        )
    if Vote.objects.filter(battle=battle).exists():
        raise BattleError(_("This battle has been voted on; start a new one."))
    if battle.status != Battle.Status.COMPLETE:
        raise BattleError(_("Wait until both answers are complete."))


@transaction.atomic
def battle_add_turn(
    *, battle: Battle, voter_id: str, prompt: str, client: ratelimit.Client | None = None
) -> Turn:
    """Ask both models a follow-up; the consumer streams it on the next connection."""
    text = _check_prompt(prompt)
    battle = Battle.objects.select_for_update().get(pk=battle.pk)
    _check_open(battle, voter_id, _("A follow-up"))
    turns = battle.turns.count()
    if turns >= settings.ARENA_MAX_TURNS:
        raise BattleError(
            _("A battle has at most %(n)d turns; vote now.") % {"n": settings.ARENA_MAX_TURNS}
        )
    _check_generation_rate(voter_id, client)
    turn = Turn.objects.create(battle=battle, index=turns, prompt=text)
    Battle.objects.filter(pk=battle.pk).update(status=Battle.Status.PENDING)
    return turn


@transaction.atomic
def battle_regenerate(
    *, battle: Battle, voter_id: str, client: ratelimit.Client | None = None
) -> Turn:
    """Discard both answers of the last turn so both models answer it again."""
    battle = Battle.objects.select_for_update().get(pk=battle.pk)
    _check_open(battle, voter_id, _("Regenerating"))
    _check_generation_rate(voter_id, client)
    turn = battle.turns.order_by("-index")[0]
    Answer.objects.filter(turn=turn).delete()
    Battle.objects.filter(pk=battle.pk).update(status=Battle.Status.PENDING)
    return turn


def battle_claim_stream(battle_id: object) -> bool:
    """Mark a pending battle as streaming; False if another connection got there first."""
    claimed = Battle.objects.filter(pk=battle_id, status=Battle.Status.PENDING).update(
        status=Battle.Status.STREAMING
    )
    return claimed == 1


def battle_release_stream(battle_id: object) -> None:
    """Put an interrupted stream back to pending, so a reconnect streams it again."""
    with transaction.atomic():
        Answer.objects.filter(turn__battle_id=battle_id).delete()
        Battle.objects.filter(pk=battle_id, status=Battle.Status.STREAMING).update(
            status=Battle.Status.PENDING
        )


def pool_answer_for(battle: Battle, side: str) -> PoolAnswer:
    return PoolAnswer.objects.get(prompt_id=battle.pool_prompt_id, model=battle.model_for(side))


def pool_answers_for(battle: Battle) -> dict[str, PoolAnswer]:
    """Both sides' stored answers, in one query."""
    by_model = {
        a.model_id: a
        for a in PoolAnswer.objects.filter(
            prompt_id=battle.pool_prompt_id, model_id__in=[battle.model_a_id, battle.model_b_id]
        )
    }
    return {"a": by_model[battle.model_a_id], "b": by_model[battle.model_b_id]}


@transaction.atomic
def battle_finish(
    *, battle: Battle, turn: Turn, answers: dict[str, tuple[str, Finished, int | None, int]]
) -> Battle:
    """Store both answers of a turn and close the stream: complete, or failed if a side failed.

    `answers` maps side -> (text, finished event, measured first-token ms, measured total ms).
    """
    stored = []
    for side, (text, done, first_ms, total_ms) in answers.items():
        model = battle.model_for(side)
        answer = Answer(
            turn=turn,
            side=side,
            text=text,
            status=done.status,
            error_detail=done.error_detail,
            finish_reason=done.finish_reason,
            prompt_tokens=done.prompt_tokens,
            completion_tokens=done.completion_tokens,
            # A source that knows the answer's real timing (the pool) overrides our measure,
            # which would only time the replay.
            first_token_ms=first_ms if done.latency_ms is None else done.first_token_ms,
            latency_ms=total_ms if done.latency_ms is None else done.latency_ms,
        )
        answer.cost_usd = model.cost_usd(answer.prompt_tokens, answer.completion_tokens)
        stored.append(answer)
    Answer.objects.bulk_create(stored)
    failed = any(answer.failed for answer in stored)
    status = Battle.Status.FAILED if failed else Battle.Status.COMPLETE
    # Every answer of the battle is checked: this turn's from memory, earlier turns' stored.
    texts = [answer.text for answer in stored]
    if turn.index > 0:
        earlier = Answer.objects.filter(turn__battle=battle, turn__index__lt=turn.index)
        texts += earlier.values_list("text", flat=True)
    leak = find_identity(texts)
    answered_at = timezone.now()
    Battle.objects.filter(pk=battle.pk).update(
        status=status, identity_leak=leak, answered_at=answered_at
    )
    battle.status, battle.identity_leak, battle.answered_at = status, leak, answered_at
    return battle


@dataclass(frozen=True)
class RevealedSide:
    side: str
    model: str
    display_name: str
    organisation: str
    prompt_tokens: int | None
    completion_tokens: int | None
    first_token_ms: int | None
    latency_ms: int | None
    cost_usd: Decimal | None


def _reveal_query(battle: str) -> str:
    """Both sides' models and every answer's sizes, of the battle `battle` names (a parameter,
    or a column of the vote just stored): one query, as two ORM queries it cost the vote more
    CPU than storing it. Rows come in turn order, then answer order."""
    return f"""
SELECT turn."index" AS turn_index, answer.id AS answer_id,
       answer.side, model.slug, model.display_name, COALESCE(organisation.name, ''),
       answer.prompt_tokens, answer.completion_tokens, answer.first_token_ms,
       answer.latency_ms, answer.cost_usd
FROM {Answer._meta.db_table} answer
JOIN {Turn._meta.db_table} turn ON turn.id = answer.turn_id
JOIN {Battle._meta.db_table} battle ON battle.id = turn.battle_id
JOIN {LanguageModel._meta.db_table} model
  ON model.id = CASE answer.side WHEN 'a' THEN battle.model_a_id ELSE battle.model_b_id END
LEFT JOIN {Organisation._meta.db_table} organisation ON organisation.id = model.organisation_id
WHERE turn.battle_id = {battle}
"""


REVEAL_SQL = _reveal_query("%s") + "ORDER BY turn_index, answer_id"


def vote_cast(
    *, battle: Battle, outcome: str, voter_id: str, client: ratelimit.Client | None = None
) -> Vote:
    """Store the voter's verdict on a completed battle; exactly one vote per battle.

    The unique key on Vote.battle decides between concurrent submissions: the loser's insert
    fails inside its own transaction and it gets AlreadyVoted, whatever the timing.
    A vote is always stored; it is excluded (first reason that applies) when an answer named
    a model, when the voter or network is over the vote rate limit (counted only with a
    `client`), or when its prompt is a duplicate beyond the cap (see vote_duplicate_prompt).
    The bot signals of docs/integrity.md are recorded with it.

    The vote is returned with `vote.reveal`, both sides named (battle_reveal), which the voter
    is shown next: on PostgreSQL read by the same statement that stores the vote.
    """
    if outcome not in Vote.Outcome.values:
        raise VoteRejected(_("Unknown outcome; use model_a, model_b, tie or both_bad."))
    if battle.voter_id and battle.voter_id != voter_id:
        raise NotYourBattle(_("This battle belongs to another voter."))
    if battle.status != Battle.Status.COMPLETE:
        if battle.status == Battle.Status.FAILED:
            raise VoteRejected(_("A side failed to answer, so this battle cannot be voted on."))
        raise VoteRejected(_("Wait until both answers are complete."))
    now = timezone.now()
    reason = ""
    if battle.identity_leak:
        # Kept on record, but a voter who could tell the models apart was not blind.
        reason = Vote.ExcludedReason.IDENTITY_LEAK
    if client is not None and ratelimit.hit_vote(voter_id, client).over and not reason:
        reason = Vote.ExcludedReason.RATE_LIMIT
    if not reason and vote_duplicate_prompt(battle=battle, voter_id=voter_id, at=now):
        reason = Vote.ExcludedReason.DUPLICATE_PROMPT
    elapsed = None
    if battle.answered_at is not None:
        elapsed = max(0, int((now - battle.answered_at).total_seconds() * 1000))
    client = client or ratelimit.Client(network="")
    vote = Vote(
        battle=battle,
        model_a_id=battle.model_a_id,
        model_b_id=battle.model_b_id,
        outcome=outcome,
        voter_id=voter_id,
        excluded_reason=reason,
        created_at=now,
        status_changed_at=now,
        time_to_vote_ms=elapsed,
        too_fast=elapsed is not None and elapsed < settings.ARENA_MIN_VOTE_MS,
        client_elapsed_ms=client.elapsed_ms,
        client_kind=client.kind,
        user_agent_hash=ratelimit.pseudonym(client.user_agent),
        network_hash=ratelimit.pseudonym(client.network),
        prompt_cluster=battle.prompt_cluster or None,
    )
    try:
        vote.reveal = _vote_insert(vote, _battle_domains(battle))
    except IntegrityError:
        raise AlreadyVoted(_("This battle has already been voted on.")) from None
    transaction.on_commit(lambda: votes_changed.send(sender=Vote, vote_ids=[vote.pk]))
    return vote


# Every column of a vote but its id, and on PostgreSQL the vote and its domain labels stored by
# one statement, which also reads the reveal: being one statement it is all or nothing without
# BEGIN and COMMIT, and a vote costs the database one round trip (the ORM's create, bulk_create
# and transaction took four, and compiling them was the largest part of a vote's time in the
# web process; the reveal as a statement of its own was another round trip). The reveal reads
# only the battle, its answers and models, which the insert does not change.
_VOTE_FIELDS = [field for field in Vote._meta.concrete_fields if not field.primary_key]
_VOTE_INSERT_SQL = f"""
WITH vote AS (
  INSERT INTO {Vote._meta.db_table} ({", ".join(f'"{field.column}"' for field in _VOTE_FIELDS)})
  VALUES ({", ".join(["%s"] * len(_VOTE_FIELDS))})
  RETURNING id, battle_id
), labels AS (
  INSERT INTO {VoteDomain._meta.db_table} (vote_id, domain_id, source)
  SELECT vote.id, label.domain_id, label.source
  FROM vote, unnest(%s::bigint[], %s::varchar[]) AS label(domain_id, source)
)
SELECT vote.id, reveal.*
FROM vote LEFT JOIN LATERAL ({_reveal_query("vote.battle_id")}) reveal ON true
ORDER BY reveal.turn_index, reveal.answer_id
"""


def _vote_insert(vote: Vote, labels: list[tuple[Domain, str]]) -> list[RevealedSide]:
    """Store a new vote and its domain labels, all or nothing, and set `vote.pk`; return the
    reveal of its battle.

    A second vote on the battle fails on its unique key with IntegrityError, inside a savepoint
    when the caller holds a transaction, so that the caller's transaction survives it.
    """
    if connection.vendor != "postgresql":
        # The embedded database: the ORM, in a transaction.
        with transaction.atomic():
            vote.save(force_insert=True)
            VoteDomain.objects.bulk_create(
                VoteDomain(vote=vote, domain=domain, source=source) for domain, source in labels
            )
        return battle_reveal(vote.battle, voted=True)
    values = [
        field.get_db_prep_save(field.pre_save(vote, True), connection) for field in _VOTE_FIELDS
    ]
    values += [[domain.pk for domain, _source in labels], [source for _domain, source in labels]]
    savepoint = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with savepoint, prepared_cursor() as cursor:
        cursor.execute(_VOTE_INSERT_SQL, values)
        rows = cursor.fetchall()
    vote.pk = rows[0][0]
    vote._state.adding = False
    vote._state.db = connection.alias
    # Each row: the vote's id, the turn's index and answer's id (the order), then the reveal.
    return _revealed_sides(row[3:] for row in rows)


def _battle_domains(battle: Battle) -> list[tuple[Domain, str]]:
    labels: dict[int, tuple[Domain, str]] = {}
    if battle.pool_prompt_id and battle.pool_prompt.domain_id:
        labels[battle.pool_prompt.domain_id] = (battle.pool_prompt.domain, VoteDomain.Source.POOL)
    if battle.domain_hint_id and battle.domain_hint_id not in labels:
        labels[battle.domain_hint_id] = (battle.domain_hint, VoteDomain.Source.HINT)
    return [label for label in labels.values() if not label[0].includes_all]


def battle_reveal(battle: Battle, *, voted: bool = False) -> list[RevealedSide]:
    """Name both models; only for a battle that has its vote (`voted`: the caller just stored
    it, so it need not be looked up). A battle can be voted on only with both answers stored.
    vote_cast reveals the battle it stores a vote on by itself (`Vote.reveal`)."""
    if not voted and not Vote.objects.filter(battle=battle).exists():
        raise BattleError(_("Models are revealed only after the vote."))
    with prepared_cursor() as cursor:
        cursor.execute(REVEAL_SQL, [Battle._meta.pk.get_db_prep_value(battle.pk, connection)])
        return _revealed_sides(row[2:] for row in cursor.fetchall())


def _revealed_sides(rows: Iterable[Sequence[Any]]) -> list[RevealedSide]:
    """Both sides, from the reveal query's rows (from `side` on): sizes summed over turns."""
    names: dict[str, tuple[str, str, str]] = {}
    sizes: dict[str, list[tuple]] = {"a": [], "b": []}
    for side, slug, display_name, organisation, *answer_sizes, cost in rows:
        names[side] = (slug, display_name, organisation)
        sizes[side].append((*answer_sizes, column_value(Answer, "cost_usd", cost)))
    sides = []
    for side in ("a", "b"):
        slug, display_name, organisation = names[side]
        prompt_tokens, completion_tokens, first_token_ms, latency_ms, cost_usd = zip(
            *sizes[side], strict=True
        )
        sides.append(
            RevealedSide(
                side=side,
                model=slug,
                display_name=display_name,
                organisation=organisation,
                prompt_tokens=_total(prompt_tokens),
                completion_tokens=_total(completion_tokens),
                first_token_ms=first_token_ms[0],
                latency_ms=_total(latency_ms),
                cost_usd=_total(cost_usd),
            )
        )
    return sides


def _total(values):  # type: ignore[no-untyped-def]
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def votes_exclude(*, vote_ids: list[int], reason: str) -> int:
    """Exclude votes from the ratings, keeping them (and the reason) on record."""
    if reason not in Vote.ExcludedReason.values:
        raise ValueError(f"unknown exclusion reason {reason!r}")
    with transaction.atomic():
        changed = (
            Vote.objects.filter(pk__in=vote_ids)
            .exclude(excluded_reason=reason)
            .update(excluded_reason=reason, status_changed_at=timezone.now(), needs_tally=True)
        )
        transaction.on_commit(lambda: votes_changed.send(sender=Vote, vote_ids=vote_ids))
    return changed


def prompt_cluster_assign(text: str) -> tuple[str, str]:
    """Fingerprint a live battle's opening prompt; return its hash and its cluster.

    An exact (normalised) repeat joins the cluster of its first occurrence. A new prompt joins
    the cluster of its most similar stored prompt when their estimated Jaccard similarity is at
    least ARENA_NEAR_DUPLICATE_JACCARD, and otherwise starts its own. Clusters are keyed by
    their first prompt's hash, so a prompt joins once and keeps its cluster.
    """
    fp = dedup.fingerprint(text)
    known = PromptFingerprint.objects.filter(hash=fp.hash).values_list("cluster", flat=True)
    cluster = known.first()
    if cluster is not None:
        return fp.hash, cluster
    cluster = _nearest_cluster(fp) or fp.hash
    try:
        with transaction.atomic():
            stored = PromptFingerprint.objects.create(
                hash=fp.hash, cluster=cluster, signature=dedup.to_bytes(fp.signature)
            )
            PromptBand.objects.bulk_create(
                PromptBand(fingerprint=stored, key=key) for key in fp.bands
            )
    except IntegrityError:
        # The same new prompt arrived twice at once: the other request stored it first.
        cluster = PromptFingerprint.objects.get(hash=fp.hash).cluster
    return fp.hash, cluster


# Candidates compared in full per new prompt; sharing a band with more than this many stored
# prompts only happens for templated prompts, and the first ones found are as good as any.
MAX_CANDIDATES = 200


def _nearest_cluster(fp: dedup.Fingerprint) -> str | None:
    candidate_ids = list(
        PromptBand.objects.filter(key__in=fp.bands)
        .values_list("fingerprint_id", flat=True)
        .distinct()[:MAX_CANDIDATES]
    )
    if not candidate_ids:
        return None
    rows = list(
        PromptFingerprint.objects.filter(pk__in=candidate_ids)
        .order_by("pk")
        .values_list("cluster", "signature")
    )
    scores = dedup.similarity(
        fp.signature, np.stack([dedup.from_bytes(signature) for _c, signature in rows])
    )
    best = int(np.argmax(scores))
    if scores[best] >= settings.ARENA_NEAR_DUPLICATE_JACCARD:
        return rows[best][0]
    return None


def _duplicate_window() -> datetime.timedelta:
    return datetime.timedelta(days=settings.ARENA_DUPLICATE_PROMPT_WINDOW_DAYS)


def counted_votes_on_cluster(cluster: str, at: datetime.datetime) -> QuerySet[Vote]:
    """Counted votes on a prompt cluster within the duplicate window before `at`, newest first.

    Newest first is the order of the partial index (prompt_cluster, created_at): with a LIMIT,
    PostgreSQL walks the index and stops, where an unordered LIMIT may tempt it into a
    sequential scan that finds a popular prompt's votes late.
    """
    return Vote.objects.filter(
        prompt_cluster=cluster,
        excluded_reason="",
        created_at__gte=at - _duplicate_window(),
        created_at__lt=at,
    ).order_by("-created_at")


def vote_duplicate_prompt(*, battle: Battle, voter_id: str, at: datetime.datetime) -> bool:
    """Whether a vote on this battle now would be over the duplicate-prompt caps.

    Over when the battle's prompt cluster already has ARENA_DUPLICATE_PROMPT_MAX_VOTES counted
    votes within the window before `at`, or this voter already has
    ARENA_DUPLICATE_PROMPT_MAX_PER_VOTER of them. Two counts over partial indexes of counted
    votes by cluster, each stopping at its cap: the cost does not grow with a prompt's votes.
    """
    if not battle.prompt_cluster:
        return False
    earlier = counted_votes_on_cluster(battle.prompt_cluster, at)
    # Counting stops at the cap (COUNT over a LIMIT), so a popular prompt costs no more.
    per_voter = settings.ARENA_DUPLICATE_PROMPT_MAX_PER_VOTER
    if per_voter > 0 and voter_id:
        if earlier.filter(voter_id=voter_id)[:per_voter].count() >= per_voter:
            return True
    cap = settings.ARENA_DUPLICATE_PROMPT_MAX_VOTES
    return cap > 0 and earlier[:cap].count() >= cap


@dataclass(frozen=True)
class DuplicateRecheck:
    fingerprinted: int  # live battles that had no fingerprint yet (fingerprinted with apply)
    excluded: list[int]  # votes newly excluded as duplicate_prompt
    restored: list[int]  # votes excluded as duplicate_prompt that the rule now counts


def prompts_recheck(*, apply: bool) -> DuplicateRecheck:
    """Fingerprint unfingerprinted live battles and replay the duplicate rule over every vote.

    Votes are replayed in the order they were cast with the same rule as vote_cast: a vote is
    a duplicate when its cluster (or its voter within it) already had the cap of counted votes
    in the window before it. Only votes that are counted or excluded as duplicate_prompt can
    change; other exclusions stand. With `apply`, the changes are written (votes_exclude and
    votes_restore); otherwise nothing is written and unfingerprinted battles are left out.
    """
    missing = Battle.objects.filter(source=Battle.Source.LIVE, prompt_cluster="")
    fingerprinted = missing.count()
    if apply:
        # In the order they were opened, so each joins the cluster it would have joined live.
        openings = Turn.objects.filter(battle__in=missing, index=0).order_by("battle__created_at")
        for battle_id, text in openings.values_list("battle_id", "prompt").iterator():
            prompt_hash, cluster = prompt_cluster_assign(text)
            Battle.objects.filter(pk=battle_id).update(
                prompt_hash=prompt_hash, prompt_cluster=cluster
            )
            Vote.objects.filter(battle_id=battle_id).update(prompt_cluster=cluster)
    window = _duplicate_window()
    cap = settings.ARENA_DUPLICATE_PROMPT_MAX_VOTES
    per_voter = settings.ARENA_DUPLICATE_PROMPT_MAX_PER_VOTER
    counted: dict[str, deque[datetime.datetime]] = defaultdict(deque)
    counted_by_voter: dict[tuple[str, str], deque[datetime.datetime]] = defaultdict(deque)
    excluded: list[int] = []
    restored: list[int] = []
    votes = (
        Vote.objects.filter(prompt_cluster__isnull=False)
        .order_by("created_at", "pk")
        .values_list("pk", "created_at", "voter_id", "excluded_reason", "prompt_cluster")
    )
    for pk, at, voter, reason, cluster in votes.iterator():
        if reason not in ("", Vote.ExcludedReason.DUPLICATE_PROMPT):
            continue
        recent = counted[cluster]
        mine = counted_by_voter[(cluster, voter)]
        for queue in (recent, mine):
            while queue and queue[0] < at - window:
                queue.popleft()
        duplicate = (cap > 0 and len(recent) >= cap) or (
            per_voter > 0 and bool(voter) and len(mine) >= per_voter
        )
        if duplicate and not reason:
            excluded.append(pk)
        elif not duplicate:
            if reason:
                restored.append(pk)
            recent.append(at)
            mine.append(at)
    if apply:
        if excluded:
            votes_exclude(vote_ids=excluded, reason=Vote.ExcludedReason.DUPLICATE_PROMPT)
        if restored:
            votes_restore(vote_ids=restored, reason=Vote.ExcludedReason.DUPLICATE_PROMPT)
    return DuplicateRecheck(fingerprinted=fingerprinted, excluded=excluded, restored=restored)


def votes_restore(*, vote_ids: list[int], reason: str) -> int:
    """Count again votes excluded for `reason` (a rule recheck found them within its limits)."""
    with transaction.atomic():
        changed = Vote.objects.filter(pk__in=vote_ids, excluded_reason=reason).update(
            excluded_reason="", status_changed_at=timezone.now(), needs_tally=True
        )
        transaction.on_commit(lambda: votes_changed.send(sender=Vote, vote_ids=vote_ids))
    return changed

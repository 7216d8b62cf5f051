"""Every write the arena makes goes through here."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from arena.backends import Finished
from arena.identity import find_identity
from arena.models import (
    Answer,
    Battle,
    Domain,
    LanguageModel,
    PoolAnswer,
    PoolPrompt,
    Turn,
    Vote,
    VoteDomain,
)
from arena.sampling import Candidate, NoPairAvailable, pick_pair
from arena.signals import votes_changed

_rng = random.SystemRandom()


class BattleError(Exception):
    """A request the arena cannot honour; the message is safe to show to the voter."""


class VoteRejected(BattleError):
    pass


class AlreadyVoted(VoteRejected):
    pass


class NotYourBattle(VoteRejected):
    pass


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
) -> Battle:
    """Open a battle: pick two models server-side, random sides, and store the first turn.

    A pool prompt makes an answer-pool battle between two models that answered it; free text
    makes a live battle between two models with registered endpoints.
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
    battle = Battle.objects.create(
        source=source,
        model_a_id=a_id,
        model_b_id=b_id,
        pool_prompt=pool_prompt,
        domain_hint=domain_hint,
        voter_id=voter_id,
    )
    Turn.objects.create(battle=battle, index=0, prompt=text)
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
def battle_add_turn(*, battle: Battle, voter_id: str, prompt: str) -> Turn:
    """Ask both models a follow-up; the consumer streams it on the next connection."""
    text = _check_prompt(prompt)
    battle = Battle.objects.select_for_update().get(pk=battle.pk)
    _check_open(battle, voter_id, _("A follow-up"))
    turns = battle.turns.count()
    if turns >= settings.ARENA_MAX_TURNS:
        raise BattleError(
            _("A battle has at most %(n)d turns; vote now.") % {"n": settings.ARENA_MAX_TURNS}
        )
    turn = Turn.objects.create(battle=battle, index=turns, prompt=text)
    Battle.objects.filter(pk=battle.pk).update(status=Battle.Status.PENDING)
    return turn


@transaction.atomic
def battle_regenerate(*, battle: Battle, voter_id: str) -> Turn:
    """Discard both answers of the last turn so both models answer it again."""
    battle = Battle.objects.select_for_update().get(pk=battle.pk)
    _check_open(battle, voter_id, _("Regenerating"))
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
    failed = False
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
        answer.save()
        failed = failed or answer.failed
    status = Battle.Status.FAILED if failed else Battle.Status.COMPLETE
    leak = find_identity(Answer.objects.filter(turn__battle=battle).values_list("text", flat=True))
    Battle.objects.filter(pk=battle.pk).update(status=status, identity_leak=leak)
    battle.status, battle.identity_leak = status, leak
    return battle


def vote_cast(*, battle: Battle, outcome: str, voter_id: str) -> Vote:
    """Store the voter's verdict on a completed battle; exactly one vote per battle.

    The unique key on Vote.battle decides between concurrent submissions: the loser's insert
    fails inside its own transaction and it gets AlreadyVoted, whatever the timing.
    """
    if outcome not in Vote.Outcome.values:
        raise VoteRejected(_("Unknown outcome; use model_a, model_b, tie or both_bad."))
    if battle.voter_id and battle.voter_id != voter_id:
        raise NotYourBattle(_("This battle belongs to another voter."))
    if battle.status != Battle.Status.COMPLETE:
        if battle.status == Battle.Status.FAILED:
            raise VoteRejected(_("A side failed to answer, so this battle cannot be voted on."))
        raise VoteRejected(_("Wait until both answers are complete."))
    try:
        with transaction.atomic():
            vote = Vote.objects.create(
                battle=battle,
                model_a_id=battle.model_a_id,
                model_b_id=battle.model_b_id,
                outcome=outcome,
                voter_id=voter_id,
                # Kept on record, but a voter who could tell the models apart was not blind.
                excluded_reason=Vote.ExcludedReason.IDENTITY_LEAK if battle.identity_leak else "",
            )
            labels = _battle_domains(battle)
            VoteDomain.objects.bulk_create(
                VoteDomain(vote=vote, domain=domain, source=source) for domain, source in labels
            )
            transaction.on_commit(lambda: votes_changed.send(sender=Vote, vote_ids=[vote.pk]))
    except IntegrityError:
        raise AlreadyVoted(_("This battle has already been voted on.")) from None
    return vote


def _battle_domains(battle: Battle) -> list[tuple[Domain, str]]:
    labels: dict[int, tuple[Domain, str]] = {}
    if battle.pool_prompt_id and battle.pool_prompt.domain_id:
        labels[battle.pool_prompt.domain_id] = (battle.pool_prompt.domain, VoteDomain.Source.POOL)
    if battle.domain_hint_id and battle.domain_hint_id not in labels:
        labels[battle.domain_hint_id] = (battle.domain_hint, VoteDomain.Source.HINT)
    return [label for label in labels.values() if not label[0].includes_all]


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


def battle_reveal(battle: Battle) -> list[RevealedSide]:
    """Name both models; only for a battle that has its vote."""
    if not Vote.objects.filter(battle=battle).exists():
        raise BattleError(_("Models are revealed only after the vote."))
    sides = []
    by_side: dict[str, list[Answer]] = {"a": [], "b": []}
    for answer in Answer.objects.filter(turn__battle=battle).order_by("turn__index", "id"):
        by_side[answer.side].append(answer)
    for side in ("a", "b"):
        model = battle.model_for(side)
        answers = by_side[side]
        sides.append(
            RevealedSide(
                side=side,
                model=model.slug,
                display_name=model.display_name,
                organisation=model.organisation.name if model.organisation else "",
                prompt_tokens=_total(a.prompt_tokens for a in answers),
                completion_tokens=_total(a.completion_tokens for a in answers),
                first_token_ms=answers[0].first_token_ms if answers else None,
                latency_ms=_total(a.latency_ms for a in answers),
                cost_usd=_total(a.cost_usd for a in answers),
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

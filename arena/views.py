"""The voter's pages: open a battle, watch it stream (websocket), vote, see the reveal."""

from __future__ import annotations

import datetime
import json
import random
import uuid
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from arena import services
from arena.models import Battle, Domain, PoolPrompt, Vote
from arena.ratelimit import client_from_request
from arena.selectors import battle_get, sampling_shares
from arena.voters import ensure_voter_cookie, voter_id

POOL_SUGGESTIONS = 6
EXCLUSION_MESSAGES = {
    Vote.ExcludedReason.IDENTITY_LEAK: _(
        "Thanks! An answer named a model or its maker, so the battle was not blind: your vote "
        "is kept on record but not counted in the ratings."
    ),
    Vote.ExcludedReason.RATE_LIMIT: _(
        "Thanks! Many votes came from your browser or network recently, so this one is kept on "
        "record but not counted in the ratings."
    ),
    Vote.ExcludedReason.DUPLICATE_PROMPT: _(
        "Thanks! This prompt (or one very like it) already has many votes, so this one is kept "
        "on record but not counted in the ratings; try a prompt of your own."
    ),
}


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _refusal_status(exc: services.BattleError) -> int:
    if isinstance(exc, services.AlreadyVoted):
        return 409
    if isinstance(exc, services.NotYourBattle):
        return 403
    if isinstance(exc, services.RateLimited):
        return 429
    return 400


def _with_retry_after(response: HttpResponse, exc: services.BattleError) -> HttpResponse:
    if isinstance(exc, services.RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


def _refusal(exc: services.BattleError) -> HttpResponse:
    """The 4xx answer to a request the arena refused, with the service's message."""
    response = JsonResponse({"error": str(exc)}, status=_refusal_status(exc))
    return _with_retry_after(response, exc)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A refused state change without a valid CSRF token: say so plainly (403)."""
    message = _(
        "This request did not carry the page's security token (CSRF). Reload the page and "
        "try again; scripts must send the csrftoken cookie's value as X-CSRFToken."
    )
    if _wants_json(request):
        return JsonResponse({"error": str(message)}, status=403)
    return HttpResponse(str(message), status=403, content_type="text/plain; charset=utf-8")


def _page_context(battle: Battle | None = None) -> dict[str, Any]:
    prompts = list(PoolPrompt.objects.exclude(answers=None).order_by("id"))
    random.shuffle(prompts)
    return {
        "battle": battle,
        "turns": list(battle.turns.all()) if battle else [],
        "pool_prompts": prompts[:POOL_SUGGESTIONS],
        "domains": Domain.objects.filter(includes_all=False),
        "max_turns": settings.ARENA_MAX_TURNS,
        # The same models battle_create would sample for a typed prompt.
        "live_available": services.live_models().count() >= 2,
    }


@require_GET
def battle_page(request: HttpRequest) -> HttpResponse:
    voter_id(request)  # mint the voter token this response's cookie will carry
    response = render(request, "arena/battle.html", _page_context())
    ensure_voter_cookie(request, response)
    return response


@require_GET
def battle_detail(request: HttpRequest, battle_id: uuid.UUID) -> HttpResponse:
    battle = battle_get(battle_id)
    if battle is None or battle.voter_id != voter_id(request):
        return render(request, "arena/missing.html", status=404)
    return render(request, "arena/battle.html", _page_context(battle))


def _parse_create(request: HttpRequest) -> dict[str, Any]:
    data = request.POST
    pool_prompt = None
    raw_pool = data.get("pool_prompt", "")
    if raw_pool:
        if not raw_pool.isdigit():
            raise services.BattleError(_("Unknown pool prompt."))
        pool_prompt = PoolPrompt.objects.filter(pk=int(raw_pool)).first()
        if pool_prompt is None:
            raise services.BattleError(_("Unknown pool prompt."))
    domain = None
    if data.get("domain"):
        domain = Domain.objects.filter(slug=data["domain"], includes_all=False).first()
        if domain is None:
            raise services.BattleError(_("Unknown domain."))
    return {"prompt": data.get("prompt", ""), "pool_prompt": pool_prompt, "domain_hint": domain}


@require_POST
def battle_create(request: HttpRequest) -> HttpResponse:
    try:
        battle = services.battle_create(
            voter_id=voter_id(request),
            client=client_from_request(request),
            **_parse_create(request),
        )
    except services.BattleError as exc:
        if _wants_json(request):
            return _refusal(exc)
        context = _page_context() | {"error": str(exc)}
        page = render(request, "arena/battle.html", context, status=_refusal_status(exc))
        return _with_retry_after(page, exc)
    if _wants_json(request):
        response: HttpResponse = JsonResponse(
            {
                "id": str(battle.pk),
                "url": f"/battles/{battle.pk}/",
                "ws": f"/ws/battles/{battle.pk}/",
                "prompt": battle.opening_prompt,
            },
            status=201,
        )
    else:
        response = redirect("arena:battle_detail", battle_id=battle.pk)
    ensure_voter_cookie(request, response)
    return response


def _reveal_json(sides: list[services.RevealedSide]) -> list[dict[str, Any]]:
    return [
        {
            "side": s.side,
            "model": s.model,
            "display_name": s.display_name,
            "organisation": s.organisation,
            "prompt_tokens": s.prompt_tokens,
            "completion_tokens": s.completion_tokens,
            "first_token_ms": s.first_token_ms,
            "latency_ms": s.latency_ms,
            "cost_usd": float(s.cost_usd) if s.cost_usd is not None else None,
        }
        for s in sides
    ]


@require_POST
def battle_vote(request: HttpRequest, battle_id: uuid.UUID) -> HttpResponse:
    battle = battle_get(battle_id)
    if battle is None:
        return JsonResponse({"error": "This battle does not exist."}, status=404)
    outcome = request.POST.get("outcome", "")
    if not outcome and request.content_type == "application/json":
        try:
            outcome = str(json.loads(request.body or b"{}").get("outcome", ""))
        except (ValueError, AttributeError):
            return JsonResponse({"error": "The request body is not a JSON object."}, status=400)
    try:
        vote = services.vote_cast(
            battle=battle,
            outcome=outcome,
            voter_id=voter_id(request),
            client=client_from_request(request),
        )
    except services.BattleError as exc:
        return _refusal(exc)
    if not _wants_json(request):
        return redirect("arena:battle_detail", battle_id=battle.pk)
    return JsonResponse(
        {
            "vote": vote.outcome,
            "counted": vote.counted,
            "excluded_reason": vote.excluded_reason or None,
            "message": EXCLUSION_MESSAGES.get(vote.excluded_reason, ""),
            "reveal": _reveal_json(vote.reveal),
        },
        status=201,
        json_dumps_params={"ensure_ascii": False},
    )


def _battle_action(request: HttpRequest, battle_id: uuid.UUID, action: Any) -> HttpResponse:
    battle = battle_get(battle_id)
    if battle is None:
        return JsonResponse({"error": "This battle does not exist."}, status=404)
    try:
        turn = action(battle)
    except services.BattleError as exc:
        return _refusal(exc)
    if not _wants_json(request):
        return redirect("arena:battle_detail", battle_id=battle.pk)
    return JsonResponse(
        {"turn": turn.index, "prompt": turn.prompt, "ws": f"/ws/battles/{battle.pk}/"}, status=201
    )


@require_POST
def battle_follow_up(request: HttpRequest, battle_id: uuid.UUID) -> HttpResponse:
    return _battle_action(
        request,
        battle_id,
        lambda battle: services.battle_add_turn(
            battle=battle,
            voter_id=voter_id(request),
            prompt=request.POST.get("prompt", ""),
            client=client_from_request(request),
        ),
    )


@require_POST
def battle_regenerate(request: HttpRequest, battle_id: uuid.UUID) -> HttpResponse:
    return _battle_action(
        request,
        battle_id,
        lambda battle: services.battle_regenerate(
            battle=battle, voter_id=voter_id(request), client=client_from_request(request)
        ),
    )


MAX_SAMPLING_DAYS = 366


@require_GET
def api_sampling(request: HttpRequest) -> JsonResponse:
    """Realised sampling shares per day, by model or by organisation (for publication)."""
    by = request.GET.get("by", "model")
    raw_days = request.GET.get("days", "30")
    if by not in ("model", "organisation"):
        return JsonResponse({"error": "by must be 'model' or 'organisation'."}, status=400)
    if not raw_days.isdigit() or not 1 <= int(raw_days) <= MAX_SAMPLING_DAYS:
        return JsonResponse(
            {"error": f"days must be a whole number from 1 to {MAX_SAMPLING_DAYS}."}, status=400
        )
    since = timezone.now().date() - datetime.timedelta(days=int(raw_days) - 1)
    shares = sampling_shares(since=since, by=by)
    return JsonResponse(
        {
            "by": by,
            "since": since.isoformat(),
            "shares": [
                {"day": s.day.isoformat(), "name": s.name, "battles": s.battles, "share": s.share}
                for s in shares
            ],
        }
    )

"""Leaderboard page, JSON API and CSV exports: thin views over ratings.selectors."""

from __future__ import annotations

from typing import Any

from django.http import (
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ratings import exports, openapi
from ratings.http import refusals, snapshot_param
from ratings.selectors import (
    Entry,
    Leaderboard,
    ModelProfile,
    PairMatrix,
    leaderboard_get,
    matrix_get,
    model_profile_get,
    overview_get,
    snapshots_list,
)


def _board(request: HttpRequest) -> Leaderboard:
    return leaderboard_get(
        domain_slug=request.GET.get("domain") or "overall",
        snapshot_id=snapshot_param(request),
        tier_slug=request.GET.get("tier") or None,
    )


@require_GET
@refusals("page")
def leaderboard_page(request: HttpRequest) -> HttpResponse:
    board = _board(request)
    overview = overview_get(board.snapshot.pk) if board.snapshot else None
    return render(request, "ratings/leaderboard.html", {"board": board, "overview": overview})


def _entry_json(e: Entry) -> dict[str, Any]:
    return {
        "model": e.model,
        "display_name": e.display_name,
        "organisation": e.organisation,
        "rating": e.rating,
        "rating_lower": e.rating_lower,
        "rating_upper": e.rating_upper,
        "variance": e.variance,
        "rank_ub": e.rank_ub,
        "rank_lb": e.rank_lb,
        "votes": e.votes,
        "wins": e.wins,
        "losses": e.losses,
        "draws": e.draws,
        "win_rate": e.win_rate,
        "provisional": e.provisional,
        "unrated_reason": e.unrated_reason or None,
        "open_weights": e.open_weights,
        "blended_price_per_mtok": float(e.blended_price) if e.blended_price is not None else None,
        "price_tier": e.price_tier,
        "tiers": list(e.tiers),
        "elo": e.elo,
    }


@require_GET
@refusals("json")
def api_leaderboard(request: HttpRequest) -> JsonResponse:
    board = _board(request)
    snapshot = board.snapshot
    return JsonResponse(
        {
            "domain": board.domain.slug,
            "tier": board.tier.slug if board.tier else None,
            "tier_kind": board.tier.kind if board.tier else None,
            "snapshot": None if snapshot is None else _snapshot_json(snapshot),
            "domain_votes": board.fit.votes if board.fit else 0,
            "tied_leaders": [e.model for e in board.tied_leaders],
            "entries": [_entry_json(e) for e in board.entries],
        },
        json_dumps_params={"ensure_ascii": False},
    )


def _csv_response(lines: Any, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@refusals("text")
def export_leaderboard_csv(request: HttpRequest) -> HttpResponse:
    board = _board(request)
    tier = f"-{board.tier.slug}" if board.tier else ""
    snapshot = board.snapshot.pk if board.snapshot else "none"
    name = f"leaderboard-{board.domain.slug}{tier}-{snapshot}.csv"
    return _csv_response(
        exports.csv_lines(exports.LEADERBOARD_COLUMNS, exports.leaderboard_rows(board)), name
    )


@require_GET
def export_votes_csv(request: HttpRequest) -> StreamingHttpResponse:
    return _csv_response(exports.csv_lines(exports.VOTE_COLUMNS, exports.vote_rows()), "votes.csv")


@require_GET
@refusals("page")
def model_page(request: HttpRequest, slug: str) -> HttpResponse:
    profile = model_profile_get(slug, snapshot_id=snapshot_param(request))
    return render(request, "ratings/model.html", {"profile": profile})


def _snapshot_json(snapshot: Any) -> dict[str, Any]:
    return {
        "id": snapshot.pk,
        "created_at": snapshot.created_at.isoformat(),
        "started_at": snapshot.started_at.isoformat() if snapshot.started_at else None,
        "method": snapshot.method,
        "params": snapshot.params,
        "code_version": snapshot.code_version,
        "last_vote_id": snapshot.last_vote_id,
        "votes_counted": snapshot.votes_counted,
        "votes_excluded": snapshot.votes_excluded,
        "votes_added": snapshot.votes_added,
        "votes_removed": snapshot.votes_removed,
        "battles_failed": snapshot.battles_failed,
    }


@require_GET
def snapshots_page(request: HttpRequest) -> HttpResponse:
    return render(request, "ratings/snapshots.html", {"snapshots": snapshots_list()})


@require_GET
def api_snapshots(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"snapshots": [_snapshot_json(s) for s in snapshots_list()]})


@require_GET
def api_schema(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi.schema(), json_dumps_params={"ensure_ascii": False})


def _matrix(request: HttpRequest) -> PairMatrix:
    return matrix_get(
        domain_slug=request.GET.get("domain") or "overall",
        tier_slug=request.GET.get("tier") or None,
        snapshot_id=snapshot_param(request),
    )


@require_GET
@refusals("page")
def matrix_page(request: HttpRequest) -> HttpResponse:
    matrix = _matrix(request)
    return render(request, "ratings/matrix.html", {"matrix": matrix})


WIN_RATE_DEFINITION = (
    "win_rate[i][j] = (wins[i][j] + (ties[i][j] + both_bad[i][j]) / 2) / battles[i][j]: "
    "how often the row model beat the column model, ties and both-bad votes counting half "
    "a win each way; null where they never met"
)


@require_GET
@refusals("json")
def api_matrix(request: HttpRequest) -> JsonResponse:
    matrix = _matrix(request)
    snapshot = matrix.snapshot
    return JsonResponse(
        {
            "domain": matrix.domain.slug,
            "tier": matrix.tier.slug if matrix.tier else None,
            "snapshot": None if snapshot is None else _snapshot_json(snapshot),
            "win_rate_definition": WIN_RATE_DEFINITION,
            "models": [_entry_json(e) for e in matrix.models],
            "wins": matrix.wins,
            "ties": matrix.ties,
            "both_bad": matrix.both_bad,
            "battles": matrix.battles,
            "win_rate": matrix.win_rate,
        },
        json_dumps_params={"ensure_ascii": False},
    )


def _profile_json(profile: ModelProfile) -> dict[str, Any]:
    m = profile.model
    return {
        "model": {
            "slug": m.slug,
            "display_name": m.display_name,
            "organisation": m.organisation.name if m.organisation else "",
            "open_weights": m.open_weights,
            "licence": m.licence,
            "status": m.status,
            "blended_price_per_mtok": float(m.blended_price)
            if m.blended_price is not None
            else None,
        },
        "snapshot": None if profile.snapshot is None else _snapshot_json(profile.snapshot),
        "standings": [
            {
                "domain": s.domain.slug,
                "rating": s.rating,
                "rating_lower": s.rating_lower,
                "rating_upper": s.rating_upper,
                "rank_ub": s.rank_ub,
                "rank_lb": s.rank_lb,
                "votes": s.votes,
                "tiers": [
                    {
                        "kind": t.tier.kind,
                        "tier": t.tier.slug,
                        "rank_ub": t.rank_ub,
                        "rank_lb": t.rank_lb,
                    }
                    for t in s.tiers
                    if t is not None
                ],
                "provisional": s.provisional,
                "unrated_reason": s.unrated_reason or None,
            }
            for s in profile.standings
        ],
        "head_to_head_domain": "overall",
        "head_to_head": None
        if not profile.head_to_head_recorded
        else [
            {
                "opponent": r.opponent,
                "opponent_name": r.opponent_name,
                "battles": r.votes,
                "wins": r.wins,
                "losses": r.losses,
                "ties": r.ties,
                "both_bad": r.both_bad,
                "win_rate": r.win_rate,
            }
            for r in profile.head_to_head
        ],
        "history": [h.as_json() for h in profile.history],
    }


@require_GET
@refusals("json")
def api_model(request: HttpRequest, slug: str) -> JsonResponse:
    profile = model_profile_get(slug, snapshot_id=snapshot_param(request))
    return JsonResponse(_profile_json(profile), json_dumps_params={"ensure_ascii": False})

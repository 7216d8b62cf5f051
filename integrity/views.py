"""The transparency page and its JSON twin: thin views over integrity.selectors."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from integrity.selectors import SamplingTable, Transparency, transparency_get
from ratings.http import BadQuery, refusals, snapshot_param

DEFAULT_DAYS = 14
MAX_DAYS = 366


def _get(request: HttpRequest) -> Transparency:
    raw_days = request.GET.get("days") or str(DEFAULT_DAYS)
    if not raw_days.isdigit() or not 1 <= int(raw_days) <= MAX_DAYS:
        raise BadQuery(_("days must be a whole number from 1 to %(n)d.") % {"n": MAX_DAYS})
    return transparency_get(snapshot_id=snapshot_param(request), days=int(raw_days))


@require_GET
@refusals("page")
def transparency_page(request: HttpRequest) -> HttpResponse:
    report = _get(request)
    return render(request, "integrity/transparency.html", {"report": report})


def _sampling_json(table: SamplingTable) -> list[dict[str, Any]]:
    return [
        {
            "day": s.day.isoformat(),
            "name": s.name,
            "battles": s.battles,
            "day_battles": s.day_battles,
            "share": s.share,
        }
        for s in table.shares
    ]


@require_GET
@refusals("json")
def api_transparency(request: HttpRequest) -> JsonResponse:
    report = _get(request)
    snapshot = report.snapshot
    return JsonResponse(
        {
            "snapshot": None
            if snapshot is None
            else {
                "id": snapshot.pk,
                "created_at": snapshot.created_at.isoformat(),
                "votes_counted": snapshot.votes_counted,
                "battles_failed": snapshot.battles_failed,
            },
            "votes_excluded": {e.reason: e.votes for e in report.exclusions},
            "voter_flags": {
                "flagged": report.flags.flagged,
                "released": report.flags.released,
                "votes_quarantined_now": report.flags.votes_quarantined,
            },
            "network_flags": {
                "flagged": report.flags.networks_flagged,
                "released": report.flags.networks_released,
            },
            "sampling": {
                "since": report.since.isoformat(),
                "until": report.until.isoformat(),
                "by_model": _sampling_json(report.by_model),
                "by_organisation": _sampling_json(report.by_organisation),
            },
            "retired_and_pre_release": [
                {
                    "model": item.model.slug,
                    "display_name": item.model.display_name,
                    "organisation": item.model.organisation.name if item.model.organisation else "",
                    "status": item.model.status,
                    "history": [h.as_json() for h in item.history],
                }
                for item in report.lifecycle
            ],
        },
        json_dumps_params={"ensure_ascii": False},
    )

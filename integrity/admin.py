from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from integrity import services
from integrity.models import VoterFlag


@admin.register(VoterFlag)
class VoterFlagAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "scope",
        "voter_id",
        "network_hash",
        "state",
        "direction",
        "model",
        "statistic",
        "threshold",
        "votes_tested",
        "votes_quarantined",
        "identities_quarantined",
        "created_at",
        "released_by",
    ]
    list_filter = ["scope", "state", "direction"]
    search_fields = ["voter_id", "network_hash", "model__slug"]
    readonly_fields = [f.name for f in VoterFlag._meta.fields]
    actions = ["release"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # flags come from the sequential test, with its statistic

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # kept for audit; release instead

    @admin.action(description="Release: count the votes the selected flags quarantined again")
    def release(self, request: HttpRequest, queryset: QuerySet[VoterFlag]) -> None:
        by = request.user.get_username() or f"user {request.user.pk}"
        released = votes = 0
        for flag in queryset.filter(state=VoterFlag.State.FLAGGED):
            votes += services.flag_release(flag_id=flag.pk, by=by, note="released in admin")
            released += 1
        self.message_user(
            request, f"Released {released} flag(s); {votes} vote(s) counted again.", messages.INFO
        )

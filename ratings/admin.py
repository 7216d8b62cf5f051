from __future__ import annotations

from django.contrib import admin

from ratings.models import RatingSnapshot


@admin.register(RatingSnapshot)
class RatingSnapshotAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "method", "votes_counted", "last_vote_id", "duration_ms"]
    readonly_fields = [f.name for f in RatingSnapshot._meta.fields]

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

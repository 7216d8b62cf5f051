from __future__ import annotations

from django.contrib import admin

from arena.models import (
    Battle,
    CostTier,
    Domain,
    LanguageModel,
    Organisation,
    PoolPrompt,
    Vote,
)


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]


@admin.register(LanguageModel)
class LanguageModelAdmin(admin.ModelAdmin):
    list_display = [
        "slug",
        "display_name",
        "organisation",
        "status",
        "open_weights",
        "total_params_b",
        "input_price_per_mtok",
        "output_price_per_mtok",
        "sampling_weight",
    ]
    list_filter = ["status", "open_weights", "organisation"]
    search_fields = ["slug", "display_name"]


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ["slug", "name_en", "name_zh", "includes_all", "position"]


@admin.register(CostTier)
class CostTierAdmin(admin.ModelAdmin):
    list_display = [
        "slug",
        "kind",
        "name_en",
        "name_zh",
        "min_blended_price",
        "max_blended_price",
        "min_params_b",
        "max_params_b",
        "position",
    ]
    list_filter = ["kind"]
    fieldsets = [
        (None, {"fields": ["slug", "kind", "name_en", "name_zh", "position"]}),
        (
            "Price band (blended USD per 1M tokens; lower bound included, upper excluded)",
            {
                "fields": ["min_blended_price", "max_blended_price"],
                "description": "Blended price: input and output list prices weighted "
                "ARENA_BLEND_INPUT_WEIGHT : ARENA_BLEND_OUTPUT_WEIGHT (3:1 by default). "
                "Changes apply from the next snapshot; earlier snapshots keep their tiers.",
            },
        ),
        (
            "Size class (total parameters in billions; lower bound included, upper excluded)",
            {"fields": ["min_params_b", "max_params_b"]},
        ),
    ]


@admin.register(PoolPrompt)
class PoolPromptAdmin(admin.ModelAdmin):
    list_display = ["external_id", "dataset", "category", "domain"]
    list_filter = ["dataset", "category"]


@admin.register(Battle)
class BattleAdmin(admin.ModelAdmin):
    list_display = ["id", "source", "status", "model_a", "model_b", "created_at"]
    list_filter = ["source", "status"]
    raw_id_fields = ["model_a", "model_b", "pool_prompt"]


@admin.register(Vote)
class VoteAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "model_a",
        "model_b",
        "outcome",
        "excluded_reason",
        "dataset",
        "created_at",
    ]
    list_filter = ["outcome", "excluded_reason", "dataset", "too_fast", "client_kind"]
    raw_id_fields = ["battle", "model_a", "model_b"]
    list_select_related = ["model_a", "model_b"]
    # Bot signals are a record of how the vote arrived: shown, never edited.
    readonly_fields = [
        "time_to_vote_ms",
        "too_fast",
        "client_elapsed_ms",
        "client_kind",
        "user_agent_hash",
        "network_hash",
    ]

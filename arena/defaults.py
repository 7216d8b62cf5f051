"""The default domains and cost tiers, used by a data migration and by the tests."""

from __future__ import annotations

from decimal import Decimal

DOMAINS = [
    # slug, English, Chinese, includes_all, description
    ("overall", "Overall", "总体", True, "Every counted vote."),
    ("coding", "Coding", "编程", False, "Writing, explaining and debugging code."),
    ("math", "Maths", "数学", False, "Mathematical problems (LMArena math tag)."),
    ("creative-writing", "Creative writing", "创意写作", False, "LMArena creative-writing tag."),
    (
        "instruction-following",
        "Instruction following",
        "指令遵循",
        False,
        "LMArena instruction-following tag.",
    ),
    (
        "hard-prompts",
        "Hard prompts",
        "困难提示",
        False,
        "At least 6 of LMArena's 7 criteria tags (complexity, creativity, domain knowledge, "
        "problem solving, real world, specificity, technical accuracy).",
    ),
    ("reasoning", "Reasoning", "推理", False, "Puzzles and reflection prompts."),
    ("chinese", "Chinese", "中文", False, "Prompts written in Chinese."),
]

PRICE_TIERS = [
    # Price bands. slug, English, Chinese, min, max (blended USD per 1M tokens, 3:1 input:output)
    ("budget", "Budget (< $0.50)", "经济（< 0.5 美元）", None, Decimal("0.5")),
    ("mid", "Mid ($0.50–$3)", "中档（0.5–3 美元）", Decimal("0.5"), Decimal("3")),
    ("premium", "Premium (≥ $3)", "高端（≥ 3 美元）", Decimal("3"), None),
]

# The open-weights tier.
OPEN_WEIGHTS_TIERS = [("open-weights", "Open weights", "开放权重")]

SIZE_TIERS = [
    # Size classes. slug, English, Chinese, min, max (total parameters, billions)
    ("small", "Small (< 15B)", "小型（< 15B）", None, Decimal("15")),
    ("medium", "Medium (15B–100B)", "中型（15B–100B）", Decimal("15"), Decimal("100")),
    ("large", "Large (≥ 100B)", "大型（≥ 100B）", Decimal("100"), None),
]


def seed_defaults(Domain, CostTier) -> None:  # type: ignore[no-untyped-def]  # noqa: N803
    """Create the default domains and tiers of every kind that do not exist yet."""
    seed_domains_and_price_tiers(Domain, CostTier)
    seed_tier_kinds(CostTier)


def seed_domains_and_price_tiers(Domain, CostTier) -> None:  # type: ignore[no-untyped-def]  # noqa: N803
    """Create the default domains and price tiers that do not exist yet (operators may edit them).

    Touches only the fields CostTier had in arena 0001 (migration 0002 runs it).
    """
    for position, (slug, en, zh, includes_all, description) in enumerate(DOMAINS):
        Domain.objects.get_or_create(
            slug=slug,
            defaults={
                "name_en": en,
                "name_zh": zh,
                "includes_all": includes_all,
                "description": description,
                "position": position,
            },
        )
    for position, (slug, en, zh, low, high) in enumerate(PRICE_TIERS):
        CostTier.objects.get_or_create(
            slug=slug,
            defaults={
                "name_en": en,
                "name_zh": zh,
                "min_blended_price": low,
                "max_blended_price": high,
                "position": position,
            },
        )


def seed_tier_kinds(CostTier) -> None:  # type: ignore[no-untyped-def]  # noqa: N803
    """Create the default open-weights tier and size classes that do not exist yet."""
    start = len(PRICE_TIERS)
    for position, (slug, en, zh) in enumerate(OPEN_WEIGHTS_TIERS, start=start):
        CostTier.objects.get_or_create(
            slug=slug,
            defaults={"kind": "open_weights", "name_en": en, "name_zh": zh, "position": position},
        )
    start += len(OPEN_WEIGHTS_TIERS)
    for position, (slug, en, zh, low, high) in enumerate(SIZE_TIERS, start=start):
        CostTier.objects.get_or_create(
            slug=slug,
            defaults={
                "kind": "size",
                "name_en": en,
                "name_zh": zh,
                "min_params_b": low,
                "max_params_b": high,
                "position": position,
            },
        )

"""Load a model catalogue CSV (prices, openness, licence, sizes), such as
../shared/data/model_catalog.csv. Checked in full before anything is written."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.text import slugify

from arena.importers import ImportFailed
from arena.models import LanguageModel, Organisation, model_slug_validator

REQUIRED = ("model_id", "display_name", "provider", "input_usd_per_mtok", "output_usd_per_mtok")
BOOLEANS = {"true": True, "false": False, "": None}


@dataclass
class CatalogResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    price_changes: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


def _decimal(value: str, column: str, line: int, errors: list[str]) -> Decimal | None:
    if not value.strip():
        return None
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        errors.append(f"line {line}: {column} {value[:20]!r} is not a number")
        return None
    if number < 0:
        errors.append(f"line {line}: {column} is negative")
    return number


def import_catalog(lines: Iterable[str]) -> CatalogResult:
    """Create or update models from the catalogue; a price change is logged, not silent."""
    reader = csv.DictReader(lines)
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise ImportFailed(f"Missing column(s) {', '.join(missing)}.")
    parsed, errors = [], []
    for line, raw in enumerate(reader, start=2):
        slug = (raw.get("model_id") or "").strip()
        try:
            model_slug_validator(slug)
        except Exception:
            errors.append(f"line {line}: invalid model_id {slug[:40]!r}")
            continue
        open_weights = (raw.get("open_weights") or "").strip().lower()
        if open_weights not in BOOLEANS:
            errors.append(f"line {line}: open_weights must be true or false")
        parsed.append(
            {
                "slug": slug,
                "display_name": (raw.get("display_name") or slug).strip()[:200],
                "provider": (raw.get("provider") or "").strip()[:200],
                "open_weights": BOOLEANS.get(open_weights),
                "licence": (raw.get("license") or "").strip()[:100],
                "total_params_b": _decimal(
                    raw.get("total_params_b") or "", "total_params_b", line, errors
                ),
                "active_params_b": _decimal(
                    raw.get("active_params_b") or "", "active_params_b", line, errors
                ),
                "input_price_per_mtok": _decimal(
                    raw["input_usd_per_mtok"] or "", "input_usd_per_mtok", line, errors
                ),
                "output_price_per_mtok": _decimal(
                    raw["output_usd_per_mtok"] or "", "output_usd_per_mtok", line, errors
                ),
            }
        )
    if errors:
        raise ImportFailed(
            f"{len(errors)} bad row(s), nothing imported:\n" + "\n".join(errors[:10])
        )
    result = CatalogResult(rows=len(parsed))
    with transaction.atomic():
        for row in parsed:
            provider = row.pop("provider")
            organisation = None
            if provider:
                organisation, _ = Organisation.objects.get_or_create(
                    slug=slugify(provider)[:100] or "unknown", defaults={"name": provider}
                )
            model = LanguageModel.objects.filter(slug=row["slug"]).first()
            if model is None:
                LanguageModel.objects.create(organisation=organisation, **row)
                result.created += 1
                continue
            organisation = organisation or model.organisation
            changes = {f: v for f, v in row.items() if getattr(model, f) != v}
            if model.organisation_id != (organisation.pk if organisation else None):
                changes["organisation"] = organisation
            if not changes:
                result.unchanged += 1
                continue
            if model.input_price_per_mtok is not None and (
                "input_price_per_mtok" in changes or "output_price_per_mtok" in changes
            ):
                result.price_changes += 1
            for field, value in changes.items():
                setattr(model, field, value)
            model.save(update_fields=list(changes))
            result.updated += 1
    return result

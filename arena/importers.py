"""Load public data: LMArena-style vote CSVs and answer pools (LLMFAO layout).

Files are read and checked in full before anything is written, so a bad file is rejected with
the rows at fault and the database is left as it was.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils.text import slugify

from arena import csvcells
from arena.models import (
    Domain,
    LanguageModel,
    Organisation,
    PoolAnswer,
    PoolPrompt,
    Vote,
    VoteDomain,
)
from arena.signals import votes_changed

# LMArena's classifier tags that name one of our domains (value 1.0 / True means "in it").
LMARENA_TAG_DOMAINS = {
    "category_tag.creative_writing_v0.1.creative_writing": "creative-writing",
    "category_tag.math_v0.1.math": "math",
    "category_tag.if_v0.1.if": "instruction-following",
}
# LMArena's "hard prompts": at least 6 of the 7 criteria tags set.
LMARENA_CRITERIA = [
    f"category_tag.criteria_v0.1.{name}"
    for name in (
        "complexity",
        "creativity",
        "domain_knowledge",
        "problem_solving",
        "real_world",
        "specificity",
        "technical_accuracy",
    )
]
HARD_PROMPTS_DOMAIN = "hard-prompts"
HARD_PROMPTS_MIN_CRITERIA = 6

# LLMFAO prompt types that map onto our domains; the rest count only towards "overall".
POOL_CATEGORY_DOMAINS = {
    "code": "coding",
    "creativity": "creative-writing",
    "instruct": "instruction-following",
    "reflexion": "reasoning",
}

REQUIRED_VOTE_COLUMNS = ("model_a", "model_b", "winner")
MAX_REPORTED_ERRORS = 10
BATCH_SIZE = 5000


class ImportFailed(Exception):
    """The file cannot be imported; the message says why, nothing was written."""


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    skipped_existing: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    models_created: int = 0
    domain_labels: int = 0


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "1.0", "true", "yes")


@dataclass(frozen=True)
class _VoteRow:
    external_id: str
    model_a: str
    model_b: str
    outcome: str
    domains: tuple[str, ...]
    excluded_reason: str
    voter_id: str


@dataclass(frozen=True)
class PairwiseColumns:
    """How a generic pairwise CSV maps onto votes: its column names and winner values."""

    model_a: str = "model_a"
    model_b: str = "model_b"
    winner: str = "winner"
    id: str = "id"
    voter: str = ""
    # The winner column's values -> model_a / model_b / tie / both_bad.
    outcomes: tuple[tuple[str, str], ...] = (
        ("model_a", "model_a"),
        ("model_b", "model_b"),
        ("tie", "tie"),
        ("both_bad", "both_bad"),
    )

    @classmethod
    def parse_outcomes(cls, spec: str) -> tuple[tuple[str, str], ...]:
        """Read 'left=model_a,right=model_b,tie=tie' into value -> outcome pairs."""
        pairs = []
        for item in filter(None, (part.strip() for part in spec.split(","))):
            value, _, outcome = item.partition("=")
            if outcome not in Vote.Outcome.values or not value:
                raise ImportFailed(
                    f"Bad winner mapping {item!r}: use value=outcome with outcome one of "
                    f"{', '.join(Vote.Outcome.values)}, e.g. left=model_a,right=model_b,tie=tie."
                )
            pairs.append((value, outcome))
        return tuple(pairs)


def _as_lmarena(
    reader: csv.DictReader, columns: PairwiseColumns
) -> tuple[list[str], Iterator[dict]]:  # type: ignore[type-arg]
    """Present a generic pairwise CSV with LMArena's column names."""
    header = reader.fieldnames or []
    wanted = [columns.model_a, columns.model_b, columns.winner] + (
        [columns.voter] if columns.voter else []
    )
    missing = [c for c in wanted if c not in header]
    if missing:
        raise ImportFailed(
            f"Missing column(s) {', '.join(missing)} (see --model-a, --model-b, "
            "--winner and --voter)."
        )
    outcomes = dict(columns.outcomes)

    def rows() -> Iterator[dict]:  # type: ignore[type-arg]
        for raw in reader:
            value = (raw.get(columns.winner) or "").strip()
            yield {
                "id": raw.get(columns.id) or "",
                "model_a": raw.get(columns.model_a) or "",
                "model_b": raw.get(columns.model_b) or "",
                "winner": outcomes.get(value, value),
                "voter_id": raw.get(columns.voter) or "" if columns.voter else "",
            }

    return ["id", "model_a", "model_b", "winner", "voter_id"], rows()


def _parse_votes(
    header: list[str],
    records: Iterable[dict],
    known_domains: set[str],  # type: ignore[type-arg]
) -> list[_VoteRow]:
    missing = [c for c in REQUIRED_VOTE_COLUMNS if c not in header]
    if missing:
        raise ImportFailed(
            f"Missing column(s) {', '.join(missing)}; an LMArena CSV has "
            f"{', '.join(REQUIRED_VOTE_COLUMNS)} (and optionally id and category_tag.* columns)."
        )
    tag_columns = {col: slug for col, slug in LMARENA_TAG_DOMAINS.items() if col in header}
    criteria = [col for col in LMARENA_CRITERIA if col in header]
    rows: list[_VoteRow] = []
    errors: list[str] = []
    seen: set[str] = set()
    for number, raw in enumerate(records, start=2):  # line 1 is the header
        problems = []
        model_a = (raw.get("model_a") or "").strip()
        model_b = (raw.get("model_b") or "").strip()
        outcome = (raw.get("winner") or "").strip()
        for name in (model_a, model_b):
            if not name:
                problems.append("empty model name")
            elif not re.match(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$", name) or len(name) > 200:
                problems.append(f"invalid model name {name[:40]!r}")
        if outcome not in Vote.Outcome.values:
            problems.append(
                f"winner {outcome[:40]!r} is not one of {', '.join(Vote.Outcome.values)}"
            )
        external_id = csvcells.unescape((raw.get("id") or "").strip()) or f"row-{number}"
        if len(external_id) > 100:
            problems.append("id longer than 100 characters")
        if external_id in seen:
            problems.append(f"duplicate id {external_id[:40]!r}")
        seen.add(external_id)
        domains = {slug for col, slug in tag_columns.items() if _truthy(raw.get(col) or "")}
        if (
            criteria
            and sum(_truthy(raw.get(c) or "") for c in criteria) >= HARD_PROMPTS_MIN_CRITERIA
        ):
            domains.add(HARD_PROMPTS_DOMAIN)
        # Our own export carries the labels and exclusions directly.
        for slug in filter(None, (raw.get("domains") or "").split(";")):
            if slug not in known_domains:
                problems.append(f"unknown domain {slug[:40]!r}")
            domains.add(slug)
        reason = (raw.get("excluded_reason") or "").strip()
        if reason and reason not in Vote.ExcludedReason.values:
            problems.append(f"unknown excluded_reason {reason[:40]!r}")
        if model_a and model_a == model_b:
            reason = reason or Vote.ExcludedReason.SELF_BATTLE
        if problems:
            errors.append(f"line {number}: {'; '.join(problems)}")
            continue
        rows.append(
            _VoteRow(
                external_id=external_id,
                model_a=model_a,
                model_b=model_b,
                outcome=outcome,
                domains=tuple(sorted(domains & known_domains)),
                excluded_reason=reason,
                voter_id=csvcells.unescape((raw.get("voter_id") or raw.get("judge") or "").strip())[
                    :64
                ],
            )
        )
    if errors:
        shown = "\n".join(errors[:MAX_REPORTED_ERRORS])
        more = len(errors) - MAX_REPORTED_ERRORS
        raise ImportFailed(
            f"{len(errors)} bad row(s), nothing imported:\n{shown}"
            + (f"\n... and {more} more" if more > 0 else "")
        )
    return rows


def _models_by_slug(names: Iterable[str]) -> tuple[dict[str, int], int]:
    wanted = set(names)
    existing = dict(LanguageModel.objects.filter(slug__in=wanted).values_list("slug", "id"))
    missing = sorted(wanted - existing.keys())
    LanguageModel.objects.bulk_create(
        [LanguageModel(slug=name, display_name=name) for name in missing], ignore_conflicts=True
    )
    if missing:
        existing.update(LanguageModel.objects.filter(slug__in=missing).values_list("slug", "id"))
    return existing, len(missing)


def _batches(items: list, size: int) -> Iterator[list]:  # type: ignore[type-arg]
    for start in range(0, len(items), size):
        yield items[start : start + size]


def import_votes(
    stream: Iterable[str], *, dataset: str, columns: PairwiseColumns | None = None
) -> ImportResult:
    """Import a vote CSV (LMArena layout, or generic pairwise with `columns`); rows whose id
    this data set already has are skipped."""
    if not dataset:
        raise ImportFailed("A data set name is required.")
    domains = {d.slug: d for d in Domain.objects.filter(includes_all=False)}
    try:
        reader = csv.DictReader(stream)
        if columns is None:
            header, records = list(reader.fieldnames or []), iter(reader)
        else:
            header, records = _as_lmarena(reader, columns)
        rows = _parse_votes(header, records, set(domains))
    except csv.Error as exc:
        raise ImportFailed(f"Not a readable CSV file: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ImportFailed(f"The file is not UTF-8 text: {exc}") from None
    result = ImportResult(rows=len(rows))
    with transaction.atomic():
        existing = set(
            Vote.objects.filter(dataset=dataset).values_list("external_id", flat=True).iterator()
        )
        new_rows = [r for r in rows if r.external_id not in existing]
        result.skipped_existing = len(rows) - len(new_rows)
        model_ids, result.models_created = _models_by_slug(
            name for r in new_rows for name in (r.model_a, r.model_b)
        )
        for batch in _batches(new_rows, BATCH_SIZE):
            votes = Vote.objects.bulk_create(
                Vote(
                    model_a_id=model_ids[r.model_a],
                    model_b_id=model_ids[r.model_b],
                    outcome=r.outcome,
                    voter_id=r.voter_id,
                    excluded_reason=r.excluded_reason,
                    dataset=dataset,
                    external_id=r.external_id,
                )
                for r in batch
            )
            labels = [
                VoteDomain(vote_id=vote.pk, domain=domains[slug], source=VoteDomain.Source.IMPORT)
                for vote, r in zip(votes, batch, strict=True)
                for slug in r.domains
            ]
            VoteDomain.objects.bulk_create(labels, batch_size=BATCH_SIZE)
            result.domain_labels += len(labels)
        result.created = len(new_rows)
        for r in new_rows:
            if r.excluded_reason:
                result.excluded[r.excluded_reason] = result.excluded.get(r.excluded_reason, 0) + 1
        if new_rows:
            transaction.on_commit(lambda: votes_changed.send(sender=Vote, vote_ids=None))
    return result


def import_votes_file(
    path: Path, *, dataset: str, columns: PairwiseColumns | None = None
) -> ImportResult:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return import_votes(handle, dataset=dataset, columns=columns)
    except OSError as exc:
        raise ImportFailed(f"Cannot read {path}: {exc.strerror}") from None


def _read_jsonl(path: Path) -> list[dict]:  # type: ignore[type-arg]
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ImportFailed(f"Cannot read {path}: {exc.strerror}") from None
    records = []
    for number, line in enumerate(io.StringIO(text), start=1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ImportFailed(f"{path.name} line {number}: not JSON ({exc.msg})") from None
    return records


def _pool_slug(api_id: str) -> str:
    name = api_id.rsplit("/", 1)[-1].lower()
    return re.sub(r"[^a-z0-9._:-]+", "-", name).strip("-.")


def import_answer_pool(directory: Path, *, dataset: str = "llmfao") -> ImportResult:
    """Import prompts.jsonl, models.jsonl and results.jsonl (the LLMFAO layout); idempotent."""
    prompts = _read_jsonl(directory / "prompts.jsonl")
    models = _read_jsonl(directory / "models.jsonl")
    results = _read_jsonl(directory / "results.jsonl")
    try:
        model_specs = {m["id"]: m for m in models}
        prompt_specs = {p["id"]: p for p in prompts}
        for r in results:
            if r["model"] not in model_specs or r["prompt"] not in prompt_specs:
                raise ImportFailed(f"results.jsonl id {r['id']}: unknown model or prompt")
    except (KeyError, TypeError) as exc:
        raise ImportFailed(f"Missing field {exc} in the answer pool files") from None
    domains = {d.slug: d for d in Domain.objects.all()}
    result = ImportResult(rows=len(results))
    with transaction.atomic():
        model_ids: dict[int, int] = {}
        for spec in models:
            org, _ = Organisation.objects.get_or_create(
                slug=slugify(spec.get("org") or "unknown")[:100] or "unknown",
                defaults={"name": spec.get("org") or "Unknown"},
            )
            model, created = LanguageModel.objects.get_or_create(
                slug=_pool_slug(spec["api_id"]),
                defaults={"display_name": spec.get("name") or spec["api_id"], "organisation": org},
            )
            result.models_created += created
            model_ids[spec["id"]] = model.pk
        prompt_ids: dict[int, int] = {}
        for spec in prompts:
            prompt, _ = PoolPrompt.objects.update_or_create(
                dataset=dataset,
                external_id=str(spec["id"]),
                defaults={
                    "text": spec["text"],
                    "category": spec.get("type") or "",
                    "domain": domains.get(POOL_CATEGORY_DOMAINS.get(spec.get("type") or "", "")),
                },
            )
            prompt_ids[spec["id"]] = prompt.pk
        existing = set(
            PoolAnswer.objects.filter(prompt__dataset=dataset).values_list("prompt_id", "model_id")
        )
        new = []
        for r in results:
            key = (prompt_ids[r["prompt"]], model_ids[r["model"]])
            if key in existing:
                continue
            existing.add(key)
            duration = r.get("duration")
            rate = r.get("rate")
            new.append(
                PoolAnswer(
                    prompt_id=key[0],
                    model_id=key[1],
                    text=(r.get("result") or "").strip(),
                    latency_ms=int(duration) if duration else None,
                    completion_tokens=round(rate * duration / 1000) if rate and duration else None,
                )
            )
        PoolAnswer.objects.bulk_create(new, batch_size=BATCH_SIZE)
        result.created = len(new)
        result.skipped_existing = len(results) - len(new)
    return result

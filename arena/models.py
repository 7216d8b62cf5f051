"""Catalogue (organisations, models, domains, cost tiers), battles, answers and votes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

model_slug_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
    "Use letters, digits, dots, colons, underscores and hyphens (as in LMArena's model names).",
)
env_var_validator = RegexValidator(
    r"^[A-Z_][A-Z0-9_]*$", "The name of an environment variable, e.g. OPENAI_API_KEY."
)


class Organisation(models.Model):
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    # Other names that betray it in an answer (comma- or line-separated), e.g. "智谱, Zhipu AI".
    aliases = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class LanguageModel(models.Model):
    """A model that can take part in battles or appear in imported votes."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"
        PRE_RELEASE = "pre_release", "Pre-release"

    slug = models.CharField(max_length=200, unique=True, validators=[model_slug_validator])
    display_name = models.CharField(max_length=200)
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="models"
    )
    open_weights = models.BooleanField(null=True, blank=True)
    licence = models.CharField(max_length=100, blank=True)
    total_params_b = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    active_params_b = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    input_price_per_mtok = models.DecimalField(
        "input price (USD per 1M tokens)", max_digits=10, decimal_places=4, null=True, blank=True
    )
    output_price_per_mtok = models.DecimalField(
        "output price (USD per 1M tokens)", max_digits=10, decimal_places=4, null=True, blank=True
    )
    release_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    # A live endpoint speaks the OpenAI chat-completions protocol. The key itself never enters
    # the database: only the name of the environment variable that holds it.
    endpoint_base_url = models.URLField(blank=True)
    upstream_model = models.CharField(max_length=200, blank=True)
    api_key_env = models.CharField(max_length=100, blank=True, validators=[env_var_validator])
    pinned_version = models.CharField(max_length=100, blank=True)
    # Other names that betray it in an answer (comma- or line-separated), e.g. "Claude, 克劳德".
    aliases = models.TextField(blank=True)
    sampling_weight = models.FloatField(default=1.0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sampling_weight__gte=0), name="languagemodel_weight_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.slug

    @property
    def blended_price(self) -> Decimal | None:
        """List price per 1M tokens for a typical mix of input and output tokens."""
        if self.input_price_per_mtok is None or self.output_price_per_mtok is None:
            return None
        weight_in = Decimal(str(settings.ARENA_BLEND_INPUT_WEIGHT))
        weight_out = Decimal(str(settings.ARENA_BLEND_OUTPUT_WEIGHT))
        total = weight_in * self.input_price_per_mtok + weight_out * self.output_price_per_mtok
        return (total / (weight_in + weight_out)).quantize(Decimal("0.0001"))

    @property
    def is_live(self) -> bool:
        return self.status == self.Status.ACTIVE and bool(self.endpoint_base_url)

    def cost_usd(self, prompt_tokens: int | None, completion_tokens: int | None) -> Decimal | None:
        """Return what an answer of this size cost at list price, if the prices are known."""
        if self.input_price_per_mtok is None or self.output_price_per_mtok is None:
            return None
        spent = self.input_price_per_mtok * (prompt_tokens or 0)
        spent += self.output_price_per_mtok * (completion_tokens or 0)
        return (spent / Decimal(1_000_000)).quantize(Decimal("0.000001"))


class Domain(models.Model):
    """A slice of the leaderboard (coding, maths, ...); `includes_all` marks the overall board."""

    slug = models.SlugField(max_length=50, unique=True)
    name_en = models.CharField(max_length=100)
    name_zh = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    includes_all = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["position", "slug"]

    def __str__(self) -> str:
        return self.slug


class CostTier(models.Model):
    """A tier of the leaderboard: a view over a domain's fit, re-ranked among its members.

    Three kinds: a band of blended list price per 1M tokens, the open-weights models, and a
    size class (a band of total parameters, in billions). Bands include their lower bound and
    exclude their upper one; an empty bound is open. A model belongs to at most one tier of
    each kind (the first by position, should an operator's bands overlap).
    """

    class Kind(models.TextChoices):
        PRICE = "price", "Price band"
        OPEN_WEIGHTS = "open_weights", "Open weights"
        SIZE = "size", "Size class"

    slug = models.SlugField(max_length=50, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PRICE)
    name_en = models.CharField(max_length=100)
    name_zh = models.CharField(max_length=100)
    min_blended_price = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    max_blended_price = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    min_params_b = models.DecimalField(
        "min total parameters (billions)", max_digits=9, decimal_places=2, null=True, blank=True
    )
    max_params_b = models.DecimalField(
        "max total parameters (billions)", max_digits=9, decimal_places=2, null=True, blank=True
    )
    position = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["position", "slug"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_blended_price__isnull=True)
                | Q(max_blended_price__isnull=True)
                | Q(min_blended_price__lt=models.F("max_blended_price")),
                name="costtier_price_band_ordered",
            ),
            models.CheckConstraint(
                condition=Q(min_params_b__isnull=True)
                | Q(max_params_b__isnull=True)
                | Q(min_params_b__lt=models.F("max_params_b")),
                name="costtier_size_band_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.slug

    @property
    def sort_key(self) -> tuple[int, int, str]:
        """Price bands first, then open weights, then size classes; by position within a kind."""
        return (list(self.Kind).index(self.kind), self.position, self.slug)

    @property
    def band(self) -> tuple[Decimal | None, Decimal | None]:
        """The bounds of this tier's kind: blended price, total parameters, or none."""
        if self.kind == self.Kind.PRICE:
            return (self.min_blended_price, self.max_blended_price)
        if self.kind == self.Kind.SIZE:
            return (self.min_params_b, self.max_params_b)
        return (None, None)

    def contains(self, price: Decimal | None) -> bool:
        """Whether a blended price falls in this band (lower bound inclusive)."""
        return _in_band(price, self.min_blended_price, self.max_blended_price)

    def admits(self, model: LanguageModel) -> bool:
        """Whether the model belongs to this tier by what the catalogue says of it now."""
        if self.kind == self.Kind.OPEN_WEIGHTS:
            return model.open_weights is True
        if self.kind == self.Kind.SIZE:
            return _in_band(model.total_params_b, *self.band)
        return self.contains(model.blended_price)

    def clean(self) -> None:
        """Refuse bounds of another kind, a missing or inverted band, or a second tier that
        would claim the same models."""
        low, high = self.band
        bounds = [self.min_blended_price, self.max_blended_price]
        bounds += [self.min_params_b, self.max_params_b]
        same_kind = CostTier.objects.filter(kind=self.kind).exclude(pk=self.pk)
        problem = ""
        if sum(v is not None for v in bounds) != sum(v is not None for v in (low, high)):
            problem = "Fill in only the bounds of this tier's kind."
        elif self.kind == self.Kind.OPEN_WEIGHTS:
            if same_kind.exists():
                problem = "There is already an open-weights tier."
        elif low is None and high is None:
            problem = "A price band or size class needs at least one bound."
        elif low is not None and high is not None and low >= high:
            problem = "The lower bound must be below the upper bound."
        else:
            clash = next((t for t in same_kind if _overlap((low, high), t.band)), None)
            if clash is not None:
                problem = f"This band overlaps tier {clash.slug!r} of the same kind."
        if problem:
            raise ValidationError({"kind": problem})


def _in_band(value: Decimal | None, low: Decimal | None, high: Decimal | None) -> bool:
    if value is None:
        return False
    if low is not None and value < low:
        return False
    return high is None or value < high


def _overlap(
    band: tuple[Decimal | None, Decimal | None], other: tuple[Decimal | None, Decimal | None]
) -> bool:
    """Whether two half-open bands [low, high) share a value (None: unbounded)."""
    low = max((v for v in (band[0], other[0]) if v is not None), default=None)
    high = min((v for v in (band[1], other[1]) if v is not None), default=None)
    return low is None or high is None or low < high


def tiers_of(model: LanguageModel, tiers: Iterable[CostTier]) -> list[CostTier]:
    """The tiers a model belongs to now: at most one of each kind, the first by position."""
    chosen: dict[str, CostTier] = {}
    for tier in sorted(tiers, key=lambda t: t.sort_key):
        if tier.kind not in chosen and tier.admits(model):
            chosen[tier.kind] = tier
    return list(chosen.values())


class PoolPrompt(models.Model):
    """A prompt of a fixed set for which stored answers of many models exist."""

    dataset = models.CharField(max_length=50)
    external_id = models.CharField(max_length=100)
    text = models.TextField()
    category = models.CharField(max_length=50, blank=True)
    domain = models.ForeignKey(Domain, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["dataset", "id"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "external_id"], name="poolprompt_unique_id"),
        ]

    def __str__(self) -> str:
        return f"{self.dataset}:{self.external_id}"


class PoolAnswer(models.Model):
    prompt = models.ForeignKey(PoolPrompt, on_delete=models.CASCADE, related_name="answers")
    model = models.ForeignKey(LanguageModel, on_delete=models.PROTECT, related_name="pool_answers")
    text = models.TextField()
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prompt", "model"], name="poolanswer_one_per_model"),
        ]


class Battle(models.Model):
    """Two anonymous answers to the same prompt; its random UUID is the voter's only handle."""

    class Source(models.TextChoices):
        LIVE = "live", "Live endpoints"
        POOL = "pool", "Answer pool"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        STREAMING = "streaming", "Streaming"
        COMPLETE = "complete", "Complete"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    source = models.CharField(max_length=10, choices=Source.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    model_a = models.ForeignKey(LanguageModel, on_delete=models.PROTECT, related_name="+")
    model_b = models.ForeignKey(LanguageModel, on_delete=models.PROTECT, related_name="+")
    pool_prompt = models.ForeignKey(PoolPrompt, null=True, blank=True, on_delete=models.PROTECT)
    domain_hint = models.ForeignKey(Domain, null=True, blank=True, on_delete=models.SET_NULL)
    voter_id = models.CharField(max_length=64, blank=True)
    # The name an answer revealed (see arena.identity); a vote on this battle is not counted.
    identity_leak = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # When both answers of the latest turn were stored: the start of the voter's reading time.
    answered_at = models.DateTimeField(null=True, blank=True)
    # A live battle's opening prompt, normalised and hashed (arena.dedup), and the cluster of
    # near-duplicate prompts it joined: votes are counted per cluster to cap repeated prompts.
    prompt_hash = models.CharField(max_length=32, blank=True, db_index=True)
    prompt_cluster = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(model_a=models.F("model_b")), name="battle_two_models"
            ),
        ]
        indexes = [
            # Failed battles are few and counted in every snapshot's exclusion figures.
            models.Index(fields=["status"], condition=Q(status="failed"), name="battle_failed"),
        ]

    def __str__(self) -> str:
        return str(self.id)

    def model_for(self, side: str) -> LanguageModel:
        return self.model_a if side == "a" else self.model_b


class PromptFingerprint(models.Model):
    """One distinct normalised prompt: its MinHash signature and the cluster it belongs to."""

    hash = models.CharField(max_length=32, unique=True)
    # The hash of the first prompt of its near-duplicate cluster (its own hash if it is first).
    cluster = models.CharField(max_length=32, db_index=True)
    signature = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.hash


class PromptBand(models.Model):
    """One LSH band key of a fingerprint; prompts sharing a key are near-duplicate candidates."""

    fingerprint = models.ForeignKey(PromptFingerprint, on_delete=models.CASCADE, related_name="+")
    key = models.BigIntegerField(db_index=True)


class Turn(models.Model):
    battle = models.ForeignKey(Battle, on_delete=models.CASCADE, related_name="turns")
    index = models.PositiveSmallIntegerField()
    prompt = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["index"]
        constraints = [
            models.UniqueConstraint(fields=["battle", "index"], name="turn_unique_index"),
        ]


class Answer(models.Model):
    """One side's answer to one turn, with what it cost."""

    class Status(models.TextChoices):
        OK = "ok", "Complete"
        TRUNCATED = "truncated", "Truncated (length limit)"
        ERROR = "error", "Upstream error"
        TIMEOUT = "timeout", "Timed out"

    turn = models.ForeignKey(Turn, on_delete=models.CASCADE, related_name="answers")
    side = models.CharField(max_length=1, choices=[("a", "A"), ("b", "B")])
    text = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    # Upstream's own words, for operators only: they may name the model, so never sent to voters.
    error_detail = models.TextField(blank=True)
    finish_reason = models.CharField(max_length=50, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    first_token_ms = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["turn", "side"], name="answer_one_per_side"),
        ]

    @property
    def failed(self) -> bool:
        return self.status in (self.Status.ERROR, self.Status.TIMEOUT)


class Vote(models.Model):
    """A verdict on a pair of models: from a battle here, or imported from a public data set."""

    class Outcome(models.TextChoices):
        MODEL_A = "model_a", "A is better"
        MODEL_B = "model_b", "B is better"
        TIE = "tie", "Tie"
        BOTH_BAD = "both_bad", "Both are bad"

    class ExcludedReason(models.TextChoices):
        SELF_BATTLE = "self_battle", "Same model on both sides"
        FAILED_BATTLE = "failed_battle", "A side failed to answer"
        IDENTITY_LEAK = "identity_leak", "An answer revealed a model's identity"
        DUPLICATE_PROMPT = "duplicate_prompt", "Duplicate prompt"
        RATE_LIMIT = "rate_limit", "Over the rate limit"
        ANOMALOUS_VOTER = "anomalous_voter", "Anomalous voter"
        OPERATOR = "operator", "Excluded by an operator"

    class ClientKind(models.TextChoices):
        JS = "js", "The page's script"
        FORM = "form", "A plain form post"
        API = "api", "A JSON request"

    # One vote per battle, held by the database: a second insert fails on this unique key.
    battle = models.OneToOneField(
        Battle, null=True, blank=True, on_delete=models.PROTECT, related_name="vote"
    )
    model_a = models.ForeignKey(LanguageModel, on_delete=models.PROTECT, related_name="+")
    model_b = models.ForeignKey(LanguageModel, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    voter_id = models.CharField(max_length=64, blank=True)
    excluded_reason = models.CharField(max_length=20, choices=ExcludedReason.choices, blank=True)
    domains = models.ManyToManyField(Domain, through="VoteDomain", related_name="votes")
    # Imported votes keep their data set and row id, which makes re-imports idempotent.
    dataset = models.CharField(max_length=50, blank=True)
    external_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    status_changed_at = models.DateTimeField(default=timezone.now)
    # Bookkeeping of the ratings' pair tallies, so a refit touches only what changed:
    # needs_tally is set when a vote is stored or its status changes; the refit adds or removes
    # the vote from the tallies, records whether they now count it (in_tally) and, the first
    # time, which snapshot first counted it.
    needs_tally = models.BooleanField(default=True)
    in_tally = models.BooleanField(default=False)
    first_snapshot_id = models.PositiveIntegerField(null=True, blank=True)
    # Bot signals recorded with each vote cast here (docs/integrity.md, "Vote hygiene"):
    # milliseconds from both answers complete to the vote reaching the server, whether that was
    # under ARENA_MIN_VOTE_MS, the page's own measure of the same (a client's claim), how the
    # vote was sent, and keyed hashes of the user agent ("" = none sent) and the network.
    time_to_vote_ms = models.PositiveIntegerField(null=True, blank=True)
    too_fast = models.BooleanField(default=False)
    client_elapsed_ms = models.PositiveIntegerField(null=True, blank=True)
    client_kind = models.CharField(max_length=4, choices=ClientKind.choices, blank=True)
    user_agent_hash = models.CharField(max_length=24, blank=True)
    network_hash = models.CharField(max_length=24, blank=True, db_index=True)
    # The battle's prompt cluster, copied so the duplicate-prompt check is one range scan of a
    # small partial index (counted live votes) that stops at the cap. NULL rather than "" for
    # votes without one: SQLite uses a partial index only when the query implies its condition,
    # and `prompt_cluster = 'x'` implies `IS NOT NULL` there, but not `<> ''`.
    prompt_cluster = models.CharField(max_length=32, null=True, blank=True)  # noqa: DJ001

    class Meta:
        indexes = [
            models.Index(fields=["id"], condition=Q(needs_tally=True), name="vote_needs_tally"),
            models.Index(
                fields=["prompt_cluster", "created_at"],
                condition=Q(excluded_reason="", prompt_cluster__isnull=False),
                name="vote_counted_cluster",
            ),
            models.Index(
                fields=["prompt_cluster", "voter_id", "created_at"],
                condition=Q(excluded_reason="", prompt_cluster__isnull=False),
                name="vote_counted_cluster_voter",
            ),
            # Excluded votes are few: counting them by reason must not scan every vote.
            models.Index(
                fields=["excluded_reason"],
                condition=~Q(excluded_reason=""),
                name="vote_excluded_reason",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "external_id"],
                condition=~Q(external_id=""),
                name="vote_unique_external_id",
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=["model_a", "model_b", "tie", "both_bad"]),
                name="vote_known_outcome",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model_a} vs {self.model_b}: {self.outcome}"

    @property
    def counted(self) -> bool:
        return not self.excluded_reason


class VoteDomain(models.Model):
    """A domain label on a vote, and who assigned it."""

    class Source(models.TextChoices):
        HINT = "hint", "Voter's hint"
        POOL = "pool", "Answer-pool prompt category"
        IMPORT = "import", "Imported category tag"
        CLASSIFIER = "classifier", "Prompt classifier"

    vote = models.ForeignKey(Vote, on_delete=models.CASCADE)
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT)
    source = models.CharField(max_length=12, choices=Source.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["vote", "domain"], name="votedomain_unique"),
        ]

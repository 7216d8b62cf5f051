"""Immutable rating snapshots: one fit per domain over the votes counted at one moment."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from arena.models import CostTier, Domain, LanguageModel


class ImmutableError(Exception):
    pass


class RatingSnapshot(models.Model):
    """The published result of one refit; never changed once written."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # When the refit that wrote it began: with created_at, shows refits never overlap.
    started_at = models.DateTimeField(null=True)
    method = models.CharField(max_length=50)
    params = models.JSONField(default=dict)
    code_version = models.CharField(max_length=64)
    last_vote_id = models.BigIntegerField(null=True)
    votes_counted = models.PositiveIntegerField()
    votes_excluded = models.JSONField(default=dict)  # reason -> number of votes
    # What this refit changed in the tallies: votes newly counted, and votes taken out.
    votes_added = models.PositiveIntegerField(default=0)
    votes_removed = models.PositiveIntegerField(default=0)
    # Battles that could not be voted on because a side failed (error, timeout, bad stream).
    battles_failed = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        get_latest_by = ["created_at", "id"]

    def __str__(self) -> str:
        return f"snapshot {self.pk} ({self.created_at:%Y-%m-%d %H:%M})"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None and not self._state.adding:
            raise ImmutableError("Rating snapshots are immutable.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def votes_excluded_total(self) -> int:
        return sum(self.votes_excluded.values())


class DomainFit(models.Model):
    """How one domain's fit in a snapshot went."""

    snapshot = models.ForeignKey(RatingSnapshot, on_delete=models.CASCADE, related_name="fits")
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="+")
    votes = models.PositiveIntegerField()
    models_rated = models.PositiveIntegerField()
    converged = models.BooleanField()
    iterations = models.PositiveIntegerField()
    # The counted pair tallies this fit was made from, frozen with the snapshot: one
    # [model_lo_id, model_hi_id, lo_wins, hi_wins, ties, both_bad] per pair with any vote,
    # lower id first (PairTally's layout). Null for snapshots written before it was kept.
    # One JSON value per domain rather than a row per pair: every read wants a whole domain,
    # and ~1.4k pairs cost ~30 KB here instead of ~1.4k rows per domain per snapshot.
    pairs = models.JSONField(null=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "domain"], name="domainfit_unique"),
        ]

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None and not self._state.adding:
            raise ImmutableError("A snapshot's domain fits are immutable.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class PairTally(models.Model):
    """Counted votes between two models in one domain: the sufficient statistics of a fit.

    Kept up to date by each refit from the votes that changed since the last one, so a refit
    costs O(models²) plus the new votes, whatever the number of votes already counted. The
    pair is stored once, lower model id first.
    """

    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="+")
    model_lo = models.ForeignKey(LanguageModel, on_delete=models.PROTECT, related_name="+")
    model_hi = models.ForeignKey(LanguageModel, on_delete=models.PROTECT, related_name="+")
    lo_wins = models.IntegerField(default=0)
    hi_wins = models.IntegerField(default=0)
    ties = models.IntegerField(default=0)
    both_bad = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["domain", "model_lo", "model_hi"], name="pairtally_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(model_lo__lt=models.F("model_hi")), name="pairtally_ordered"
            ),
        ]


class RatingRow(models.Model):
    snapshot = models.ForeignKey(RatingSnapshot, on_delete=models.CASCADE, related_name="rows")
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="+")
    model = models.ForeignKey(LanguageModel, on_delete=models.PROTECT, related_name="+")
    # Null where the data give no finite estimate (see unrated_reason).
    rating = models.FloatField(null=True)
    rating_lower = models.FloatField(null=True)
    rating_upper = models.FloatField(null=True)
    variance = models.FloatField(null=True)
    rank_ub = models.PositiveIntegerField(null=True)
    rank_lb = models.PositiveIntegerField(null=True)
    votes = models.PositiveIntegerField()
    wins = models.FloatField()
    losses = models.FloatField()
    draws = models.FloatField()
    provisional = models.BooleanField()
    unrated_reason = models.CharField(max_length=30, blank=True)
    # Online Elo over the counted votes in the order they were tallied, for comparison only.
    elo = models.FloatField(null=True)
    # The model's blended list price when the snapshot was taken: what placed it in a price
    # tier (see TierMembership), shown beside its rating even after the price changes.
    blended_price = models.DecimalField(max_digits=10, decimal_places=4, null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["snapshot", "domain", "model"], name="ratingrow_unique"
            ),
        ]
        indexes = [models.Index(fields=["snapshot", "domain"])]


class TierMembership(models.Model):
    """A tier the row's model belonged to when the snapshot was taken, and its rank range among
    that tier's models in the row's domain (the same ratings and intervals, re-ranked).

    Written with the snapshot and never changed, so a later price or catalogue edit moves the
    model in new snapshots only. Null ranks: the row is not rated.
    """

    row = models.ForeignKey(RatingRow, on_delete=models.CASCADE, related_name="memberships")
    tier = models.ForeignKey(CostTier, on_delete=models.PROTECT, related_name="+")
    rank_ub = models.PositiveIntegerField(null=True)
    rank_lb = models.PositiveIntegerField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["row", "tier"], name="tiermembership_unique"),
        ]

"""Flags raised on voters by the sequential test, kept for audit whatever happens next."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from arena.models import LanguageModel
from ratings.models import RatingSnapshot


class VoterFlag(models.Model):
    """A voter whose votes the anomaly test rejected, and what an operator did about it.

    While a flag is open (state "flagged") every counted vote of the voter is quarantined:
    excluded from the ratings with the reason "anomalous_voter", never deleted. Releasing the
    flag counts those votes again. A voter has at most one open flag.
    """

    class State(models.TextChoices):
        FLAGGED = "flagged", "Flagged (votes quarantined)"
        RELEASED = "released", "Released by an operator"

    class Direction(models.TextChoices):
        FAVOURS = "favours", "Favours the model"
        DISFAVOURS = "disfavours", "Disfavours the model"
        PROMOTES = "promotes", "Votes to raise the model's rank"

    voter_id = models.CharField(max_length=64, db_index=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.FLAGGED)
    # The test that crossed its threshold first: which model, which way, by how much.
    model = models.ForeignKey(LanguageModel, on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(max_length=10, choices=Direction.choices)
    statistic = models.FloatField(help_text="Largest log mixture likelihood ratio of that test.")
    threshold = models.FloatField(help_text="log(2K / alpha) for K rated models.")
    deltas = models.JSONField(help_text="Log-odds biases the alternative mixes.")
    alpha = models.FloatField(help_text="Chance that an honest voter is ever flagged (bound).")
    votes_tested = models.PositiveIntegerField(
        help_text="The votes the test saw: those involving the model (all for promotes)."
    )
    flagged_at_vote = models.PositiveIntegerField(
        help_text="The voter's vote number (among those scanned) at which the test crossed."
    )
    votes_quarantined = models.PositiveIntegerField(default=0)
    # The voter's reference ratings: the newest snapshot published before the voter's first
    # tested vote, else the one scanned (null only if that snapshot were ever removed).
    snapshot = models.ForeignKey(
        RatingSnapshot, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.CharField(max_length=150, blank=True)
    release_note = models.TextField(blank=True)
    # A released voter is scanned again only on votes newer than this one.
    released_after_vote_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["voter_id"], condition=Q(state="flagged"), name="voterflag_one_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.voter_id} {self.direction} {self.model} ({self.state})"

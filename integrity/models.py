"""Flags raised on voters and networks by the sequential test, kept for audit whatever happens
next, and the votes each flag took out of the ratings."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from arena.models import LanguageModel, Vote
from ratings.models import RatingSnapshot


class VoterFlag(models.Model):
    """A voter (or a network) whose votes the anomaly test rejected, and what an operator did
    about it.

    While a voter's flag is open (state "flagged") every counted vote of the voter is
    quarantined: excluded from the ratings with the reason "anomalous_voter", never deleted. A
    network's flag (scope "network": the pooled votes of every identity behind one network
    pseudonym failed the test) quarantines only the votes, on that network, of the identities
    whose own votes favour the alternative that fired. Releasing a flag counts exactly the votes
    it quarantined again (QuarantinedVote). A voter, and a network, has at most one open flag.
    """

    class Scope(models.TextChoices):
        VOTER = "voter", "Voter"
        NETWORK = "network", "Network"

    class State(models.TextChoices):
        FLAGGED = "flagged", "Flagged (votes quarantined)"
        RELEASED = "released", "Released by an operator"

    class Direction(models.TextChoices):
        FAVOURS = "favours", "Favours the model"
        DISFAVOURS = "disfavours", "Disfavours the model"
        PROMOTES = "promotes", "Votes to raise the model's rank"

    scope = models.CharField(max_length=7, choices=Scope.choices, default=Scope.VOTER)
    voter_id = models.CharField(max_length=64, db_index=True, blank=True)
    network_hash = models.CharField(max_length=24, db_index=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.FLAGGED)
    # The test that crossed its threshold first: which model, which way, by how much.
    model = models.ForeignKey(LanguageModel, on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(max_length=10, choices=Direction.choices)
    statistic = models.FloatField(help_text="Largest log mixture likelihood ratio of that test.")
    threshold = models.FloatField(help_text="log(3K / alpha) for K rated models.")
    deltas = models.JSONField(help_text="Log-odds biases the alternative mixes.")
    alpha = models.FloatField(help_text="Chance that an honest voter is ever flagged (bound).")
    votes_tested = models.PositiveIntegerField(
        help_text="The votes the test saw: those involving the model (all for promotes)."
    )
    flagged_at_vote = models.PositiveIntegerField(
        help_text="The voter's (or the network's pooled) vote number, among those scanned, at "
        "which the test crossed."
    )
    votes_quarantined = models.PositiveIntegerField(default=0)
    identities_quarantined = models.PositiveIntegerField(
        default=0, help_text="Voter pseudonyms whose votes the flag quarantined (network flags)."
    )
    hold_above = models.FloatField(
        null=True,
        blank=True,
        help_text="Network flags: an identity's votes there were quarantined when its own "
        "statistic for the test exceeded this.",
    )
    # A network flag goes on testing the network's later votes from identities it has not
    # quarantined; a new crossing quarantines theirs under this same flag.
    crossings = models.PositiveIntegerField(default=1)
    tested_through_vote_id = models.BigIntegerField(
        null=True, blank=True, help_text="The network's newest vote the flag's test has seen."
    )
    # The voter's reference ratings: the newest snapshot published before the voter's first
    # tested vote, else the one scanned (null only if that snapshot were ever removed). For a
    # network, the reference of the identity whose vote crossed (each vote is judged by its own
    # identity's reference).
    snapshot = models.ForeignKey(
        RatingSnapshot, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.CharField(max_length=150, blank=True)
    release_note = models.TextField(blank=True)
    # A released voter (network) is scanned again only on votes newer than this one.
    released_after_vote_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["voter_id"],
                condition=Q(state="flagged", scope="voter"),
                name="voterflag_one_open",
            ),
            models.UniqueConstraint(
                fields=["network_hash"],
                condition=Q(state="flagged", scope="network"),
                name="voterflag_one_open_network",
            ),
            models.CheckConstraint(
                condition=Q(scope="voter", voter_id__gt="", network_hash="")
                | Q(scope="network", voter_id="", network_hash__gt=""),
                name="voterflag_scope_names_one",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} {self.direction} {self.model} ({self.state})"

    @property
    def subject(self) -> str:
        """Who was flagged, as the admin and the command line show it."""
        return self.voter_id if self.scope == self.Scope.VOTER else f"network {self.network_hash}"


class QuarantinedVote(models.Model):
    """A vote a flag took out of the ratings; kept after a release as the record of what the
    flag held, so a release counts again exactly these votes and no other flag's."""

    flag = models.ForeignKey(VoterFlag, on_delete=models.PROTECT, related_name="quarantined")
    vote = models.ForeignKey(Vote, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["flag", "vote"], name="quarantinedvote_once"),
        ]

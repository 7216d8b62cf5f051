"""Ratings listens to the arena: stored or re-classified votes ask for a (debounced) refit."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from arena.signals import votes_changed
from ratings.tasks import schedule_refit


@receiver(votes_changed)
def refit_on_votes_changed(sender: Any, **kwargs: Any) -> None:
    schedule_refit()

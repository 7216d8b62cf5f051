from __future__ import annotations

from django.apps import AppConfig


class RatingsConfig(AppConfig):
    name = "ratings"
    verbose_name = "Ratings"

    def ready(self) -> None:
        # Listen for stored votes: the arena announces them, ratings decides when to refit.
        from ratings import receivers  # noqa: F401

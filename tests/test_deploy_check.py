"""Production settings pass `manage.py check --deploy` with no warning, and refuse a weak key."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from django.conf import settings


def _check(**env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ARENA_") and k != "DEBUG"}
    base.pop("SECRET_KEY", None)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env={**base, "ARENA_DATA_DIR": str(settings.DATA_DIR), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deploy_check() -> None:
    checked = _check(
        ARENA_PRODUCTION="1",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="arena.example.org",
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "no issues" in checked.stdout


def test_production_mode_refuses_to_start_without_a_secret_key() -> None:
    checked = _check(ARENA_PRODUCTION="1", ALLOWED_HOSTS="arena.example.org")
    assert checked.returncode != 0
    assert "ARENA_PRODUCTION=1 needs SECRET_KEY" in checked.stderr


def test_plain_http_production_is_flagged_by_the_deploy_check() -> None:
    checked = _check(
        ARENA_PRODUCTION="1",
        ARENA_HTTPS="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="arena.example.org",
    )
    assert checked.returncode != 0
    assert "security.W008" in checked.stderr + checked.stdout  # no redirect to https

"""Set up Django on a fresh embedded database holding the 135,634 real votes, for benches.

Both bench/pages.py and bench/scan.py measure the site as a reader or the after-refit scan sees
it: SQLite and file cache in a temporary ARENA_DATA_DIR (PostgreSQL and Redis settings from the
environment are dropped), migrated, with ../shared/data's votes imported.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def real_votes_site(prefix: str) -> Path:
    """Return the shared data folder, after Django is set up with the real votes imported."""
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    os.environ["ARENA_DATA_DIR"] = tempfile.mkdtemp(prefix=prefix)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    data = Path(settings.SHARED_DATA_DIR)
    if not (data / "arena-140k" / "votes.csv").is_file():
        sys.exit(f"needs the real votes at {data}/arena-140k/votes.csv")
    call_command("migrate", verbosity=0)
    with open(os.devnull, "w") as quiet:
        call_command("import_votes", str(data / "arena-140k" / "votes.csv"), stdout=quiet)
    return data

#!/usr/bin/env bash
# Set up and run the test suite. With DATABASE_URL and REDIS_URL set (as .ci/run does), it runs
# against PostgreSQL and Redis, including the concurrency, locking and queue tests; without
# them it runs on SQLite and skips those tests with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh requirements-dev.txt
ruff check --quiet .
ruff format --check --quiet .
exec python -m pytest "$@"

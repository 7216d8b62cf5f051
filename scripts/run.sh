#!/usr/bin/env bash
# Set up and run the arena on the embedded default: SQLite, the filesystem Celery broker,
# one web process (uvicorn, HTTP + websockets) and one Celery worker. Demo data from
# ../shared/data is loaded when that folder is present. Stop with Ctrl+C.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh requirements.txt
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
mkdir -p var
python manage.py migrate --noinput -v0
python manage.py load_demo
celery -A config worker --concurrency 1 --loglevel INFO >var/worker.log 2>&1 &
WORKER=$!
trap 'kill $WORKER 2>/dev/null; wait $WORKER 2>/dev/null' EXIT INT TERM
echo
echo "  Arena:        http://$HOST:$PORT/"
echo "  Leaderboard:  http://$HOST:$PORT/leaderboard/"
echo "  (worker log: var/worker.log; Ctrl+C stops both)"
echo
uvicorn config.asgi:application --host "$HOST" --port "$PORT" --log-level warning

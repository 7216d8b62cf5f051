#!/usr/bin/env bash
# Set up and run the arena on the embedded default: SQLite, the filesystem Celery broker,
# one web process (uvicorn, HTTP + websockets) and one Celery worker. Demo data from
# ../shared/data is loaded when that folder is present. Stop with Ctrl+C.
# LOCAL_MODEL=1 also starts a real local model server (llama.cpp with Gemma 3 270M, a small base
# model: it streams real tokens but follows no instructions) and registers it twice, so live
# battles work with no API key; the first run builds llama.cpp (about 8 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh requirements.txt
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
mkdir -p var
python manage.py migrate --noinput -v0
python manage.py load_demo
celery -A config worker --beat --concurrency 1 --loglevel INFO >var/worker.log 2>&1 &
WORKER=$!
LOCAL=""
if [ "${LOCAL_MODEL:-0}" = 1 ]; then
  source scripts/bootstrap.sh requirements-dev.txt
  python manage.py local_model --port "${LOCAL_MODEL_PORT:-8081}" --register \
    --slug gemma-3-270m-local --slug gemma-3-270m-local-b --quiet >var/local_model.log 2>&1 &
  LOCAL=$!
fi
trap 'kill $WORKER $LOCAL 2>/dev/null; wait $WORKER $LOCAL 2>/dev/null' EXIT INT TERM
echo
echo "  Arena:        http://$HOST:$PORT/"
echo "  Leaderboard:  http://$HOST:$PORT/leaderboard/"
echo "  (worker log: var/worker.log; Ctrl+C stops both)"
echo
# Voters send only small JSON frames ("stop"); 64 KiB bounds what one frame can make us buffer.
uvicorn config.asgi:application --host "$HOST" --port "$PORT" --log-level warning --ws-max-size 65536

# Sourced by the other scripts: make .venv (Python 3.11) and install a requirements file into it,
# skipping the install when that file has not changed since the last one.
# Usage: source scripts/bootstrap.sh requirements.txt
set -euo pipefail
REQS="${1:-requirements.txt}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
STAMP=".venv/.installed-$(basename "$REQS")"
HASH="$(cat "$REQS" requirements.txt | sha256sum | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$HASH" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r "$REQS"
  echo "$HASH" > "$STAMP"
fi
export PATH="$PWD/.venv/bin:$PATH"

#!/usr/bin/env bash
# One command from a fresh clone to a built site:
#   bash scripts/setup.sh
# 1. creates the virtualenv .venv (if missing) and installs requirements.txt (exact pins, `-e .`);
# 2. installs Debian's `chromium` for the browser tests, if it is missing and apt can be used
#    (as root, or through passwordless sudo);
# 3. copies the offline Datasaurus file from ../shared/data/ into data/ (git-ignored), if present;
# 4. builds the book strictly: jupyter-book build book/ -W -n --keep-going  ->  _build/html/
#
# Environment: PYTHON (interpreter for the venv, default python3, needs >= 3.11),
# SKIP_BUILD=1 (install only), PIP_EXTRA_INDEX_URL (the workflows point it at PyTorch's CPU index).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"

say() { printf '\n==> %s\n' "$*"; }
t0=$SECONDS

# --- 1. Python environment ----------------------------------------------------------------------
PYTHON="${PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
    command -v "$PYTHON" >/dev/null || { echo "error: $PYTHON not found (set PYTHON=...)" >&2; exit 1; }
    "$PYTHON" - <<'PY' || { echo "error: Python >= 3.11 is required" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY
    say "creating .venv with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv .venv
fi
say "installing requirements.txt into .venv"
i0=$SECONDS
.venv/bin/python -m pip install --quiet --no-input -r requirements.txt
.venv/bin/python -m pip check
echo "install: $((SECONDS - i0)) s"

# --- 2. Chromium for the browser tests ----------------------------------------------------------
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [[ -x "$CHROMIUM" ]]; then
    say "chromium present: $CHROMIUM"
elif command -v apt-get >/dev/null; then
    SUDO=""
    if [[ $EUID -ne 0 ]]; then
        if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO="unavailable"; fi
    fi
    if [[ "$SUDO" == unavailable ]]; then
        echo "warning: $CHROMIUM is missing and apt needs root; the browser tests will fail." >&2
        echo "         install it with: sudo apt-get install chromium" >&2
    else
        say "installing Debian's chromium with apt"
        export DEBIAN_FRONTEND=noninteractive
        if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium; }; then
            echo "warning: apt could not install chromium; the browser tests will fail" >&2
            echo "         (set CHROMIUM=/path/to/chromium-or-chrome to use another build)." >&2
        fi
    fi
else
    echo "warning: $CHROMIUM is missing and apt-get is not available; install Chromium yourself" >&2
    echo "         and point CHROMIUM=/path/to/chromium at it for the browser tests." >&2
fi

# --- 3. the dataset (never committed) -----------------------------------------------------------
SHARED_TSV="$ROOT/../shared/data/DatasaurusDozen.tsv"
if [[ -f "$SHARED_TSV" && ! -f data/DatasaurusDozen.tsv ]]; then
    say "copying the offline dataset from ../shared/data/"
    mkdir -p data
    cp "$SHARED_TSV" data/DatasaurusDozen.tsv
    chmod u+w data/DatasaurusDozen.tsv
fi

# --- 4. strict build ----------------------------------------------------------------------------
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    say "building the book strictly (first build trains models: a few minutes)"
    b0=$SECONDS
    .venv/bin/jupyter-book build book/ -W -n --keep-going
    echo "build: $((SECONDS - b0)) s"
fi

say "setup done in $((SECONDS - t0)) s. Site: $ROOT/_build/html/index.html"
echo "Preview: .venv/bin/python -m http.server -d _build/html 8000   then open http://localhost:8000/"
echo "Tests:   bash scripts/test.sh"

#!/usr/bin/env bash
# What mybinder's repo2docker does with binder/, as far as it can be done without a
# container engine: a clean copy of the repository, a fresh venv of the Python that
# binder/runtime.txt names, `pip install -r binder/requirements.txt`, binder/postBuild,
# then Voilà on the dashboard and one request for the rendered page.
#
# Usage: scripts/binder_check.sh            (KEEP=1 keeps the throwaway folder)
# Prints the time each stage took; exits non-zero when any stage fails.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
PORT=${BINDER_CHECK_PORT:-8877}
RUNTIME=$(sed -n 's/^python-\([0-9.]*\).*/\1/p' "$REPO/binder/runtime.txt")
PYTHON=${BINDER_PYTHON:-python$RUNTIME}
WORK=$(mktemp -d -t binder-check.XXXXXX)
VOILA_PID=""

cleanup() {
    if [[ -n "$VOILA_PID" ]]; then kill "$VOILA_PID" 2>/dev/null || true; fi
    if [[ "${KEEP:-0}" == 1 ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

T0=$(date +%s)
stage() { echo "[$(( $(date +%s) - T0 ))s] $*"; }

stage "copy the repository (tracked and unignored files, as a clone has them) to $WORK/repo"
mkdir -p "$WORK/repo" "$WORK/home"
(cd "$REPO" && git ls-files -z --cached --others --exclude-standard \
    | tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$WORK/repo"

stage "fresh venv with $PYTHON ($($PYTHON --version 2>&1))"
"$PYTHON" -m venv "$WORK/venv"
# A fresh home: no torch hub cache, no Jupyter state from this machine.
export HOME="$WORK/home"
export PATH="$WORK/venv/bin:$PATH"
# The PyTorch CPU index named in requirements.txt is unreachable where there is no
# network; without retries pip notes that once per package and goes on.
export PIP_RETRIES=0
cd "$WORK/repo"

stage "pip install -r binder/requirements.txt"
python -m pip install -q --no-cache-dir -r binder/requirements.txt 2>&1 \
    | grep -v -e "Retrying" -e "Could not fetch URL" -e "NewConnectionError" || true
python -c "import torch, torchvision, voila, plotly, sklearn"

stage "binder/postBuild"
bash binder/postBuild

stage "voila notebooks/dashboard.ipynb on port $PORT"
voila notebooks/dashboard.ipynb --port="$PORT" --no-browser --Voila.ip=127.0.0.1 \
    >"$WORK/voila.log" 2>&1 &
VOILA_PID=$!

stage "fetch the rendered dashboard"
if ! python - "$PORT" "$WORK/page.html" <<'PY'; then
import sys
import time
import urllib.error
import urllib.request

port, out = sys.argv[1], sys.argv[2]
url = f"http://127.0.0.1:{port}/"
deadline = time.time() + 300
while True:
    try:
        # Voilà runs every cell before it answers, so one request waits for the kernel.
        with urllib.request.urlopen(url, timeout=300) as response:
            status, page = response.status, response.read().decode("utf-8", "replace")
        break
    except (urllib.error.URLError, ConnectionError) as error:
        if time.time() > deadline:
            sys.exit(f"no answer from {url}: {error}")
        time.sleep(1)
open(out, "w").write(page)
problems = [
    marker
    for marker in ("Traceback", "There was an error when executing cell", "ModuleNotFoundError")
    if marker in page
]
if status != 200 or problems:
    sys.exit(f"rendered page: HTTP {status}, found {problems}")
if "application/vnd.jupyter.widget-view+json" not in page:
    sys.exit("rendered page has no widget view: the dashboard did not build its widgets")
print(f"HTTP {status}, {len(page)} characters, widgets rendered")
PY
    echo "--- voila log ---"
    tail -n 40 "$WORK/voila.log"
    exit 1
fi
stage "binder check passed"

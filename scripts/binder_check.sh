#!/usr/bin/env bash
# What mybinder's repo2docker does with binder/, as far as it can be done without a
# container engine: a clean copy of the repository, a fresh venv of the Python that
# binder/runtime.txt names, `pip install -r binder/requirements.txt`, binder/postBuild,
# then Voilà on the dashboard and one request for the rendered page, and the two pages
# the README's binder badges open (Voilà and JupyterLab inside a Jupyter server).
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

# One request, checked: fetch URL OUT KIND, where KIND "voila" wants rendered widgets
# and "lab" a JupyterLab page. Voilà runs every cell before it answers, so one request
# waits for the kernel.
fetch() {
    python - "$@" <<'PY'
import sys
import time
import urllib.error
import urllib.request

url, out, kind = sys.argv[1:4]
deadline = time.time() + 300
while True:
    try:
        with urllib.request.urlopen(url, timeout=300) as response:
            status, page = response.status, response.read().decode("utf-8", "replace")
        break
    except (urllib.error.URLError, ConnectionError) as error:
        if time.time() > deadline:
            sys.exit(f"no answer from {url}: {error}")
        time.sleep(1)
open(out, "w").write(page)
markers = ("Traceback", "There was an error when executing cell", "ModuleNotFoundError")
problems = [marker for marker in markers if marker in page]
if status != 200 or problems:
    sys.exit(f"{url}: HTTP {status}, found {problems}")
wanted = "application/vnd.jupyter.widget-view+json" if kind == "voila" else "JupyterLab"
if wanted not in page:
    sys.exit(f"{url}: the page lacks {wanted!r}")
print(f"{url}: HTTP {status}, {len(page)} characters, {wanted} found")
PY
}

fail() {
    echo "--- $1 ---"
    tail -n 40 "$1"
    exit 1
}

stage "voila notebooks/dashboard.ipynb on port $PORT, then fetch the rendered dashboard"
voila notebooks/dashboard.ipynb --port="$PORT" --no-browser --Voila.ip=127.0.0.1 \
    >"$WORK/voila.log" 2>&1 &
VOILA_PID=$!
fetch "http://127.0.0.1:$PORT/" "$WORK/voila.html" voila || fail "$WORK/voila.log"
kill "$VOILA_PID" && wait "$VOILA_PID" 2>/dev/null || true
VOILA_PID=""

# The README's badges open these two paths of the Jupyter server that binder starts.
stage "jupyter lab on port $PORT: the two badge links"
ROOT_FLAG=()
if [[ $(id -u) == 0 ]]; then ROOT_FLAG=(--allow-root); fi  # binder itself runs as a user
jupyter lab --no-browser --port="$PORT" --ServerApp.ip=127.0.0.1 \
    --IdentityProvider.token="" "${ROOT_FLAG[@]}" >"$WORK/lab.log" 2>&1 &
VOILA_PID=$!
fetch "http://127.0.0.1:$PORT/voila/render/notebooks/dashboard.ipynb" "$WORK/badge-voila.html" \
    voila || fail "$WORK/lab.log"
fetch "http://127.0.0.1:$PORT/lab/tree/notebooks/workshop/01_pretrained_knows.ipynb" \
    "$WORK/badge-lab.html" lab || fail "$WORK/lab.log"
stage "binder check passed"

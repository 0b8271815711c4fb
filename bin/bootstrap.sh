#!/usr/bin/env bash
# Create .venv and install the pinned requirements (skipped when nothing changed).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha256
# the optional BirdNET packages (requirements-birdnet.txt) unless ANURAFLOW_NO_BIRDNET=1
birdnet=()
if [ "${ANURAFLOW_NO_BIRDNET:-0}" != 1 ]; then birdnet=(requirements-birdnet.txt); fi
want=$(cat requirements.txt requirements-dev.txt pyproject.toml "${birdnet[@]}" | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "installing requirements into .venv (torch 2.11.0 with its CUDA libraries, about 2 minutes)"
    # the venv takes 5.4 GB, and pip unpacks the torch wheels in the temporary directory first
    for dir in . "${TMPDIR:-/tmp}"; do
        free_gb=$(df -Pk "$dir" | awk 'NR == 2 {print int($4 / 1048576)}')
        if [ "$free_gb" -lt 7 ]; then
            echo "warning: only ${free_gb} GB free under $(cd "$dir" && pwd); the install needs about 7 GB" >&2
        fi
    done
    # no pip cache: it would hold a second copy of the 4 GB of wheels
    pip=(.venv/bin/python -m pip install --quiet --no-cache-dir)
    "${pip[@]}" --upgrade pip
    "${pip[@]}" -r requirements-dev.txt
    if [ "${#birdnet[@]}" -gt 0 ]; then
        "${pip[@]}" -r requirements-birdnet.txt
    fi
    "${pip[@]}" --no-deps -e .
    echo "$want" > "$stamp"
fi

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
optional=()
if [ "${ANURAFLOW_NO_BIRDNET:-0}" != 1 ]; then optional=(requirements-birdnet.txt); fi
# the optional occupancy models (requirements-occupancy.txt) unless ANURAFLOW_NO_OCCUPANCY=1
if [ "${ANURAFLOW_NO_OCCUPANCY:-0}" != 1 ]; then optional+=(requirements-occupancy.txt); fi
want=$(cat requirements.txt requirements-dev.txt pyproject.toml "${optional[@]}" | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "installing requirements into .venv (torch 2.11.0 with its CUDA libraries, about 2 minutes)"
    # the venv takes 5.6 GB, and pip unpacks the torch wheels in the temporary directory first
    free_space() {
        for dir in . "${TMPDIR:-/tmp}"; do
            free_gb=$(df -Pk "$dir" | awk 'NR == 2 {print int($4 / 1048576)}')
            echo "${free_gb} GB free under $(cd "$dir" && pwd)"
        done
    }
    if free_space | awk '$1 < 7 {found = 1} END {exit !found}'; then
        echo "warning: the install needs about 7 GB of disk; $(free_space | paste -sd ';' -)" >&2
    fi
    # no pip cache: it would hold a second copy of the 4 GB of wheels; a failed install says
    # how much disk was left, the usual cause on a full machine ("No space left on device")
    pip_install() {
        .venv/bin/python -m pip install --quiet --no-cache-dir "$@" || {
            echo "bin/bootstrap.sh: pip install $* failed; $(free_space | paste -sd ';' -)" >&2
            return 1
        }
    }
    pip_install --upgrade pip
    pip_install -r requirements-dev.txt
    for file in "${optional[@]}"; do
        pip_install -r "$file"
    done
    pip_install --no-deps -e .
    echo "$want" > "$stamp"
fi

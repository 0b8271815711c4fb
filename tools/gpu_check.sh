#!/usr/bin/env bash
# The one prepared command for the day a GPU is lent (docs/benchmarks.md, "On a GPU").
#
#   bash tools/gpu_check.sh [--dry-run] [OUT_DIR]
#
# On one GPU (an H200: under 6 minutes) it runs:
#   1. the GPU-marked tests (pytest -m gpu): the bank on the device, bf16 training steps,
#      resume, and predict on the device equal to the CPU within tolerance;
#   2. benchmarks/speed/data_path.py: paths (a)/(b)/(c) for mobilenetv3_large with Mix2 at batch 128 on an
#      AnuraSet-scale bank (1,612 one-minute recordings of real log-mels);
#   3. benchmarks/speed/epoch_time.py: two timed epochs of t1_mix2 at AnuraSet scale, projected to 100 epochs
#      and 3 seeds;
#   4. benchmarks/speed/predict_throughput.py on the GPU;
#   5. benchmarks/speed/birdnet_torch_profile.py: BirdNET V2.4 as a torch network on the GPU,
#      fp32 and bf16, 64 windows a pass (issue 58's archive-embedding rate);
# and writes each benchmark's JSON where its results live, OUT_DIR/<benchmark>/<machine>*.json
# (OUT_DIR default benchmarks/results; <machine> the GPU's name, e.g. nvidia-h200), the tests'
# XML and every step's log in OUT_DIR/gpu_check/<machine>/, and OUT_DIR/gpu_check/<machine>.json,
# which names the device and holds every step's status and result.
# --dry-run: the same steps on the CPU at toy sizes (the test suite runs it, so it cannot rot).
# PYTHON picks the interpreter (default: .venv/bin/python where it exists, else python3);
# AUDIO_DIR the field recordings the benchmarks' banks are made of (default ../shared/data/real).
set -euo pipefail
cd "$(dirname "$0")/.."
DRY=0
if [ "${1:-}" = "--dry-run" ]; then
    DRY=1
    shift
fi
OUT=${1:-benchmarks/results}
PY=${PYTHON:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}
if [ "$DRY" = 1 ]; then TAG=$("$PY" -m benchmarks.harness); else
    TAG=$("$PY" -m benchmarks.harness --cuda); fi
LOGS=$OUT/gpu_check/$TAG
mkdir -p "$LOGS"
export PYTHONUNBUFFERED=1
AUDIO=(--audio-dir "$(realpath "${AUDIO_DIR:-../shared/data/real}")")
if [ "$DRY" = 1 ]; then
    export ANURAFLOW_GPU_TEST_DEVICE=cpu
    DATA_PATH=(--device cpu --model mobilenetv3_large --recordings 2 --batch 4 --steps 1
        --warmup 0 --wav-windows 8 --workers 0 --variants bf16+channels_last)
    EPOCH=(--device cpu --recordings 1 --experiment t1_mix2 --epochs 1)
    # compiled bf16 training on the CPU is tested through the workflow (test_acceleration.py)
    GPU_TESTS=(--deselect "tests/test_gpu.py::test_bf16_channels_last_training_steps_learn[True]")
    PREDICT=(--minutes 0.2 --hours 0 --rounds 1 --models small_cnn --variants fp32 bf16)
    BIRDNET=(--device cpu --batch 2 --rounds 1 --no-equality)
else
    DATA_PATH=(--model mobilenetv3_large --recordings 1612 --batch 128 --steps 100
        --variants fp32+channels_last fp32+channels_last+compile bf16+channels_last)
    EPOCH=(--experiment t1_mix2 --recordings 1612)
    GPU_TESTS=()
    PREDICT=(--minutes 10 --hours 0 --rounds 3 --devices cuda
        --variants fp32 fp32+channels_last bf16 fp32+channels_last+compile)
    BIRDNET=(--device cuda --batch 64 --rounds 5)
fi

step() {  # name, command...: runs it, its output in LOGS/name.log, its status in LOGS/name.status
    local name=$1
    shift
    local started=$SECONDS
    set +e
    "$@" >"$LOGS/$name.log" 2>&1
    local rc=$?
    set -e
    echo "$rc $((SECONDS - started))" >"$LOGS/$name.status"
    echo "$name: exit $rc in $((SECONDS - started)) s"
}

step gpu_tests "$PY" -m pytest -m gpu -q -p no:cacheprovider tests/test_gpu.py \
    --junitxml "$LOGS/gpu_tests.xml" "${GPU_TESTS[@]}"
step data_path "$PY" -m benchmarks.speed.data_path "${DATA_PATH[@]}" "${AUDIO[@]}" \
    --out "$OUT/data_path/${TAG}_mobilenetv3_large.json"
step epoch_time "$PY" -m benchmarks.speed.epoch_time "${EPOCH[@]}" "${AUDIO[@]}" \
    --out "$OUT/epoch_time/$TAG.json"
step predict "$PY" -m benchmarks.speed.predict_throughput "${PREDICT[@]}" \
    --out "$OUT/predict_throughput/$TAG.json"
step embeddings "$PY" -m benchmarks.speed.birdnet_torch_profile "${BIRDNET[@]}" \
    --out "$OUT/birdnet_torch_profile/$TAG.json"
"$PY" -m tools.gpu_check_summary "$OUT" "$DRY" "$TAG"

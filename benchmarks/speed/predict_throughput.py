"""Benchmark: detection on new recordings (anuraflow.detect.predict.score_recording).

1. Throughput, in seconds of audio scored per wall second (the median of `--rounds`), of
   the demo model (small_cnn, 8 species, the demo frontend: 128 mels, hop 128) and of
   MobileNetV3-Large (Mix2 head, 42 species) on a recording of `--minutes` at 22.05 kHz (so
   resampling is included), on `--threads` CPU threads, and on the GPU when one is visible,
   for each speed switch (`--variants`: `precision[+channels_last][+compile]`, as `predict`'s
   settings), with each variant's largest score difference to the first. The weights are
   random: the work per window does not depend on them.
2. Peak memory (VmHWM of a fresh process) while the demo model scores a recording of
   `--hours` (16 kHz mono 16-bit WAV, 1.4 GB for 12 h), streamed in blocks of `--block-s`.

    .venv/bin/python -m benchmarks.speed.predict_throughput --minutes 10 --hours 12 --threads 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from anuraflow.detect.predict import score_recording
from anuraflow.features.frontend import Frontend
from anuraflow.features.logmel import LogMelConfig
from anuraflow.learn.bundle import load_bundle, save_bundle
from anuraflow.learn.experiments import experiment_settings
from anuraflow.learn.models import build_model
from benchmarks.harness import cpu_name, result_path, write_report

MODELS = {"small_cnn": 8, "mobilenetv3_large": 42}


def write_bundle(path: Path, model_name: str, n_classes: int | None = None) -> None:
    frontend = Frontend(
        LogMelConfig(), 3.0, "dataset", torch.full((128,), -50.0), torch.ones(128) * 15
    )
    settings = experiment_settings({"name": model_name, "model": model_name})
    n = n_classes or MODELS[model_name]
    torch.manual_seed(0)
    model = build_model(
        model_name, n, n_mels=128, n_frames=frontend.n_frames, **settings["model_args"]
    )
    # the output layer drawn wider than its training init (MobileNetV3's is N(0, 0.01) with
    # zero bias, which puts every random-weight score at 0.5): the scores spread over (0, 1),
    # so the variants' score differences mean something
    with torch.no_grad():
        model.head.weight.normal_(0, model.head.weight.shape[1] ** -0.5)
        model.head.bias.normal_(0, 1.0)
    codes = {f"SP{i:03d}": f"species {i}" for i in range(n)}
    info = {"experiment": "benchmark", "seed": 0, "fold": None, "epoch": 0, "provenance": {}}
    save_bundle(path, model.eval(), frontend, settings, codes, None, info)


def write_noise(path: Path, seconds: float, rate: int, chunk_s: int = 600) -> None:
    """Pink-ish noise, written in chunks (a 12 h file never sits in memory)."""
    rng = np.random.default_rng(0)
    with sf.SoundFile(str(path), "w", rate, 1, subtype="PCM_16") as out:
        left = int(seconds * rate)
        while left > 0:
            n = min(left, chunk_s * rate)
            out.write((np.cumsum(rng.normal(0, 0.01, n)) % 0.6 - 0.3).astype(np.float32))
            left -= n


def throughput(
    bundle_path: Path,
    audio: Path,
    warmup: Path,
    device: str,
    threads: int,
    variant: str,
    rounds: int,
) -> tuple[dict, np.ndarray]:
    """Median seconds of audio per wall second over `rounds` of scoring `audio` with the bundle
    under a variant (`fp32`, `bf16+channels_last+compile`, ...), after one round on `warmup`
    (a compiled variant compiles there); and the scores of the last round."""
    precision, *flags = variant.split("+")
    torch.set_num_threads(threads)
    bundle = load_bundle(bundle_path, device)
    bundle.accelerate(precision, "channels_last" in flags, "compile" in flags)
    score_recording(warmup, bundle, hop_s=1.0)
    walls = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        scores, facts = score_recording(audio, bundle, hop_s=1.0)
        if device == "cuda":
            torch.cuda.synchronize()
        walls.append(time.perf_counter() - t0)
    wall = float(np.median(walls))
    row = {
        "device": device,
        "variant": variant,
        "precision": bundle.precision,
        "threads": threads,
        "audio_s": facts.duration_s,
        "windows": len(scores),
        "wall_s": [round(w, 2) for w in walls],
        "audio_s_per_wall_s": round(facts.duration_s / wall, 1),
    }
    return row, scores[bundle.codes].to_numpy()


def peak_rss(bundle_path: Path, audio: Path, threads: int, block_s: float) -> dict:
    """Scores `audio` in a child process; its wall time and its peak resident memory (the
    child's VmHWM)."""
    code = (
        "import torch\n"
        "from anuraflow.learn.bundle import load_bundle\n"
        "from anuraflow.detect.predict import score_recording\n"
        f"torch.set_num_threads({threads})\n"
        f"bundle = load_bundle({str(bundle_path)!r})\n"
        f"s, f = score_recording({str(audio)!r}, bundle, 1.0, {block_s!r})\n"
        # VmHWM: this process's own peak (ru_maxrss would also count the forked parent's pages)
        "hwm = [x for x in open('/proc/self/status') if x.startswith('VmHWM')][0]\n"
        "print(len(s), f.duration_s, int(hwm.split()[1]))\n"
    )
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    windows, duration, hwm_kb = out.stdout.split()
    return {
        "audio_h": round(float(duration) / 3600, 3),
        "windows": int(windows),
        "block_s": block_s,
        "wall_s": round(wall, 1),
        "audio_s_per_wall_s": round(float(duration) / wall, 1),
        "peak_rss_mb": round(int(hwm_kb) / 1024, 1),
        "target_peak_rss_mb": 2048,
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--hours", type=float, default=12)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--block-s", type=float, default=300)
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per variant (median)")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--devices", nargs="+", help="default: cpu, and cuda when visible")
    parser.add_argument(
        "--variants",
        nargs="+",
        default=[
            "fp32",
            "bf16",
            "fp32+channels_last",
            "fp32+compile",
            "fp32+channels_last+compile",
        ],
        help="precision[+channels_last][+compile]; the first is the reference for the scores",
    )
    parser.add_argument("--out", default=str(result_path("predict_throughput")))
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    report = {
        "benchmark": "predict_throughput",
        "command": " ".join(sys.argv),
        "machine": {"cpu": cpu_name(), "cuda": torch.cuda.is_available()},
        "throughput": {},
    }
    with tempfile.TemporaryDirectory(prefix="anuraflow-predict-") as tmp:
        tmp = Path(tmp)
        short = tmp / "short.wav"
        write_noise(short, args.minutes * 60, 22050)
        warmup = tmp / "warmup.wav"
        write_noise(warmup, 10, 22050)
        devices = args.devices or ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        for name in args.models:
            write_bundle(tmp / f"{name}.pt", name)
            rows = report["throughput"][name] = []
            for device in devices:
                reference = None
                for variant in args.variants:
                    row, scores = throughput(
                        tmp / f"{name}.pt", short, warmup, device, args.threads, variant,
                        args.rounds,
                    )  # fmt: skip
                    reference = scores if reference is None else reference
                    row["max_abs_diff_to_first_variant"] = float(np.abs(scores - reference).max())
                    rows.append(row)
                    print(json.dumps(row), flush=True)
        if args.hours > 0:
            long = tmp / "long.wav"
            write_noise(long, args.hours * 3600, 16000)
            report["long_recording"] = peak_rss(
                tmp / "small_cnn.pt", long, args.threads, args.block_s
            )
    write_report(report, args.out)


if __name__ == "__main__":
    main()

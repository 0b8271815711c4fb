"""Benchmark: peak resident memory of a training job (`train_experiment`, what the rule
train_model runs) at 1x and 2x AnuraSet scale, against the size of its window bank.

For each scale it writes a run's inputs as the workflow would: `--recordings` x scale
one-minute feature caches (16 kHz, hop 128, 128 mels: 7,501 frames each, the same random
log-mels in every file; the values do not change the memory), `windows.parquet` (58 windows of
3 s per recording, 42 species, 5 % positives), a 70/10/20 split by recording and the feature
index. Then one fresh process runs `train_experiment` with `demo_cnn` (small CNN) for one epoch
on the CPU and reports its peak RSS (`ru_maxrss`). The epoch trains on `--label-fraction` of the
training windows (default 2 %, to keep the benchmark short): the bank holds every window's
frames either way, and validation and test are scored and evaluated in full.

    .venv/bin/python -m benchmarks.speed.train_memory            # 1x and 2x (~12 GB of disk)
    .venv/bin/python -m benchmarks.speed.train_memory --recordings 20  # a toy run
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from anuraflow.data.windows import window_id, window_starts, with_labels
from anuraflow.features.logmel import (
    LogMelConfig,
    index_feature_caches,
    write_feature_cache,
)
from benchmarks.harness import REPO, cpu_name, result_path, write_report

CONFIG = REPO / "config/synthetic-anuraset-scale.yaml"
FRAMES = 7501  # a minute at 16 kHz, hop 128, centred frames


# RunOutputs, in order: model, predictions, val_predictions, metrics, history, embeddings
OUTPUT_NAMES = ("model.pt", "p.parquet", "v.parquet", "m.json", "h.tsv", "e.parquet")


def write_inputs(root: Path, n: int, codes: list[str], seed: int = 0) -> dict:
    """A run's input tables and feature caches for `n` recordings under `root`."""
    rng = np.random.default_rng(seed)
    cfg = LogMelConfig()
    block = (rng.standard_normal((FRAMES, cfg.n_mels)) * 10 - 40).astype(np.float32)
    ids = [f"REC{i:05d}_20200101_000000" for i in range(n)]
    (root / "features").mkdir(parents=True, exist_ok=True)
    paths = []
    for rec in ids:
        path = root / "features" / f"{rec}.parquet"
        write_feature_cache(path, block, rec, cfg)
        paths.append(path)
    index_feature_caches(paths, root / "feature_index.parquet", threads=2)
    starts = window_starts(60.0, 3.0, 1.0)
    rec_col = np.repeat(ids, len(starts))
    start_col = np.tile(starts, n)
    windows = pd.DataFrame(
        {
            "window_id": [
                window_id(r, s, s + 3.0) for r, s in zip(rec_col, start_col, strict=True)
            ],
            "recording_id": rec_col,
            "start_s": start_col,
            "end_s": start_col + 3.0,
            "site": "REC",
        }
    )
    windows = with_labels(windows, rng.random((len(windows), len(codes))) < 0.05, codes)
    windows.to_parquet(root / "windows.parquet")
    share = rng.permutation(n) / n
    subset = np.where(share < 0.7, "train", np.where(share < 0.8, "val", "test"))
    pd.DataFrame({"recording_id": ids, "subset": subset}).to_parquet(root / "splits.parquet")
    return {"frames": n * FRAMES * cfg.n_mels, "windows": len(windows)}


def child(root: Path, label_fraction: float) -> None:
    """Runs in a fresh process: train_experiment on `root`'s inputs; prints its peak RSS."""
    import torch

    from anuraflow.learn.models import build_model
    from anuraflow.learn.run import RunInputs, RunOutputs, RunSpec, train_experiment

    config = yaml.safe_load(CONFIG.read_text())
    experiment = yaml.safe_load((REPO / "config/experiments/demo_cnn.yaml").read_text())
    experiment.update(epochs=1, seeds=[0], device="cpu", label_fraction=label_fraction)
    species = [{"code": s["code"], "name": s["code"], "group": "auto"} for s in config["species"]]
    model = build_model("small_cnn", len(species))
    params = sum(p.numel() for p in model.parameters())
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    out = root / "run"
    out.mkdir(exist_ok=True)
    started = time.perf_counter()
    train_experiment(
        RunInputs(
            windows=root / "windows.parquet",
            splits=root / "splits.parquet",
            feature_index=root / "feature_index.parquet",
            manifest=None,
        ),
        RunOutputs(*(out / n for n in OUTPUT_NAMES)),
        RunSpec(experiment, 0, species, config["frequency_groups"], 3.0),
        threads=2,
        progress=False,
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    # parameters, their gradients and AdamW's two moments, float32
    model_gb = params * 4 * 4 / 1e9
    print(
        json.dumps(
            {
                "peak_rss_gb": peak,
                "rss_after_imports_gb": before,
                "model_and_optimiser_gb": model_gb,
                "torch_threads": torch.get_num_threads(),
                "train_seconds": time.perf_counter() - started,
            }
        )
    )


def measure(root: Path, n: int, codes: list[str], label_fraction: float) -> dict:
    started = time.perf_counter()
    facts = write_inputs(root, n, codes)
    written = time.perf_counter() - started
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.speed.train_memory", "--child", str(root),
         "--label-fraction", str(label_fraction)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"train_experiment failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    bank = facts["frames"] * 2 / 1e9  # float16
    allowed = 1.5 * bank + result["model_and_optimiser_gb"]
    return {
        "recordings": n,
        "windows": facts["windows"],
        "bank_gb": round(bank, 3),
        "peak_rss_gb": round(result["peak_rss_gb"], 3),
        "rss_after_imports_gb": round(result["rss_after_imports_gb"], 3),
        "peak_over_bank": round(result["peak_rss_gb"] / bank, 3),
        "model_and_optimiser_gb": round(result["model_and_optimiser_gb"], 4),
        "target_gb": round(allowed, 3),
        "target_met": result["peak_rss_gb"] <= allowed,
        "inputs_written_s": round(written, 1),
        "train_experiment_s": round(result["train_seconds"], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=1612, help="recordings at 1x")
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--label-fraction", type=float, default=0.02)
    parser.add_argument("--workdir", type=Path, help="default: a temporary folder, removed")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(result_path("train_memory")))
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.label_fraction)
    codes = [s["code"] for s in yaml.safe_load(CONFIG.read_text())["species"]]
    base = args.workdir or Path(tempfile.mkdtemp(prefix="train_memory_"))
    rows = []
    try:
        for k in args.scales:
            root = base / f"x{k}"
            rows.append(
                {"scale": k, **measure(root, k * args.recordings, codes, args.label_fraction)}
            )
            shutil.rmtree(root)
            print(json.dumps(rows[-1]), flush=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(base, ignore_errors=True)
    first, last = rows[0], rows[-1]
    growth = (last["peak_rss_gb"] - first["peak_rss_gb"]) / max(
        last["bank_gb"] - first["bank_gb"], 1e-9
    )
    fixed = first["peak_rss_gb"] - growth * first["bank_gb"]
    write_report(
        {
            "benchmark": "train_memory",
            "command": " ".join(["benchmarks/speed/train_memory.py", *sys.argv[1:]]),
            "machine": {"cpu": cpu_name()},
            "experiment": "demo_cnn (small_cnn), one epoch, CPU",
            "label_fraction": args.label_fraction,
            "runs": rows,
            # peak = fixed + growth * bank: growth ~1 means no second copy of the frames
            "peak_gb_per_bank_gb": round(growth, 3),
            "fixed_gb": round(fixed, 3),
            "largest_bank_gb": {
                "machine_24gb": round((24 - fixed) / growth, 1),
                "gpu_80gb": "docs/benchmarks.md#training-memory (from "
                "benchmarks/results/epoch_time/nvidia-h200_fp32.json)",
            },
        },
        args.out,
    )


if __name__ == "__main__":
    main()

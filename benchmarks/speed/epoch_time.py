"""Benchmark: one timed epoch of an experiment at AnuraSet scale, projected to its full run.

The epoch is the trainer's own (`anuraflow.learn.fit.fit`: training steps, then validation
and test scored for the history) on a bank of `--recordings` one-minute recordings (1,612:
AnuraSet's size, 93,496 windows of 3 s every second) holding real log-mels (the field
recordings of data_path.py, tiled), with 42 species at 5 % positives and a 70/10/20 split by
recording. Labels do not change the cost of a step. `--epochs` (default 2) are timed: the
first holds the one-time costs (cuDNN's algorithm search, compilation), the last is the steady
state. The projection per seed is the first epoch plus the steady epoch times the experiment's
remaining epochs (start-up and the final evaluation are left out).

    .venv/bin/python -m benchmarks.speed.epoch_time --experiment t1_mix2            # on a GPU
    .venv/bin/python -m benchmarks.speed.epoch_time --recordings 4 --device cpu      # a toy run
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

from anuraflow.learn.acceleration import acceleration_facts
from anuraflow.learn.experiments import experiment_settings
from anuraflow.learn.fit import epoch_record, fit
from anuraflow.learn.run import build_run_model
from anuraflow.learn.run_data import RunData
from benchmarks.harness import REPO, cpu_name, result_path, write_report
from benchmarks.speed.data_path import (
    AUDIO_DIR,
    N_CLASSES,
    field_recordings,
    make_bank,
    real_frames,
)


def run_data(bank, recordings: int, windows_per_recording: int, device) -> RunData:
    """The bank as a run's data: recordings split 70/10/20 in a fixed order."""
    rng = np.random.default_rng(0)
    share = rng.permutation(recordings) / recordings
    per_recording = np.where(share < 0.7, "train", np.where(share < 0.8, "val", "test"))
    subset = np.repeat(per_recording, windows_per_recording)
    ids = np.repeat([f"rec{r:04d}" for r in range(recordings)], windows_per_recording)
    codes = [f"SP{i:02d}" for i in range(N_CLASSES)]
    positions = {
        s: torch.tensor(np.flatnonzero(subset == s), device=device)
        for s in ("train", "val", "test")
    }
    windows = pd.DataFrame({"recording_id": ids, "subset": subset})
    groups = {c: "frequent" for c in codes}
    return RunData(windows, codes, {c: c for c in codes}, bank, positions, groups, {})


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--experiment", default="t1_mix2")
    parser.add_argument("--recordings", type=int, default=1612)
    parser.add_argument("--precision", help="override the experiment's (auto | fp32 | bf16)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the encoder")
    parser.add_argument("--channels-last", choices=["auto", "true", "false"])
    parser.add_argument("--epochs", type=int, default=2, help="epochs timed (first, steady)")
    parser.add_argument("--audio-dir", type=Path, default=AUDIO_DIR, help="field recordings")
    parser.add_argument("--out", default=str(result_path("epoch_time")))
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    device = torch.device(args.device)
    experiment = yaml.safe_load((REPO / f"config/experiments/{args.experiment}.yaml").read_text())
    settings = experiment_settings(
        {
            **experiment,
            "epochs": args.epochs,
            "compile": args.compile or experiment.get("compile", False),
        }
    )
    if args.precision:
        settings["precision"] = args.precision
    if args.channels_last:
        settings["channels_last"] = {"true": True, "false": False}.get(args.channels_last, "auto")
    bank = make_bank(real_frames(field_recordings(args.audio_dir)), args.recordings, device)
    data = run_data(bank, args.recordings, len(bank.starts) // args.recordings, device)
    torch.manual_seed(0)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    model, _ = build_run_model(settings, data, None, device)  # as train_experiment builds it
    started = time.perf_counter()
    state = fit(model, [], data, settings, seed=0, progress=False)
    wall = time.perf_counter() - started
    seconds = [h["seconds"] for h in state.history]
    scoring = time.perf_counter()
    epoch_record(model, data, settings, 0, 0.0)  # the epoch's validation and test scoring
    scoring = time.perf_counter() - scoring
    epochs, seeds = experiment["epochs"], len(experiment.get("seeds", [0]))
    per_seed = seconds[0] + seconds[-1] * (epochs - 1)
    report = {
        "benchmark": "epoch_time",
        "command": " ".join(["benchmarks/speed/epoch_time.py", *sys.argv[1:]]),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name(),
        "torch": torch.__version__,
        "experiment": args.experiment,
        "model": settings["model"],
        "batch": settings["batch_size"],
        "computed_with": acceleration_facts(settings, device),
        "recordings": args.recordings,
        "windows": {s: len(i) for s, i in data.subsets.items()},
        "bank_gb": round(bank.frames.numel() * 2 / 1e9, 2),
        "peak_device_gb": (
            round(torch.cuda.max_memory_allocated(device) / 1e9, 2)
            if device.type == "cuda"
            else None
        ),
        "epoch_s": [round(x, 1) for x in seconds],
        "steady_epoch_s": round(seconds[-1], 1),
        "scoring_s": round(scoring, 1),
        "fit_wall_s": round(wall, 1),
        "train_windows_per_s": round(len(data.subsets["train"]) / (seconds[-1] - scoring), 1),
        "projected": {
            "epochs": epochs,
            "seeds": seeds,
            "minutes_per_seed": round(per_seed / 60, 1),
            "hours": round(per_seed * seeds / 3600, 2),
        },
    }
    write_report(report, args.out)


if __name__ == "__main__":
    main()

"""Benchmark: Mix2 against no mixing (Table I's +TimeShift row), macro F1 by frequency group.

Runs the real `snakemake` with the experiments t1_timeshift and t1_mix2 (MobileNetV3-Large,
the paper's recipe) on a data config (default: config/synthetic-anuraset-scale.yaml, 1,612
recordings and 42 species, meant for a GPU node) in a fresh working directory, then writes JSON
with each experiment's test macro F1 overall / frequent / common / rare (mean, sample std over
seeds, per seed), the device and the wall time. Overrides make a reduced run possible where no
GPU is at hand; the JSON records every override, so reduced numbers are never mistaken for the
paper-scale run.

    # the issue's run, on a GPU node
    .venv/bin/python -m benchmarks.science.mix2_vs_nomix --cores 16 --gpus 1
    # a reduced CPU run: the 48-recording demo data, the demo's small CNN, 15 epochs
    .venv/bin/python -m benchmarks.science.mix2_vs_nomix --configfile config/config.yaml \
        --model small_cnn --epochs 15 --cores 2 \
        --out benchmarks/results/mix2_vs_nomix/unrecorded_cpu.json
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.harness import REPO, config_label, result_path, run_workflow, write_report

EXPERIMENTS = ["t1_timeshift", "t1_mix2"]
GROUPS = ("all", "frequent", "common", "rare")


def summarise(runs: list[dict]) -> dict:
    out = {"seeds": [r["seed"] for r in runs], "device": sorted({r["device"] for r in runs})}
    for g in GROUPS:
        vals = np.array([r["macro_f1"][g] for r in runs], dtype=float) * 100
        out[g] = {
            "mean": round(float(np.nanmean(vals)), 2),
            "std": round(float(np.nanstd(vals, ddof=1)), 2) if len(vals) > 1 else None,
            "per_seed": [round(float(v), 2) for v in vals],
        }
    out["train_seconds"] = [round(r["train_seconds"], 1) for r in runs]
    out["epochs_run"] = [r["epochs_run"] for r in runs]
    return out


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", default=str(REPO / "config/synthetic-anuraset-scale.yaml"))
    parser.add_argument("--epochs", type=int, help="override the configs' 100 epochs")
    parser.add_argument("--seeds", type=int, nargs="+", help="override the configs' 3 seeds")
    parser.add_argument("--model", help="override the configs' mobilenetv3_large (CPU runs)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--gpus", type=int, default=0, help="GPUs per training job")
    parser.add_argument("--workdir", help="working directory (default: a new temporary one)")
    parser.add_argument("--out", default=str(result_path("mix2_vs_nomix")))
    return parser.parse_args()


def main() -> None:
    args = parse_args()

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="anuraflow-mix2-"))
    overrides = {}
    if args.epochs:
        overrides["epochs"] = args.epochs
    if args.seeds:
        overrides["seeds"] = args.seeds
    if args.model:
        overrides["model"] = args.model
    overlay = {
        "experiments": EXPERIMENTS,
        "experiment_overrides": overrides,
        "train_gpus": args.gpus,
        "experiments_dir": str(REPO / "config/experiments"),
    }
    wall = run_workflow(workdir, args.configfile, overlay, args.cores, args.gpus)

    results = {}
    for name in EXPERIMENTS:
        runs = [
            json.loads(p.read_text())
            for p in sorted(workdir.glob(f"results/runs/{name}/seed*/metrics.json"))
        ]
        results[name] = summarise(runs)
    delta = {
        g: round(results["t1_mix2"][g]["mean"] - results["t1_timeshift"][g]["mean"], 2)
        for g in GROUPS
    }
    report = {
        "benchmark": "mix2_vs_nomix",
        "configfile": config_label(args.configfile),
        "overrides": overrides,
        "paper_scale": not overrides and args.configfile.endswith("synthetic-anuraset-scale.yaml"),
        "wall_seconds": round(wall, 1),
        "cores": args.cores,
        "gpus": args.gpus,
        "host": platform.node(),
        "macro_f1_percent": results,
        "mix2_minus_nomix": delta,
        "published_anuraset": {"no_mixing(+TimeShift)": 56.6, "mix2": 60.8, "mix2_rare": 51.8},
        "workdir": str(workdir),
    }
    write_report(report, args.out)


if __name__ == "__main__":
    main()

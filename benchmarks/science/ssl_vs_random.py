"""Benchmark: seed 003's protocol, VICReg and Barlow Twins pretraining against random init.

Runs the real `snakemake` with s003_random_small_cnn, s003_vicreg_small_cnn and
s003_barlow_twins_small_cnn (single-label windows, 5-fold cross-validation by recording,
balanced classes) on a data config, then writes JSON with each experiment's test balanced
accuracy and silhouette (mean, sample std and per fold), the pretraining losses, the paired
t-tests of the report and the wall time. Epoch overrides make a reduced CPU run possible; the
JSON records them.

    # a reduced CPU run on the 48-recording demo data
    .venv/bin/python -m benchmarks.science.ssl_vs_random --configfile config/config.yaml \\
        --epochs 10 --pretrain-epochs 10 --pretrain-windows 512 --cores 2
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
from pathlib import Path

import numpy as np

from anuraflow.evaluate.stats import paired_ttest
from benchmarks.harness import REPO, config_label, result_path, run_workflow, write_report

EXPERIMENTS = ["s003_random_small_cnn", "s003_vicreg_small_cnn", "s003_barlow_twins_small_cnn"]
PRETRAINS = ["vicreg_small_cnn", "barlow_twins_small_cnn"]


def _stats(values: list[float]) -> dict:
    v = np.asarray(values, float)
    return {
        "mean": round(float(np.nanmean(v)), 4),
        "std": round(float(np.nanstd(v, ddof=1)), 4) if len(v) > 1 else None,
        "per_fold": [round(float(x), 4) for x in v],
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", default=str(REPO / "config/config.yaml"))
    parser.add_argument("--epochs", type=int, help="override the fine-tunes' 100 epochs")
    parser.add_argument("--pretrain-epochs", type=int, help="override pretraining's 100 epochs")
    parser.add_argument("--pretrain-windows", type=int, help="pretraining windows per epoch")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--gpus", type=int, default=0)
    parser.add_argument("--workdir")
    parser.add_argument("--out", default=str(result_path("ssl_vs_random")))
    return parser.parse_args()


def main() -> None:
    args = parse_args()

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="anuraflow-ssl-"))
    overrides = {"epochs": args.epochs} if args.epochs else {}
    pre_overrides = {}
    if args.pretrain_epochs:
        pre_overrides["epochs"] = args.pretrain_epochs
    if args.pretrain_windows:
        pre_overrides["max_windows"] = args.pretrain_windows
    pairs = [[EXPERIMENTS[1], EXPERIMENTS[0]], [EXPERIMENTS[2], EXPERIMENTS[0]],
             [EXPERIMENTS[1], EXPERIMENTS[2]]]  # fmt: skip
    overlay = {
        "experiments": EXPERIMENTS,
        "experiment_overrides": overrides,
        "pretrain_overrides": pre_overrides,
        "train_gpus": args.gpus,
        "train_threads": args.cores,
        "experiments_dir": str(REPO / "config/experiments"),
        "pretrain_dir": str(REPO / "config/pretrain"),
        "report": {"title": "seed 003 protocol", "compare": pairs},
    }
    wall = run_workflow(workdir, args.configfile, overlay, args.cores, args.gpus)

    results, scores = {}, {}
    for name in EXPERIMENTS:
        runs = [
            json.loads(p.read_text())
            for p in sorted(workdir.glob(f"results/runs/{name}/fold*/seed*/metrics.json"))
        ]
        scores[name] = [r["balanced_accuracy"] for r in runs]
        results[name] = {
            "balanced_accuracy": _stats(scores[name]),
            "silhouette": _stats([r["silhouette"] for r in runs]),
            "macro_f1": _stats([r["macro_f1"]["all"] for r in runs]),
            "folds": [r["fold"] for r in runs],
            "train_seconds": [round(r["train_seconds"], 1) for r in runs],
        }
    pretraining = {
        name: {
            k: json.loads((workdir / f"results/pretrain/{name}/metrics.json").read_text())[k]
            for k in ("method", "best_epoch", "best_val_loss", "train_seconds")
        }
        for name in PRETRAINS
    }
    ttests = {f"{a} vs {b}": paired_ttest(scores[a], scores[b]) for a, b in pairs}
    report = {
        "benchmark": "ssl_vs_random",
        "configfile": config_label(args.configfile),
        "overrides": overrides,
        "pretrain_overrides": pre_overrides,
        "wall_seconds": round(wall, 1),
        "cores": args.cores,
        "gpus": args.gpus,
        "host": platform.node(),
        "results": results,
        "pretraining": pretraining,
        "paired_ttests_balanced_accuracy": ttests,
        "published_seed003_balanced_accuracy": {  # LEEC clips, 15 classes, four CNNs
            "random_init_mean_range": [0.60, 0.67],
            "imagenet_mean_range": [0.61, 0.77],
            "barlow_twins_max": 0.69,
            "vicreg_max": 0.72,
            "resnet50_vicreg_100_50_20pct": [0.72, 0.60, 0.43],
        },
        "workdir": str(workdir),
    }
    write_report(report, args.out)


if __name__ == "__main__":
    main()

"""Benchmark: BirdNET V2.4 fine-tuned (`birdnet_finetune`) against its frozen linear probe
(`emb_birdnet_linear`) and the demo's CNN (`demo_cnn`), seed 004's question on a bioacoustic
backbone.

Runs the real `snakemake` once on a data config (default: the demo, config/config.yaml) with
the three experiments at `--seeds` seeds each (experiment_overrides), in a fresh working
directory. Writes JSON with each experiment's test macro F1 and AP per seed (with their
recording-bootstrap intervals; macro F1 also at the thresholds tuned on validation), the
training time per epoch (history.tsv: the pass over the
training windows and the per-epoch scoring of validation and test), and for the fine-tuned
model against each of the others: the paired t-test over seeds of macro F1 and of macro AP
(`anuraflow.evaluate.stats.paired_ttest`, the same seed for both) and the difference of
macro F1 paired by test recording with its bootstrap interval (the report's comparison).

    .venv/bin/python -m benchmarks.science.birdnet_finetune --cores 2 --seeds 5
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from anuraflow.evaluate.analysis import paired_intervals
from anuraflow.evaluate.stats import paired_ttest
from benchmarks.harness import (
    REPO,
    config_label,
    cpu_facts,
    result_path,
    run_workflow,
    write_report,
)
from benchmarks.science.bf16_embeddings import predictions
from benchmarks.science.probe_vs_cnn import experiment_summary

FINETUNED = "birdnet_finetune"
OTHERS = ["emb_birdnet_linear", "demo_cnn"]


def epoch_seconds(results: Path, name: str) -> dict:
    """Seconds per epoch over every epoch of every seed (history.tsv's `seconds`)."""
    seconds = np.concatenate([
        pd.read_csv(p, sep="\t")["seconds"].to_numpy()
        for p in sorted((results / "runs" / name).glob("seed*/history.tsv"))
    ])  # fmt: skip
    stats = {"mean_s": seconds.mean(), "min_s": seconds.min(), "max_s": seconds.max()}
    return {"epochs": len(seconds), **{k: round(float(v), 1) for k, v in stats.items()}}


def tuned_macro_f1(results: Path, name: str) -> dict:
    """Test macro F1 (%) at the thresholds tuned on validation, per seed (metrics.json's
    `tuned`: what a detection table uses), with mean and std."""
    per_seed = {}
    for path in sorted((results / "runs" / name).glob("seed*/metrics.json")):
        metrics = json.loads(path.read_text())
        per_seed[metrics["seed"]] = round(100 * metrics["tuned"]["macro_f1"]["all"], 2)
    values = list(per_seed.values())
    std = round(float(np.std(values, ddof=1)), 2) if len(values) > 1 else None
    return {"per_seed": per_seed, "mean": round(float(np.mean(values)), 2), "std": std}


def paired_over_seeds(mine: dict, theirs: dict) -> dict:
    """The paired t-test over the seeds both have (seed -> value; mine - theirs, points)."""
    seeds = sorted(set(mine) & set(theirs))
    test = paired_ttest([mine[s] for s in seeds], [theirs[s] for s in seeds])
    return {
        "seeds": seeds,
        "mean_difference": round(test["mean_difference"], 2),
        **{k: round(test[k], 4) for k in ("t", "p")},
        "df": test["df"],
    }


def seed_tests(summary: dict, other: dict) -> dict:
    """Paired t-tests of macro F1 and macro AP (`experiment_summary`'s per-seed values, and
    macro F1 at tuned thresholds where both have it), fine-tuned - other."""
    out = {}
    for key in ("macro_f1", "macro_ap"):
        mine = {r["seed"]: r[key] for r in summary["per_seed"]}
        out[key] = paired_over_seeds(mine, {r["seed"]: r[key] for r in other["per_seed"]})
    if "macro_f1_tuned" in summary and "macro_f1_tuned" in other:
        out["macro_f1_tuned"] = paired_over_seeds(
            summary["macro_f1_tuned"]["per_seed"], other["macro_f1_tuned"]["per_seed"]
        )
    return out


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configfile", default=str(REPO / "config" / "config.yaml"))
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--workdir", help="keep the runs here (default: a temp dir)")
    ap.add_argument("--summarise-only", action="store_true",
                    help="summarise the runs --workdir kept, without running; the workflow's "
                    "wall time is taken from --out, the JSON of that run")  # fmt: skip
    ap.add_argument("--out", default=str(result_path("birdnet_finetune")))
    return ap.parse_args()


def main() -> None:
    args = parse_args()
    experiments = [FINETUNED, *OTHERS]
    report = {
        "what": "BirdNET V2.4 fine-tuned vs its frozen linear probe and demo_cnn: test macro "
                "F1 / AP (%), paired tests, seconds per epoch",
        "command": "python -m benchmarks.science.birdnet_finetune "
                   f"--cores {args.cores} --seeds {args.seeds}",
        "date": time.strftime("%Y-%m-%d"),
        "config": config_label(args.configfile),
        "cpu": cpu_facts(),
        "experiment_files": {e: f"config/experiments/{e}.yaml" for e in experiments},
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(args.workdir or tmp) / "finetune"
        overlay = {
            "experiments": experiments, "results_dir": "results",
            "experiment_overrides": {"seeds": list(range(args.seeds))},
            "report": {"title": "BirdNET fine-tuned", "compare": [[FINETUNED, o] for o in OTHERS]},
        }  # fmt: skip
        if args.summarise_only:
            before = json.loads(Path(args.out).read_text())
            report["wall_s"], report["date"] = before["wall_s"], before["date"]
        else:
            wall = run_workflow(workdir, args.configfile, overlay, args.cores, 0)
            report["wall_s"] = round(wall, 1)
        results = workdir / "results"
        summaries = {
            e: {**experiment_summary(results, e), "macro_f1_tuned": tuned_macro_f1(results, e)}
            for e in experiments
        }
        report["experiments"] = {
            e: {**summaries[e], "epoch_seconds": epoch_seconds(results, e)} for e in experiments
        }
        mine = predictions(results, FINETUNED)
        report["finetuned_minus"] = {}
        for other in OTHERS:
            by_recording = paired_intervals(mine, predictions(results, other), args.bootstrap, 0)
            report["finetuned_minus"][other] = {
                "over_seeds": seed_tests(summaries[FINETUNED], summaries[other]),
                "macro_f1_by_recording": None if by_recording is None else {
                    k: round(100 * by_recording[k], 2) for k in ("estimate", "low", "high")},
            }  # fmt: skip
    write_report(report, args.out)


if __name__ == "__main__":
    main()

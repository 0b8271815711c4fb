"""Benchmark: probes on BirdNET V2.4 embeddings against the from-scratch CNN, with all labels
and with few (10 training recordings, `train_recordings`).

Runs the real `snakemake` with the experiments demo_cnn, emb_birdnet_linear and
emb_birdnet_mlp on a data config (default: the demo, config/config.yaml), once as it is and
once with `experiment_overrides: {train_recordings: 10}`, each in a fresh working directory;
then writes JSON with, per variant and experiment, the test macro F1 and macro AP (mean over
seeds, per seed) with each run's 95 % recording-bootstrap interval (the workflow's
intervals.json), the paired difference of each probe to the CNN (macro F1, paired by test
recording, as the report's `report.compare`), the training seconds per run, the embedding
stage's time per recording and the wall time.

    .venv/bin/python -m benchmarks.science.probe_vs_cnn --cores 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from anuraflow.evaluate.analysis import paired_intervals, run_predictions
from benchmarks.harness import REPO, config_label, cpu_name, result_path, run_workflow, write_report

EXPERIMENTS = ["demo_cnn", "emb_birdnet_linear", "emb_birdnet_mlp"]
VARIANTS = {"all_labels": {}, "ten_recordings": {"train_recordings": 10}}


def experiment_summary(results: Path, name: str) -> dict:
    runs = sorted((results / "runs" / name).glob("seed*/metrics.json"))
    out = {"per_seed": []}
    for path in runs:
        m = json.loads(path.read_text())
        iv = json.loads((path.parent / "intervals.json").read_text())
        out["per_seed"].append(
            {
                "seed": m["seed"],
                "macro_f1": round(100 * m["macro_f1"]["all"], 2),
                "macro_f1_ci": [round(100 * iv["macro_f1"][k], 2) for k in ("low", "high")],
                "macro_ap": round(100 * iv["macro_ap"]["estimate"], 2),
                "macro_ap_ci": [round(100 * iv["macro_ap"][k], 2) for k in ("low", "high")],
                "train_seconds": round(m["train_seconds"], 1),
                "train_windows": m["n_windows"]["train"],
            }
        )
    for key in ("macro_f1", "macro_ap"):
        vals = [r[key] for r in out["per_seed"]]
        out[key] = {
            "mean": round(statistics.mean(vals), 2),
            "std": round(statistics.stdev(vals), 2) if len(vals) > 1 else None,
        }
    return out


def paired_to_cnn(results: Path, probe: str, n_boot: int) -> dict | None:
    def load(name):
        preds = []
        for path in sorted((results / "runs" / name).glob("seed*/metrics.json")):
            run = json.loads(path.read_text())
            preds.append(run_predictions(run, str(path.parent / "predictions.parquet")))
        return preds

    out = paired_intervals(load(probe), load("demo_cnn"), n_boot, 0)
    if out is None:
        return None
    return {k: round(100 * out[k], 2) for k in ("estimate", "low", "high")}


def embedding_stage(results: Path) -> dict:
    """Seconds per compute_embeddings job (Snakemake's benchmark files) and windows."""
    seconds = [
        float(pd.read_csv(p, sep="\t")["s"].iloc[0])
        for p in (results / "benchmarks" / "embeddings").glob("*.tsv")
    ]
    index = pd.read_parquet(results / "embedding_index.parquet")
    return {
        "jobs": len(seconds),
        "median_s_per_recording": round(float(np.median(seconds)), 2),
        "total_job_s": round(float(np.sum(seconds)), 1),
        "windows": int(index["n_windows"].sum()),
        "windows_per_job_s": round(float(index["n_windows"].sum() / np.sum(seconds)), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configfile", default=str(REPO / "config" / "config.yaml"))
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--workdir", default=None, help="keep the runs here (default: a temp dir)")
    ap.add_argument("--out", default=str(result_path("probe_vs_cnn")))
    args = ap.parse_args()
    report = {
        "what": "probes on BirdNET V2.4 embeddings vs demo_cnn: test macro F1 / AP (%)",
        "command": "benchmarks/science/probe_vs_cnn.py",
        "config": config_label(args.configfile),
        "cpu": cpu_name(),
        "cores": args.cores,
        "variants": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.workdir or tmp)
        for variant, overrides in VARIANTS.items():
            workdir = root / variant
            overlay = {
                "experiments": EXPERIMENTS,
                "results_dir": "results",
                "experiment_overrides": overrides,
                "report": {
                    "title": f"probes vs CNN ({variant})",
                    "compare": [[p, "demo_cnn"] for p in EXPERIMENTS[1:]],
                },
            }
            wall = run_workflow(workdir, args.configfile, overlay, args.cores, 0)
            results = workdir / "results"
            report["variants"][variant] = {
                "experiment_overrides": overrides,
                "wall_s": round(wall, 1),
                "embedding_stage": embedding_stage(results),
                "experiments": {e: experiment_summary(results, e) for e in EXPERIMENTS},
                "paired_macro_f1_difference_to_demo_cnn": {
                    p: paired_to_cnn(results, p, args.bootstrap) for p in EXPERIMENTS[1:]
                },
            }
    write_report(report, args.out)


if __name__ == "__main__":
    main()

"""Benchmark: does a probe trained on bf16 BirdNET embeddings score what one on fp32 does?

Runs the real `snakemake` twice on a data config (default: the demo, config/config.yaml) with
the probe experiments emb_birdnet_linear and emb_birdnet_mlp and the embeddings on the torch
network (`embeddings.runtime: torch`), once in fp32 and once in bf16 (`embeddings.precision`;
a CPU with bf16 instructions or a GPU), each in a fresh working directory. Writes JSON with
how far the bf16 embeddings are from the fp32 ones (largest absolute difference, smallest
cosine, over every window), each experiment's test macro F1 and AP per seed with their
recording-bootstrap intervals, and the paired difference bf16 - fp32 of macro F1 (by test
recording, the report's paired comparison), and the embedding stage's time.

    .venv/bin/python -m benchmarks.science.bf16_embeddings --cores 2
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from anuraflow.evaluate.analysis import paired_intervals, run_predictions
from anuraflow.features.embeddings import read_embedding_cache
from benchmarks.harness import (
    REPO,
    config_label,
    cpu_facts,
    result_path,
    run_workflow,
    write_report,
)
from benchmarks.science.probe_vs_cnn import embedding_stage, experiment_summary

EXPERIMENTS = ["emb_birdnet_linear", "emb_birdnet_mlp"]
PRECISIONS = ("fp32", "bf16")


def predictions(results: Path, name: str) -> list:
    runs = []
    for path in sorted((results / "runs" / name).glob("seed*/metrics.json")):
        run = json.loads(path.read_text())
        runs.append(run_predictions(run, str(path.parent / "predictions.parquet")))
    return runs


def embedding_distance(fp32: Path, bf16: Path) -> dict:
    """bf16 against fp32 over every window of every recording's cache."""
    worst, cosines, windows = 0.0, [], 0
    for path in sorted((fp32 / "embeddings").glob("*.parquet")):
        _, a, _ = read_embedding_cache(path)
        _, b, meta = read_embedding_cache(bf16 / "embeddings" / path.name)
        if not len(a):
            continue
        assert meta["runtime"].startswith("torch bf16"), meta["runtime"]
        worst = max(worst, float(np.abs(a - b).max()))
        norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
        cosines.append(float(((a * b).sum(1) / np.maximum(norms, 1e-12)).min()))
        windows += len(a)
    return {"windows": windows, "max_abs": round(worst, 4), "min_cosine": round(min(cosines), 5)}


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configfile", default=str(REPO / "config" / "config.yaml"))
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--workdir", help="keep the runs here (default: a temp dir)")
    ap.add_argument("--out", default=str(result_path("bf16_embeddings")))
    return ap.parse_args()


def main() -> None:
    args = parse_args()
    report = {
        "what": "probes on bf16 vs fp32 BirdNET embeddings (torch network): test macro F1/AP %",
        "command": "python -m benchmarks.science.bf16_embeddings "
                   f"--cores {args.cores} --device {args.device}",
        "date": time.strftime("%Y-%m-%d"),
        "config": config_label(args.configfile),
        "cpu": cpu_facts(),
        "precisions": {},
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.workdir or tmp)
        results = {}
        for precision in PRECISIONS:
            workdir = root / precision
            overlay = {
                "experiments": EXPERIMENTS, "results_dir": "results",
                "embeddings": {"model_path": None, "threads": 1, "batch_size": 8,
                               "runtime": "torch", "precision": precision,
                               "device": args.device},
                "report": {"title": f"probes on {precision} embeddings", "compare": []},
            }  # fmt: skip
            wall = run_workflow(workdir, args.configfile, overlay, args.cores, 0)
            results[precision] = workdir / "results"
            report["precisions"][precision] = {
                "wall_s": round(wall, 1),
                "embedding_stage": embedding_stage(results[precision]),
                "experiments": {e: experiment_summary(results[precision], e) for e in EXPERIMENTS},
            }
        report["embedding_distance"] = embedding_distance(results["fp32"], results["bf16"])
        paired = {}
        for name in EXPERIMENTS:
            bf16, fp32 = (predictions(results[p], name) for p in ("bf16", "fp32"))
            out = paired_intervals(bf16, fp32, args.bootstrap, 0)
            paired[name] = None if out is None else {
                k: round(100 * out[k], 2) for k in ("estimate", "low", "high")}  # fmt: skip
        report["paired_macro_f1_bf16_minus_fp32"] = paired
    write_report(report, args.out)


if __name__ == "__main__":
    main()

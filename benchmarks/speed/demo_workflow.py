"""Benchmark: the default workflow end to end, from an empty working directory.

Runs the real `snakemake` on config/config.yaml (synthetic data included) in a fresh directory,
then writes JSON with the wall time, the per-rule cost from Snakemake's own benchmark files, the
demo model's test macro F1 (mean and std over seeds) and the issue's targets (at most 10 minutes
on 2 CPU cores; macro F1 at least 0.8).

    .venv/bin/python -m benchmarks.speed.demo_workflow --cores 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from anuraflow.core.fileio import json_text
from anuraflow.learn.acceleration import cpu_has_native_bf16
from benchmarks.harness import REPO, cpu_facts, cpu_name, result_path, rule_costs


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--workdir", help="working directory (default: a new temporary one)")
    parser.add_argument("--out", default=str(result_path("demo_workflow")))
    parser.add_argument(
        "--config", nargs="+", default=[],
        help="Snakemake --config values, e.g. 'experiment_overrides={precision: fp32}'",
    )  # fmt: skip
    return parser.parse_args()


def main() -> None:
    args = parse_args()

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="anuraflow-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        str(args.cores),
        *(["--config", *args.config] if args.config else []),
    ]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"snakemake failed:\n{proc.stderr[-4000:]}")

    results = workdir / "results"
    table = pd.read_csv(results / "report/metrics_table.tsv", sep="\t")
    runs = [
        json.loads(p.read_text()) for p in sorted((results / "runs").glob("*/seed*/metrics.json"))
    ]
    import torch

    report = {
        "benchmark": "demo_workflow",
        "command": " ".join(cmd),
        "machine": {
            "platform": platform.platform(),
            "cpu": cpu_name(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "native_bf16": cpu_has_native_bf16(),
            "cpu_count": os.cpu_count(),
            # where oneDNN / ATen were capped to an older CPU's instructions (harness.cpu_facts)
            "capped_to": cpu_facts().get("capped_to"),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cuda": torch.cuda.is_available(),
        },
        "cores": args.cores,
        "wall_s": round(wall, 1),
        "rules": rule_costs(results / "benchmarks"),
        "macro_f1_percent": table.to_dict(orient="records"),
        "runs": [
            {
                "experiment": r["experiment"],
                "seed": r["seed"],
                "best_epoch": r["best_epoch"],
                "macro_f1": r["macro_f1"],
                "train_seconds": round(r["train_seconds"], 1),
            }
            for r in runs
        ],
        "targets": {
            "wall_s_at_most_600": wall <= 600,
            "macro_f1_all_mean_at_least_80": bool((table["all_mean"] >= 80).all()),
        },
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json_text(report))
    print(json_text({k: report[k] for k in ("wall_s", "macro_f1_percent", "targets")}), end="")


if __name__ == "__main__":
    main()

"""Benchmark: the default workflow end to end, from an empty working directory.

Runs the real `snakemake` on config/config.yaml (synthetic data included) in a fresh directory,
then writes JSON with the wall time, the per-rule cost from Snakemake's own benchmark files, the
demo model's test macro F1 (mean and std over seeds) and the issue's targets (at most 10 minutes
on 2 CPU cores; macro F1 at least 0.8).

    .venv/bin/python benchmarks/demo_workflow.py --cores 2
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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from workflow_run import cpu_name  # noqa: E402

from anuraflow.core.fileio import json_text  # noqa: E402
from anuraflow.learn.acceleration import cpu_has_native_bf16  # noqa: E402


def rule_costs(benchmark_dir: Path) -> dict[str, dict]:
    """Per rule: job count, mean and total seconds, peak max_rss (MB) over its jobs."""
    rows = []
    for path in benchmark_dir.rglob("*.tsv"):
        rel = path.relative_to(benchmark_dir)
        rule = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        df = pd.read_csv(path, sep="\t")
        rows.append(
            {
                "rule": rule,
                "s": float(df["s"].iloc[-1]),
                "max_rss": pd.to_numeric(df["max_rss"], errors="coerce").iloc[-1],
            }
        )
    table = pd.DataFrame(rows)
    return {
        rule: {
            "jobs": len(g),
            "mean_s": round(g["s"].mean(), 3),
            "total_s": round(g["s"].sum(), 1),
            "max_rss_mb": round(float(g["max_rss"].max()), 1),
        }
        for rule, g in table.groupby("rule")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--workdir", help="working directory (default: a new temporary one)")
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/demo_workflow.json"))
    parser.add_argument(
        "--config", nargs="+", default=[],
        help="Snakemake --config values, e.g. 'experiment_overrides={precision: fp32}'",
    )  # fmt: skip
    args = parser.parse_args()

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

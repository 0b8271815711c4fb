"""Benchmark: how long `snakemake -n` takes to build the DAG at AnuraSet scale.

config/synthetic-anuraset-scale.yaml (1,612 recordings: 4,836 per-recording jobs) with
(i) the issue's 12 experiment configs x 3 seeds and (ii) config/paper-experiments.yaml (all
32 experiments of seeds 000-002 x 3 seeds). Wall time and peak RSS of the whole command (the
median of `--repeats` runs), and the job count it plans. Needs no data: the synthetic
recordings are known from the config.

    .venv/bin/python -m benchmarks.speed.dag_build
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

import yaml

from benchmarks.harness import REPO, result_path, timed_snakemake, write_report

SCALE = REPO / "config/synthetic-anuraset-scale.yaml"
PAPER = REPO / "config/paper-experiments.yaml"


def dry_run(configs: list[Path], workdir: Path) -> dict:
    cmd = [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
        "--directory", str(workdir), "--configfile", *map(str, configs), "-n", "--quiet", "rules",
    ]  # fmt: skip
    return {"command": " ".join(cmd), **timed_snakemake(cmd)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(result_path("dag_build")))
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="anuraflow-dag-"))
    (workdir / "config").symlink_to(REPO / "config")  # the scale config's split file is relative
    paper = yaml.safe_load(PAPER.read_text())["experiments"]
    twelve = workdir / "twelve-experiments.yaml"
    twelve.write_text(yaml.safe_dump({"experiments": paper[:12]}))
    cases = {"12_experiments_x_3_seeds": [SCALE, twelve], "paper_experiments": [SCALE, PAPER]}
    results = {}
    for name, configs in cases.items():
        runs = [dry_run(configs, workdir) for _ in range(args.repeats)]
        results[name] = {
            "command": runs[0]["command"],
            "jobs": runs[0]["jobs"],
            "wall_s_median": round(statistics.median(r["wall_s"] for r in runs), 2),
            "wall_s_runs": [round(r["wall_s"], 2) for r in runs],
            "peak_rss_mb": runs[-1]["peak_rss_mb"],
        }
        print(name, json.dumps(results[name]), flush=True)
    report = {
        "benchmark": "dag_build",
        "cases": results,
        "targets": {
            "dag_under_15_s": all(r["wall_s_median"] < 15 for r in results.values()),
        },
    }
    write_report(report, args.out)


if __name__ == "__main__":
    main()

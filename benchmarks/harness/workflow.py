"""The real workflow as the benchmarks run it: `snakemake` on a data config with an overlay in a
working directory, timed; what its benchmark files and dry runs say."""

from __future__ import annotations

import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from benchmarks.harness.report import REPO


def run_workflow(workdir: Path, configfile: str, overlay: dict, cores: int, gpus: int) -> float:
    """`snakemake` on `configfile` + `overlay` (written to the workdir); the wall seconds."""
    workdir.mkdir(parents=True, exist_ok=True)
    overlay_path = workdir / "benchmark-config.json"  # YAML is a superset of JSON
    overlay_path.write_text(json.dumps(overlay))
    cmd = [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
        "--directory", str(workdir), "--configfile", str(Path(configfile).resolve()),
        str(overlay_path), "--cores", str(cores), "--resources", f"gpu={gpus}",
    ]  # fmt: skip
    started = time.time()
    subprocess.run(cmd, check=True)
    return time.time() - started


def config_label(configfile: str) -> str:
    """The data config as the JSON records it: relative to the repository when inside it."""
    path = Path(configfile).resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def timed_snakemake(cmd: list[str]) -> dict:
    """Run a `snakemake` command (exit on failure): its wall seconds, the peak RSS of the
    largest child so far (meaningful while runs grow, as plans of ever more files do) and
    the number of jobs it reports."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stderr[-4000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KB
    total = re.search(r"^total\s+(\d+)", proc.stdout + proc.stderr, re.M)
    return {
        "wall_s": wall,
        "peak_rss_mb": round(max(peak, before) / 1024, 1),
        "jobs": int(total.group(1)) if total else None,
    }


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


def parse_planned_jobs(text: str) -> list[tuple[str, str]]:
    """(rule, recording wildcard or '') of every job in a dry run's output (the tests' and the
    benchmarks' one parser)."""
    jobs, rule = [], None
    for line in text.splitlines():
        m = re.match(r"^\s*(?:local)?rule (\w+):", line)
        if m:
            rule = m.group(1)
            jobs.append([rule, ""])
            continue
        m = re.match(r"^\s+wildcards: (.*)", line)
        if m and rule:
            rec = re.search(r"(?:recording|shard)=([^,\s]+)", m.group(1))
            jobs[-1][1] = rec.group(1) if rec else ""
    return [tuple(j) for j in jobs]

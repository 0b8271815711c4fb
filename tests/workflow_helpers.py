"""Running the real `snakemake` on a config in a temporary directory (for the workflow tests)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.harness import parse_planned_jobs

REPO = Path(__file__).resolve().parent.parent
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]


def snakemake(
    workdir: Path, *args: str, check: bool = True, fresh: bool = False
) -> subprocess.CompletedProcess:
    """`snakemake` on workdir's config.yaml; `fresh`: it and its jobs start fresh
    interpreters instead of forking from the warm job server (tests/warm_jobs)."""
    cmd = SNAKEMAKE + [
        "--directory",
        str(workdir),
        "--configfile",
        str(workdir / "config.yaml"),
        "--cores",
        "2",
        *args,
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if fresh:
        env["ANURAFLOW_WARM_JOBS"] = "0"
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed:\n{proc.stdout[-5000:]}\n{proc.stderr[-5000:]}"
        )
    return proc


def tiny_directory_config(codes: list[str], **extra) -> dict:
    """The tests' tiny config over their own recordings in data/raw (`data.source: directory`,
    tracked file by file), small log-mels, one experiment `tiny`; `extra` keys added on top."""
    return {
        "results_dir": "results",
        "data": {"source": "directory", "audio_dir": "data/raw", "annotation_dir": "data/raw"},
        "species": [{"code": c} for c in codes],
        "frequency_groups": {"frequent_min_windows": 30, "common_min_windows": 15},
        "features": {"n_mels": 64, "hop_length": 256},
        "experiments_dir": "experiments",
        "experiments": ["tiny"],
        **extra,
    }


def planned_jobs(workdir: Path, *args: str) -> list[tuple[str, str]]:
    """(rule, recording wildcard or '') of every job a dry run would run."""
    out = snakemake(workdir, "-n", *args)
    return parse_planned_jobs(out.stdout + out.stderr)


def strict_json(text: str):
    """json.loads that refuses Python's NaN / Infinity, as jq, JavaScript and R do."""

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def in_fresh_process(fn, *args, **kwargs):
    """fn(*args, **kwargs) in a spawned interpreter, its result returned: JAX starts threads at
    import, and a pytest worker that forks later (a DataLoader's workers) must not hold them.
    `fn` must be importable (a module-level function)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args, **kwargs).result()

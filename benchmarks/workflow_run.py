"""What the experiment benchmarks share: run the real workflow on a data config with an
overlay in a working directory, and write the JSON result."""

from __future__ import annotations

import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from anuraflow.core.fileio import json_text  # noqa: E402


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


def cpu_name() -> str:
    """The CPU's model name (platform.processor() is empty on most Linux systems)."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    """The CPU's instruction-set flags from /proc/cpuinfo (empty where there is none)."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def write_report(report: dict, out: str | Path) -> None:
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json_text(report))
    print(json_text(report), end="")


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

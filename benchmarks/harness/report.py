"""Where a benchmark's JSON goes and how it is written: one folder per benchmark under
benchmarks/results/, one file per machine (and variant), so a rerun elsewhere never
overwrites another machine's figure."""

from __future__ import annotations

from pathlib import Path

from anuraflow.core.fileio import json_text
from benchmarks.harness.machine import machine_tag

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "benchmarks" / "results"


def result_path(benchmark: str, variant: str = "", device: str | None = None) -> Path:
    """benchmarks/results/<benchmark>/<machine>[_<variant>].json for this machine (or the
    CUDA `device` that ran it)."""
    name = machine_tag(device) + (f"_{variant}" if variant else "")
    return RESULTS / benchmark / f"{name}.json"


def write_report(report: dict, out: str | Path) -> None:
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json_text(report))
    print(json_text(report), end="")

"""gpu_check.sh's last step: one JSON naming the device, with every step's status and result.

    python -m tools.gpu_check_summary OUT_DIR DRY_RUN(0|1) MACHINE

Exits 1 when a step failed, so the device call's exit status says whether all of it ran.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import torch

from benchmarks.harness import cpu_name, write_report

# each step's result under OUT_DIR, by benchmark and machine (gpu_check.sh's --out paths)
STEPS = {
    "gpu_tests": "gpu_check/{machine}/gpu_tests.xml",
    "data_path": "data_path/{machine}_mobilenetv3_large.json",
    "epoch_time": "epoch_time/{machine}.json",
    "predict": "predict_throughput/{machine}.json",
    "embeddings": "birdnet_torch_profile/{machine}.json",
}


def test_counts(path: Path) -> dict:
    """pytest's junit XML as counts, and the names of the tests that did not pass."""
    suite = ET.parse(path).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    bad = [
        case.get("name")
        for case in suite.iter("testcase")
        if case.find("failure") is not None or case.find("error") is not None
    ]
    return {**counts, "not_passed": bad}


def main() -> None:
    out, dry, machine = Path(sys.argv[1]), sys.argv[2] == "1", sys.argv[3]
    logs = out / "gpu_check" / machine
    cuda = torch.cuda.is_available() and not dry
    report = {
        "benchmark": "gpu_check",
        "dry_run": dry,
        "device": torch.cuda.get_device_name(0) if cuda else f"CPU: {cpu_name()}",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "steps": {},
    }
    failed = []
    for name, result in STEPS.items():
        rc, seconds = (int(v) for v in (logs / f"{name}.status").read_text().split())
        entry = {"exit": rc, "seconds": seconds, "log": f"gpu_check/{machine}/{name}.log"}
        path = out / result.format(machine=machine)
        if path.exists():
            entry["result"] = (
                test_counts(path) if path.suffix == ".xml" else json.loads(path.read_text())
            )
        if rc != 0:
            failed.append(name)
        report["steps"][name] = entry
    report["failed_steps"] = failed
    write_report(report, out / "gpu_check" / f"{machine}.json")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

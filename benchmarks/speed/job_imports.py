"""Benchmark: what a job pays before it works - the wall time of a fresh Python process that
imports a job's module (median of `--runs`), and whether scikit-learn and SciPy come with it.

    .venv/bin/python -m benchmarks.speed.job_imports --runs 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from benchmarks.harness import REPO, cpu_name, result_path, write_report

MODULES = [
    "anuraflow.learn.run",  # train_model
    "anuraflow.detect.predict",  # predict_shard (via anuraflow.detect.shard)
    "sklearn.metrics",  # what the jobs imported for AP and AUROC before issue 34
]
CHECK = "import sys, {m}; print(int('sklearn' in sys.modules), int('scipy' in sys.modules))"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", default=str(result_path("job_imports")))
    args = ap.parse_args()
    rows = {}
    for module in MODULES:
        walls = []
        for _ in range(args.runs):
            started = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", CHECK.format(m=module)],
                capture_output=True, text=True, check=True, cwd=REPO,
            )  # fmt: skip
            walls.append(time.perf_counter() - started)
        sklearn, scipy = (bool(int(v)) for v in out.stdout.split())
        rows[module] = {
            "median_s": round(statistics.median(walls), 2),
            "imports_sklearn": sklearn,
            "imports_scipy": scipy,
        }
    write_report(
        {
            "benchmark": "job_imports",
            "command": " ".join(["benchmarks/speed/job_imports.py", *sys.argv[1:]]),
            "cpu": cpu_name(),
            "runs": args.runs,
            "imports": rows,
        },
        args.out,
    )


if __name__ == "__main__":
    main()

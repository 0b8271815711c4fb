#!/usr/bin/env bash
# The test suite: install, then unit tests and workflow tests (real snakemake runs).
set -euo pipefail
cd "$(dirname "$0")"
bash bin/bootstrap.sh
.venv/bin/ruff check anuraflow workflow/scripts tests benchmarks tools docs
.venv/bin/snakefmt --check Snakefile rules
set +e
# three workers (pytest-xdist) on CI's two cores: the SLURM file's worker mostly waits (job
# queueing and status polling at little CPU), so a third worker fills those gaps
# (docs/benchmarks.md has the times). Each worker starts a warm job server for the Snakemake
# processes and jobs the tests run (tests/warm_jobs; ANURAFLOW_WARM_JOBS=0 turns it off).
# A file's tests stay on one worker, so its module fixtures (the trained tiny runs) are
# built once; files go out in collection order, the longest first (tests/conftest.py), not
# by number of tests. TEST_WORKERS=0 runs them in this process.
# Three workers on two cores oversubscribe on purpose, so torch's OpenMP threads sleep when
# idle instead of spinning: spinning threads took the cores from the working ones (three
# 2-thread training processes at once: 20 s and 13.6 CPU-s each spinning, 16 s and 10.6
# CPU-s passive; docs/development.md). A run of the workflow on its own keeps the default.
export OMP_WAIT_POLICY=PASSIVE
.venv/bin/python -m pytest -q -n "${TEST_WORKERS:-3}" --dist loadfile --no-loadscope-reorder --durations 25 "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests" >&2
    exit 1
fi
exit "$rc"

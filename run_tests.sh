#!/usr/bin/env bash
# The test suite: install, then unit tests and workflow tests (real snakemake runs).
set -euo pipefail
cd "$(dirname "$0")"
bash bin/bootstrap.sh
.venv/bin/ruff check anuraflow workflow/scripts tests benchmarks docs
.venv/bin/snakefmt --check Snakefile rules
set +e
.venv/bin/python -m pytest -q "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests" >&2
    exit 1
fi
exit "$rc"

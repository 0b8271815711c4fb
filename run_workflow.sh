#!/usr/bin/env bash
# The main job: install, run the whole workflow on the default config, build Snakemake's report.
# Extra arguments go to snakemake, e.g. ./run_workflow.sh --configfile config/my.yaml
set -euo pipefail
cd "$(dirname "$0")"
bash bin/bootstrap.sh
.venv/bin/snakemake --cores "${CORES:-2}" "$@"
.venv/bin/snakemake --cores "${CORES:-2}" "$@" --report results/snakemake_report.html
echo "report: results/report/report.html (Snakemake provenance report: results/snakemake_report.html)"

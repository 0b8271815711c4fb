#!/usr/bin/env bash
# The main job: install, run the whole workflow on the default config, build Snakemake's report.
# Extra arguments go to snakemake, e.g. ./run_workflow.sh --configfile config/my.yaml;
# with -n / --dry-run it only plans.
set -euo pipefail
cd "$(dirname "$0")"
bash bin/bootstrap.sh
# --rerun-incomplete: a job killed earlier reruns (training resumes from its last epoch)
.venv/bin/snakemake --cores "${CORES:-2}" --rerun-incomplete "$@"
for arg in "$@"; do
    case "$arg" in -n | --dry-run | --dryrun) exit 0 ;; esac
done
.venv/bin/snakemake --cores "${CORES:-2}" "$@" --report results/snakemake_report.html
echo "report: results/report/report.html (Snakemake provenance report: results/snakemake_report.html)"

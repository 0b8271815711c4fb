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
# where this run's results are (its config's results_dir, below --directory), and its own
# provenance report: snakemake_report.html for the whole workflow, snakemake_report-<target>
# .html for predict, suggest, search (anuraflow/core/run_paths.py)
mapfile -t paths < <(.venv/bin/python -m anuraflow.core.run_paths "$@")
.venv/bin/snakemake --cores "${CORES:-2}" "$@" --report "${paths[1]}"
echo "results: ${paths[2]} (Snakemake provenance report: ${paths[1]})"

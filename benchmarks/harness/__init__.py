"""What every benchmark shares: where the repository and the results are, which machine ran
it, how its JSON is written, and the real workflow run and read back. Benchmarks run as
modules from the repository root (`.venv/bin/python -m benchmarks.speed.data_path`), so
they and the tests import this package by name."""

from benchmarks.harness.audio import real_windows_48k
from benchmarks.harness.machine import cpu_facts, cpu_flags, cpu_name, machine_tag
from benchmarks.harness.report import REPO, RESULTS, result_path, write_report
from benchmarks.harness.workflow import (
    config_label,
    parse_planned_jobs,
    rule_costs,
    run_workflow,
    timed_snakemake,
)

__all__ = [
    "REPO", "RESULTS", "config_label", "cpu_facts", "cpu_flags", "cpu_name", "machine_tag",
    "parse_planned_jobs", "real_windows_48k", "result_path", "rule_costs", "run_workflow",
    "timed_snakemake", "write_report",
]  # fmt: skip

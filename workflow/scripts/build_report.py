"""Rule build_report: aggregate every run into report.html, a metrics table and figures."""

from anuraflow.fileio import redirect_output
from anuraflow.report import build_report

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    build_report(
        metrics_paths=list(sm.input.metrics),
        history_paths=list(sm.input.histories),
        windows_path=sm.input.windows,
        splits_path=sm.input.splits,
        manifest_path=sm.input.manifest,
        species_entries=sm.params.species,
        group_thresholds=sm.params.groups,
        outputs=dict(sm.output.items()),
        title=sm.params.title,
        config=sm.params.config,
        orphan_label_files=sm.params.orphan_label_files,
        compare=sm.params.compare,
    )

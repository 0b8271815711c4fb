"""Rule build_report: aggregate every run into report.html, metric tables and figures."""

from anuraflow.core.fileio import redirect_output
from anuraflow.report.page import ReportInputs, ReportSettings, build_report

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    build_report(
        ReportInputs(
            metrics=list(sm.input.metrics),
            histories=list(sm.input.histories),
            predictions=list(sm.input.predictions),
            intervals=list(sm.input.intervals),
            embeddings=list(sm.input.embeddings),
            audio_dir=sm.params.audio_dir,
            windows=sm.input.windows,
            splits=sm.input.splits,
            manifest=sm.input.manifest,
            split_balance=sm.input.split_balance,
            review_labels=sm.input.get("review_labels") or None,
            validation=list(sm.input.validation) or None,
            occupancy=list(sm.input.occupancy) or None,
        ),
        ReportSettings(
            species_entries=sm.params.species,
            group_thresholds=sm.params.groups,
            title=sm.params.title,
            config=sm.params.config,
            orphan_label_files=sm.params.orphan_label_files or [],
            ignored_files=sm.params.ignored_files or [],
            compare=sm.params.compare or [],
            review_k=sm.params.review_k,
            bootstrap=sm.params.bootstrap or {},
        ),
        outputs=dict(sm.output.items()),
    )

"""Rule merge_archive_labels: the labels files' decisions on the archive's windows."""

from anuraflow.core.fileio import redirect_output
from anuraflow.detect.validation_sample import merge_archive_labels

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    merge_archive_labels(
        list(sm.input.files),
        list(sm.input.scores),
        list(sm.input.records),
        sm.output.decisions,
        sm.output.record,
    )

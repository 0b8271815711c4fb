"""Rule merge_annotations: one normalised annotations.parquet for all recordings."""

from anuraflow.core.fileio import redirect_output
from anuraflow.data.annotations import merge_annotations

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    merge_annotations(list(sm.input), sm.output[0])

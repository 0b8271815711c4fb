"""Rule merge_annotations: one normalised annotations.parquet for all recordings."""

from anuraflow.annotations import merge_annotations
from anuraflow.fileio import redirect_output

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    merge_annotations(list(sm.input), sm.output[0])

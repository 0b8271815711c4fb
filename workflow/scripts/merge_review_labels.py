"""Rule merge_review_labels: the review pages' labels files -> one table of decisions."""

from anuraflow.core.fileio import redirect_output
from anuraflow.data.review_labels import merge_review_labels

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    merge_review_labels(
        list(sm.input.files),
        sm.input.manifest,
        sm.params.codes,
        sm.params.grid,
        sm.output.decisions,
        sm.output.record,
        frozenset(sm.params.archive),
    )

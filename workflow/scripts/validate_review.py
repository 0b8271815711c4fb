"""Rule validate_review: the labelling page of the sample's undecided windows."""

from anuraflow.core.fileio import redirect_output
from anuraflow.detect.validation_sample import write_validation_page

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    write_validation_page(
        sm.input.sample,
        sm.input.decisions,
        list(sm.input.records),
        (sm.output.page, sm.output.clips),
        sm.params.name,
        sm.params.seed,
    )

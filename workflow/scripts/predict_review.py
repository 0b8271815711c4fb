"""Rule predict_review: every species' top-scoring windows on the labelling page."""

from anuraflow.core.fileio import redirect_output
from anuraflow.detect.detection_review import write_detection_review

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    write_detection_review(
        list(sm.input.records),
        list(sm.input.scores),
        sm.output.page,
        sm.output.clips,
        sm.params.name,
        sm.params.k,
    )

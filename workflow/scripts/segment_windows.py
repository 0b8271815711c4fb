"""Rule segment_windows: sliding windows with multi-hot labels -> windows.parquet."""

from anuraflow.core.fileio import redirect_output
from anuraflow.data.review_labels import ReviewDecisions
from anuraflow.data.windows import segment_dataset

sm = snakemake  # noqa: F821 (injected by Snakemake)
w = sm.params.windows
review = sm.input.get("review")
with redirect_output(sm.log[0]):
    segment_dataset(
        sm.input.manifest,
        sm.input.annotations,
        sm.output[0],
        sm.params.codes,
        w["length_s"],
        w["hop_s"],
        w["min_overlap_s"],
        w.get("label_rule", "overlap"),
        revise=ReviewDecisions(review, sm.params.codes) if review else None,
        unlabelled=sm.params.unlabelled,
    )

"""Rule predict_summary: all detections, calling activity by site and hour, recording status."""

from anuraflow.core.fileio import redirect_output
from anuraflow.detect.summary import summarise_detections

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    summarise_detections(sm.input, dict(sm.output), sm.params.on_bad_recording)

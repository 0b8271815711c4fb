"""Rule ingest_recording: standardise one raw recording and record it in the manifest."""

from anuraflow.audio import standardise_recording
from anuraflow.fileio import redirect_output

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    standardise_recording(
        sm.input.audio,
        sm.output.audio,
        sm.output.manifest,
        sm.params.sample_rate,
        recording_id=sm.wildcards.recording,
    )

"""Rule ingest_recording: standardise one raw recording and record it in the manifest."""

from anuraflow.audio import standardise_recording
from anuraflow.fileio import redirect_output

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    record = standardise_recording(
        sm.input.audio,
        sm.output.audio,
        sm.output.manifest,
        sm.params.sample_rate,
        recording_id=sm.wildcards.recording,
        min_duration_s=sm.params.min_duration_s,
        on_bad_recording=sm.params.on_bad_recording,
    )
    if record["status"] == "skipped":
        print(f"skipped (on_bad_recording: skip): {record['problem']}")

"""Rule compute_features: one recording's log-mel, cached in Parquet."""

from anuraflow.features import LogMelConfig, cache_recording_features
from anuraflow.fileio import redirect_output

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    cache_recording_features(
        sm.input[0], sm.output[0], sm.wildcards.recording, LogMelConfig(**sm.params.features)
    )

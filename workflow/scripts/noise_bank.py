"""Rule noise_bank: log-mels of every noise recording in one Parquet cache."""

from anuraflow.core.fileio import redirect_output
from anuraflow.features.logmel import LogMelConfig, cache_noise_bank

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    cache_noise_bank(list(sm.input), sm.output[0], LogMelConfig(**sm.params.features))

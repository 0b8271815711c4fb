"""Rule noise_bank: log-mels of every noise recording in one Parquet cache."""

from anuraflow.features import LogMelConfig, cache_noise_bank
from anuraflow.fileio import redirect_output

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    cache_noise_bank(list(sm.input), sm.output[0], LogMelConfig(**sm.params.features))

"""Rule waveform_index: one table of every recording's waveform cache, with checksums."""

from anuraflow.core.fileio import redirect_output
from anuraflow.features.waveforms import index_waveform_caches

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    index_waveform_caches(list(sm.input), sm.output[0], threads=sm.threads)

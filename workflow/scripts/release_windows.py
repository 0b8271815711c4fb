"""Rule release_windows: the release's clips and labels -> windows.parquet."""

from anuraflow.core.fileio import redirect_output
from anuraflow.data.release import release_windows

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    release_windows(sm.input.metadata, sm.input.manifest, sm.output[0], sm.params.codes)

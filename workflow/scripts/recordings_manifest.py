"""Rule recordings_manifest: merge per-recording ingest records into recordings.parquet."""

from anuraflow.fileio import redirect_output
from anuraflow.recordings import merge_manifest

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    merge_manifest(list(sm.input), sm.output[0])

"""Rule recordings_manifest: merge per-recording ingest and annotation records."""

from anuraflow.core.fileio import redirect_output
from anuraflow.data.recordings import merge_manifest

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    merge_manifest(
        list(sm.input.ingest), list(sm.input.annotations), sm.output[0], sm.params.policies
    )

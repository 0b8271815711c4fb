"""Rule release_index: check metadata.csv and the clips once."""

from anuraflow.core.fileio import redirect_output
from anuraflow.data.release import index_release

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    index_release(
        sm.params.release_dir,
        sm.params.codes,
        sm.output.clips,
        sm.output.metadata,
        sm.output.split,
        sm.params.on_bad_recording,
        sm.params.on_bad_annotation,
    )

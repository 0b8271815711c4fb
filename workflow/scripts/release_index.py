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
        # recorded, not raised: recordings_manifest applies both policies
        on_bad_recording="skip",
        on_bad_annotation="skip",
    )

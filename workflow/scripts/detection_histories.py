"""Rule detection_histories: per species, site and occasion, detected or not, with the effort."""

from anuraflow.core.fileio import redirect_output
from anuraflow.ecology.occasions import Occasions
from anuraflow.ecology.run import ArchiveInputs, write_detection_histories

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    write_detection_histories(
        ArchiveInputs(list(sm.input.scores), list(sm.input.records), sm.input.precision or None),
        Occasions.from_config(sm.params.occupancy),
        sm.params.model,
        dict(sm.output.items()),
    )

"""Rule occupancy_fit: the naive estimate and biolith's occupancy models per species."""

from pathlib import Path

from anuraflow.core.fileio import redirect_output
from anuraflow.ecology.occupancy_models import FitSettings
from anuraflow.ecology.run import fit_occupancy

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    fit_occupancy(
        sm.input.histories,
        str(Path(sm.input.folder) / "histories.json"),
        FitSettings.from_config(sm.params.occupancy),
        dict(sm.output.items()),
        (sm.input.decisions, list(sm.input.records)) if sm.input.decisions else None,
    )

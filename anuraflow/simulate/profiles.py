"""The full plan of a config's `synthetic` section, by its profile: `uniform` (each tier's
species sing in a share of the recordings, in one or two bouts; the demo) or `anuraset`
(AnuraSet's published statistics, `anuraflow.simulate.anuraset_like`)."""

from __future__ import annotations

from anuraflow.simulate.anuraset_like import plan_anuraset_like
from anuraflow.simulate.plan import PlannedRecording, SyntheticSpec


def plan_recordings(spec: SyntheticSpec, codes: list[str]) -> list[PlannedRecording]:
    """Names, formats, species (and for the anuraset profile, bouts) of each recording."""
    if spec.profile == "anuraset":
        plans = plan_anuraset_like(codes, spec, **(spec.anuraset or {}))[0]
        return spec.unlabel(plans)
    return spec.recordings(codes)

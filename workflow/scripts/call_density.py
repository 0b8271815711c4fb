"""Rule call_density: per species and site the share of windows holding a call."""

from anuraflow.core.fileio import redirect_output
from anuraflow.core.settings import settings_from
from anuraflow.detect.validation import ValidateInputs
from anuraflow.detect.validation_sample import SampleDesign
from anuraflow.ecology.run import write_call_density

sm = snakemake  # noqa: F821 (injected by Snakemake)
v = sm.params.validate
with redirect_output(sm.log[0]):
    write_call_density(
        ValidateInputs(
            list(sm.input.scores),
            list(sm.input.records),
            sm.input.sample,
            sm.input.decisions,
            frozenset(sm.params.exclude),
        ),  # fmt: skip
        settings_from(SampleDesign, v),
        sm.params.level,
        sm.output[0],
    )

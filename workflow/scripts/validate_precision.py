"""Rule validate_precision: precision and true detections per species from the decisions."""

from anuraflow.core.fileio import redirect_output
from anuraflow.core.settings import settings_from
from anuraflow.detect.validation import ValidateInputs, ValidateSettings, validate_precision
from anuraflow.detect.validation_sample import SampleDesign

sm = snakemake  # noqa: F821 (injected by Snakemake)
v = sm.params.validate
with redirect_output(sm.log[0]):
    validate_precision(
        ValidateInputs(
            list(sm.input.scores),
            list(sm.input.records),
            sm.input.sample,
            sm.input.decisions,
            frozenset(sm.params.exclude),
        ),  # fmt: skip
        settings_from(SampleDesign, v),
        ValidateSettings.from_config(v),
        dict(sm.output.items()),
    )

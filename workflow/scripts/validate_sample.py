"""Rule validate_sample: each species' windows drawn within its score bins."""

from anuraflow.core.fileio import redirect_output
from anuraflow.core.settings import settings_from
from anuraflow.detect.predict_outputs import read_records
from anuraflow.detect.validation_sample import SampleDesign, write_validation_sample

sm = snakemake  # noqa: F821 (injected by Snakemake)
v = sm.params.validate
with redirect_output(sm.log[0]):
    write_validation_sample(
        list(sm.input.scores),
        read_records(list(sm.input.records)).model.codes,
        settings_from(SampleDesign, v),
        sm.output.sample,
        sm.output.strata,
        frozenset(sm.params.exclude),
    )

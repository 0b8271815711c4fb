"""Rule run_intervals: one run's 95 % intervals from a bootstrap over its test recordings."""

from anuraflow.core.fileio import redirect_output
from anuraflow.evaluate.analysis import write_run_intervals

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    write_run_intervals(
        sm.input.metrics, sm.input.predictions, sm.output[0], sm.params.n_boot, sm.params.seed
    )

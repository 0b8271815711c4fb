"""Rule site_folds: leave-one-site-out folds (split.method: by_site)."""

from anuraflow.core.fileio import redirect_output
from anuraflow.data.splits import site_folds

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    site_folds(sm.input[0], sm.output[0], sm.params.sites)

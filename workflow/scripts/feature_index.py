"""Rule feature_index: one table of every recording's feature cache, with checksums."""

from anuraflow.features import index_feature_caches
from anuraflow.fileio import redirect_output

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    index_feature_caches(list(sm.input), sm.output[0], threads=sm.threads)

"""Rule embedding_index: one table of every recording's embedding cache, with checksums."""

from anuraflow.core.fileio import redirect_output
from anuraflow.features.embeddings import index_embedding_caches

sm = snakemake  # noqa: F821 (injected by Snakemake)
with redirect_output(sm.log[0]):
    index_embedding_caches(list(sm.input), sm.output[0], threads=sm.threads)

"""Rule search_windows: rank the archive's windows by similarity to the query windows."""

from anuraflow.core.fileio import redirect_output
from anuraflow.detect.search import SearchOutputs, SearchQuery, search_archive

sm = snakemake  # noqa: F821 (injected by Snakemake)
s = sm.params.search
with redirect_output(sm.log[0]):
    search_archive(
        list(sm.params.archive_caches),  # inside sm.input.archive (files or shard folders)
        SearchQuery(
            sm.params.query_cache,
            sm.params.query,
            table=s["table"],
            window_ids=tuple(s["window_ids"]),
            label=s["label"],
        ),
        sm.params.audio_of,
        top_k=s["top_k"],
        outputs=SearchOutputs(sm.output.hits, sm.output.raven, sm.output.page, sm.output.clips),
        codes=sm.params.codes,
        name=s["name"],
    )

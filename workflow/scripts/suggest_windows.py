"""Rule suggest_windows: rank the unlabelled windows for review and write the review page."""

from anuraflow.core.fileio import redirect_output
from anuraflow.core.settings import settings_from
from anuraflow.detect.search import SearchQuery
from anuraflow.detect.suggest import Strategy, SuggestInputs, SuggestOutputs, suggest_windows

sm = snakemake  # noqa: F821 (injected by Snakemake)
s, q = sm.params.suggest, sm.params.search
query = None
if sm.params.query_cache:  # inside sm.input.query (a file or a shard folder)
    query = SearchQuery(sm.params.query_cache, sm.params.query, table=q["table"],
                        window_ids=tuple(q["window_ids"]), label=q["label"])  # fmt: skip
unlabelled = sm.params.unlabelled
with redirect_output(sm.log[0]):
    suggest_windows(
        SuggestInputs(
            sm.input.model,
            list(sm.params.archive_caches),
            list(sm.input.dataset),
            sm.input.windows,
            sm.input.review or None,
            None if unlabelled is None else frozenset(unlabelled),
            query,
        ),
        sm.params.audio_of,
        settings_from(Strategy, s),
        threshold=s["threshold"],
        outputs=SuggestOutputs(sm.output.table, sm.output.page, sm.output.clips),
        name=s["name"],
    )

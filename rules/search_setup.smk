# The `search` section, checked when the DAG is built: the query, the archive searched and
# the recordings outside the dataset that need their embeddings (rules in search.smk).


def external_cache(recording):
    """The embedding cache of a recording outside the dataset (rule external_embeddings)."""
    return f"{RESULTS}/search/embeddings/{recording}.parquet"


ARCHIVE_EMBEDDINGS = f"{RESULTS}/search/archive_embeddings"


def archive_cache(recording):
    """The embedding cache of a recording of the predict archive, in its shard's folder
    (made by rule archive_embeddings, one job per shard of predict as predict_shard)."""
    return f"{ARCHIVE_EMBEDDINGS}/{PREDICT_SHARD_OF[recording]}/{recording}.parquet"


def cache_inputs(caches):
    """What makes each cache, as a rule's input: the file itself, or for an archive
    recording its shard's folder (each once, in order)."""
    made = [
        str(Path(c).parent) if c.startswith(f"{ARCHIVE_EMBEDDINGS}/") else c
        for c in caches
    ]
    return list(dict.fromkeys(made))


def search_setup():
    """The `search` section checked: (output folder, archive recording -> (embedding cache,
    audio the clips are cut from), the query's recording id and cache, recordings outside the
    dataset -> audio file); None without a `search` section."""
    s = config.get("search")
    if s is None:
        return None
    try:
        check_embedding_model(config["embeddings"]["model_path"])
    except EmbeddingModelMissing as err:
        raise WorkflowError(f"search: {err}") from None
    if bool(s["table"]) == bool(s["window_ids"]):
        raise WorkflowError(
            "search: give the query as search.table (a Raven table) or search.window_ids"
        )
    if s["table"] and not Path(s["table"]).is_file():
        raise WorkflowError(f"search.table: file {s['table']!r} does not exist")
    external = {}  # recordings outside the dataset -> their audio file
    if s["archive"] == "predict":
        if not PREDICT:
            raise WorkflowError(
                "search.archive: predict needs a 'predict' section (its audio_dir)"
            )
        archive = {r: (archive_cache(r), a) for r, a in PREDICT_SOURCES.items()}
    else:
        archive = {
            r: (f"{RESULTS}/embeddings/{r}.parquet", f"{RESULTS}/audio/{r}.wav")
            for r in RECORDINGS
        }
    query, path = s["recording"], Path(s["recording"])
    if path.is_file() and path.stem in archive:  # a file of the archive, by its path
        query = path.stem
    if query in archive:
        query_cache = archive[query][0]
    elif query in SOURCES:
        query_cache = f"{RESULTS}/embeddings/{query}.parquet"
    elif path.is_file():  # a file outside the dataset and the archive
        query = path.stem
        external[query] = s["recording"]
        query_cache = external_cache(query)
    else:
        raise WorkflowError(
            f"search.recording: {query!r} is neither a recording of the dataset (or of the "
            "searched archive) nor an audio file"
        )
    return f"{RESULTS}/search/{s['name']}", archive, query, query_cache, external


SEARCH = search_setup()
SEARCH_DIR, SEARCH_ARCHIVE, SEARCH_QUERY, SEARCH_QUERY_CACHE, SEARCH_EXTERNAL = (
    SEARCH
    or (
        None,
        {},
        None,
        None,
        {},
    )
)


def search_missing():
    raise WorkflowError(
        "the target 'search' needs a 'search' section in the config (recording, and table or "
        "window_ids; see config/README.md)"
    )

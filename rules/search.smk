# Search by example (target `search`): rank every window of the dataset, or of
# predict.audio_dir's recordings, by the cosine similarity of its BirdNET embedding to query
# windows; the top k as Raven tables and a review page (anuraflow/detect/search.py).


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
        external.update(PREDICT_SOURCES)
        archive = {
            r: (f"{RESULTS}/search/embeddings/{r}.parquet", a)
            for r, a in external.items()
        }
    else:
        archive = {
            r: (f"{RESULTS}/embeddings/{r}.parquet", f"{RESULTS}/audio/{r}.wav")
            for r in RECORDINGS
        }
    query = s["recording"]
    # a file of the archive given by its path: its recording id
    if Path(query).is_file() and Path(query).stem in archive:
        query = Path(query).stem
    if query in archive:
        query_cache = archive[query][0]
    elif query in SOURCES:
        query_cache = f"{RESULTS}/embeddings/{query}.parquet"
    elif Path(query).is_file():
        external[Path(query).stem] = query
        query, query_cache = (
            Path(query).stem,
            f"{RESULTS}/search/embeddings/{Path(query).stem}.parquet",
        )
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


if SEARCH:

    # a recording outside the dataset (the predict archive, a query file), embedded on the
    # grid of its own duration
    rule external_embeddings:
        input:
            audio=lambda w: SEARCH_EXTERNAL[w.recording],
        output:
            f"{RESULTS}/search/embeddings/{{recording}}.parquet",
        params:
            grid=(config["windows"]["length_s"], config["windows"]["hop_s"]),
            embeddings=config["embeddings"],
        log:
            f"{RESULTS}/logs/search_embeddings/{{recording}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/search_embeddings/{{recording}}.tsv"
        threads: config["embeddings"]["threads"]
        resources:
            mem_mb=2000,
            runtime=30,
        run:
            from anuraflow.core.fileio import job_log
            from anuraflow.features.jobs import (
                EmbeddingSettings,
                archive_embeddings_job,
            )

            with job_log(log[0]) as say:
                archive_embeddings_job(
                    input.audio,
                    output[0],
                    wildcards.recording,
                    params.grid,
                    EmbeddingSettings(**{**params.embeddings, "threads": threads}),
                    say,
                )

    rule search_windows:
        input:
            archive=[cache for cache, _ in SEARCH_ARCHIVE.values()],
            audio=[audio for _, audio in SEARCH_ARCHIVE.values()],
            query=SEARCH_QUERY_CACHE,
            table=config["search"]["table"] or [],
        output:
            hits=f"{SEARCH_DIR}/hits.csv",
            raven=directory(f"{SEARCH_DIR}/raven"),
            page=f"{SEARCH_DIR}/review.html",
            clips=directory(f"{SEARCH_DIR}/clips"),
        params:
            search=config["search"],
            query=SEARCH_QUERY,
            audio_of={r: audio for r, (_, audio) in SEARCH_ARCHIVE.items()},
        log:
            f"{RESULTS}/logs/search_windows/{config['search']['name']}.log",
        benchmark:
            f"{RESULTS}/benchmarks/search_windows/{config['search']['name']}.tsv"
        threads: 1
        resources:
            mem_mb=4000,
            runtime=30,
        conda:
            "../envs/report.yaml"
        script:
            "../workflow/scripts/search_windows.py"


rule search:
    input:
        lambda w: (
            [f"{SEARCH_DIR}/hits.csv", f"{SEARCH_DIR}/review.html"]
            if SEARCH
            else search_missing()
        ),


def search_missing():
    raise WorkflowError(
        "the target 'search' needs a 'search' section in the config (recording, and table or "
        "window_ids; see config/README.md)"
    )

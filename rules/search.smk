# Search by example (target `search`): rank every window of the dataset, or of
# predict.audio_dir's recordings, by the cosine similarity of its BirdNET embedding to query
# windows; the top k as Raven tables and a review page (anuraflow/detect/search.py).


if EXTERNAL_AUDIO:

    # a recording outside the dataset (the predict archive, a query file), embedded on the
    # grid of its own duration
    rule external_embeddings:
        input:
            audio=lambda w: EXTERNAL_AUDIO[w.recording],
        output:
            external_cache("{recording}"),
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
            from anuraflow.features.jobs import external_embeddings_job

            external_embeddings_job(
                input.audio,
                output[0],
                log[0],
                wildcards.recording,
                params.grid,
                {**params.embeddings, "threads": threads},
            )


if PREDICT:

    # the predict archive's embeddings, one job per shard of predict (as predict_shard), each
    # recording's cache in the shard's folder; a file that cannot be read gets no rows
    rule archive_embeddings:
        input:
            audio=lambda w: shard_audio(w.shard),
        output:
            directory(f"{ARCHIVE_EMBEDDINGS}/{{shard}}"),
        params:
            recordings=lambda w: shard_recordings(w.shard),
            grid=(config["windows"]["length_s"], config["windows"]["hop_s"]),
            embeddings=config["embeddings"],
        log:
            f"{RESULTS}/logs/archive_embeddings/{{shard}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/archive_embeddings/{{shard}}.tsv"
        threads: config["embeddings"]["threads"]
        resources:
            mem_mb=2000,
            runtime=lambda w: shard_runtime_min(w.shard),
        run:
            from anuraflow.features.jobs import archive_embeddings_job

            archive_embeddings_job(
                params.recordings,
                output[0],
                log[0],
                params.grid,
                {**params.embeddings, "threads": threads},
            )


if SEARCH:

    rule search_windows:
        input:
            archive=cache_inputs([cache for cache, _ in SEARCH_ARCHIVE.values()]),
            audio=[audio for _, audio in SEARCH_ARCHIVE.values()],
            query=cache_inputs([SEARCH_QUERY_CACHE]),
            table=config["search"]["table"] or [],
        output:
            hits=f"{SEARCH_DIR}/hits.csv",
            raven=directory(f"{SEARCH_DIR}/raven"),
            page=f"{SEARCH_DIR}/review.html",
            clips=directory(f"{SEARCH_DIR}/clips"),
        params:
            search=config["search"],
            query=SEARCH_QUERY,
            archive_caches=[cache for cache, _ in SEARCH_ARCHIVE.values()],
            query_cache=SEARCH_QUERY_CACHE,
            audio_of={r: audio for r, (_, audio) in SEARCH_ARCHIVE.items()},
            codes=SPECIES_CODES,
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

# What to label next (target `suggest`): a probe's uncertainty, the diversity of the BirdNET
# embeddings and the similarity to the search's query rank the unlabelled windows for review
# (anuraflow/detect/suggest.py); the same labelling page as the search.


if SUGGEST:

    rule suggest_windows:
        input:
            model=SUGGEST_MODEL,
            archive=cache_inputs([cache for cache, _ in SUGGEST_ARCHIVE.values()]),
            audio=[audio for _, audio in SUGGEST_ARCHIVE.values()],
            dataset=expand(
                f"{RESULTS}/embeddings/{{recording}}.parquet", recording=RECORDINGS
            ),
            windows=f"{RESULTS}/windows.parquet",
            review=[] if REVIEW_FILES is None else f"{RESULTS}/review_labels.parquet",
            query=(
                cache_inputs([SEARCH_QUERY_CACHE])
                if config["suggest"]["similarity"] > 0
                else []
            ),
            table=(
                (config["search"]["table"] or [])
                if config["suggest"]["similarity"] > 0
                else []
            ),
        output:
            table=f"{SUGGEST_DIR}/suggestions.csv",
            page=f"{SUGGEST_DIR}/review.html",
            clips=directory(f"{SUGGEST_DIR}/clips"),
        params:
            suggest=config["suggest"],
            search=config.get("search"),
            query=SEARCH_QUERY,
            query_cache=(
                SEARCH_QUERY_CACHE if config["suggest"]["similarity"] > 0 else None
            ),
            archive_caches=[cache for cache, _ in SUGGEST_ARCHIVE.values()],
            unlabelled=SUGGEST_UNLABELLED,
            audio_of={r: audio for r, (_, audio) in SUGGEST_ARCHIVE.items()},
        log:
            f"{RESULTS}/logs/suggest_windows/{config['suggest']['name']}.log",
        benchmark:
            f"{RESULTS}/benchmarks/suggest_windows/{config['suggest']['name']}.tsv"
        threads: 1
        resources:
            mem_mb=4000,
            runtime=30,
        conda:
            "../envs/report.yaml"
        script:
            "../workflow/scripts/suggest_windows.py"


rule suggest:
    input:
        lambda w: (
            [f"{SUGGEST_DIR}/suggestions.csv", f"{SUGGEST_DIR}/review.html"]
            if SUGGEST
            else suggest_missing()
        ),

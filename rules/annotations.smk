# Annotations: one job per recording parses its label file; one job merges them.


rule parse_annotations:
    input:
        labels=lambda w: raw_input(w.recording, "annotation"),
        ingest=f"{RESULTS}/ingest/{{recording}}.json",
    output:
        calls=f"{RESULTS}/annotations/{{recording}}.parquet",
        record=f"{RESULTS}/annotations/{{recording}}.json",
    params:
        labels=lambda w: SOURCES[w.recording].annotation,
        codes=SPECIES_CODES,
        table_columns=config["data"].get("annotation_table"),
        table_files=lambda w: list(SOURCES[w.recording].table_files),
        label_codes=LABEL_CODES,
    log:
        f"{RESULTS}/logs/annotations/{{recording}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/annotations/{{recording}}.tsv"
    group:
        "per_recording"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    # in Snakemake's own process, a thread per job (anuraflow/data/jobs.py)
    run:
        from anuraflow.data.jobs import annotation_job

        annotation_job(
            params.labels,
            input.ingest,
            output.calls,
            output.record,
            log[0],
            wildcards.recording,
            params.codes,
            params.table_columns,
            params.table_files,
            params.label_codes,
        )


rule merge_annotations:
    input:
        expand(f"{RESULTS}/annotations/{{recording}}.parquet", recording=RECORDINGS),
    output:
        f"{RESULTS}/annotations.parquet",
    log:
        f"{RESULTS}/logs/merge_annotations.log",
    benchmark:
        f"{RESULTS}/benchmarks/merge_annotations.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/audio.yaml"
    script:
        "../workflow/scripts/merge_annotations.py"


# The review pages' decisions (config review_labels): one table, each decision with its file
# and line, checked against the recordings and the window grid (anuraflow/data/review_labels.py).
if REVIEW_FILES is not None:

    rule merge_review_labels:
        input:
            # the files that decide on dataset recordings (rules/validate_setup.smk)
            files=lambda w: DATASET_REVIEW_FILES,
            manifest=f"{RESULTS}/recordings.parquet",
        output:
            decisions=f"{RESULTS}/review_labels.parquet",
            record=f"{RESULTS}/review_labels.json",
        params:
            codes=SPECIES_CODES,
            grid=(config["windows"]["length_s"], config["windows"]["hop_s"]),
            # rows on these recordings are the archive's (validate), left out here
            archive=lambda w: ARCHIVE_ROWS_ASIDE,
        log:
            f"{RESULTS}/logs/merge_review_labels.log",
        benchmark:
            f"{RESULTS}/benchmarks/merge_review_labels.tsv"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        conda:
            "../envs/audio.yaml"
        script:
            "../workflow/scripts/merge_review_labels.py"

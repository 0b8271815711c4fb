# Embeddings: BirdNET V2.4's embedding of every window, once per recording, cached in Parquet
# (anuraflow/features/embeddings.py). Only experiments that train a probe (linear_probe,
# mlp_probe) need them, so only such a config makes the workflow run this stage.


rule compute_embeddings:
    input:
        raw=lambda w: raw_input(w.recording, "audio"),
        ingest=f"{RESULTS}/ingest/{{recording}}.json",
    output:
        f"{RESULTS}/embeddings/{{recording}}.parquet",
    params:
        source=lambda w: source_audio_params(w.recording),
        grid=(config["windows"]["length_s"], config["windows"]["hop_s"]),
        embeddings=config["embeddings"],
    log:
        f"{RESULTS}/logs/embeddings/{{recording}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/embeddings/{{recording}}.tsv"
    # on SLURM, with ingest and the features: 50 recordings a job (profiles/slurm), not one
    group:
        "per_recording"
    threads: config["embeddings"]["threads"]
    resources:
        mem_mb=2000,
        runtime=30,
    # in Snakemake's own process, as compute_features: the interpreter is built and warmed
    # once per worker thread, not once per recording (anuraflow/features/jobs.py)
    run:
        from anuraflow.features.jobs import embeddings_job

        embeddings_job(
            input.ingest,
            output[0],
            log[0],
            params.grid,
            {**params.embeddings, "threads": threads},
            params.source,
        )


# One small table of every embedding cache (path, windows, checksum): what the probes'
# training jobs depend on, as feature_index is for the log-mel models.
rule embedding_index:
    input:
        expand(f"{RESULTS}/embeddings/{{recording}}.parquet", recording=RECORDINGS),
    output:
        f"{RESULTS}/embedding_index.parquet",
    log:
        f"{RESULTS}/logs/embedding_index.log",
    benchmark:
        f"{RESULTS}/benchmarks/embedding_index.tsv"
    threads: 2
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/audio.yaml"
    script:
        "../workflow/scripts/embedding_index.py"

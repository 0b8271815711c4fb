# Features: log-mel once per recording, cached in Parquet (windows are slices of it).


rule compute_features:
    input:
        f"{RESULTS}/audio/{{recording}}.wav",
    output:
        f"{RESULTS}/features/{{recording}}.parquet",
    params:
        features=config["features"],
    log:
        f"{RESULTS}/logs/features/{{recording}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/features/{{recording}}.tsv"
    group:
        "per_recording"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    # in Snakemake's own process, a thread per job (anuraflow/features/jobs.py)
    run:
        from anuraflow.features.jobs import features_job

        features_job(input[0], output[0], log[0], wildcards.recording, params.features)


# One small table of every cache (path, frames, checksum): the training jobs depend on it
# alone, so the DAG has one edge per training job here, not one per recording.
rule feature_index:
    input:
        expand(f"{RESULTS}/features/{{recording}}.parquet", recording=RECORDINGS),
    output:
        f"{RESULTS}/feature_index.parquet",
    log:
        f"{RESULTS}/logs/feature_index.log",
    benchmark:
        f"{RESULTS}/benchmarks/feature_index.tsv"
    threads: 2
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/audio.yaml"
    script:
        "../workflow/scripts/feature_index.py"

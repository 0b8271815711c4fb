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
    conda:
        "../envs/audio.yaml"
    script:
        "../workflow/scripts/compute_features.py"

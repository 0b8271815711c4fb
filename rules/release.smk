# The AnuraSet release: metadata.csv and its clips checked once.


if RELEASE:

    rule release_index:
        input:
            Path(config["data"]["release_dir"]) / "metadata.csv",
        output:
            clips=f"{RESULTS}/release/clips.parquet",
            metadata=f"{RESULTS}/release/metadata.parquet",
            split=f"{RESULTS}/release/official_split.tsv",
        params:
            release_dir=config["data"]["release_dir"],
            codes=SPECIES_CODES,
        log:
            f"{RESULTS}/logs/release_index.log",
        benchmark:
            f"{RESULTS}/benchmarks/release_index.tsv"
        threads: 1
        resources:
            mem_mb=4000,
            runtime=20,
        conda:
            "../envs/audio.yaml"
        script:
            "../workflow/scripts/release_index.py"

# The AnuraSet release: metadata.csv and its clips checked once; a clip listing per recording.


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
            on_bad_recording=config["on_bad_recording"],
            on_bad_annotation=config["on_bad_annotation"],
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

    # One small job per recording (a thread in Snakemake's process, see anuraflow/jobs.py):
    # one job with 1,612 outputs made the DAG quadratic. A listing rewritten with the same
    # content does not rerun its ingest job (small inputs are compared by checksum).
    rule release_listing:
        input:
            clips=f"{RESULTS}/release/clips.parquet",
        output:
            RELEASE_LISTING,
        params:
            metadata=str(Path(config["data"]["release_dir"]) / "metadata.csv"),
        log:
            f"{RESULTS}/logs/release_listing/{{recording}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/release_listing/{{recording}}.tsv"
        group:
            "per_recording"
        threads: 1
        resources:
            mem_mb=500,
            runtime=5,
        run:
            from anuraflow.release import write_listing

            write_listing(
                input.clips, wildcards.recording, params.metadata, output[0]
            )

# Waveforms: every recording's whole 48 kHz signal (16-bit levels), once, cached in Parquet
# (anuraflow/features/waveforms.py). Only experiments that fine-tune BirdNET
# (birdnet_finetune) read them, so only such a config makes the workflow run this stage.


rule compute_waveforms:
    input:
        raw=lambda w: raw_input(w.recording, "audio"),
        ingest=f"{RESULTS}/ingest/{{recording}}.json",
    output:
        f"{RESULTS}/waveforms/{{recording}}.parquet",
    params:
        source=lambda w: source_audio_params(w.recording),
        window=(config["windows"]["length_s"], config["windows"]["hop_s"]),
        model_path=config["embeddings"]["model_path"],
    log:
        f"{RESULTS}/logs/waveforms/{{recording}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/waveforms/{{recording}}.tsv"
    # on SLURM, with ingest and the features: 50 recordings a job (profiles/slurm), not one
    group:
        "per_recording"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    # in Snakemake's own process, as compute_features (anuraflow/data/jobs.py says why)
    run:
        from anuraflow.features.jobs import waveforms_job

        waveforms_job(
            input.ingest,
            output[0],
            log[0],
            params.window,
            params.model_path,
            params.source,
        )


# One small table of every waveform cache (path, samples, checksum): what the fine-tuning
# jobs depend on, as feature_index is for the log-mel models.
rule waveform_index:
    input:
        expand(f"{RESULTS}/waveforms/{{recording}}.parquet", recording=RECORDINGS),
    output:
        f"{RESULTS}/waveform_index.parquet",
    log:
        f"{RESULTS}/logs/waveform_index.log",
    benchmark:
        f"{RESULTS}/benchmarks/waveform_index.tsv"
    threads: 2
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/audio.yaml"
    script:
        "../workflow/scripts/waveform_index.py"

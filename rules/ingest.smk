# Ingest: one job per recording -> mono, standard rate, 16-bit WAV + manifest record.


rule ingest_recording:
    input:
        raw=lambda w: raw_input(w.recording, "audio"),
    output:
        audio=f"{RESULTS}/audio/{{recording}}.wav",
        manifest=f"{RESULTS}/ingest/{{recording}}.json",
    params:
        source=lambda w: SOURCES[w.recording].audio,
        sample_rate=config["audio"]["sample_rate"],
        min_duration_s=config["windows"]["length_s"],
        clip_fit=config["data"].get("clip_fit", "start"),
        release_metadata=str(
            Path(config["data"].get("release_dir", ".")) / "metadata.csv"
        ),
        recorder_names=RECORDER_NAMES,
    log:
        f"{RESULTS}/logs/ingest/{{recording}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/ingest/{{recording}}.tsv"
    group:
        "per_recording"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    # in Snakemake's own process, a thread per job (anuraflow/data/jobs.py says why); so no
    # conda env of its own: it uses the environment Snakemake runs in
    run:
        from anuraflow.data.jobs import ingest_job

        ingest_job(
            params.source,
            output.audio,
            output.manifest,
            log[0],
            wildcards.recording,
            params.sample_rate,
            params.min_duration_s,
            kind=INGEST_KIND,
            clip_fit=params.clip_fit,
            release_metadata=params.release_metadata,
            recorder_names=params.recorder_names,
        )


rule recordings_manifest:
    input:
        ingest=expand(f"{RESULTS}/ingest/{{recording}}.json", recording=RECORDINGS),
        # no label files: the labels are the release's metadata or the clips' folders
        annotations=(
            []
            if LABELS_WITHOUT_FILES
            else expand(
                f"{RESULTS}/annotations/{{recording}}.json", recording=RECORDINGS
            )
        ),
    output:
        f"{RESULTS}/recordings.parquet",
    params:
        # applied here, once: the ingest and parsing jobs only record what they found
        policies={
            "on_bad_recording": config["on_bad_recording"],
            "on_bad_annotation": config["on_bad_annotation"],
            "on_blank_label": config["annotations"]["on_blank_label"],
        },
    log:
        f"{RESULTS}/logs/recordings_manifest.log",
    benchmark:
        f"{RESULTS}/benchmarks/recordings_manifest.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/audio.yaml"
    script:
        "../workflow/scripts/recordings_manifest.py"

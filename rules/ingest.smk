# Ingest: one job per recording -> mono, standard rate, 16-bit WAV + manifest record.


rule ingest_recording:
    input:
        audio=lambda w: SOURCES[w.recording].audio,
    output:
        audio=f"{RESULTS}/audio/{{recording}}.wav",
        manifest=f"{RESULTS}/ingest/{{recording}}.json",
    params:
        sample_rate=config["audio"]["sample_rate"],
        min_duration_s=config["windows"]["length_s"],
        on_bad_recording=config["on_bad_recording"],
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
    conda:
        "../envs/audio.yaml"
    script:
        "../workflow/scripts/ingest.py"


rule recordings_manifest:
    input:
        ingest=expand(f"{RESULTS}/ingest/{{recording}}.json", recording=RECORDINGS),
        annotations=expand(
            f"{RESULTS}/annotations/{{recording}}.json", recording=RECORDINGS
        ),
    output:
        f"{RESULTS}/recordings.parquet",
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

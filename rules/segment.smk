# Segment: sliding windows with multi-hot labels -> windows.parquet.


rule segment_windows:
    input:
        manifest=f"{RESULTS}/recordings.parquet",
        annotations=f"{RESULTS}/annotations.parquet",
    output:
        f"{RESULTS}/windows.parquet",
    params:
        codes=SPECIES_CODES,
        windows=config["windows"],
    log:
        f"{RESULTS}/logs/segment_windows.log",
    benchmark:
        f"{RESULTS}/benchmarks/segment_windows.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/audio.yaml"
    script:
        "../workflow/scripts/segment_windows.py"

# Segment: sliding windows with multi-hot labels -> windows.parquet (for the AnuraSet release:
# one window per clip of metadata.csv, with its labels; for class folders: one per clip).


if RELEASE:

    rule release_windows:
        input:
            metadata=f"{RESULTS}/release/metadata.parquet",
            manifest=f"{RESULTS}/recordings.parquet",
        output:
            f"{RESULTS}/windows.parquet",
        params:
            codes=SPECIES_CODES,
        log:
            f"{RESULTS}/logs/release_windows.log",
        benchmark:
            f"{RESULTS}/benchmarks/release_windows.tsv"
        threads: 1
        resources:
            mem_mb=4000,
            runtime=10,
        conda:
            "../envs/audio.yaml"
        script:
            "../workflow/scripts/release_windows.py"

elif CLASS_FOLDERS:

    rule class_folder_windows:
        input:
            manifest=f"{RESULTS}/recordings.parquet",
        output:
            f"{RESULTS}/windows.parquet",
        params:
            codes=SPECIES_CODES,
            window_s=config["windows"]["length_s"],
        log:
            f"{RESULTS}/logs/class_folder_windows.log",
        benchmark:
            f"{RESULTS}/benchmarks/class_folder_windows.tsv"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=10,
        conda:
            "../envs/audio.yaml"
        script:
            "../workflow/scripts/class_folder_windows.py"

else:

    rule segment_windows:
        input:
            manifest=f"{RESULTS}/recordings.parquet",
            annotations=f"{RESULTS}/annotations.parquet",
            # rules/validate_setup.smk
            review=lambda w: dataset_review_file("review_labels.parquet"),
        output:
            f"{RESULTS}/windows.parquet",
        params:
            codes=SPECIES_CODES,
            windows=config["windows"],
            unlabelled=UNLABELLED,
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

# Split: recording-level train / val / test, multi-label stratified, stable as data grow.


# a pinned split: split.file, or the official train / test split of the AnuraSet release
SPLIT_FILE = config["split"].get("file") or (
    f"{RESULTS}/release/official_split.tsv" if RELEASE else None
)


rule split_recordings:
    input:
        windows=f"{RESULTS}/windows.parquet",
        # sites and start times: split.group keeps a site's night in one subset
        manifest=f"{RESULTS}/recordings.parquet",
        split_file=SPLIT_FILE or [],
    output:
        splits=f"{RESULTS}/splits.parquet",
        balance=f"{RESULTS}/split_balance.tsv",
    params:
        codes=SPECIES_CODES,
        split=config["split"],
        # every assignment made so far: added recordings never move earlier ones
        # (not an output: Snakemake deletes a job's outputs before it runs)
        ledger=f"{RESULTS}/split_ledger.json",
        split_file=SPLIT_FILE,
        groups=CLIP_GROUPS,
        grouping=SPLIT_GROUPING,
    log:
        f"{RESULTS}/logs/split_recordings.log",
    benchmark:
        f"{RESULTS}/benchmarks/split_recordings.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/audio.yaml"
    script:
        "../workflow/scripts/split_recordings.py"


rule kfold_splits:
    input:
        windows=f"{RESULTS}/windows.parquet",
        splits=f"{RESULTS}/splits.parquet",
    output:
        f"{RESULTS}/folds/k{{k}}.parquet",
    params:
        codes=SPECIES_CODES,
        seed=config["split"]["seed"],
        # every fold assigned so far: added recordings never move earlier ones
        ledger=lambda wildcards: f"{RESULTS}/folds/k{wildcards.k}_ledger.json",
    log:
        f"{RESULTS}/logs/kfold_splits/k{{k}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/kfold_splits/k{{k}}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/audio.yaml"
    script:
        "../workflow/scripts/kfold_splits.py"


# split.method by_site: leave one site out, fold k = SITES[k]
rule site_folds:
    input:
        f"{RESULTS}/windows.parquet",
    output:
        f"{RESULTS}/folds/by_site.parquet",
    params:
        sites=SITES,
    log:
        f"{RESULTS}/logs/site_folds.log",
    benchmark:
        f"{RESULTS}/benchmarks/site_folds.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/audio.yaml"
    script:
        "../workflow/scripts/site_folds.py"

# Embedded default data: a deterministic synthetic AnuraSet-like dataset.

if config["data"]["source"] == "synthetic":

    rule synthesize_dataset:
        output:
            # one output for the whole dataset: 3,224 outputs, each an input of a
            # per-recording job, would make Snakemake's bookkeeping quadratic
            listing=SYNTHETIC_LISTING,
        params:
            out_dir=lambda w, output: os.path.dirname(output.listing),
            codes=SPECIES_CODES,
            synthetic=config["synthetic"],
        log:
            f"{RESULTS}/logs/synthesize_dataset.log",
        benchmark:
            f"{RESULTS}/benchmarks/synthesize_dataset.tsv"
        # recordings are written in parallel worker processes (the same bytes as one)
        threads: 16
        resources:
            mem_mb=4000,
            runtime=60,
        conda:
            "../envs/audio.yaml"
        script:
            "../workflow/scripts/synthesize.py"

# Embedded default data: a deterministic synthetic AnuraSet-like dataset.

if config["data"]["source"] == "synthetic":

    rule synthesize_dataset:
        output:
            audio=[SOURCES[r].audio for r in RECORDINGS],
            labels=[SOURCES[r].annotation for r in RECORDINGS],
        params:
            out_dir=lambda w, output: os.path.dirname(os.path.dirname(output.audio[0])),
            codes=SPECIES_CODES,
            synthetic=config["synthetic"],
        log:
            f"{RESULTS}/logs/synthesize_dataset.log",
        benchmark:
            f"{RESULTS}/benchmarks/synthesize_dataset.tsv"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=60,
        conda:
            "../envs/audio.yaml"
        script:
            "../workflow/scripts/synthesize.py"

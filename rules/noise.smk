# Noise bank for SNR-calibrated noise mixing (seed 002): noise recordings -> one log-mel cache.

if NOISE is not None and NOISE["source"] == "synthetic":

    rule synthesize_noise:
        output:
            NOISE_FILES,
        params:
            out_dir=lambda w, output: os.path.dirname(output[0]),
            noise={
                k: NOISE[k]
                for k in ("n_recordings", "seed", "duration_s", "sample_rate")
            },
        log:
            f"{RESULTS}/logs/synthesize_noise.log",
        benchmark:
            f"{RESULTS}/benchmarks/synthesize_noise.tsv"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        conda:
            "../envs/audio.yaml"
        script:
            "../workflow/scripts/synthesize_noise.py"


if NOISE is not None:

    rule noise_bank:
        input:
            NOISE_FILES,
        output:
            f"{RESULTS}/features/noise_bank.parquet",
        params:
            features=config["features"],
        log:
            f"{RESULTS}/logs/noise_bank.log",
        benchmark:
            f"{RESULTS}/benchmarks/noise_bank.tsv"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=20,
        conda:
            "../envs/audio.yaml"
        script:
            "../workflow/scripts/noise_bank.py"

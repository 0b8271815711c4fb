# Pretrain: self-supervised encoders (seed 003), one job per pretraining config an experiment's
# init.pretrain names; its encoder.pt is an input of those experiments' training jobs.


rule pretrain_encoder:
    input:
        windows=f"{RESULTS}/windows.parquet",
        splits=f"{RESULTS}/splits.parquet",
        audio=expand(f"{RESULTS}/audio/{{recording}}.wav", recording=RECORDINGS),
        config=lambda w: config_file("pretrain_dir", w.pretrain, "pretraining"),
    output:
        encoder=f"{RESULTS}/pretrain/{{pretrain}}/encoder.pt",
        history=f"{RESULTS}/pretrain/{{pretrain}}/history.tsv",
        metrics=f"{RESULTS}/pretrain/{{pretrain}}/metrics.json",
    params:
        pretrain=lambda w: PRETRAINS[w.pretrain],
        features=config["features"],
        window_s=config["windows"]["length_s"],
        seed=lambda w: PRETRAINS[w.pretrain]["seed"],
    log:
        f"{RESULTS}/logs/pretrain/{{pretrain}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/pretrain/{{pretrain}}.tsv"
    threads: TRAIN_THREADS
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=config.get("train_gpus", 0),
    conda:
        "../envs/train.yaml"
    script:
        "../workflow/scripts/pretrain_encoder.py"

# Train: one job per experiment config x seed, resumable after a kill (resume.pt). model.pt
# is the self-describing model bundle (anuraflow/learn/bundle.py) that `predict` runs.


rule train_model:
    input:
        windows=f"{RESULTS}/windows.parquet",
        splits=f"{RESULTS}/splits.parquet",
        manifest=f"{RESULTS}/recordings.parquet",
        # a probe reads the embedding caches' index, a fine-tuned BirdNET the waveform
        # caches', every other model the log-mels'
        feature_index=lambda w: cache_index(w.experiment),
        experiment=lambda w: experiment_path(w.experiment),
        noise=lambda w: (
            [f"{RESULTS}/features/noise_bank.parquet"]
            if uses_noise(w.experiment)
            else []
        ),
        encoder=encoder_input,
        weights=weights_input,
    output:
        model=f"{RESULTS}/runs/{{experiment}}/seed{{seed}}/model.pt",
        predictions=f"{RESULTS}/runs/{{experiment}}/seed{{seed}}/predictions.parquet",
        val_predictions=f"{RESULTS}/runs/{{experiment}}/seed{{seed}}/val_predictions.parquet",
        metrics=f"{RESULTS}/runs/{{experiment}}/seed{{seed}}/metrics.json",
        history=f"{RESULTS}/runs/{{experiment}}/seed{{seed}}/history.tsv",
        embeddings=f"{RESULTS}/runs/{{experiment}}/seed{{seed}}/test_embeddings.parquet",
    params:
        experiment=lambda w: EXPERIMENTS[w.experiment],
        species=SPECIES,
        groups=config["frequency_groups"],
        window_s=config["windows"]["length_s"],
        fold_holds_out="test" if BY_SITE else "val",
        # not an output: Snakemake deletes a failed job's outputs, and this must survive a
        # killed job so that the rerun resumes from the last finished epoch
        resume=lambda w: f"{run_dir(w.experiment, w.get('fold'), w.seed)}/resume.pt",
    log:
        f"{RESULTS}/logs/train/{{experiment}}/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{experiment}}/seed{{seed}}.tsv"
    threads: TRAIN_THREADS
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=config.get("train_gpus", 0),
    conda:
        "../envs/train.yaml"
    script:
        "../workflow/scripts/train_model.py"


# Cross-validation: the same job once per fold and seed; k-fold (experiment key `folds`): the
# fold's recordings are the validation set; split.method by_site: the fold's site is the test set.
use rule train_model as train_model_cv with:
    input:
        **rules.train_model.input,
        folds=lambda w: (
            f"{RESULTS}/folds/by_site.parquet"
            if BY_SITE
            else f"{RESULTS}/folds/k{EXPERIMENTS[w.experiment]['folds']}.parquet"
        ),
    output:
        model=f"{RESULTS}/runs/{{experiment}}/fold{{fold}}/seed{{seed}}/model.pt",
        predictions=f"{RESULTS}/runs/{{experiment}}/fold{{fold}}/seed{{seed}}/predictions.parquet",
        val_predictions=f"{RESULTS}/runs/{{experiment}}/fold{{fold}}/seed{{seed}}/val_predictions.parquet",
        metrics=f"{RESULTS}/runs/{{experiment}}/fold{{fold}}/seed{{seed}}/metrics.json",
        history=f"{RESULTS}/runs/{{experiment}}/fold{{fold}}/seed{{seed}}/history.tsv",
        embeddings=f"{RESULTS}/runs/{{experiment}}/fold{{fold}}/seed{{seed}}/test_embeddings.parquet",
    log:
        f"{RESULTS}/logs/train/{{experiment}}/fold{{fold}}/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{experiment}}/fold{{fold}}/seed{{seed}}.tsv"

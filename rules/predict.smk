# Predict: a trained model bundle detects species on new recordings (target `predict`), one
# job per shard of the archive (runs of consecutive recordings, at most predict.shard_hours of
# audio: anuraflow/data/shards.py), then one table of all detections, every recording's Raven
# table and the calling-activity view.


rule export_onnx:
    input:
        f"{RESULTS}/runs/{{experiment}}/seed{{seed}}/model.pt",
    output:
        f"{RESULTS}/runs/{{experiment}}/seed{{seed}}/model.onnx",
    log:
        f"{RESULTS}/logs/export_onnx/{{experiment}}/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/export_onnx/{{experiment}}/seed{{seed}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    conda:
        "../envs/train.yaml"
    script:
        "../workflow/scripts/export_onnx.py"


if PREDICT:

    rule predict_shard:
        input:
            audio=lambda w: shard_audio(w.shard),
            bundle=PREDICT_BUNDLE,
        output:
            scores=f"{PREDICT_DIR}/scores/{{shard}}.parquet",
            records=f"{PREDICT_DIR}/records/{{shard}}.json",
        params:
            predict=config["predict"],
            recordings=lambda w: shard_recordings(w.shard),
            recorder_names=RECORDER_NAMES,
            # a probe's embedding model and what runs it
            embeddings={k: config["embeddings"][k] for k in ("model_path", "runtime")},
        log:
            f"{RESULTS}/logs/predict/{{shard}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/predict/{{shard}}.tsv"
        threads: config["predict"]["threads"]
        resources:
            mem_mb=3000,
            runtime=lambda w: shard_runtime_min(w.shard),
        conda:
            "../envs/train.yaml"
        script:
            "../workflow/scripts/predict_shard.py"

    rule predict_summary:
        input:
            expand(
                f"{PREDICT_DIR}/records/{{shard}}.json", shard=sorted(PREDICT_SHARDS)
            ),
        output:
            detections=f"{PREDICT_DIR}/detections.csv",
            activity=f"{PREDICT_DIR}/activity.csv",
            activity_png=report(
                f"{PREDICT_DIR}/activity.png",
                caption="../workflow/report/activity.rst",
                category="Detections",
            ),
            recordings=f"{PREDICT_DIR}/recordings.tsv",
            raven=directory(f"{PREDICT_DIR}/raven"),
        params:
            # applied here, once: each predict_shard job only records what it found
            on_bad_recording=config["on_bad_recording"],
        log:
            f"{RESULTS}/logs/predict_summary.log",
        benchmark:
            f"{RESULTS}/benchmarks/predict_summary.tsv"
        threads: 1
        resources:
            mem_mb=4000,
            runtime=60,
        conda:
            "../envs/train.yaml"
        script:
            "../workflow/scripts/predict_summary.py"

    rule predict_review:
        input:
            records=expand(
                f"{PREDICT_DIR}/records/{{shard}}.json", shard=sorted(PREDICT_SHARDS)
            ),
            scores=expand(
                f"{PREDICT_DIR}/scores/{{shard}}.parquet", shard=sorted(PREDICT_SHARDS)
            ),
        output:
            page=f"{PREDICT_DIR}/review.html",
            clips=directory(f"{PREDICT_DIR}/review_clips"),
        params:
            name=f"predict-{config['predict']['experiment']}",
            k=config["predict"]["review_k"],
        log:
            f"{RESULTS}/logs/predict_review.log",
        benchmark:
            f"{RESULTS}/benchmarks/predict_review.tsv"
        threads: 1
        resources:
            mem_mb=4000,
            runtime=20,
        conda:
            "../envs/report.yaml"
        script:
            "../workflow/scripts/predict_review.py"


rule predict:
    input:
        predict_targets,

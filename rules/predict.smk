# Predict: a trained model bundle detects species on new recordings (target `predict`), one
# job per recording, then one table of all detections and the calling-activity view.


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

    rule predict_recording:
        input:
            audio=lambda w: PREDICT_SOURCES[w.recording],
            bundle=PREDICT_BUNDLE,
        output:
            scores=f"{PREDICT_DIR}/scores/{{recording}}.parquet",
            raven=f"{PREDICT_DIR}/raven/{{recording}}.Table.1.selections.txt",
            record=f"{PREDICT_DIR}/recordings/{{recording}}.json",
        params:
            predict=config["predict"],
        log:
            f"{RESULTS}/logs/predict/{{recording}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/predict/{{recording}}.tsv"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=60,
        conda:
            "../envs/train.yaml"
        script:
            "../workflow/scripts/predict_recording.py"

    rule predict_summary:
        input:
            expand(
                f"{PREDICT_DIR}/recordings/{{recording}}.json",
                recording=sorted(PREDICT_SOURCES),
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
        params:
            # applied here, once: each predict_recording job only records what it found
            on_bad_recording=config["on_bad_recording"],
        log:
            f"{RESULTS}/logs/predict_summary.log",
        benchmark:
            f"{RESULTS}/benchmarks/predict_summary.tsv"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=20,
        conda:
            "../envs/train.yaml"
        script:
            "../workflow/scripts/predict_summary.py"

    rule predict_review:
        input:
            records=expand(
                f"{PREDICT_DIR}/recordings/{{recording}}.json",
                recording=sorted(PREDICT_SOURCES),
            ),
            scores=expand(
                f"{PREDICT_DIR}/scores/{{recording}}.parquet",
                recording=sorted(PREDICT_SOURCES),
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
            mem_mb=2000,
            runtime=20,
        conda:
            "../envs/report.yaml"
        script:
            "../workflow/scripts/predict_review.py"


rule predict:
    input:
        predict_targets,

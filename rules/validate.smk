# Validate: how precise predict's detections are on its archive (target `validate`). A sample
# drawn within each species' score bins, its labelling page, the archive's decisions from the
# review folder, and the precision estimated from them (anuraflow/detect/validation*.py).

PREDICT_SCORES = expand(
    f"{PREDICT_DIR}/scores/{{shard}}.parquet", shard=sorted(PREDICT_SHARDS)
)
PREDICT_RECORDS = expand(
    f"{PREDICT_DIR}/records/{{shard}}.json", shard=sorted(PREDICT_SHARDS)
)


if VALIDATE_DIR:

    rule validate_sample:
        input:
            scores=PREDICT_SCORES,
            records=PREDICT_RECORDS,
        output:
            sample=f"{VALIDATE_DIR}/sample.parquet",
            strata=f"{VALIDATE_DIR}/strata.csv",
        params:
            # the draw's keys only: a new target or interval keeps the sample
            validate={
                key: config.get("validate", {}).get(key)
                for key in ("bins", "per_bin", "spacing", "seed")
            },
            exclude=VALIDATE_EXCLUDED,
        log:
            f"{RESULTS}/logs/validate_sample.log",
        benchmark:
            f"{RESULTS}/benchmarks/validate_sample.tsv"
        threads: 1
        resources:
            mem_mb=8000,
            runtime=30,
        conda:
            "../envs/report.yaml"
        script:
            "../workflow/scripts/validate_sample.py"

    rule merge_archive_labels:
        input:
            files=ARCHIVE_REVIEW_FILES,
            scores=PREDICT_SCORES,
            records=PREDICT_RECORDS,
        output:
            decisions=f"{VALIDATE_DIR}/decisions.parquet",
            record=f"{VALIDATE_DIR}/decisions.json",
        log:
            f"{RESULTS}/logs/merge_archive_labels.log",
        benchmark:
            f"{RESULTS}/benchmarks/merge_archive_labels.tsv"
        threads: 1
        resources:
            mem_mb=4000,
            runtime=10,
        conda:
            "../envs/report.yaml"
        script:
            "../workflow/scripts/merge_archive_labels.py"

    rule validate_review:
        input:
            sample=f"{VALIDATE_DIR}/sample.parquet",
            decisions=f"{VALIDATE_DIR}/decisions.parquet",
            records=PREDICT_RECORDS,
        output:
            page=f"{VALIDATE_DIR}/review.html",
            clips=directory(f"{VALIDATE_DIR}/review_clips"),
        params:
            name=f"validate-{config['predict']['experiment']}",
            seed=config.get("validate", {}).get("seed", 0),
        log:
            f"{RESULTS}/logs/validate_review.log",
        benchmark:
            f"{RESULTS}/benchmarks/validate_review.tsv"
        threads: 1
        resources:
            mem_mb=4000,
            runtime=30,
        conda:
            "../envs/report.yaml"
        script:
            "../workflow/scripts/validate_review.py"

    rule validate_precision:
        input:
            scores=PREDICT_SCORES,
            records=PREDICT_RECORDS,
            sample=f"{VALIDATE_DIR}/sample.parquet",
            decisions=f"{VALIDATE_DIR}/decisions.parquet",
        output:
            precision=report(
                f"{VALIDATE_DIR}/precision.csv",
                caption="../workflow/report/validate_precision.rst",
                category="Detections",
            ),
            curves=f"{VALIDATE_DIR}/curves.csv",
            figure=report(
                f"{VALIDATE_DIR}/precision.png",
                caption="../workflow/report/validate_figure.rst",
                category="Detections",
            ),
            detections=f"{VALIDATE_DIR}/detections.csv",
            activity=f"{VALIDATE_DIR}/activity.csv",
            per_site=f"{VALIDATE_DIR}/per_site.csv",
            page=f"{VALIDATE_DIR}/validation.html",
        params:
            validate=config.get("validate"),
            exclude=VALIDATE_EXCLUDED,
        log:
            f"{RESULTS}/logs/validate_precision.log",
        benchmark:
            f"{RESULTS}/benchmarks/validate_precision.tsv"
        threads: 1
        resources:
            mem_mb=8000,
            runtime=30,
        conda:
            "../envs/report.yaml"
        script:
            "../workflow/scripts/validate_precision.py"


rule validate:
    input:
        validate_targets,

# Occupancy: from predict's detections (at validate's thresholds where it ran) to what
# ecologists publish (target `occupancy`, docs/detection.md "From detections to occupancy"):
# detection histories per site and occasion with their effort, biolith's occupancy models per
# species, and call density per site from validate's reviewed sample
# (anuraflow/ecology/*.py).


if OCCUPANCY_DIR:

    rule detection_histories:
        input:
            scores=PREDICT_SCORES,
            records=PREDICT_RECORDS,
            precision=f"{VALIDATE_DIR}/precision.csv" if VALIDATE_DIR else [],
        output:
            histories=f"{OCCUPANCY_DIR}/histories.parquet",
            folder=directory(f"{OCCUPANCY_DIR}/for_r"),
            excluded=f"{OCCUPANCY_DIR}/excluded_recordings.tsv",
            figure=report(
                f"{OCCUPANCY_DIR}/histories.png",
                caption="../workflow/report/detection_histories.rst",
                category="Occupancy",
            ),
        params:
            # the occasions' keys only: another model setting keeps the histories
            occupancy={
                key: config["occupancy"].get(key)
                for key in ("occasion", "occasion_hours", "night_starts_at")
            },
            model={
                "experiment": config["predict"]["experiment"],
                "seed": config["predict"].get("seed"),
            },
        log:
            f"{RESULTS}/logs/detection_histories.log",
        benchmark:
            f"{RESULTS}/benchmarks/detection_histories.tsv"
        threads: 1
        resources:
            mem_mb=8000,
            runtime=30,
        conda:
            "../envs/occupancy.yaml"
        script:
            "../workflow/scripts/detection_histories.py"

    rule occupancy_fit:
        input:
            histories=f"{OCCUPANCY_DIR}/histories.parquet",
            folder=f"{OCCUPANCY_DIR}/for_r",
            # validate's reviewed calls: sites occupied for certain (site_presence.csv)
            decisions=f"{VALIDATE_DIR}/decisions.parquet" if VALIDATE_DIR else [],
            records=PREDICT_RECORDS if VALIDATE_DIR else [],
        output:
            estimates=report(
                f"{OCCUPANCY_DIR}/estimates.csv",
                caption="../workflow/report/occupancy_estimates.rst",
                category="Occupancy",
            ),
            presence=f"{OCCUPANCY_DIR}/site_presence.csv",
            figure=f"{OCCUPANCY_DIR}/occupancy.png",
        params:
            occupancy=config["occupancy"],
        log:
            f"{RESULTS}/logs/occupancy_fit.log",
        benchmark:
            f"{RESULTS}/benchmarks/occupancy_fit.tsv"
        threads: 2
        resources:
            mem_mb=8000,
            runtime=60,
        conda:
            "../envs/occupancy.yaml"
        script:
            "../workflow/scripts/occupancy_fit.py"


if OCCUPANCY_DIR and VALIDATE_DIR:

    rule call_density:
        input:
            scores=PREDICT_SCORES,
            records=PREDICT_RECORDS,
            sample=f"{VALIDATE_DIR}/sample.parquet",
            decisions=f"{VALIDATE_DIR}/decisions.parquet",
        output:
            f"{OCCUPANCY_DIR}/call_density.csv",
        params:
            validate=config["validate"],
            level=config["occupancy"].get("level", 0.9),
            exclude=VALIDATE_EXCLUDED,
        log:
            f"{RESULTS}/logs/call_density.log",
        benchmark:
            f"{RESULTS}/benchmarks/call_density.tsv"
        threads: 1
        resources:
            mem_mb=8000,
            runtime=30,
        conda:
            "../envs/occupancy.yaml"
        script:
            "../workflow/scripts/call_density.py"


rule occupancy:
    input:
        lambda w: occupancy_targets(),

# Report: every run aggregated into one HTML report and figures with provenance.


# a job per run: its 95 % intervals from a bootstrap over its test recordings
rule run_intervals:
    input:
        metrics=f"{RESULTS}/runs/{{run}}/metrics.json",
        predictions=f"{RESULTS}/runs/{{run}}/predictions.parquet",
    output:
        f"{RESULTS}/runs/{{run}}/intervals.json",
    wildcard_constraints:
        run=r"[A-Za-z0-9_.-]+(/fold\d+)?/seed\d+",
    params:
        n_boot=config["report"].get("bootstrap_samples", 1000),
        seed=config["report"].get("bootstrap_seed", 0),
    log:
        f"{RESULTS}/logs/run_intervals/{{run}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/run_intervals/{{run}}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    # in Snakemake's own process, a thread per job, as the per-recording rules: a process per
    # run would cost more start-up than its bootstrap; so no conda env of its own
    run:
        from anuraflow.evaluate.analysis import intervals_job

        intervals_job(
            input.metrics,
            input.predictions,
            output[0],
            log[0],
            params.n_boot,
            params.seed,
        )


rule build_report:
    input:
        metrics=run_files("metrics.json"),
        histories=run_files("history.tsv"),
        predictions=run_files("predictions.parquet"),
        intervals=run_files("intervals.json"),
        embeddings=run_files("test_embeddings.parquet"),
        windows=f"{RESULTS}/windows.parquet",
        splits=f"{RESULTS}/splits.parquet",
        split_balance=f"{RESULTS}/split_balance.tsv",
        manifest=f"{RESULTS}/recordings.parquet",
        review_labels=lambda w: dataset_review_file("review_labels.json"),
        # validate's table and curves, with a `validate` section (rules/validate.smk)
        validation=lambda w: (
            [f"{VALIDATE_DIR}/precision.csv", f"{VALIDATE_DIR}/precision.png"]
            if VALIDATE_DIR
            else []
        ),
        # the occupancy step's estimates, figures and call density (rules/occupancy.smk)
        occupancy=lambda w: occupancy_report_files(),
        # the review gallery cuts its clips from the standardised recordings
        audio=expand(f"{RESULTS}/audio/{{recording}}.wav", recording=RECORDINGS),
    output:
        html=f"{RESULTS}/report/report.html",
        table=report(
            f"{RESULTS}/report/metrics_table.tsv",
            caption="../workflow/report/metrics_table.rst",
            category="Tables",
        ),
        species_table=report(
            f"{RESULTS}/report/per_species_table.tsv",
            caption="../workflow/report/per_species_table.rst",
            category="Tables",
        ),
        frequency=report(
            f"{RESULTS}/report/species_frequency.png",
            caption="../workflow/report/species_frequency.rst",
            category="Data",
        ),
        per_species=report(
            f"{RESULTS}/report/per_species_f1.png",
            caption="../workflow/report/per_species_f1.rst",
            category="Results",
        ),
        polyphony=report(
            f"{RESULTS}/report/f1_by_polyphony.png",
            caption="../workflow/report/f1_by_polyphony.rst",
            category="Results",
        ),
        curves=report(
            f"{RESULTS}/report/training_curves.png",
            caption="../workflow/report/training_curves.rst",
            category="Training",
        ),
        tsne=report(
            f"{RESULTS}/report/tsne.png",
            caption="../workflow/report/tsne.rst",
            category="Results",
        ),
        model_size=report(
            f"{RESULTS}/report/model_size.png",
            caption="../workflow/report/model_size.rst",
            category="Results",
        ),
        pr_curves=report(
            f"{RESULTS}/report/pr_curves.png",
            caption="../workflow/report/pr_curves.rst",
            category="Evaluation",
        ),
        score_histograms=report(
            f"{RESULTS}/report/score_histograms.png",
            caption="../workflow/report/score_histograms.rst",
            category="Evaluation",
        ),
        codetection=report(
            f"{RESULTS}/report/codetection.png",
            caption="../workflow/report/codetection.rst",
            category="Evaluation",
        ),
        codetection_table=f"{RESULTS}/report/codetection.tsv",
        review=directory(f"{RESULTS}/report/review"),
        site_table=report(
            f"{RESULTS}/report/per_site_table.tsv",
            caption="../workflow/report/per_site_table.rst",
            category="Tables",
        ),
    params:
        species=SPECIES,
        groups=config["frequency_groups"],
        title=config["report"]["title"],
        config=config,
        orphan_label_files=ORPHAN_LABEL_FILES,
        ignored_files=IGNORED_FILES,
        compare=config["report"].get("compare", []),
        review_k=config["report"].get("review_k", 5),
        audio_dir=lambda w, input: os.path.dirname(input.audio[0]),
        bootstrap={
            "n_boot": config["report"].get("bootstrap_samples", 1000),
            "seed": config["report"].get("bootstrap_seed", 0),
        },
    log:
        f"{RESULTS}/logs/build_report.log",
    benchmark:
        f"{RESULTS}/benchmarks/build_report.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    conda:
        "../envs/report.yaml"
    script:
        "../workflow/scripts/build_report.py"

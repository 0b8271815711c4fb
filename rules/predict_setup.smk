# The `predict` section, checked against the experiments when the DAG is built: which model
# bundle runs, where its outputs go, and the new recordings it scores.


def check_synthetic_model(pred):
    """A model trained on the synthetic demo knows made-up species: it scores only folders the
    simulator wrote (their mark), unless predict.model names a bundle from elsewhere or
    predict.allow_synthetic_model says so (tests of the machinery)."""
    audio_dir = Path(pred["audio_dir"])
    simulated = (audio_dir / SIMULATED_MARK).is_file() or (
        audio_dir / "dataset.json"
    ).is_file()
    if (
        config["data"]["source"] == "synthetic"
        and not pred.get("model")
        and not pred.get("allow_synthetic_model")
        and not simulated
    ):
        raise WorkflowError(
            f"predict.audio_dir: {str(audio_dir)!r} holds recordings anuraflow did not "
            f"simulate, and {pred['experiment']!r} is trained on the demo's synthetic species "
            "(data.source: synthetic, the config used without --configfile): it would score "
            "them for species that are not there. Score them with your own config: "
            "./run_workflow.sh predict --configfile config/own-data.yaml --config "
            f"'predict={{audio_dir: {audio_dir}, experiment: auto}}' (docs/detection.md)"
        )


def predict_setup():
    """The `predict` section checked against the experiments, and its recordings: (bundle,
    output folder, recording id -> file); None without a `predict` section."""
    pred = config.get("predict")
    if pred is None:
        return None
    name = pred["experiment"]
    if name == "auto":
        if AUTO_EXPERIMENT is None:
            raise WorkflowError(
                "predict.experiment: auto takes what experiments: [auto] chose, and this "
                f"config's experiments are {list(EXPERIMENTS)}; name one of them"
            )
        name = pred["experiment"] = AUTO_EXPERIMENT
        logger.info(f"predict.experiment: auto is {name}")
    bundle = pred.get("model")
    if bundle is None:
        if name not in EXPERIMENTS:
            raise WorkflowError(
                f"predict.experiment: {name!r} is not one of experiments {list(EXPERIMENTS)} "
                "(or give predict.model: a model.pt trained elsewhere)"
            )
        if pred["seed"] not in EXPERIMENTS[name]["seeds"]:
            raise WorkflowError(
                f"predict.seed: {pred['seed']} is not one of {name!r}'s seeds "
                f"{EXPERIMENTS[name]['seeds']}"
            )
        if EXPERIMENTS[name].get("folds") or BY_SITE:
            raise WorkflowError(
                f"predict.experiment: {name!r} is cross-validated (folds); predict with an "
                "experiment trained on the train/val split"
            )
        bundle = f"{run_dir(name, None, pred['seed'])}/model.pt"
    elif not Path(bundle).is_file():
        raise WorkflowError(f"predict.model: {bundle!r} does not exist")
    if not Path(pred["audio_dir"]).is_dir():
        raise WorkflowError(
            f"invalid config: predict.audio_dir: directory {pred['audio_dir']!r} does not exist"
        )
    check_synthetic_model(pred)
    try:
        found = discover(pred["audio_dir"], None, config["data"]["recording_ids"])
    except ValueError as err:
        raise WorkflowError(f"predict.audio_dir: {err}") from None
    sources = found.sources
    for note in found.ignored:
        logger.info(f"note: predict.audio_dir: {note}")
    if not sources:
        raise WorkflowError(
            f"no audio files found under predict.audio_dir={pred['audio_dir']!r}"
        )
    return bundle, f"{RESULTS}/predict/{name}", {r: s.audio for r, s in sources.items()}


PREDICT = predict_setup()
PREDICT_BUNDLE, PREDICT_DIR, PREDICT_SOURCES = PREDICT or (None, None, {})


def archive_plan():
    """The archive's durations (from the headers, cached by size and mtime) and its shards
    (anuraflow/data/shards.py); empty without a `predict` section."""
    if not PREDICT:
        return {}, {}
    cache = f"{PREDICT_DIR}/.audio_headers.parquet"
    seconds = dict(
        zip(PREDICT_SOURCES, audio_durations(list(PREDICT_SOURCES.values()), cache))
    )
    return seconds, plan_shards(seconds.items(), config["predict"]["shard_hours"])


PREDICT_SECONDS, PREDICT_SHARDS = archive_plan()


def note_scoring_time():
    """Before scoring on this machine's CPU, the archive's hours and the scoring time they
    project to: the experiment's forward pass per window, and a probe's BirdNET embedding,
    measured here (cached); the frontend and reading come on top, so a lower bound."""
    if not PREDICT or gpu_visible() or not workflow.local_exec:
        return
    name = config["predict"]["experiment"]
    if config["predict"].get("model") or name not in EXPERIMENTS:
        return
    threads = config["predict"]["threads"]
    per_window = forward_seconds(step_shape(name))
    what = f"{EXPERIMENTS[name]['model']}'s forward pass"
    if uses_embeddings(name):
        per_window += birdnet_window_seconds(threads)
        what += " and BirdNET's embedding"
    audio = sum(PREDICT_SECONDS.values())
    hours = scoring_hours(per_window, audio, config["predict"]["hop_s"])
    logger.info(
        f"predict: {audio / 3600:,.1f} h of audio in {len(PREDICT_SHARDS)} shard jobs; "
        f"scoring on this machine's CPU projects to at least {hours:,.2f} h of job time "
        f"({what} measured here, {1e3 * per_window:.1f} ms a window, {threads} thread(s) a "
        "job; the frontend and reading come on top), shared among the jobs that run at once"
    )


note_scoring_time()
PREDICT_SHARD_OF = {r: shard for shard, recs in PREDICT_SHARDS.items() for r in recs}


def shard_recordings(shard):
    """Recording id -> audio file of one shard, in archive order."""
    return {r: PREDICT_SOURCES[r] for r in PREDICT_SHARDS[shard]}


def shard_audio(shard):
    return list(shard_recordings(shard).values())


def shard_runtime_min(shard):
    """A SLURM time limit for a shard: generous (a CPU scores an hour of audio in about 10 s
    of one core with the demo's CNN, a big model in minutes)."""
    hours = sum(PREDICT_SECONDS[r] for r in PREDICT_SHARDS[shard]) / 3600
    return 30 + int(20 * hours)


def predict_targets(wildcards):
    """Everything `predict` makes; an error when the config has no `predict` section."""
    if not PREDICT:
        raise WorkflowError(
            "the target 'predict' needs a 'predict' section in the config (audio_dir, "
            "experiment; see config/README.md)"
        )
    targets = [
        f"{PREDICT_DIR}/{name}"
        for name in (
            "detections.csv",
            "activity.csv",
            "activity.png",
            "recordings.tsv",
            "review.html",
            "raven",
        )
    ]
    name = config["predict"]["experiment"]
    # a fine-tuned BirdNET's TFLite operators have no ONNX export (docs/embeddings.md)
    if config["predict"].get("model") is None and not (
        name in EXPERIMENTS and uses_waveforms(name)
    ):
        targets.append(PREDICT_BUNDLE.replace("model.pt", "model.onnx"))
    return targets

# The `suggest` section, checked when the DAG is built: the probe that scores, the archive
# whose unlabelled windows are ranked, and the recordings outside the dataset it embeds
# (rules in suggest.smk).


def suggest_setup():
    """The `suggest` section checked: (output folder, the probe's model.pt, archive recording
    -> (embedding cache, audio the clips are cut from), the recordings whose windows may be
    suggested or None for all, recordings outside the dataset -> audio file); None without
    a `suggest` section."""
    s = config.get("suggest")
    if s is None:
        return None
    name = s["experiment"]
    if name not in EXPERIMENTS:
        raise WorkflowError(
            f"suggest.experiment: {name!r} is not one of experiments {list(EXPERIMENTS)}"
        )
    if not experiment_reads_embeddings(EXPERIMENTS[name]):
        raise WorkflowError(
            f"suggest.experiment: {name!r} is not a probe (linear_probe or mlp_probe): "
            "suggestions need a model on the embeddings they are chosen by"
        )
    if s["seed"] not in EXPERIMENTS[name]["seeds"] or EXPERIMENTS[name].get("folds"):
        raise WorkflowError(
            f"suggest.seed: {s['seed']} is not a seed of {name!r}'s train/val runs "
            f"{EXPERIMENTS[name]['seeds']}"
        )
    if s["similarity"] > 0 and not SEARCH:
        raise WorkflowError(
            "suggest.similarity: needs a 'search' section (the query windows)"
        )
    external, unlabelled = {}, None
    if s["archive"] == "predict":
        if not PREDICT:
            raise WorkflowError(
                "suggest.archive: predict needs a 'predict' section (its audio_dir)"
            )
        archive = {r: (archive_cache(r), a) for r, a in PREDICT_SOURCES.items()}
    else:
        archive = {
            r: (f"{RESULTS}/embeddings/{r}.parquet", f"{RESULTS}/audio/{r}.wav")
            for r in RECORDINGS
        }
        # the release and class folders label every recording without a label file
        unlabelled = sorted(
            r
            for r in RECORDINGS
            if SOURCES[r].annotation is None and not LABELS_WITHOUT_FILES
        )
        if not unlabelled:
            raise WorkflowError(
                "suggest.archive: dataset suggests windows of recordings without a label "
                "file, and every recording has one; suggest from predict.audio_dir's "
                "recordings (archive: predict), or see synthetic.unlabelled for the demo"
            )
    model = f"{run_dir(name, None, s['seed'])}/model.pt"
    return f"{RESULTS}/suggest/{s['name']}", model, archive, unlabelled, external


SUGGEST = suggest_setup()
SUGGEST_DIR, SUGGEST_MODEL, SUGGEST_ARCHIVE, SUGGEST_UNLABELLED, SUGGEST_EXTERNAL = (
    SUGGEST or (None, None, {}, None, {})
)
# recordings outside the dataset that the search or the suggestions embed
EXTERNAL_AUDIO = {**SEARCH_EXTERNAL, **SUGGEST_EXTERNAL}


def suggest_missing():
    raise WorkflowError(
        "the target 'suggest' needs a 'suggest' section in the config (experiment: a probe; "
        "see config/README.md and docs/embeddings.md)"
    )

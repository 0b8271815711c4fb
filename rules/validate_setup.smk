# The `validate` section, checked when the DAG is built, and the review folder's labels files
# sorted by use: those deciding on predict.audio_dir's recordings feed the archive's decisions
# (validate), the others the dataset's (anuraflow/data/review_labels.py). Rules in validate.smk.


def review_files_by_use():
    """(labels files the dataset's merge reads, those the archive's reads, the archive's
    recordings whose rows the dataset's merge sets aside)."""
    if REVIEW_FILES is None:
        return None, [], []
    if not PREDICT:
        return REVIEW_FILES, [], []
    return label_files_by_use(REVIEW_RECORDINGS, set(RECORDINGS), set(PREDICT_SOURCES))


DATASET_REVIEW_FILES, ARCHIVE_REVIEW_FILES, ARCHIVE_ROWS_ASIDE = review_files_by_use()


def dataset_review_file(name):
    """results/<name> (review_labels.parquet or .json) as an input of the windows and the
    report where they take review decisions: labels files deciding on the dataset's
    recordings, or recordings without a label file (which keep only their reviewed windows,
    none before the first decision). Otherwise no input: a review folder holding only the
    archive's decisions leaves the training chain as it is."""
    if REVIEW_FILES is None:
        return []
    unlabelled = any(SOURCES[r].annotation is None for r in RECORDINGS)
    return f"{RESULTS}/{name}" if DATASET_REVIEW_FILES or unlabelled else []


def validate_setup():
    """The `validate` section's output folder; None without the section."""
    if config.get("validate") is None:
        return None
    if not PREDICT:
        raise WorkflowError(
            "validate: needs a 'predict' section (the archive whose detections it validates)"
        )
    if REVIEW_FILES is None:
        logger.info(
            "note: validate: the config sets no review_labels folder, so the decisions "
            "downloaded from the validation page cannot be read back (set review_labels)"
        )
    return f"{PREDICT_DIR}/validate"


VALIDATE_DIR = validate_setup()


def validate_excluded():
    """The archive's recordings the model trained on: the dataset's labelled recordings where
    predict.audio_dir holds them, and reviewed archive recordings that joined the training
    data (predict.train_on_reviews). validate leaves them out of its draw and estimates.
    """
    if not VALIDATE_DIR:
        return []
    labelled = {r for r in RECORDINGS if SOURCES[r].annotation is not None}
    out = sorted((set(PREDICT_SOURCES) & labelled) | set(ARCHIVE_TRAINING))
    if out:
        logger.info(
            f"validate: {len(out)} recordings of predict.audio_dir trained the model "
            f"(e.g. {out[:3]}): left out of the sample and the estimates"
        )
    return out


VALIDATE_EXCLUDED = validate_excluded()


def validate_targets(wildcards):
    """Everything `validate` makes; an error when the config has no `validate` section."""
    if not VALIDATE_DIR:
        raise WorkflowError(
            "the target 'validate' needs a 'validate' section and a 'predict' section in the "
            "config (see docs/detection.md)"
        )
    names = ["review.html", "validation.html", "precision.csv", "detections.csv"]
    return [f"{VALIDATE_DIR}/{name}" for name in names]

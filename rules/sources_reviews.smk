# The review folder's labels files (config review_labels) and the archive recordings whose
# decisions train (predict.train_on_reviews). Called from sources.smk.


def review_label_files():
    """The labels files of the review folder (config review_labels), known when the DAG is
    built: adding one reruns the merge of decisions and what depends on the windows."""
    folder = config.get("review_labels")
    if folder is None:
        return None
    if LABELS_WITHOUT_FILES:
        raise WorkflowError(
            "review_labels: the AnuraSet release and class folders take their labels from "
            "metadata.csv or the folders; review labels need data.source directory or synthetic"
        )
    if not Path(folder).is_dir():
        logger.info(
            f"note: review_labels folder {folder!r} does not exist yet: no decisions"
        )
        return []
    return sorted(str(p) for p in Path(folder).glob("*.tsv"))


def reviewed_archive_sources():
    """predict.train_on_reviews: the recordings of predict.audio_dir that the review folder's
    labels files decide on, as dataset recordings without a label file (each trains on its
    reviewed windows only, as partial labels, read where it lies); none otherwise."""
    pred = config.get("predict") or {}
    if not pred.get("train_on_reviews"):
        return {}
    if REVIEW_FILES is None:
        raise WorkflowError(
            "predict.train_on_reviews: needs a review_labels folder (the decisions that train)"
        )
    try:
        found = discover(
            pred["audio_dir"], None, config["data"]["recording_ids"]
        ).sources
    except ValueError as err:
        raise WorkflowError(f"predict.audio_dir: {err}") from None
    named = set().union(*(r for r in REVIEW_RECORDINGS.values() if r))
    decided = named & set(found) - set(SOURCES)
    return {r: RecordingSource(r, found[r].audio, None) for r in sorted(decided)}

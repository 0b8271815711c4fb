# The recordings and their label files, known when the DAG is built: synthetic, a folder of
# raw recordings (or one annotation table), the AnuraSet release, class folders; the noise
# bank's files.


def synthetic_plan():
    return SyntheticSpec(**config["synthetic"]).recordings(SPECIES_CODES)


SYNTHETIC_LISTING = f"{config['data'].get('audio_dir')}/dataset.json"


def raw_input(recording, kind):
    """What a per-recording job depends on for its raw `kind` ("audio" or "annotation")
    file: the file itself, or for synthetic data the listing synthesize_dataset writes last.
    """
    path = getattr(SOURCES[recording], kind)
    if path is None:
        return []
    if (
        RELEASE
    ):  # one index of every clip: a change to metadata.csv reruns every recording
        return RELEASE_CLIPS
    if recording in ARCHIVE_TRAINING:  # a reviewed recording of predict.audio_dir
        return path
    return SYNTHETIC_LISTING if config["data"]["source"] == "synthetic" else path


TABLE_ORPHANS = []  # label files, or files a table names, that are no recording
IGNORED_FILES = []  # system files and other text passed over by name
RELEASE_DIGESTS = (
    {}
)  # release recording -> digest of its clips' times (an ingest parameter)


def directory_sources(data):
    """A folder of recordings, with label files or one table for the whole dataset; the
    orphan label files and the files ignored by name kept for the report."""
    table = data.get("annotation_table")
    labels = data.get("annotation_dir", data["audio_dir"])
    try:
        if table:
            found = discover_with_table(data["audio_dir"], table, data["recording_ids"])
        else:
            found = discover(data["audio_dir"], labels, data["recording_ids"])
    except ValueError as err:
        raise WorkflowError(f"data: {err}") from None
    TABLE_ORPHANS[:], IGNORED_FILES[:] = found.orphans, found.ignored
    if IGNORED_FILES:
        logger.info(
            f"note: {len(IGNORED_FILES)} files ignored by name (listed in the report), "
            f"e.g. {IGNORED_FILES[0]}"
        )
    return found.sources


def recording_sources():
    """Recording id -> raw audio and label file, known when the DAG is built."""
    data = config["data"]
    if RELEASE:
        names = release_recordings(Path(data["release_dir"]) / "metadata.csv")
        return {r: RecordingSource(r, RELEASE_CLIPS, None) for r in names}
    if CLASS_FOLDERS:
        try:
            sources = class_folder_sources(data["class_dir"], SPECIES_CODES)
        except ValueError as err:
            raise WorkflowError(f"data.class_dir: {err}") from None
        if not sources:
            raise WorkflowError(
                f"no audio clips under data.class_dir={data['class_dir']!r}"
            )
        return sources
    if data["source"] == "synthetic":
        root = data["audio_dir"]
        return {
            p.recording_id: RecordingSource(
                p.recording_id,
                f"{root}/{p.site}/{p.audio_name}",
                str(p.label_path(root)) if p.labelled else None,
            )
            for p in synthetic_plan()
        }
    sources = directory_sources(data)
    if not sources:
        raise WorkflowError(
            f"no audio files found under data.audio_dir={data['audio_dir']!r}"
        )
    missing = [r for r, s in sources.items() if s.annotation is None]
    table = data.get("annotation_table")
    if missing and UNLABELLED == "stop":
        where = (
            f"have no rows in data.annotation_table={table['path']!r}"
            if table
            else f"have no label file under data.annotation_dir="
            f"{data.get('annotation_dir', data['audio_dir'])!r}"
        )
        raise WorkflowError(
            f"{len(missing)} recordings {where}, e.g. {missing[:5]}; set "
            "data.unlabelled: pool to leave them out of training and testing (suggest, "
            "predict and validate can still score them), or data.unlabelled: negative only "
            "if none of them holds a call of any species (docs/real-data.md)"
        )
    if missing:
        logger.info(
            f"{len(missing)} of {len(sources)} recordings have no labels: "
            + (
                "left out of training and testing (data.unlabelled: pool)"
                if UNLABELLED == "pool"
                else "taken as holding no call (data.unlabelled: negative)"
            )
        )
    return sources


def orphan_label_files():
    """Label files no recording claims: an error, or listed in the report under skip."""
    orphans = list(TABLE_ORPHANS) if config["data"]["source"] == "directory" else []
    if orphans and config["on_bad_annotation"] == "fail":
        raise WorkflowError(
            f"{len(orphans)} label files (or files an annotation table names) have no "
            f"recording under data.audio_dir, e.g. {orphans[:5]}; set "
            "on_bad_annotation: skip to go on without them (they are listed in the report)"
        )
    return orphans


# data last: config and experiment errors are reported before the data are looked at
SOURCES = recording_sources()


def sites_of_sources():
    """Each recording's site as data.site reads its path; a rule that finds none for a file
    stops the run naming it. The sites found are logged with their recording counts."""
    sites = {}
    for r, s in SOURCES.items():
        try:
            sites[r] = NAMES.site_of(r, s.audio)
        except ValueError as err:
            raise WorkflowError(str(err))
    if config["data"]["source"] == "directory":
        counts = Counter(sites.values())
        logger.info(
            f"{len(counts)} sites (data.site: {RECORDER_NAMES['site']}): "
            + ", ".join(
                f"{site} ({n} recordings)" for site, n in sorted(counts.items())
            )
        )
    return sites


SITE_OF = sites_of_sources()


def species_from_labels():
    """species: from_labels - the codes the label files name, sorted, as the species table
    (groups from the windows counts); a code in fewer than species_min_recordings recordings
    is named, and labels that name no species at all stop the run."""
    data = config["data"]
    if data["source"] != "directory":
        raise WorkflowError(
            "species: from_labels reads the codes from label files, so it needs data.source: "
            f"directory (this config has {data['source']!r}); list the species instead"
        )
    files = {r: s.annotation for r, s in SOURCES.items()}
    table_files = {r: s.table_files for r, s in SOURCES.items()}
    counts, unreadable, dropped = species_in_labels(
        files,
        data.get("annotation_table"),
        table_files,
        LabelCodes.from_config(LABEL_CODES),
    )
    n_files = sum(path is not None for path in files.values())
    if not counts:
        raise WorkflowError(
            f"species: from_labels, but the {n_files} label files of {len(SOURCES)} "
            "recordings name no species"
            + (
                f" ({len(unreadable)} could not be read, e.g. {unreadable[0]})"
                if unreadable
                else ""
            )
            + "; check data.annotation_dir, or list the species in the config"
        )
    SPECIES[:] = [{"code": code} for code in counts]
    SPECIES_CODES[:] = list(counts)
    logger.info(
        f"species from the labels ({n_files} files): "
        + ", ".join(f"{c} ({n} recordings)" for c, n in counts.items())
    )
    if LABEL_CODES["ignore_codes"]:
        logger.info(
            "data.ignore_codes: rows dropped, "
            + ", ".join(
                f"{c} ({dropped.get(c, 0)} rows)" for c in LABEL_CODES["ignore_codes"]
            )
        )
    for group in look_alike_codes(list(counts)):
        logger.warning(
            f"codes that differ only in case or spacing, kept apart as written: "
            f"{', '.join(repr(c) for c in group)}; correct the labels, or list one in "
            "data.ignore_codes, if they are one species"
        )
    few = {c: n for c, n in counts.items() if n < config["species_min_recordings"]}
    if few:
        logger.warning(
            f"{len(few)} species in fewer than {config['species_min_recordings']} recordings "
            "(species_min_recordings), too few to train, select and test on separate "
            "recordings: " + ", ".join(f"{c} ({n})" for c, n in few.items())
        )


if SPECIES_FROM_LABELS:
    species_from_labels()


def recording_groups():
    """Recording -> group for a grouped split (class folders with data.clip_groups), or None."""
    table = config["data"].get("clip_groups")
    if not (CLASS_FOLDERS and table):
        return None
    if not Path(table).is_file():
        raise WorkflowError(
            f"invalid config: data.clip_groups: file {table!r} does not exist"
        )
    try:
        return clip_groups(table, config["data"]["class_dir"], SPECIES_CODES)
    except ValueError as err:
        raise WorkflowError(f"data.clip_groups: {err}") from None


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


REVIEW_FILES = review_label_files()
# each labels file's recordings, read once: which ones train (train_on_reviews) and which merge
# reads which file (rules/validate_setup.smk) both need them, only with a `predict` section
REVIEW_RECORDINGS = (
    recordings_by_file(REVIEW_FILES) if REVIEW_FILES and config.get("predict") else {}
)


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


ARCHIVE_TRAINING = reviewed_archive_sources()
SOURCES.update(ARCHIVE_TRAINING)


CLIP_GROUPS = recording_groups()
ORPHAN_LABEL_FILES = orphan_label_files()
RECORDINGS = sorted(SOURCES)


def noise_files():
    """The noise recordings of the noise bank (None: the config has no noise bank)."""
    noise = config.get("noise")
    if noise is None:
        return None
    root = Path(noise["audio_dir"])
    if noise["source"] == "synthetic":
        return [str(root / f"noise_{i:02d}.wav") for i in range(noise["n_recordings"])]
    files = [str(p) for p in list_files(root, AUDIO_EXTENSIONS).files]
    if not files:
        raise WorkflowError(
            f"noise.audio_dir={noise['audio_dir']!r} holds no audio files"
        )
    return files


NOISE = config.get("noise")
NOISE_FILES = noise_files()
for _name in EXPERIMENTS:
    if uses_noise(_name) and NOISE is None:
        raise WorkflowError(
            f"experiment {_name!r} sets augment.noise but the config has no 'noise' section "
            "(the noise bank to mix from)"
        )

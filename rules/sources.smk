# The recordings and their label files, known when the DAG is built, computed in this order:
# the recordings of the data route (synthetic and the release and class folders here; a folder
# of recordings in sources_directory.smk), their sites, the species from the labels, the
# review folder's decisions (sources_reviews.smk), the noise bank's files (sources_noise.smk).


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
    return directory_recordings(data)


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


REVIEW_FILES = review_label_files()
# each labels file's recordings, read once: which ones train (train_on_reviews) and which merge
# reads which file (rules/validate_setup.smk) both need them, only with a `predict` section
REVIEW_RECORDINGS = (
    recordings_by_file(REVIEW_FILES) if REVIEW_FILES and config.get("predict") else {}
)


ARCHIVE_TRAINING = reviewed_archive_sources()
SOURCES.update(ARCHIVE_TRAINING)


CLIP_GROUPS = recording_groups()
ORPHAN_LABEL_FILES = orphan_label_files()
RECORDINGS = sorted(SOURCES)


NOISE = config.get("noise")
NOISE_FILES = noise_files()
for _name in EXPERIMENTS:
    if uses_noise(_name) and NOISE is None:
        raise WorkflowError(
            f"experiment {_name!r} sets augment.noise but the config has no 'noise' section "
            "(the noise bank to mix from)"
        )

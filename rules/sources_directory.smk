# Data route `directory`: a folder of recordings with label files or one annotation table,
# and `species: from_labels` (the codes the label files name). Called from sources.smk.


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


def directory_recordings(data):
    """A folder of recordings (data.source directory): its sources, the recordings without
    labels stopping the run, left out or taken as negative as data.unlabelled says."""
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

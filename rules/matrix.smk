# The runs: experiment x fold x seed, with folds from cross-validation or the sites
# (split.method: by_site), and a warning when real data would train on this CPU.

BY_SITE = config["split"]["method"] == "by_site"


def split_sites():
    """The recording sites, sorted (fold k of `split.method: by_site` is SITES[k])."""
    if not BY_SITE:
        return []
    if CLASS_FOLDERS:
        raise WorkflowError(
            "split.method: by_site needs recording sites; class-folder clips have none"
        )
    sites = sorted({recording_site(r, s.audio) for r, s in SOURCES.items()})
    if len(sites) < 2:
        raise WorkflowError(
            f"split.method: by_site needs at least two sites, the data have {sites}"
        )
    for name, exp in EXPERIMENTS.items():
        if exp.get("folds"):
            raise WorkflowError(
                f"experiment {name!r} sets folds; with split.method: by_site the folds are "
                "the sites"
            )
    return sites


SITES = split_sites()


def experiment_folds(exp):
    """The folds an experiment runs: the sites (by_site), its k folds, or [None]."""
    if BY_SITE:
        return range(len(SITES))
    return range(exp["folds"]) if exp.get("folds") else [None]


# (experiment, fold, seed); fold None: the fixed train/val split, else cross-validation
RUNS = [
    (name, fold, seed)
    for name, exp in EXPERIMENTS.items()
    for fold in experiment_folds(exp)
    for seed in exp["seeds"]
]


def warn_cpu_training():
    """A real-data run that will train on this machine's CPU says so, with the work it asks
    for, instead of silently starting e.g. 100 epochs on two cores."""
    if (
        config["data"]["source"] == "synthetic"
        or config["train_gpus"] > 0
        or gpu_visible()
    ):
        return
    if CLASS_FOLDERS:  # one window per clip
        windows = len(SOURCES)
    elif RELEASE:  # one window per row of metadata.csv
        with open(Path(config["data"]["release_dir"]) / "metadata.csv") as table:
            windows = sum(1 for _ in table) - 1
    else:
        windows = estimate_windows(
            [s.audio for s in SOURCES.values()],
            config["windows"]["length_s"],
            config["windows"]["hop_s"],
        )
    epochs = sum(EXPERIMENTS[name]["epochs"] for name, _, _ in RUNS)
    logger.warning(cpu_training_note(len(RUNS), epochs, windows))


warn_cpu_training()

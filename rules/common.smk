# Helpers for the workflow: paths, the recording list, experiments.

import os
import sys
from pathlib import Path

import yaml

# The anuraflow library lives beside this workflow: importable here from the workflow's base
# directory, and in every job's script through the link workflow/scripts/anuraflow (Snakemake
# puts a script's own folder on sys.path), conda environments included.
sys.path.insert(0, workflow.basedir)

from anuraflow.core.configcheck import schema_errors  # noqa: E402
from anuraflow.core.provenance import gpu_visible  # noqa: E402
from anuraflow.data.recordings import (
    AUDIO_EXTENSIONS,
    RecordingSource,
    discover_recordings,
    estimate_windows,
    recording_site,
    release_recordings,
    unmatched_annotation_files,
    with_annotation_table,
)  # noqa: E402
from anuraflow.data.annotations import table_recordings  # noqa: E402
from anuraflow.data.clips import (
    class_folder_sources,
    clip_groups,
)  # noqa: E402
from anuraflow.data.synthetic import plan_dataset  # noqa: E402
from anuraflow.learn.experiments import (
    cpu_training_note,
    experiment_settings,
)  # noqa: E402

SCHEMAS = os.path.join(workflow.basedir, "config", "schemas")


def check_config():
    """Every config error, by key, before any job runs; then Snakemake fills the defaults."""
    errors = schema_errors(config, os.path.join(SCHEMAS, "config.schema.yaml"))
    if errors:
        raise WorkflowError("invalid config:\n  " + "\n  ".join(errors))
    if config["data"]["source"] == "synthetic":
        config.setdefault("synthetic", {})  # filled with the schema's defaults next
    validate(config, os.path.join(SCHEMAS, "config.schema.yaml"))
    data = config["data"]
    must_exist = [("experiments_dir", config["experiments_dir"])]
    if data["source"] == "anuraset_release":
        must_exist.append(("data.release_dir", data["release_dir"]))
    if data["source"] == "class_folders":
        must_exist.append(("data.class_dir", data["class_dir"]))
    if data["source"] == "directory":
        must_exist.append(("data.audio_dir", data["audio_dir"]))
        if "annotation_dir" in data:
            must_exist.append(("data.annotation_dir", data["annotation_dir"]))
    if config.get("noise", {}).get("source") == "directory":
        must_exist.append(("noise.audio_dir", config["noise"]["audio_dir"]))
    for key, path in must_exist:
        here = Path(path).is_dir()
        if not (
            here
            or key == "experiments_dir"
            and (Path(workflow.basedir) / path).is_dir()
        ):
            raise WorkflowError(
                f"invalid config: {key}: directory {path!r} does not exist"
            )
    split_file = config["split"].get("file")
    if split_file and not Path(split_file).is_file():
        raise WorkflowError(
            f"invalid config: split.file: file {split_file!r} does not exist"
        )
    if (
        data["source"] == "anuraset_release"
        and not (Path(data["release_dir"]) / "metadata.csv").is_file()
    ):
        raise WorkflowError(
            f"invalid config: data.release_dir: {data['release_dir']!r} has no metadata.csv"
        )


check_config()

RESULTS = config["results_dir"]
SPECIES = config["species"]
SPECIES_CODES = [s["code"] for s in SPECIES]
RELEASE = config["data"]["source"] == "anuraset_release"
CLASS_FOLDERS = config["data"]["source"] == "class_folders"
LABELS_WITHOUT_FILES = RELEASE or CLASS_FOLDERS
INGEST_KIND = "release" if RELEASE else "clip" if CLASS_FOLDERS else "recording"
# every usable clip of the release, as release_index checked them
RELEASE_CLIPS = f"{RESULTS}/release/clips.parquet"
TRAIN_THREADS = config.get("train_threads", 4)


def synthetic_plan():
    syn = config["synthetic"]
    return plan_dataset(
        SPECIES_CODES,
        syn["n_recordings"],
        syn["seed"],
        syn.get("sites"),
        syn["sample_rate"],
        syn["format_variety"],
        syn["min_recordings_per_species"],
        syn.get("prevalence"),
    )


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
    return SYNTHETIC_LISTING if config["data"]["source"] == "synthetic" else path


TABLE_ORPHANS = []  # recordings an annotation table names that have no audio
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
                f"{root}/{p.site}/{p.label_name}",
            )
            for p in synthetic_plan()
        }
    table = data.get("annotation_table")
    sources = discover_recordings(
        data["audio_dir"],
        None if table else data.get("annotation_dir", data["audio_dir"]),
    )
    if table:
        named = table_recordings(table["path"], table)
        sources, TABLE_ORPHANS[:] = with_annotation_table(sources, table["path"], named)
    if not sources:
        raise WorkflowError(
            f"no audio files found under data.audio_dir={data['audio_dir']!r}"
        )
    missing = [r for r, s in sources.items() if s.annotation is None]
    if missing and data["require_annotations"]:
        where = (
            f"rows in data.annotation_table={table['path']!r}"
            if table
            else f"an annotation file under data.annotation_dir="
            f"{data.get('annotation_dir', data['audio_dir'])!r}"
        )
        raise WorkflowError(
            f"{len(missing)} recordings have no {where}, e.g. {missing[:5]}; "
            "set data.require_annotations: false to treat them as having no calls"
        )
    return sources


def orphan_label_files():
    """Label files no recording claims: an error, or listed in the report under skip."""
    data = config["data"]
    if data["source"] != "directory":
        return []
    if data.get("annotation_table"):
        orphans = list(TABLE_ORPHANS)
    else:
        orphans = unmatched_annotation_files(
            SOURCES, data.get("annotation_dir", data["audio_dir"])
        )
    if orphans and config["on_bad_annotation"] == "fail":
        raise WorkflowError(
            f"{len(orphans)} annotation files under data.annotation_dir have no recording "
            f"under data.audio_dir, e.g. {orphans[:5]}; set on_bad_annotation: skip to "
            "go on without them (they are listed in the report)"
        )
    return orphans


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
    with open(path) as fh:
        doc = yaml.safe_load(fh)
    doc = {**doc, **config.get(overrides_key, {})}
    schema = os.path.join(SCHEMAS, schema_name)
    errors = schema_errors(doc, schema)
    if errors:
        raise WorkflowError(f"invalid {what} config {path}:\n  " + "\n  ".join(errors))
    validate(doc, schema)
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


EXPERIMENTS = {name: load_experiment(name) for name in config["experiments"]}


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


def run_dir(name, fold, seed):
    run = f"{RESULTS}/runs/{name}"
    return f"{run}/seed{seed}" if fold is None else f"{run}/fold{fold}/seed{seed}"


def encoder_input(wildcards):
    """The pretrained encoder a fine-tuning run starts from: an input, so the DAG tracks it."""
    init = EXPERIMENTS[wildcards.experiment].get("init")
    return [f"{RESULTS}/pretrain/{init['pretrain']}/encoder.pt"] if init else []


def weights_input(wildcards):
    weights = EXPERIMENTS[wildcards.experiment].get("pretrained_weights")
    return [str(Path(weights).expanduser())] if weights else []


# data last: config and experiment errors are reported before the data are looked at
SOURCES = recording_sources()


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


CLIP_GROUPS = recording_groups()
ORPHAN_LABEL_FILES = orphan_label_files()
RECORDINGS = sorted(SOURCES)

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


def noise_files():
    """The noise recordings of the noise bank (None: the config has no noise bank)."""
    noise = config.get("noise")
    if noise is None:
        return None
    root = Path(noise["audio_dir"])
    if noise["source"] == "synthetic":
        return [str(root / f"noise_{i:02d}.wav") for i in range(noise["n_recordings"])]
    files = sorted(
        str(p) for p in root.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS
    )
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


def run_files(filename):
    return [f"{run_dir(name, fold, seed)}/{filename}" for name, fold, seed in RUNS]


def predict_setup():
    """The `predict` section checked against the experiments, and its recordings: (bundle,
    output folder, recording id -> file); None without a `predict` section."""
    pred = config.get("predict")
    if pred is None:
        return None
    name = pred["experiment"]
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
    try:
        sources = discover_recordings(pred["audio_dir"], None)
    except ValueError as err:
        raise WorkflowError(f"predict.audio_dir: {err}") from None
    if not sources:
        raise WorkflowError(
            f"no audio files found under predict.audio_dir={pred['audio_dir']!r}"
        )
    return bundle, f"{RESULTS}/predict/{name}", {r: s.audio for r, s in sources.items()}


PREDICT = predict_setup()
PREDICT_BUNDLE, PREDICT_DIR, PREDICT_SOURCES = PREDICT or (None, None, {})


def predict_targets(wildcards):
    """Everything `predict` makes; an error when the config has no `predict` section."""
    if not PREDICT:
        raise WorkflowError(
            "the target 'predict' needs a 'predict' section in the config (audio_dir, "
            "experiment; see config/README.md)"
        )
    targets = [
        f"{PREDICT_DIR}/{name}"
        for name in ("detections.csv", "activity.csv", "activity.png", "recordings.tsv")
    ] + expand(
        f"{PREDICT_DIR}/raven/{{recording}}.Table.1.selections.txt",
        recording=sorted(PREDICT_SOURCES),
    )
    if config["predict"].get("model") is None:
        targets.append(PREDICT_BUNDLE.replace("model.pt", "model.onnx"))
    return targets

# Helpers used everywhere: the library on sys.path, the config checked at start, the
# results layout. The rest of the start-up work is split by concern, in the order the
# Snakefile includes them: experiments.smk (experiment and pretraining configs),
# sources.smk (the recordings and label files), matrix.smk (the runs: experiment x fold x
# seed). predict_setup.smk checks the predict section.

import os
import sys
from collections import Counter
from pathlib import Path

# The anuraflow library lives beside this workflow: importable here from the workflow's base
# directory, and in every job's script through the link workflow/scripts/anuraflow (Snakemake
# puts a script's own folder on sys.path), conda environments included.
sys.path.insert(0, workflow.basedir)

from snakemake.utils import update_config  # noqa: E402

from anuraflow.core.configcheck import (
    fill_defaults,
    read_yaml,
    schema_errors,
    typed_command_line,
)  # noqa: E402
from anuraflow.core.provenance import gpu_visible  # noqa: E402
from anuraflow.data.recordings import (
    AUDIO_EXTENSIONS,
    RecordingSource,
    estimate_windows,
    release_recordings,
)  # noqa: E402
from anuraflow.data.discovery import discover, discover_with_table  # noqa: E402
from anuraflow.data.folders import list_files  # noqa: E402
from anuraflow.data.headers import audio_durations  # noqa: E402
from anuraflow.data.review_labels import (  # noqa: E402
    label_files_by_use,
    recordings_by_file,
)
from anuraflow.data.shards import plan_shards  # noqa: E402
from anuraflow.data.label_rows import DEFAULT_QUALITIES, LabelCodes  # noqa: E402
from anuraflow.data.recorder_names import RecorderNames  # noqa: E402
from anuraflow.data.recordings import unlabelled_mode  # noqa: E402
from anuraflow.data.species import look_alike_codes, species_in_labels  # noqa: E402
from anuraflow.data.clips import (
    class_folder_sources,
    clip_groups,
)  # noqa: E402
from anuraflow.simulate.plan import SyntheticSpec  # noqa: E402
from anuraflow.simulate.writer import SIMULATED_MARK  # noqa: E402
from anuraflow.features.birdnet import (
    SAMPLE_RATE as BIRDNET_RATE,
    EmbeddingModelMissing,
    check_embedding_model,
)  # noqa: E402
from anuraflow.features.birdnet_runtime import embedding_runtime_note  # noqa: E402
from anuraflow.learn.experiments import (
    cpu_training_note,
    experiment_settings,
)  # noqa: E402
from anuraflow.learn.step_time import (
    StepShape,
    birdnet_window_seconds,
    forward_seconds,
    projected_hours,
    scoring_hours,
    step_seconds,
)  # noqa: E402
from anuraflow.features.logmel import LogMelConfig  # noqa: E402
from anuraflow.learn.experiments import (
    uses_embeddings as experiment_reads_embeddings,
    uses_waveforms as experiment_reads_waveforms,
)  # noqa: E402

SCHEMAS = os.path.join(workflow.basedir, "config", "schemas")


def check_config():
    """Every config error, by key, before any job runs; then the schema's defaults."""
    for key, value in workflow.config_settings.overwrite_config.items():
        if isinstance(value, (dict, list)):  # --config key={...}: inner values typed
            update_config(config, {key: typed_command_line(value)})
    errors = schema_errors(config, os.path.join(SCHEMAS, "config.schema.yaml"))
    if errors:
        raise WorkflowError("invalid config:\n  " + "\n  ".join(errors))
    if config["data"]["source"] == "synthetic":
        config.setdefault("synthetic", {})  # filled with the schema's defaults next
    fill_defaults(config, os.path.join(SCHEMAS, "config.schema.yaml"))
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
# species: from_labels leaves both empty until the label files are read (sources.smk)
SPECIES_FROM_LABELS = config["species"] == "from_labels"
SPECIES = [] if SPECIES_FROM_LABELS else config["species"]
SPECIES_CODES = [s["code"] for s in SPECIES]
# a recording without labels: stop the run, leave it out of training and testing (pool), or
# take it as holding no call (negative), as data.unlabelled says
UNLABELLED, _unlabelled_warning = unlabelled_mode(config["data"])
if _unlabelled_warning:
    logger.warning(_unlabelled_warning)
# a recording's site and start time as the config says to read its path (data.site,
# data.time_zone): checked here, a rule param of ingest and predict so a change reruns them
RECORDER_NAMES = {
    "site": config["data"].get("site", "auto"),
    "time_zone": config["data"].get("time_zone"),
}
try:
    NAMES = RecorderNames.from_config(RECORDER_NAMES)
except ValueError as err:
    raise WorkflowError(str(err))
# split.group: auto groups a site's night only for recordings as recorders write them (a
# directory); the synthetic generator draws every recording on its own, the release and
# class folders are split as published or by clip group
SPLIT_GROUPING = config["split"].get("group", "auto")
if SPLIT_GROUPING == "auto" and config["data"]["source"] != "directory":
    SPLIT_GROUPING = "recording"
# how a written label becomes a code (anuraflow.data.label_rows.LabelCodes): a rule param, so
# a change reruns the annotation jobs
LABEL_CODES = {
    "qualities": config["data"].get("qualities", list(DEFAULT_QUALITIES)),
    "ignore_codes": config["data"].get("ignore_codes", []),
}
RELEASE = config["data"]["source"] == "anuraset_release"
CLASS_FOLDERS = config["data"]["source"] == "class_folders"
LABELS_WITHOUT_FILES = RELEASE or CLASS_FOLDERS
INGEST_KIND = "release" if RELEASE else "clip" if CLASS_FOLDERS else "recording"
# every usable clip of the release, as release_index checked them
RELEASE_CLIPS = f"{RESULTS}/release/clips.parquet"
TRAIN_THREADS = config.get("train_threads", 4)


def source_audio_params(recording):
    """How a dataset recording's audio is read at another rate than ingest's (the embedding
    and waveform stages): ingest's own arguments (anuraflow/features/jobs.py: source_audio).
    """
    return {
        "source": SOURCES[recording].audio,
        "kind": INGEST_KIND,
        "clip_fit": config["data"].get("clip_fit", "start"),
        "release_metadata": str(
            Path(config["data"].get("release_dir", ".")) / "metadata.csv"
        ),
    }


def run_dir(name, fold, seed):
    run = f"{RESULTS}/runs/{name}"
    return f"{run}/seed{seed}" if fold is None else f"{run}/fold{fold}/seed{seed}"


def run_files(filename):
    return [f"{run_dir(name, fold, seed)}/{filename}" for name, fold, seed in RUNS]

"""Every experiment config of the seeds: valid, and runnable for one epoch on tiny data."""

import html
import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from workflow_helpers import snakemake

from anuraflow.experiments import experiment_settings

REPO = Path(__file__).resolve().parent.parent
EXPERIMENT_DIR = REPO / "config" / "experiments"
EXPERIMENT_FILES = sorted(EXPERIMENT_DIR.glob("*.yaml"))
SCHEMA = yaml.safe_load((REPO / "config/schemas/experiment.schema.yaml").read_text())
PAPER = yaml.safe_load((REPO / "config/paper-experiments.yaml").read_text())
CODES = ["SPHSUR", "BOABIS", "BOAFAB", "LEPPOD"]


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("path", EXPERIMENT_FILES, ids=lambda p: p.stem)
def test_experiment_config_is_valid(path):
    exp = load(path)
    jsonschema.validate(exp, SCHEMA)
    assert exp["name"] == path.stem
    experiment_settings(exp)  # the checks beyond the schema
    if exp["name"] != "demo_cnn":
        assert exp["seeds"] == [0, 1, 2]  # the papers report 3 runs
        assert {"table", "row", "order"} <= set(exp["report"])


def test_paper_experiments_lists_every_table_config():
    listed = set(PAPER["experiments"])
    assert listed == {p.stem for p in EXPERIMENT_FILES} - {"demo_cnn"}


def test_mixing_with_a_hard_label_embedding_loss_is_refused():
    exp = {**load(EXPERIMENT_DIR / "loss_add_hard.yaml"), "mixing": {"methods": {"mixup": 1}}}
    with pytest.raises(ValueError, match="use add_soft with mixing"):
        experiment_settings(exp)
    bad = load(EXPERIMENT_DIR / "loss_add_soft.yaml")
    bad["loss"]["embedding"]["mu_p"] = 1.0
    with pytest.raises(ValueError, match="takes no mu_p"):
        experiment_settings(bad)


TINY_ALL = {
    "results_dir": "results",
    "data": {"source": "synthetic", "audio_dir": "data/raw", "annotation_dir": "data/raw"},
    "synthetic": {
        "seed": 5,
        "n_recordings": 12,
        "duration_s": 12,
        "min_recordings_per_species": 4,
        "format_variety": False,
    },
    "noise": {"source": "synthetic", "audio_dir": "data/noise", "n_recordings": 2, "duration_s": 6},
    "species": [{"code": c} for c in CODES],
    "frequency_groups": {"frequent_min_windows": 40, "common_min_windows": 20},
    # a smoke run: smaller inputs (64 mels, hop 256 -> 189 frames per window) and one thread per
    # job so two jobs share the two CI cores; the models adapt to the input shape
    "features": {"sample_rate": 16000, "n_fft": 512, "hop_length": 256, "n_mels": 64},
    "train_threads": 1,
    "experiments_dir": str(EXPERIMENT_DIR),
    "experiments": PAPER["experiments"],
    "experiment_overrides": {"epochs": 1, "seeds": [0]},
    "report": {"title": "every experiment, one epoch"},
}


@pytest.mark.workflow
def test_every_experiment_runs_one_epoch_and_reaches_the_report(tmp_path):
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(TINY_ALL))
    snakemake(tmp_path)
    res = tmp_path / "results"
    page = (res / "report" / "report.html").read_text()
    for name in PAPER["experiments"]:
        exp = load(EXPERIMENT_DIR / f"{name}.yaml")
        metrics = json.loads((res / "runs" / name / "seed0" / "metrics.json").read_text())
        assert metrics["epochs_run"] == 1 and metrics["model"] == exp["model"]
        assert metrics["task"] == exp.get("task", "multilabel")
        if exp.get("mixing"):
            assert set(metrics["mixing_steps"]) <= set(exp["mixing"]["methods"])
        else:
            assert set(metrics["mixing_steps"]) == {"none"}
        if exp.get("task") == "multiclass":
            assert 0 <= metrics["accuracy"] <= 1 and "balanced_accuracy" in metrics
        else:
            assert "map" in metrics and "f1_by_polyphony" in metrics
        assert html.escape(exp["report"]["row"]) in page
        assert html.escape(exp["report"]["table"]) in page
    variant = json.loads((res / "runs/t2_36_nomix/seed0/metrics.json").read_text())["dataset"]
    assert variant["dropped_windows"]["empty"] > 0
    assert (res / "features" / "noise_bank.parquet").exists()

"""Every experiment config of the seeds: valid, and runnable for one epoch on tiny data."""

import html
import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from workflow_helpers import snakemake, strict_json

from anuraflow.learn.experiments import experiment_settings

REPO = Path(__file__).resolve().parent.parent
EXPERIMENT_DIR = REPO / "config" / "experiments"
EXPERIMENT_FILES = sorted(EXPERIMENT_DIR.glob("*.yaml"))
SCHEMA = yaml.safe_load((REPO / "config/schemas/experiment.schema.yaml").read_text())
PAPER = yaml.safe_load((REPO / "config/paper-experiments.yaml").read_text())
TRANSFER = yaml.safe_load((REPO / "config/transfer-experiments.yaml").read_text())
EMBEDDING = yaml.safe_load((REPO / "config/embedding-experiments.yaml").read_text())
FINETUNE = yaml.safe_load((REPO / "config/finetune-experiments.yaml").read_text())
PRETRAIN_SCHEMA = yaml.safe_load((REPO / "config/schemas/pretrain.schema.yaml").read_text())
PRETRAIN_FILES = sorted((REPO / "config" / "pretrain").glob("*.yaml"))
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
        # the papers report 3 runs; seed 003 repeats over its 5 cross-validation folds
        assert exp["seeds"] == ([0] if exp.get("folds") else [0, 1, 2])
        assert {"table", "row", "order"} <= set(exp["report"])


def test_the_overlays_list_every_experiment_config_once():
    paper, transfer = PAPER["experiments"], TRANSFER["experiments"]
    probes = [e for e in EMBEDDING["experiments"] if e != "demo_cnn"]
    finetuned = [e for e in FINETUNE["experiments"] if e not in ("demo_cnn", *probes)]
    assert sorted(paper + transfer + probes + finetuned) == sorted(
        {p.stem for p in EXPERIMENT_FILES} - {"demo_cnn"}
    )
    assert not set(paper) & set(transfer)
    assert EMBEDDING["report"]["compare"] == [[p, "demo_cnn"] for p in probes]
    assert finetuned == ["birdnet_finetune"]
    assert FINETUNE["report"]["compare"] == [
        ["birdnet_finetune", other] for other in FINETUNE["experiments"] if other in probes
    ] + [["birdnet_finetune", "demo_cnn"]]
    for a, b in TRANSFER["report"]["compare"]:
        assert {a, b} <= set(transfer)


@pytest.mark.parametrize("path", PRETRAIN_FILES, ids=lambda p: p.stem)
def test_pretraining_config_is_valid_and_used(path):
    pre = load(path)
    jsonschema.validate(pre, PRETRAIN_SCHEMA)
    assert pre["name"] == path.stem
    users = [load(EXPERIMENT_DIR / f"{n}.yaml") for n in TRANSFER["experiments"]]
    assert any((u.get("init") or {}).get("pretrain") == pre["name"] for u in users)


def test_transfer_overlay_builds_its_dag(tmp_path):
    """Seeds 003/004 on the tiny data: pretraining, fold splits and fold x experiment jobs."""
    config = {**TINY_ALL, "experiments": TRANSFER["experiments"], "report": TRANSFER["report"]}
    config["pretrain_dir"] = str(REPO / "config" / "pretrain")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    out = snakemake(tmp_path, "-n", "--quiet", "rules")
    counts = dict(
        (line.split()[0], int(line.split()[1]))
        for line in out.stdout.splitlines()
        if len(line.split()) == 2 and line.split()[1].isdigit()
    )
    n_cv = sum(1 for n in TRANSFER["experiments"] if n.startswith("s003_")) * 5
    n_plain = sum(1 for n in TRANSFER["experiments"] if n.startswith("s004_"))  # seeds: [0]
    assert counts["pretrain_encoder"] == 4 and counts["kfold_splits"] == 1
    assert counts["train_model_cv"] == n_cv and counts["train_model"] == n_plain


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
        "duration_s": 8,  # 6 windows a recording: each run sees 36 training windows
        "min_recordings_per_species": 4,
        "format_variety": False,
    },
    "noise": {"source": "synthetic", "audio_dir": "data/noise", "n_recordings": 2, "duration_s": 6},
    "species": [{"code": c} for c in CODES],
    "frequency_groups": {"frequent_min_windows": 40, "common_min_windows": 20},
    # a smoke run: the smallest inputs every model takes (32 mels, hop 512 -> 94 frames per
    # window: ResNet-152's last stage still sees 1 x 3) and one thread per job so two jobs share
    # the two CI cores; the models adapt to the input shape
    "features": {"sample_rate": 16000, "n_fft": 512, "hop_length": 512, "n_mels": 32},
    "train_threads": 1,
    "experiments_dir": str(EXPERIMENT_DIR),
    "experiments": PAPER["experiments"],
    "experiment_overrides": {"epochs": 1, "seeds": [0]},
    # 32 runs: 100 resamples each are enough to check the intervals are made and shown
    "report": {"title": "every experiment, one epoch", "bootstrap_samples": 100},
}


@pytest.mark.workflow
def test_every_experiment_runs_one_epoch_and_reaches_the_report(tmp_path):
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(TINY_ALL))
    snakemake(tmp_path)
    res = tmp_path / "results"
    page = (res / "report" / "report.html").read_text()
    # the rows keep the papers' labels, so the page says the runs were overridden
    assert "trained under <code>experiment_overrides</code>" in page
    assert "<code>epochs: 1</code>, <code>seeds: [0]</code>" in page
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
    for path in res.rglob("*.json"):  # undefined metrics (a group with no species) are null
        strict_json(path.read_text())
    variant = json.loads((res / "runs/t2_36_nomix/seed0/metrics.json").read_text())["dataset"]
    assert variant["dropped_windows"]["empty"] > 0
    assert (res / "features" / "noise_bank.parquet").exists()

"""Seed 003 through the real workflow: pretrain -> fine-tune -> 2-fold CV -> report, and a
changed pretraining config reruns exactly what depends on it."""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from test_workflow import planned_jobs
from workflow_helpers import snakemake

CODES = ["SPHSUR", "BOABIS", "BOAFAB", "LEPPOD"]
CONFIG = {
    "results_dir": "results",
    "data": {"source": "synthetic", "audio_dir": "data/raw", "annotation_dir": "data/raw"},
    "synthetic": {"seed": 3, "n_recordings": 10, "duration_s": 12},
    "species": [{"code": c} for c in CODES],
    "frequency_groups": {"frequent_min_windows": 30, "common_min_windows": 15},
    "features": {"n_mels": 64, "hop_length": 256},
    "experiments_dir": "experiments",
    "pretrain_dir": "pretrain",
    "train_threads": 1,
    "experiments": ["ft_vicreg", "random_init"],
    "report": {"title": "ssl", "compare": [["ft_vicreg", "random_init"]]},
}
BASE = {"model": "small_cnn", "task": "multiclass", "seeds": [0], "epochs": 1, "batch_size": 16}
EXPERIMENTS = {
    "ft_vicreg": {**BASE, "folds": 2, "init": {"pretrain": "pre"}, "balance": {"target": "max"}},
    "random_init": {**BASE, "folds": 2, "label_fraction": 0.5},
}
PRETRAIN = {"name": "pre", "method": "vicreg", "model": "small_cnn", "epochs": 2}
PRETRAIN |= {"batch_size": 16, "max_windows": 32}


@pytest.fixture(scope="module")
def ssl_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("ssl")
    (work / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    for folder in ("experiments", "pretrain"):
        (work / folder).mkdir()
    for name, exp in EXPERIMENTS.items():
        (work / "experiments" / f"{name}.yaml").write_text(yaml.safe_dump({"name": name, **exp}))
    (work / "pretrain" / "pre.yaml").write_text(yaml.safe_dump(PRETRAIN))
    snakemake(work)
    return work


@pytest.mark.workflow
def test_pretrain_finetune_cross_validate_report(ssl_run):
    res = ssl_run / "results"
    pre = json.loads((res / "pretrain" / "pre" / "metrics.json").read_text())
    assert pre["method"] == "vicreg" and pre["best_epoch"] in (1, 2)
    assert len(pd.read_csv(res / "pretrain" / "pre" / "history.tsv", sep="\t")) == 2
    folds = pd.read_parquet(res / "folds" / "k2.parquet")
    splits = pd.read_parquet(res / "splits.parquet")
    assert sorted(folds["recording_id"]) == sorted(splits.query("subset != 'test'")["recording_id"])
    for name in EXPERIMENTS:
        for fold in (0, 1):
            run = res / "runs" / name / f"fold{fold}" / "seed0"
            m = json.loads((run / "metrics.json").read_text())
            assert m["fold"] == fold and 0 <= m["balanced_accuracy"] <= 1
            assert "silhouette" in m and "tsne" not in m and m["n_parameters"] > 0
            sample = pd.read_parquet(run / "test_embeddings.parquet")
            assert len(sample) > 5 and set(sample["species"]) <= set(m["codes"])
    log = (res / "logs" / "train" / "ft_vicreg" / "fold0" / "seed0.log").read_text()
    assert f"fine-tuning from the encoder {Path('results/pretrain/pre/encoder.pt')}" in log
    html = (res / "report" / "report.html").read_text()
    for needle in ("Paired t-tests", "ft_vicreg vs random_init", "t-SNE", "silhouette",
                   "balanced acc.", "Model size against score"):  # fmt: skip
        assert needle in html, needle
    assert (res / "report" / "tsne.png").stat().st_size > 0


@pytest.mark.workflow
def test_changing_the_pretraining_config_reruns_exactly_its_dependants(ssl_run):
    path = ssl_run / "pretrain" / "pre.yaml"
    path.write_text(yaml.safe_dump({**PRETRAIN, "lr": 0.0005}))
    jobs = planned_jobs(ssl_run)
    rules = sorted(rule for rule, _ in jobs)
    assert rules == [
        "all", "build_report", "pretrain_encoder", "run_intervals", "run_intervals",
        "train_model_cv", "train_model_cv",
    ]  # fmt: skip
    detail = snakemake(ssl_run, "-n").stdout  # the two training jobs are ft_vicreg's folds
    assert detail.count("experiment=ft_vicreg") == 2 and "experiment=random_init" not in detail
    assert "fold=0" in detail and "fold=1" in detail

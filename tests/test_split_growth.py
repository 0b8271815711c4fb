"""Workflow test: adding recordings to a dataset moves no earlier recording between subsets;
a pinned split file is used as given (issue 13)."""

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from workflow_helpers import snakemake, tiny_directory_config

from anuraflow.simulate.writer import write_dataset

CODES = ["SPHSUR", "BOABIS", "BOAFAB", "LEPPOD"]
EXPERIMENT = {"name": "tiny", "model": "small_cnn", "seeds": [0], "epochs": 1, "batch_size": 16}


def _workdir(root: Path, **extra) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.yaml").write_text(yaml.safe_dump(tiny_directory_config(CODES, **extra)))
    (root / "experiments").mkdir(exist_ok=True)
    (root / "experiments" / "tiny.yaml").write_text(yaml.safe_dump(EXPERIMENT))
    return root


def _split(workdir: Path) -> pd.DataFrame:
    snakemake(workdir, "--until", "split_recordings")
    return pd.read_parquet(workdir / "results" / "splits.parquet").set_index("recording_id")


def _add_recordings(raw: Path, source: Path, n: int) -> list[str]:
    """Copy `n` recordings of another synthetic dataset in under new, later names."""
    added = []
    for k, wav in enumerate(sorted(source.rglob("*.wav"))[:n]):
        name = f"INCT41_20210101_{k:02d}0000"
        shutil.copy(wav, raw / f"{name}.wav")
        shutil.copy(wav.with_suffix(".txt"), raw / f"{name}.txt")
        added.append(name)
    return added


@pytest.mark.workflow
def test_adding_recordings_moves_no_earlier_recording(tmp_path):
    work = _workdir(tmp_path / "grow")
    raw = work / "data" / "raw"
    write_dataset(raw, CODES, n_recordings=12, seed=3, duration_s=12, progress=False)
    before = _split(work)
    assert set(before["origin"]) == {"stratified"}
    write_dataset(tmp_path / "more", CODES, n_recordings=4, seed=9, duration_s=12, progress=False)
    added = _add_recordings(raw, tmp_path / "more", 4)
    after = _split(work)
    assert set(after.index) == set(before.index) | set(added)
    assert after.loc[before.index, "subset"].equals(before["subset"])  # no earlier one moved
    assert (after.loc[before.index, "origin"] == "kept").all()
    assert (after.loc[added, "origin"] == "added").all()
    balance = pd.read_csv(work / "results" / "split_balance.tsv", sep="\t")
    assert balance["species"].tolist() == ["(recordings)", *CODES]
    assert (balance[["train", "val", "test"]].sum(axis=1) == balance["recordings"]).all()

    # removing a recording drops it and moves nobody else
    gone = before.index[0]
    for path in raw.rglob(f"{gone}.*"):
        path.unlink()
    shrunk = _split(work)
    assert gone not in shrunk.index
    assert shrunk["subset"].equals(after.drop(index=gone)["subset"])

    # a split file pins the split outright
    pinned = work / "pinned.tsv"
    table = shrunk["subset"].rename("subset").reset_index()
    table["subset"] = table["subset"].replace({"val": "train"})  # train / test only
    table.to_csv(pinned, sep="\t", index=False)
    config = yaml.safe_load((work / "config.yaml").read_text())
    config["split"] = {"file": str(pinned)}
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    fixed = _split(work)
    assert (fixed["origin"] == "file").all()
    test = table.set_index("recording_id")["subset"] == "test"
    assert (fixed.loc[test[test].index, "subset"] == "test").all()
    assert set(fixed.loc[test[~test].index, "subset"]) == {"train", "val"}


@pytest.mark.workflow
def test_adding_a_recording_moves_no_earlier_recording_between_folds(tmp_path):
    """kfold_splits is stable as data grow, as the split is: rerun after a recording is added,
    every earlier train/val recording keeps its fold and the new one is `added`."""
    work = _workdir(tmp_path / "folds")
    (work / "experiments" / "tiny.yaml").write_text(yaml.safe_dump({**EXPERIMENT, "folds": 3}))
    raw = work / "data" / "raw"
    write_dataset(raw, CODES, n_recordings=12, seed=3, duration_s=12, progress=False)
    target = "results/folds/k3.parquet"
    snakemake(work, target)
    before = pd.read_parquet(work / target).set_index("recording_id")
    assert set(before["origin"]) == {"stratified"} and set(before["fold"]) == {0, 1, 2}
    write_dataset(tmp_path / "more", CODES, n_recordings=3, seed=9, duration_s=12, progress=False)
    added = _add_recordings(raw, tmp_path / "more", 3)
    snakemake(work, target)
    after = pd.read_parquet(work / target).set_index("recording_id")
    splits = pd.read_parquet(work / "results" / "splits.parquet").set_index("recording_id")
    pool = splits.index[splits["subset"] != "test"]
    assert set(after.index) == set(pool) and set(before.index) <= set(after.index)
    assert after.loc[before.index, "fold"].equals(before["fold"])  # no earlier one moved
    assert (after.loc[before.index, "origin"] == "kept").all()
    new_in_pool = [r for r in added if r in pool]
    assert new_in_pool  # the split put at least one added recording in train or val
    assert (after.loc[new_in_pool, "origin"] == "added").all()

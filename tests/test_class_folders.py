"""Class folders (seed 002's layout): clips fitted to one window, labelled by their folder, the
single-label task through the real workflow."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from workflow_helpers import snakemake, tiny_directory_config

from anuraflow.data.audacity import parse_audacity_labels
from anuraflow.data.clips import (
    class_folder_sources,
    class_folders_from_windows,
    fit_clip,
)
from anuraflow.data.discovery import discover_recordings
from anuraflow.data.windows import segment_recording
from anuraflow.simulate.writer import write_dataset

CODES = ["SPHSUR", "BOABIS", "BOAFAB", "LEPPOD"]


def test_fit_clip_cuts_or_pads_to_one_window():
    x = np.arange(10, dtype=np.float32)
    same, note = fit_clip(x, 10)
    assert same.tolist() == x.tolist() and note is None
    cut, note = fit_clip(x, 4)
    assert cut.tolist() == [0, 1, 2, 3] and note == "cut from 10 to 4 samples (start)"
    assert fit_clip(x, 4, "center")[0].tolist() == [3, 4, 5, 6]
    padded, note = fit_clip(x[:3], 5)
    assert padded.tolist() == [0, 1, 2, 0, 0] and note == "zero-padded from 3 to 5 samples"
    with pytest.raises(ValueError, match="clip_fit 'end'"):
        fit_clip(x, 4, "end")


def test_class_folder_sources(tmp_path):
    for code, name in (("BOAFAB", "a"), ("BOAFAB", "b"), ("LEPPOD", "a")):
        (tmp_path / code).mkdir(exist_ok=True)
        (tmp_path / code / f"{name}.wav").write_bytes(b"")
    sources = class_folder_sources(tmp_path, CODES)
    assert sorted(sources) == ["BOAFAB_a", "BOAFAB_b", "LEPPOD_a"]
    (tmp_path / "Boafab").mkdir()
    with pytest.raises(ValueError, match=r"folder\(s\) Boafab are not species of the config"):
        class_folder_sources(tmp_path, CODES)


@pytest.mark.workflow
def test_class_folders_run_the_single_label_task_to_the_report(tmp_path):
    raw = tmp_path / "raw"
    write_dataset(raw, CODES, n_recordings=6, seed=3, duration_s=12, format_variety=False,
                  progress=False)  # fmt: skip
    sources = discover_recordings(raw, raw)
    windows = pd.concat(
        [segment_recording(r, 12, parse_audacity_labels(s.annotation, r), CODES)
         for r, s in sources.items()]
    )  # fmt: skip
    clips = class_folders_from_windows(
        windows, {r: s.audio for r, s in sources.items()}, tmp_path / "clips", CODES
    )
    work = tmp_path / "work"
    (work / "experiments").mkdir(parents=True)
    data = {"source": "class_folders", "class_dir": str(tmp_path / "clips")}
    config = tiny_directory_config(CODES, data=data, train_threads=1)
    # clips cut from one recording overlap: a grouped split keeps them in one subset
    groups = pd.DataFrame(
        {
            "file": [str(Path(c).relative_to(tmp_path / "clips")) for c in clips["clip"]],
            "group": [Path(c).stem.rsplit("_", 2)[0] for c in clips["clip"]],
        }
    )
    groups.to_csv(tmp_path / "groups.csv", index=False)
    config["data"]["clip_groups"] = str(tmp_path / "groups.csv")
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    experiment = {"name": "tiny", "model": "small_cnn", "task": "multiclass", "seeds": [0],
                  "epochs": 1, "batch_size": 16}  # fmt: skip
    (work / "experiments" / "tiny.yaml").write_text(yaml.safe_dump(experiment))
    snakemake(work)
    res = work / "results"
    out = pd.read_parquet(res / "windows.parquet")
    assert len(out) == len(clips) and (out["polyphony"] == 1).all()
    by_clip = dict(zip(out["recording_id"], out[CODES].to_numpy().argmax(1), strict=True))
    for clip in clips.itertuples():
        rec = f"{clip.code}_{clip.clip.rsplit('/', 1)[1].removesuffix('.wav')}"
        assert CODES[by_clip[rec]] == clip.code  # labelled by its folder
    manifest = pd.read_parquet(res / "recordings.parquet")
    # every clip fitted to exactly one window (its frames all centred inside it, at hop 256 too)
    assert np.allclose(manifest["duration_s"], 3.0)
    notes = [n for ns in manifest["notes"] for n in ns]
    assert any("zero-padded" in n for n in notes) and any("cut from" in n for n in notes)
    metrics = yaml.safe_load((res / "runs/tiny/seed0/metrics.json").read_text())
    assert metrics["task"] == "multiclass" and 0 <= metrics["balanced_accuracy"] <= 1
    splits = pd.read_parquet(res / "splits.parquet")
    assert set(splits["subset"]) == {"train", "val", "test"}
    assert (splits.groupby("group")["subset"].nunique() == 1).all()  # no group straddles
    assert splits["group"].nunique() == 6 and len(splits) == len(clips)
    assert (res / "report" / "report.html").exists()

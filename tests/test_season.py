"""A season as recorders write it, through the real workflow: two AudioMoths in dated folders,
three nights of one-minute files from 22:00 past midnight, Raven tables for a third of them
with the team's own codes (underscores) and a few UNK rows; config/own-data.yaml with its two
paths and its ignore_codes edited. Species are exactly the codes written (UNK dropped and
counted), sites are the recorders, no unlabelled minute is a negative, and the split keeps
every night in one subset."""

import subprocess
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from workflow_helpers import REPO

CODES = ["LITH_CAT", "LITH_SYL", "Rana_catesbeiana"]
RAVEN = ["Selection", "View", "Channel", "Begin Time (s)", "End Time (s)", "Low Freq (Hz)",
         "High Freq (Hz)", "Species"]  # fmt: skip


def write_season(root) -> dict[str, list[str]]:
    """root/audio/moth0N/YYYYMMDD/YYYYMMDD_HHMMSS.WAV and a Raven table beside the same layout
    under root/labels for every third minute; returns recording id -> the codes labelled."""
    rng = np.random.default_rng(0)
    labelled = {}
    for recorder in ("moth01", "moth02"):
        for night in range(3):
            for minute in range(8):
                start = datetime(2024, 3, 1, 22) + timedelta(days=night, minutes=20 * minute)
                folder = f"{recorder}/{start:%Y%m%d}"  # the file's own day: 00:20 is the next
                name = f"{start:%Y%m%d_%H%M%S}"
                (root / "audio" / folder).mkdir(parents=True, exist_ok=True)
                noise = (0.05 * rng.standard_normal(60 * 8000)).astype(np.float32)
                sf.write(root / "audio" / folder / f"{name}.WAV", noise, 8000, "PCM_16")
                if minute % 3:
                    continue
                codes = [CODES[(night + minute) % 3], CODES[(night + minute + 1) % 3]]
                rows = [[i + 1, "Spectrogram 1", 1, 5.0 + 10 * i, 8.0 + 10 * i, 500, 4000, c]
                        for i, c in enumerate([*codes, "UNK"])]  # fmt: skip
                (root / "labels" / folder).mkdir(parents=True, exist_ok=True)
                pd.DataFrame(rows, columns=RAVEN).to_csv(
                    root / "labels" / folder / f"{name}.Table.1.selections.txt", sep="\t",
                    index=False)  # fmt: skip
                labelled[f"{recorder}_{start:%Y%m%d}_{name}"] = codes
    return labelled


@pytest.mark.workflow
@pytest.mark.skipif(not (REPO / ".venv/bin/snakemake").exists(), reason="needs the .venv")
def test_a_season_as_recorders_write_it(tmp_path):
    labelled = write_season(tmp_path)
    text = (REPO / "config/own-data.yaml").read_text()
    text = text.replace("/path/to/recordings", str(tmp_path / "audio"))
    text = text.replace("/path/to/labels", str(tmp_path / "labels"))
    text = text.replace("ignore_codes: []", "ignore_codes: [UNK]")
    config = tmp_path / "own-data.yaml"
    config.write_text(text)
    work = tmp_path / "work"
    targets = ["results/splits.parquet", "results/windows.parquet"]
    cmd = [str(REPO / ".venv/bin/snakemake"), "--cores", "2", "--configfile", str(config),
           "--directory", str(work), *targets]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    n_per_code = {c: sum(c in codes for codes in labelled.values()) for c in CODES}
    assert len(labelled) == 18  # minutes 0, 3 and 6 of each night: a third, as in the field
    assert ("species from the labels (18 files): "
            + ", ".join(f"{c} ({n_per_code[c]} recordings)" for c in CODES)) in log
    assert "data.ignore_codes: rows dropped, UNK (18 rows)" in log
    assert "2 sites (data.site: auto): moth01 (24 recordings), moth02 (24 recordings)" in log
    assert "30 of 48 recordings have no labels: left out of training and testing" in log
    manifest = pd.read_parquet(work / "results/recordings.parquet")
    assert sorted(manifest["site"].unique()) == ["moth01", "moth02"]
    windows = pd.read_parquet(work / "results/windows.parquet")
    # only the labelled minutes have windows: no unlabelled minute is a negative
    assert set(windows["recording_id"]) == set(labelled)
    assert [c for c in CODES if c in windows.columns] == CODES and "UNK" not in windows
    for rid, codes in labelled.items():
        mine = windows[windows["recording_id"] == rid]
        assert {c for c in CODES if mine[c].any()} == set(codes)
    splits = pd.read_parquet(work / "results/splits.parquet")
    assert set(splits["grouped_by"]) == {"site_night"}
    assert set(splits["recording_id"]) == set(labelled)
    start = manifest.set_index("recording_id")["start_datetime"]
    nights = {r: f"{r[:6]} {(pd.Timestamp(start[r]) - pd.Timedelta(hours=12)):%Y%m%d}"
              for r in labelled}  # fmt: skip
    per_night = splits.assign(night=splits["recording_id"].map(nights))
    assert per_night["night"].nunique() == 6
    assert (per_night.groupby("night")["subset"].nunique() == 1).all()
    # the minute after midnight, in the next day's folder, is its evening's night
    after_midnight = [r for r in labelled if r.endswith("_000000")]
    assert after_midnight and all(not nights[r].endswith(r[7:15]) for r in after_midnight)

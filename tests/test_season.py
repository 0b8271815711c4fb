"""A season as recorders write it, through the README's commands as written: two AudioMoths
in dated folders, three nights of one-minute files from 22:00 past midnight, Raven tables for
a third of them with the team's own codes (underscores) and a few UNK rows; config/own-data.yaml
with its two paths and its ignore_codes edited. Species are exactly the codes written (UNK
dropped and counted), sites are the recorders, no unlabelled minute is a negative, the split
keeps every night in one subset; predict and validate on the whole season with the same
config"""

import os
import subprocess
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from workflow_helpers import REPO

CODES = ["LITH_CAT", "LITH_SYL", "Rana_catesbeiana"]
SECONDS = 12
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
                # "one-minute" files cut to 12 s: what is checked is the season's structure
                noise = (0.05 * rng.standard_normal(SECONDS * 8000)).astype(np.float32)
                sf.write(root / "audio" / folder / f"{name}.WAV", noise, 8000, "PCM_16")
                if minute % 3:
                    continue
                codes = [CODES[(night + minute) % 3], CODES[(night + minute + 1) % 3]]
                rows = [[i + 1, "Spectrogram 1", 1, 1.0 + 4 * i, 3.0 + 4 * i, 500, 4000, c]
                        for i, c in enumerate([*codes, "UNK"])]  # fmt: skip
                (root / "labels" / folder).mkdir(parents=True, exist_ok=True)
                pd.DataFrame(rows, columns=RAVEN).to_csv(
                    root / "labels" / folder / f"{name}.Table.1.selections.txt", sep="\t",
                    index=False)  # fmt: skip
                labelled[f"{recorder}_{start:%Y%m%d}_{name}"] = codes
    return labelled


def own_config(root, **sections):
    """config/own-data.yaml as a user edits it: the two paths, ignore_codes; then `sections`."""
    import yaml

    text = (REPO / "config/own-data.yaml").read_text()
    text = text.replace("/path/to/recordings", str(root / "audio"))
    text = text.replace("/path/to/labels", str(root / "labels"))
    text = text.replace("ignore_codes: []", "ignore_codes: [UNK]")
    config = yaml.safe_load(text)
    config.update(sections)
    path = root / "own-data.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def run_workflow(work, *args) -> str:
    """A README command as written (`./run_workflow.sh ...`), in `work`; its log."""
    env = {**os.environ, "CORES": "2"}
    proc = subprocess.run(["./run_workflow.sh", *args, "--directory", str(work)], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=1200)  # fmt: skip
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    return log


@pytest.fixture(scope="module")
def season(tmp_path_factory):
    """The season, and the README's own-data command on it as written."""
    root = tmp_path_factory.mktemp("season")
    labelled = write_season(root)
    work = root / "work"
    log = run_workflow(work, "--configfile", str(own_config(root)))
    return root, work, labelled, log


@pytest.mark.workflow
@pytest.mark.skipif(not (REPO / ".venv/bin/snakemake").exists(), reason="needs the .venv")
def test_a_season_as_recorders_write_it(season):
    _, work, labelled, log = season
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


@pytest.mark.workflow
@pytest.mark.skipif(not (REPO / ".venv/bin/snakemake").exists(), reason="needs the .venv")
def test_the_season_is_scored_and_validated_with_the_same_config(season):
    """The README's predict command and detection.md's validate command for one's own data, as
    written, on the whole season's folder: `experiment: auto` is what training chose, the
    model's training recordings are in that folder, and validate never samples them."""
    from anuraflow.detect.predict_outputs import read_records

    root, work, labelled, _ = season
    config = str(root / "own-data.yaml")
    predict = f"predict={{audio_dir: {root / 'audio'}, experiment: auto}}"
    log = run_workflow(work, "predict", "--configfile", config, "--config", predict)
    auto = next(line for line in log.splitlines() if "predict.experiment: auto is " in line)
    name = auto.split("auto is ")[1].split()[0]
    # before scoring on the CPU: the season's hours and the scoring time they project to
    assert ("predict: 0.2 h of audio in 1 shard jobs; scoring on this machine's CPU projects "
            "to at least") in log
    records = read_records(sorted((work / f"results/predict/{name}/records").glob("*.json")))
    records = records.recordings
    assert len(records) == 48 and {r.site for r in records} == {"moth01", "moth02"}
    log = run_workflow(work, "validate", "--configfile", config, "--config", predict, "validate={}")
    assert "validate: 18 recordings of predict.audio_dir trained the model" in log
    sample = pd.read_parquet(work / f"results/predict/{name}/validate/sample.parquet")
    assert len(sample) and not set(sample["recording_id"]) & set(labelled)


@pytest.mark.workflow
@pytest.mark.skipif(not (REPO / ".venv/bin/snakemake").exists(), reason="needs the .venv")
def test_on_slurm_the_seasons_embeddings_go_fifty_recordings_to_a_job(season, tmp_path):
    """hpc.md's cluster command, planned: a probe's BirdNET stage (compute_embeddings) runs in
    group per_recording with ingest and the features, not as a job per recording."""
    root, _, _, _ = season
    cmd = [str(REPO / ".venv/bin/snakemake"), "-n", "--profile", "profiles/slurm",
           "--configfile", str(root / "own-data.yaml"), "--directory", str(tmp_path)]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    if "compute_embeddings" not in log:
        pytest.skip("experiments: auto chose a CNN here (no BirdNET): no embedding stage")
    groups = log.split("Group job per_recording")
    assert len(groups) == 2  # 48 recordings: one group of at most 50
    assert groups[1].count("rule compute_embeddings:") == 48
    assert groups[0].count("rule compute_embeddings:") == 0  # none outside the group

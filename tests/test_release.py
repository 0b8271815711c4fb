"""The AnuraSet release route: metadata checks naming the CSV line, recordings rebuilt from
clips, and a workflow run equal to the raw route with the AnuraSet labelling rule."""

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml
from workflow_helpers import REPO, planned_jobs, snakemake, tiny_directory_config

from anuraflow.data.audio import AudioError
from anuraflow.data.release import (
    ReleaseError,
    assemble_clips,
    index_release,
    read_metadata,
    recording_clips,
    release_from_recordings,
)
from anuraflow.features.logmel import read_feature_cache
from anuraflow.simulate.writer import write_dataset

CODES = ["SPHSUR", "BOABIS", "BOAFAB", "LEPPOD"]
HEADER = "sample_name,fname,min_t,max_t,site,date,species_number,subset," + ",".join(CODES)


def _csv(tmp_path, *rows, header=HEADER):
    path = tmp_path / "metadata.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def _row(fname="INCT4_20190101_000000", t=0, subset="train", labels="0,1,0,0"):
    return f"{fname}_{t}_{t + 3},{fname},{t},{t + 3},INCT4,20190101,1,{subset},{labels}"


def test_metadata_errors_name_the_line(tmp_path):
    with pytest.raises(
        ReleaseError, match=r"metadata.csv:1: no column for the config's species LEPPOD"
    ):
        read_metadata(_csv(tmp_path, header=HEADER.rsplit(",", 1)[0]), CODES)
    with pytest.raises(ReleaseError, match=r"metadata.csv:1: species column\(s\) not in"):
        read_metadata(_csv(tmp_path, header=HEADER + ",XXX"), CODES)
    with pytest.raises(ReleaseError, match=r"metadata.csv:3: column BOABIS is '2', not 0 or 1"):
        read_metadata(_csv(tmp_path, _row(), _row(t=1, labels="0,2,0,0")), CODES)
    with pytest.raises(ReleaseError, match=r"metadata.csv:2: subset 'dev' is not train or test"):
        read_metadata(_csv(tmp_path, _row(subset="dev")), CODES)
    with pytest.raises(ReleaseError, match=r"metadata.csv:2: recording .* clips in both subsets"):
        read_metadata(_csv(tmp_path, _row(), _row(t=1, subset="test")), CODES)
    table, notes = read_metadata(
        _csv(tmp_path, _row(), _row(t=1, labels="0,x,0,0")), CODES, on_bad_annotation="skip"
    )
    assert table["line"].tolist() == [2]
    assert notes == {
        "INCT4_20190101_000000": [
            f"{tmp_path / 'metadata.csv'}:3: column BOABIS is 'x', not 0 or 1; row dropped"
        ]
    }


def _clip(tmp_path, name, samples, rate=22050):
    path = tmp_path / f"{name}.wav"
    sf.write(str(path), samples, rate, subtype="PCM_16")
    return str(path)


def test_clips_rebuild_the_recording_and_gaps_stay_gaps(tmp_path):
    rate = 100
    signal = (np.random.default_rng(0).uniform(-0.5, 0.5, 9 * rate) * 32768).round() / 32768
    clips = [
        {
            "min_t": t,
            "max_t": t + 3,
            "path": _clip(tmp_path, f"c{t}", signal[t * rate : (t + 3) * rate], rate),
        }
        for t in (0, 1, 2, 6)
    ]
    out, got_rate, notes = assemble_clips(clips)
    assert got_rate == rate and len(out) == 9 * rate
    assert np.allclose(out[: 5 * rate], signal[: 5 * rate], atol=1e-6)
    assert np.allclose(out[6 * rate :], signal[6 * rate :], atol=1e-6)
    assert (out[5 * rate : 6 * rate] == 0).all()  # no clip covers 5-6 s: never invented
    assert notes == ["1 s of the recording are in no clip: kept as a gap of zeros"]
    wrong = dict(clips[1], path=_clip(tmp_path, "bad", signal[rate : 4 * rate] * 0.5, rate))
    with pytest.raises(AudioError, match="bad.wav: differs by up to"):
        assemble_clips([clips[0], wrong])
    short = dict(clips[0], path=_clip(tmp_path, "short", signal[: 2 * rate], rate))
    with pytest.raises(AudioError, match=r"short.wav: 2.0000 s long, expected 3 s"):
        assemble_clips([short])
    other_rate = dict(clips[3], path=_clip(tmp_path, "rate", np.zeros(3 * 200), 200))
    with pytest.raises(AudioError, match="rate.wav: sample rate 200 Hz"):
        assemble_clips([clips[0], other_rate])


def test_a_row_naming_no_file_is_an_error_or_dropped(tmp_path):
    release = tmp_path / "release"
    release.mkdir()
    _csv(release, _row(), _row(t=1))
    clip = release / "audio" / "INCT4" / "INCT4_20190101_000000_0_3.wav"
    clip.parent.mkdir(parents=True)
    sf.write(str(clip), np.zeros(3 * 22050), 22050, subtype="PCM_16")
    args = (
        release,
        CODES,
        tmp_path / "clips.parquet",
        tmp_path / "m.parquet",
        tmp_path / "split.tsv",
    )
    with pytest.raises(ReleaseError, match=r"metadata.csv:3: clip .*_1_4.wav does not exist"):
        index_release(*args)
    table = index_release(*args, on_bad_recording="skip")
    assert table["line"].tolist() == [2]
    rec = "INCT4_20190101_000000"
    clips, notes = recording_clips(tmp_path / "clips.parquet", rec)
    assert [c["line"] for c in clips] == [2] and clips[0]["bytes"] > 0
    assert len(notes) == 1 and "_1_4.wav, which does not exist" in notes[0]
    assert pd.read_csv(tmp_path / "split.tsv", sep="\t").values.tolist() == [[rec, "train"]]


EXPERIMENT = {"name": "tiny", "model": "small_cnn", "seeds": [0], "epochs": 1, "batch_size": 16}


def _workdir(root: Path, data: dict, **extra) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    config = tiny_directory_config(CODES, data=data, **{"train_threads": 1, **extra})
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    (root / "experiments").mkdir(exist_ok=True)
    (root / "experiments" / "tiny.yaml").write_text(yaml.safe_dump(EXPERIMENT))
    return root


@pytest.mark.workflow
def test_release_route_equals_the_raw_route_with_the_anuraset_rule(tmp_path):
    raw = tmp_path / "raw"
    write_dataset(
        raw, CODES, n_recordings=6, seed=3, duration_s=12, format_variety=False, progress=False
    )
    metadata = release_from_recordings(raw, tmp_path / "release", CODES)
    rel = _workdir(
        tmp_path / "rel", {"source": "anuraset_release", "release_dir": str(tmp_path / "release")}
    )
    snakemake(rel)
    res = rel / "results"
    assert (res / "report" / "report.html").exists()
    windows = pd.read_parquet(res / "windows.parquet")
    # the windows are metadata.csv's rows, row for row, with its labels
    assert windows["window_id"].tolist() == metadata["sample_name"].tolist()
    assert (windows[CODES].to_numpy() == metadata[CODES].to_numpy()).all()
    # the official split: its test recordings are test, validation comes from its train ones
    splits = pd.read_parquet(res / "splits.parquet").set_index("recording_id")["subset"]
    official = metadata.groupby("fname")["subset"].first()
    assert (splits[official == "test"] == "test").all()
    assert set(splits[official == "train"]) == {"train", "val"}
    manifest = pd.read_parquet(res / "recordings.parquet")
    assert (manifest["status"] == "ok").all() and (manifest["n_clips"] == 10).all()

    # the raw route on the same recordings, labelled by the AnuraSet authors' rule
    direct = _workdir(
        tmp_path / "direct",
        {"source": "directory", "audio_dir": str(raw), "annotation_dir": str(raw)},
        windows={"label_rule": "anuraset"},
        split={"file": str(res / "splits.parquet")},
    )
    snakemake(direct, "--until", "split_recordings", "feature_index")
    raw_windows = pd.read_parquet(direct / "results" / "windows.parquet")
    columns = ["window_id", "recording_id", "site", "start_s", "end_s", *CODES, "polyphony"]
    pd.testing.assert_frame_equal(windows[columns], raw_windows[columns], check_dtype=False)
    for cache in sorted((res / "features").glob("*.parquet")):
        a, _ = read_feature_cache(cache)
        b, _ = read_feature_cache(direct / "results" / "features" / cache.name)
        assert a.shape == b.shape and np.allclose(a, b, atol=1e-4)  # every clip present: equal
    shutil.rmtree(raw)

    # editing metadata.csv reruns the release's recordings (one clip index for all of them)
    changed = metadata["fname"].iloc[0]
    last = metadata.index[metadata["fname"] == changed][-1]
    metadata.drop(index=last).to_csv(tmp_path / "release" / "metadata.csv", index=False)
    ingests = {rec for rule, rec in planned_jobs(rel) if rule == "ingest_recording"}
    assert ingests == set(metadata["fname"])

    # a clip gone missing: release_index records it, recordings_manifest applies the policy
    lost = sorted((tmp_path / "release" / "audio").rglob("*.wav"))[-1]
    lost.unlink()
    proc = snakemake(rel, "results/recordings.parquet", check=False)
    assert proc.returncode != 0
    log = (res / "logs" / "recordings_manifest.log").read_text()
    assert "1 unusable input(s) under on_bad_recording: fail" in log
    assert f"names {lost}, which does not exist; row dropped" in log
    # so switching the policy re-indexes and re-ingests nothing
    rules = {rule for rule, _ in planned_jobs(rel, "--config", "on_bad_recording=skip")}
    assert "recordings_manifest" in rules
    assert not rules & {"release_index", "ingest_recording"}


@pytest.mark.workflow
def test_the_shipped_release_config_runs_with_only_release_dir_edited(tmp_path):
    """config/anuraset-release.yaml on a release-format dataset written by another script
    (release_from_recordings); a second config file only shrinks the run to a smoke test."""
    shipped = yaml.safe_load((REPO / "config/anuraset-release.yaml").read_text())
    codes = [s["code"] for s in shipped["species"]]
    write_dataset(
        tmp_path / "raw",
        codes,
        n_recordings=5,
        seed=4,
        duration_s=12,
        format_variety=False,
        min_recordings_per_species=1,
        progress=False,
    )
    metadata = release_from_recordings(tmp_path / "raw", tmp_path / "release", codes)
    work = tmp_path / "work"
    work.mkdir()
    shipped["data"]["release_dir"] = str(tmp_path / "release")  # the one edit
    (work / "config.yaml").write_text(yaml.safe_dump(shipped))
    smoke = {
        "experiments_dir": str(REPO / "config/experiments"),
        "experiments": ["t1_timeshift", "t2_36n_nomix"],
        "experiment_overrides": {"epochs": 1, "seeds": [0], "batch_size": 16},
        "features": {"n_mels": 64, "hop_length": 256},
        "train_threads": 1,
        "train_gpus": 0,
    }
    (work / "smoke.yaml").write_text(yaml.safe_dump(smoke))
    snakemake(work, "--configfile", str(work / "config.yaml"), str(work / "smoke.yaml"))
    res = work / "results" / "anuraset-release"
    windows = pd.read_parquet(res / "windows.parquet")
    assert windows["window_id"].tolist() == metadata["sample_name"].tolist()
    splits = pd.read_parquet(res / "splits.parquet").set_index("recording_id")["subset"]
    official = metadata.groupby("fname")["subset"].first()
    assert (splits[official == "test"] == "test").all()
    # AnuraSet-36N drops exactly the species present in only one official subset
    m = metadata.assign(fit=metadata["subset"] == "train")
    in_fit, in_test = m[m["fit"]][codes].any(), m[~m["fit"]][codes].any()
    single = sorted(c for c in codes if in_fit[c] != in_test[c])
    metrics = yaml.safe_load((res / "runs/t2_36n_nomix/seed0/metrics.json").read_text())
    assert sorted(metrics["dataset"]["dropped_species"]) == single
    assert (res / "report" / "report.html").exists()


@pytest.mark.workflow
def test_one_annotation_table_gives_the_windows_of_the_label_files(tmp_path):
    raw = tmp_path / "raw"
    write_dataset(
        raw, CODES, n_recordings=5, seed=6, duration_s=12, format_variety=False, progress=False
    )
    rows = []
    for labels in sorted(raw.rglob("*.txt")):
        for line in labels.read_text().splitlines():
            start, end, label = line.split("\t")
            rows.append({"recording": labels.stem + ".wav", "t0": start, "t1": end, "code": label})
    rows.append({"recording": "INCT4_20200101_000000.wav", "t0": 0, "t1": 1, "code": "BOAFAB_M"})
    pd.DataFrame(rows).to_csv(tmp_path / "all_labels.csv", index=False)
    audio = tmp_path / "audio"
    shutil.copytree(raw, audio, ignore=shutil.ignore_patterns("*.txt"))
    files = _workdir(tmp_path / "files", {"source": "directory", "audio_dir": str(raw)})
    table = {
        "path": str(tmp_path / "all_labels.csv"),
        "recording": "recording",
        "start": "t0",
        "end": "t1",
        "label": "code",
    }
    one = _workdir(
        tmp_path / "table",
        {"source": "directory", "audio_dir": str(audio), "annotation_table": table},
        on_bad_annotation="skip",
    )
    for work in (files, one):
        snakemake(work, "--until", "segment_windows")
    a = pd.read_parquet(files / "results" / "windows.parquet")
    b = pd.read_parquet(one / "results" / "windows.parquet")
    pd.testing.assert_frame_equal(a, b)
    calls = pd.read_parquet(one / "results" / "annotations.parquet")
    assert set(calls["source_file"]) == {table["path"]} and calls["source_line"].min() == 2
    out = snakemake(one, "-n")  # the table's recording without audio is reported, not fatal
    assert out.returncode == 0

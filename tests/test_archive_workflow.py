"""Workflow tests of `predict` over an archive in shards: bad files in bulk, a run killed with
SIGKILL and resumed, and recordings added later. The model is a bundle with random weights
written as train_model would, in benchmarks/speed/archive.py's config whose only target is
predict: these tests are about which recordings are scored when, not what the scores say."""

import os
import signal
import subprocess
import time

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml
from workflow_helpers import SNAKEMAKE, parse_planned_jobs, snakemake

from anuraflow.data.shards import plan_shards
from benchmarks.speed.archive import write_workdir

OUT = "results/predict/archive"
SHARD_HOURS = 0.01  # 36 s: a few of the 4 s recordings per shard
BAD = {
    "siteA/20240101_000500.wav": "empty file (0 bytes)",
    "siteB/20240101_001500.wav": "cannot be read",  # a header cut short
    "siteB/20240101_002500.wav": "cannot be read",  # text saved as .wav
    "siteC/20240101_003500.wav": "a folder named like an audio file",
}


def write_recording(path, seed, seconds=4.0, rate=16000):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    tone = 0.2 * np.sin(2 * np.pi * (800 + 100 * (seed % 20)) * t) * (t % 1 < 0.3)
    sf.write(str(path), (tone + rng.normal(0, 0.02, t.size)).astype(np.float32), rate)


def write_archive(root):
    """Three AudioMoth-like site folders of 4 s recordings, one bad file of each kind."""
    for s, site in enumerate("ABC"):
        for i in range(14):
            write_recording(root / f"site{site}" / f"20240101_{i:02d}0000.wav", 100 * s + i)
    (root / "siteA/20240101_000500.wav").write_bytes(b"")
    good = (root / "siteA/20240101_000000.wav").read_bytes()
    (root / "siteB/20240101_001500.wav").write_bytes(good[:30])
    (root / "siteB/20240101_002500.wav").write_text("recorder log: battery low\n")
    (root / "siteC/20240101_003500.wav").mkdir()


def archive_workdir(workdir, write=True):
    if write:
        write_archive(workdir / "archive")
    write_workdir(workdir, SHARD_HOURS)  # a random-weight bundle, predict only
    return workdir


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """An archive scored in one uninterrupted run."""
    workdir = archive_workdir(tmp_path_factory.mktemp("straight"))
    snakemake(workdir, "predict")
    return workdir


def shard_plan(workdir, shard_hours=SHARD_HOURS):
    """The shards the workflow plans for the archive as it is now (the same library call)."""
    from anuraflow.data.discovery import find_audio
    from anuraflow.data.headers import audio_durations

    audio, _ = find_audio(workdir / "archive")
    seconds = audio_durations([str(p) for p in audio.values()])
    return plan_shards(zip(audio, seconds, strict=True), shard_hours)


@pytest.mark.workflow
def test_every_good_file_is_scored_and_every_bad_one_listed_with_its_reason(straight):
    status = pd.read_csv(straight / OUT / "recordings.tsv", sep="\t").set_index("file")
    bad = status.loc[[f"archive/{name}" for name in BAD]]
    assert bad["status"].eq("skipped").all()
    for name, reason in BAD.items():
        assert name in bad.loc[f"archive/{name}", "problem"]
        assert reason in bad.loc[f"archive/{name}", "problem"], name
    good = status.drop(bad.index)
    assert len(good) == 3 * 14 and good["status"].eq("ok").all()
    assert good["windows"].eq(2).all()  # 3 s windows of a 4 s recording, 1 s apart
    scores = pd.read_parquet(straight / OUT / "scores")
    assert sorted(scores.recording_id.unique()) == sorted(good["recording_id"])
    # several shards, and the bad files among them cost no good file
    assert len(list((straight / OUT / "records").glob("*.json"))) == len(shard_plan(straight)) > 3
    for rec in status["recording_id"]:
        assert (straight / OUT / "raven" / f"{rec}.Table.1.selections.txt").is_file()
    # and on predict's page, each with its reason (autoescaped)
    page = (straight / OUT / "review.html").read_text()
    assert f"Recordings that could not be used ({len(BAD)})" in page
    for name, reason in BAD.items():
        assert f"<tr><td><code>archive/{name}</code></td><td>{reason}" in page
    assert page.count("<tr><td><code>") == len(BAD)


@pytest.mark.workflow
def test_a_killed_run_rescores_only_unfinished_shards_and_ends_identical(straight, tmp_path):
    workdir = archive_workdir(tmp_path)
    records = workdir / OUT / "records"
    log = workdir / "snakemake.out"
    cmd = [*SNAKEMAKE, "--directory", str(workdir), "--configfile", str(workdir / "config.yaml")]
    with log.open("w") as out:  # one job at a time: killed with shards done and to do
        proc = subprocess.Popen(
            [*cmd, "--cores", "1", "predict"], start_new_session=True, stdout=out, stderr=out
        )
    deadline = time.time() + 300
    while proc.poll() is None and time.time() < deadline:
        if records.is_dir() and len(list(records.glob("*.json"))) >= 3:
            break
        time.sleep(0.02)
    if proc.poll() is not None:
        pytest.fail(f"the run to kill ended first ({proc.returncode}):\n{log.read_text()[-3000:]}")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = {p.stem: p.stat().st_mtime_ns for p in records.glob("*.json")}
    snakemake(workdir, "--unlock")
    rerun = snakemake(workdir, "--rerun-incomplete", "predict")
    rescored = {
        s for rule, s in parse_planned_jobs(rerun.stdout + rerun.stderr) if rule == "predict_shard"
    }
    plan = shard_plan(workdir)
    assert set(plan) - set(done), "killed after the last shard: nothing left to resume"
    assert rescored == set(plan) - set(done) | (rescored & set(done))
    assert len(rescored & set(done)) <= 1  # at most the shard that was running
    for shard, mtime in done.items():
        if shard not in rescored:
            assert (records / f"{shard}.json").stat().st_mtime_ns == mtime
    for name in ("detections.csv", "activity.csv", "recordings.tsv"):
        assert (workdir / OUT / name).read_text() == (straight / OUT / name).read_text(), name
    pd.testing.assert_frame_equal(
        pd.read_parquet(workdir / OUT / "scores").sort_values(["recording_id", "start_s"]),
        pd.read_parquet(straight / OUT / "scores").sort_values(["recording_id", "start_s"]),
    )
    for table in (straight / OUT / "raven").iterdir():
        assert (workdir / OUT / "raven" / table.name).read_text() == table.read_text()


@pytest.mark.workflow
def test_ten_recordings_added_to_2000_rescore_only_their_shards(tmp_path):
    """2,000 recordings of 1 s in four site folders (shorter than a window: read, never
    scored, so the first run is quick), scored in shards of at most 6 minutes; then ten more,
    between them and in a new folder: the dry run plans exactly the shards whose recordings
    changed, the shards holding the new ones among them."""
    workdir = archive_workdir(tmp_path, write=False)
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["predict"]["shard_hours"] = 0.1
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    tick = np.zeros(8000, np.float32)
    tick[:80] = 0.1
    for site in range(4):
        for i in range(500):
            path = workdir / "archive" / f"site{site}" / f"20240101_{i // 60:02d}{i % 60:02d}00.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(path), tick, 8000)
    snakemake(workdir, "predict")
    before = shard_plan(workdir, 0.1)
    rng = np.random.default_rng(1)
    added = [
        f"site{s}/20240101_{i // 60:02d}{i % 60:02d}30.wav"  # 30 s after an existing file
        for s, i in zip(rng.integers(0, 4, 8), rng.choice(500, 8, replace=False), strict=True)
    ] + ["site3/20240102_000000.wav", "site4/20240101_000000.wav"]
    for name in added:
        (workdir / "archive" / name).parent.mkdir(exist_ok=True)
        sf.write(str(workdir / "archive" / name), tick, 8000)
    after = shard_plan(workdir, 0.1)
    changed = {name for name, members in after.items() if before.get(name) != members}
    planned = parse_planned_jobs(snakemake(workdir, "-n", "predict").stdout)
    rescored = {s for rule, s in planned if rule == "predict_shard"}
    assert rescored == changed
    new_ids = {name.replace("/", "_").removesuffix(".wav") for name in added}
    holding = {s for s, members in after.items() if set(members) & new_ids}
    assert holding <= rescored and len(rescored) <= 2 * len(holding)
    assert len(rescored) < len(after)

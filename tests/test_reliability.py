"""Workflow-level reliability: the skip policy's report, start-up config errors, provenance,
and a training job killed with SIGKILL mid-epoch that resumes to the same metrics."""

import hashlib
import json
import os
import shutil
from html import unescape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml
from workflow_helpers import planned_jobs, snakemake, tiny_directory_config

from anuraflow.features.logmel import read_feature_cache
from anuraflow.simulate.writer import write_dataset

CODES = ["SPHSUR", "BOABIS", "BOAFAB", "LEPPOD"]
ODD_NAME = "odd name; $(touch PWNED) 'x'"  # a path that must never reach a shell unquoted
EXPERIMENT = {"name": "tiny", "model": "small_cnn", "seeds": [0], "epochs": 1, "batch_size": 16}


def _config(**extra):
    return tiny_directory_config(CODES, train_threads=1, **extra)


def _workdir(root: Path, config: dict, experiment: dict = EXPERIMENT) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    (root / "experiments").mkdir(exist_ok=True)
    (root / "experiments" / f"{experiment['name']}.yaml").write_text(yaml.safe_dump(experiment))
    return root


def _clean_data(raw: Path) -> None:
    write_dataset(raw, CODES, n_recordings=8, seed=3, duration_s=12, progress=False)
    first = sorted(raw.rglob("*.wav"))[0]
    shutil.copy(first, raw / f"{ODD_NAME}.wav")
    shutil.copy(first.with_suffix(".txt"), raw / f"{ODD_NAME}.txt")


def _add_bad_data(raw: Path) -> dict[str, str]:
    """Bad inputs beside the clean ones; recording id -> the reason the report must give."""
    site = raw / "INCT4"
    site.mkdir(exist_ok=True)
    good = sorted(raw.rglob("*.wav"))[1]
    (site / "INCT4_20190201_000000.wav").write_bytes(b"")
    (site / "INCT4_20190201_000000.txt").write_text("0\t1\tBOAFAB_M\n")
    sf.write(str(site / "INCT4_20190202_000000.wav"), np.full(16000 * 2, 0.1, np.float32), 16000)
    (site / "INCT4_20190202_000000.txt").write_text("")
    shutil.copy(good, site / "INCT4_20190203_000000.wav")
    (site / "INCT4_20190203_000000.txt").write_text("0\t1\tBOAFAB_M\n1\t2\tBOAFOB_M\n")
    (site / "INCT4_20190204_000000.txt").write_text("0\t1\tBOAFAB_M\n")  # no recording
    return {
        "INCT4_20190201_000000": "INCT4_20190201_000000.wav: empty file (0 bytes)",
        "INCT4_20190202_000000": "is 2.000 s long, shorter than one 3 s window",
        "INCT4_20190203_000000": "INCT4_20190203_000000.txt:2: unknown species code 'BOAFOB'",
    }


def _files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def clean_and_skipped(tmp_path_factory):
    """The same good recordings run alone, and beside bad inputs under the skip policy."""
    base = tmp_path_factory.mktemp("reliability")
    clean = _workdir(base / "clean", _config())
    _clean_data(clean / "data" / "raw")
    snakemake(clean, "--until", "split_recordings", "compute_features")
    skip = _workdir(base / "skip", _config(on_bad_recording="skip", on_bad_annotation="skip"))
    _clean_data(skip / "data" / "raw")
    reasons = _add_bad_data(skip / "data" / "raw")
    before = _files(skip)
    snakemake(skip)
    return clean, skip, reasons, before


@pytest.mark.workflow
def test_skip_policy_lists_every_skipped_input_in_the_report(clean_and_skipped):
    _, skip, reasons, _ = clean_and_skipped
    html = (skip / "results" / "report" / "report.html").read_text()
    manifest = pd.read_parquet(skip / "results" / "recordings.parquet")
    skipped = manifest[manifest["status"] == "skipped"].set_index("recording_id")["problem"]
    assert sorted(skipped.index) == sorted(reasons)
    for rec, reason in reasons.items():
        assert reason in skipped[rec]
        assert rec in html and reason in unescape(html)  # escaped in the page: ' is &#39;
    assert "Skipped recordings (3)" in html
    assert "Label files without a recording (1)" in html
    assert "data/raw/INCT4/INCT4_20190204_000000.txt" in html
    assert f"{len(manifest) - 3} of {len(manifest)} recordings used" in html


@pytest.mark.workflow
def test_skipping_changes_no_other_recordings_outputs(clean_and_skipped):
    clean, skip, reasons, _ = clean_and_skipped
    for name in ("windows.parquet", "splits.parquet"):
        a = pd.read_parquet(clean / "results" / name)
        b = pd.read_parquet(skip / "results" / name)
        pd.testing.assert_frame_equal(a, b)
    assert ODD_NAME in set(pd.read_parquet(skip / "results" / "windows.parquet")["recording_id"])
    clean_features = sorted((clean / "results" / "features").glob("*.parquet"))
    assert len(clean_features) == 9
    for path in clean_features:
        a, meta_a = read_feature_cache(path)
        b, meta_b = read_feature_cache(skip / "results" / "features" / path.name)
        assert meta_a == meta_b and np.array_equal(a, b)
    windows = pd.read_parquet(skip / "results" / "windows.parquet")
    assert not set(reasons) & set(windows["recording_id"])
    for rec in ("INCT4_20190201_000000", "INCT4_20190202_000000"):  # bad audio: no frames
        assert read_feature_cache(skip / "results" / "features" / f"{rec}.parquet")[0].size == 0


@pytest.mark.workflow
def test_nothing_is_written_outside_results_and_no_shell_sees_a_path(clean_and_skipped):
    _, skip, _, before = clean_and_skipped
    new = _files(skip) - before
    outside = {p for p in new if p.parts[0] not in ("results", ".snakemake")}
    assert not outside, outside
    assert not list(skip.rglob("PWNED")) and not Path("PWNED").exists()


@pytest.mark.workflow
def test_metrics_and_report_carry_provenance(clean_and_skipped):
    _, skip, _, _ = clean_and_skipped
    metrics = json.loads(
        (skip / "results" / "runs" / "tiny" / "seed0" / "metrics.json").read_text()
    )
    prov = metrics["provenance"]
    assert len(prov["git"]["commit"]) == 40 and isinstance(prov["git"]["dirty"], bool)
    for package in ("python", "torch", "torchaudio", "snakemake", "pandas", "pyarrow"):
        assert prov["versions"][package]
    assert prov["config"]["on_bad_recording"] == "skip" and len(prov["config_sha256"]) == 64
    # the user's config stands alone: nothing of the demo's config.yaml comes along
    assert "synthetic" not in prov["config"] and "noise" not in prov["config"]
    assert prov["config"]["report"]["title"] == "anuraflow report"  # the schema's default
    odd = prov["inputs"][ODD_NAME]
    raw = skip / "data" / "raw"
    assert odd["audio_sha256"] == hashlib.sha256((raw / f"{ODD_NAME}.wav").read_bytes()).hexdigest()
    assert (
        odd["annotation_sha256"]
        == hashlib.sha256((raw / f"{ODD_NAME}.txt").read_bytes()).hexdigest()
    )
    assert prov["inputs"]["INCT4_20190201_000000"]["status"] == "skipped"
    html = (skip / "results" / "report" / "report.html").read_text()
    for needle in (prov["git"]["commit"], prov["config_sha256"], odd["audio_sha256"]):
        assert needle in html


@pytest.mark.workflow
def test_fail_policy_stops_with_the_file_named(tmp_path):
    work = _workdir(tmp_path, _config())
    _clean_data(work / "data" / "raw")
    (work / "data" / "raw" / "INCT4_20190201_000000.txt").write_text("0\t1\tBOAFAB_M\n")
    proc = snakemake(work, "-n", check=False)  # a label file without a recording: at start-up
    assert proc.returncode != 0
    assert "INCT4_20190201_000000.txt" in proc.stdout + proc.stderr
    assert "on_bad_annotation: skip" in proc.stdout + proc.stderr
    (work / "data" / "raw" / "INCT4_20190201_000000.wav").write_bytes(b"")
    proc = snakemake(work, "results/recordings.parquet", check=False)
    assert proc.returncode != 0
    # the ingest job records what it found; the manifest step applies the policy
    ingest = json.loads((work / "results/ingest/INCT4_20190201_000000.json").read_text())
    assert ingest["status"] == "skipped" and "empty file (0 bytes)" in ingest["problem"]
    log = (work / "results" / "logs" / "recordings_manifest.log").read_text()
    assert "1 unusable input(s) under on_bad_recording: fail" in log
    assert "INCT4_20190201_000000.wav: empty file (0 bytes)" in log
    assert "set on_bad_recording: skip" in log
    assert not (work / "results" / "recordings.parquet").exists()


@pytest.mark.workflow
def test_switching_a_failure_policy_reruns_no_ingest_and_no_parsing(clean_and_skipped):
    _, skip, _, _ = clean_and_skipped
    proc = snakemake(skip, "-n", "--config", "on_bad_recording=fail")
    planned = proc.stdout + proc.stderr
    assert "recordings_manifest" in planned
    assert "ingest_recording" not in planned and "parse_annotations" not in planned


@pytest.mark.parametrize(
    "change, message",
    [
        ({"windows": {"lenght_s": 3}}, "windows.lenght_s: unknown key"),
        ({"audio": {"sample_rate": "fast"}}, "audio.sample_rate: 'fast' is not of type 'integer'"),
        ({"on_bad_recording": "ignore"}, "on_bad_recording: 'ignore' is not one of: fail, skip"),
        (
            {"data": {"source": "directory", "audio_dir": "nowhere"}},
            "data.audio_dir: directory 'nowhere' does not exist",
        ),
        (
            {"data": {"source": "directory", "audio_dir": "data/raw", "annotation_dir": "lab"}},
            "data.annotation_dir: directory 'lab' does not exist",
        ),
        ({"experiments": "tiny"}, "experiments: 'tiny' is not of type 'array'"),
        ({"species": [{"code": "BOA FAB"}]}, "species[0].code: 'BOA FAB' does not match"),
    ],
)
def test_bad_config_fails_at_start_naming_the_key(tmp_path, change, message):
    work = _workdir(tmp_path, {**_config(), **change})
    (work / "data" / "raw").mkdir(parents=True)
    proc = snakemake(work, "-n", check=False)
    assert proc.returncode != 0 and message in proc.stdout + proc.stderr
    assert not (work / "results").exists()


def test_experiment_with_unknown_model_fails_at_start_naming_the_key(tmp_path):
    work = _workdir(tmp_path, _config(), {**EXPERIMENT, "model": "resnet19"})
    (work / "data" / "raw").mkdir(parents=True)
    proc = snakemake(work, "-n", check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "experiments/tiny.yaml" in text
    assert "model: 'resnet19' is not one of: small_cnn" in text


def test_command_line_overrides_are_typed_like_snakemakes_own_values():
    from anuraflow.core.configcheck import typed_command_line

    # what Snakemake's YAML base loader gives for --config 'experiment_overrides={...}'
    given = {"epochs": "2", "lr": "1e-3", "channels_last": "true", "compile": "False",
             "seeds": ["0", "1"], "name": "run_7", "on": "no", "init": "null",
             "x": "0.5"}  # fmt: skip
    assert typed_command_line(given) == {
        "epochs": 2, "lr": 0.001, "channels_last": True, "compile": False, "seeds": [0, 1],
        "name": "run_7", "on": "no", "init": None, "x": 0.5,
    }  # fmt: skip


def test_experiment_overrides_on_the_command_line_reach_the_schema_typed(tmp_path):
    """`--config 'experiment_overrides={epochs: 2, channels_last: true}'` plans; before, the
    schema saw '2' and 'true' and refused them."""
    work = _workdir(tmp_path, _config())
    _clean_data(work / "data" / "raw")
    good = "experiment_overrides={epochs: 2, channels_last: true, seeds: [0, 1]}"
    jobs = planned_jobs(work, "--config", good)
    assert [rule for rule, _ in jobs].count("train_model") == 2  # the two seeds
    bad = snakemake(work, "-n", "--config", "experiment_overrides={epochs: two}", check=False)
    assert bad.returncode != 0
    assert "epochs: 'two' is not of type 'integer'" in bad.stdout + bad.stderr


# --- resume (a job SIGKILLed mid-epoch, resumed to identical results): tests/test_acceleration.py


def test_a_checkpoint_for_other_settings_is_not_trusted(tmp_path):
    import torch

    from anuraflow.learn.checkpoint import load_checkpoint, run_fingerprint, save_checkpoint

    table, features = tmp_path / "windows.parquet", tmp_path / "rec.parquet"
    table.write_text("v1")
    features.write_text("frames")

    def fingerprint(epochs=4, seed=0):
        return run_fingerprint({"epochs": epochs}, seed, [table], [features])

    fp = fingerprint()
    save_checkpoint({"epoch": 2, "model": {"w": torch.ones(2)}}, tmp_path / "r.pt", fp)
    assert load_checkpoint(tmp_path / "r.pt", fp)["epoch"] == 2
    assert load_checkpoint(tmp_path / "r.pt", fingerprint(epochs=5)) is None
    assert load_checkpoint(tmp_path / "r.pt", fingerprint(seed=1)) is None
    table.write_text("v2")  # a table's content changed
    assert load_checkpoint(tmp_path / "r.pt", fingerprint()) is None
    table.write_text("v1")
    assert load_checkpoint(tmp_path / "r.pt", fingerprint()) is not None
    os.utime(features, ns=(1, 1))  # a feature file was rewritten
    assert load_checkpoint(tmp_path / "r.pt", fingerprint()) is None
    (tmp_path / "r.pt").write_bytes(b"truncated")
    assert load_checkpoint(tmp_path / "r.pt", fp) is None


def test_checkpoints_refuse_pickled_code(tmp_path):
    import torch

    from anuraflow.learn.checkpoint import load_checkpoint

    class Payload:
        def __reduce__(self):
            return (os.system, ("touch PWNED",))

    torch.save({"format": 1, "fingerprint": "x", "evil": Payload()}, tmp_path / "r.pt")
    assert load_checkpoint(tmp_path / "r.pt", "x") is None
    assert not Path("PWNED").exists()


PER_RECORDING_RULES = {"ingest_recording", "parse_annotations", "compute_features"}


def _per_recording_jobs(jobs):
    return {(r, rec) for r, rec in jobs if r in PER_RECORDING_RULES}


@pytest.mark.workflow
def test_touching_one_recording_reruns_only_its_jobs(clean_and_skipped):
    clean = clean_and_skipped[0]
    before = planned_jobs(clean, "--max-checksum-file-size", "0")
    wav = sorted((clean / "data" / "raw").rglob("*.wav"))[0]
    os.utime(wav)
    # Snakemake >= 9.18 compares checksums of inputs under --max-checksum-file-size (1 MB),
    # so a bare touch of these 0.5 MB test files counts only with checksums off; a one-minute
    # recording (2.6 MB at 22.05 kHz) is above the threshold and reruns on touch by default.
    jobs = planned_jobs(clean, "--max-checksum-file-size", "0")
    # parse_annotations reruns too: it checks the calls against the recording's duration
    added = _per_recording_jobs(jobs) - _per_recording_jobs(before)
    assert added == {(r, wav.stem) for r in PER_RECORDING_RULES}, jobs
    assert _per_recording_jobs(before) == set()


@pytest.mark.workflow
def test_editing_one_label_file_reruns_only_its_jobs(clean_and_skipped):
    clean = clean_and_skipped[0]
    label = sorted((clean / "data" / "raw").rglob("*.txt"))[1]
    original = label.read_text()
    try:
        label.write_text(original + "11.0000\t11.5000\tBOAFAB_M\n")
        jobs = planned_jobs(clean)
    finally:
        label.write_text(original)
    assert _per_recording_jobs(jobs) == {("parse_annotations", label.stem)}


@pytest.mark.workflow
def test_real_data_without_a_gpu_says_so_at_start(clean_and_skipped, tmp_path):
    clean, _, _, _ = clean_and_skipped
    out = snakemake(clean, "-n")
    text = out.stdout + out.stderr
    if Path("/dev/nvidia0").exists():
        pytest.skip("this machine has a GPU")
    # 9 recordings of 12 s: 10 windows each, the training share of them by the split's
    # fractions; one run (trained only up to the features) of 1 epoch
    config = yaml.safe_load((clean / "config.yaml").read_text())
    split = {"test_fraction": 0.3333, "val_fraction": 0.2, **config.get("split", {})}
    train = int(90 * (1 - split["test_fraction"]) * (1 - split["val_fraction"]))
    assert (
        "training will run on this machine's CPU: 1 run(s), 1 epochs in all, "
        f"over about {train} training windows: about " in text
    )
    assert " of training steps alone (a step measured here: small_cnn " in text
    # whatever train_gpus says: without a GPU visible, training runs on this CPU
    gpu = _workdir(tmp_path / "gpu", {**config, "train_gpus": 1})
    shutil.copytree(clean / "data", gpu / "data")
    text = "".join([p.stdout + p.stderr for p in [snakemake(gpu, "-n")]])
    assert "training will run on this machine's CPU (train_gpus is 1, but no GPU is" in text

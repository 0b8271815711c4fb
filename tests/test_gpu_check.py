"""`tools/gpu_check.sh --dry-run`: the GPU day's prepared command, run on the CPU at toy
sizes, so every step of it (the GPU-marked tests included) still runs when a GPU is lent."""

import json
import os
import subprocess

import pytest
from conftest import REAL_DATA
from workflow_helpers import REPO

from anuraflow.simulate.writer import write_new_recordings
from benchmarks.harness import machine_tag


@pytest.mark.workflow
def test_the_gpu_check_runs_every_step_on_the_cpu(tmp_path):
    audio = REAL_DATA
    if not REAL_DATA.is_dir():  # a checkout without ../shared: synthetic recordings instead
        audio = tmp_path / "audio"
        write_new_recordings(audio, ["SPHSUR", "BOABIS"], 3, 2, seed=1, duration_s=20)
    out = tmp_path / "out"
    proc = subprocess.run(
        ["bash", str(REPO / "tools/gpu_check.sh"), "--dry-run", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "AUDIO_DIR": str(audio)},
    )
    machine = machine_tag()  # on the CPU: this CPU's tag
    logs = {p.name: p.read_text()[-3000:] for p in (out / "gpu_check" / machine).glob("*.log")}
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}\n{logs}"
    # every result where its benchmark's results live, by machine
    assert (out / "data_path" / f"{machine}_mobilenetv3_large.json").is_file()
    assert (out / "epoch_time" / f"{machine}.json").is_file()
    assert (out / "predict_throughput" / f"{machine}.json").is_file()
    report = json.loads((out / "gpu_check" / f"{machine}.json").read_text())
    assert report["dry_run"] is True and report["device"].startswith("CPU: ")
    assert report["failed_steps"] == []
    steps = report["steps"]
    tests = steps["gpu_tests"]["result"]
    assert tests["tests"] >= 5 and tests["skipped"] == tests["failures"] == tests["errors"] == 0
    path = steps["data_path"]["result"]["windows_per_s"]["bf16+channels_last"]
    assert path["a_ours"] > 0 and path["b_compute_limit"] > 0 and path["c_reference"] > 0
    assert path["computed_with"]["precision"] == "bf16"
    assert str(audio.resolve()) in steps["data_path"]["result"]["data"]["a_ours"]
    epoch = steps["epoch_time"]["result"]
    assert epoch["model"] == "mobilenetv3_large" and epoch["projected"]["hours"] > 0
    assert epoch["projected"]["epochs"] == 100 and epoch["projected"]["seeds"] == 3
    birdnet = steps["embeddings"]["result"]  # the torch BirdNET step (issue 58)
    if "skipped" not in birdnet:  # skipped only without requirements-birdnet.txt
        assert birdnet["torch"]["fp32"]["audio_s_per_s"] > 0 and birdnet["device"] == "cpu"
    rows = steps["predict"]["result"]["throughput"]["small_cnn"]
    assert [r["variant"] for r in rows] == ["fp32", "bf16"]
    assert rows[1]["precision"] == "bf16" and 0 < rows[1]["max_abs_diff_to_first_variant"] < 0.02

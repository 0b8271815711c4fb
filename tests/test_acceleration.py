"""The speed switches (`anuraflow.learn.acceleration`): unit tests of what each does, and a
workflow run that trains with bf16 + channels_last + compile on the CPU, is killed after its
first epoch, resumes, and whose bundle `predict` scores as the evaluation did."""

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from workflow_helpers import SNAKEMAKE, snakemake

from anuraflow.features.frontend import Frontend, score_windows
from anuraflow.features.logmel import LogMelConfig
from anuraflow.learn import acceleration
from anuraflow.learn.acceleration import (
    accelerate,
    acceleration_facts,
    resolve_channels_last,
    resolve_precision,
)
from anuraflow.learn.bundle import load_bundle, save_bundle
from anuraflow.learn.experiments import experiment_settings
from anuraflow.learn.models import build_model
from anuraflow.learn.training import make_optimizer

# bf16 keeps 8 bits of mantissa: each activation rounds by up to 2^-9 relative, so after a
# few layers a logit moves by about 1 %, a probability (sigmoid slope <= 1/4) by well under 0.02
BF16_ATOL = 0.02


def test_auto_precision_is_bf16_only_on_a_cpu_with_bf16_instructions(monkeypatch):
    monkeypatch.setattr(acceleration, "cpu_has_native_bf16", lambda: True)
    assert resolve_precision("auto", "cpu") == "bf16"
    assert resolve_precision("auto", "cuda") == "fp32"  # measured faster on the H200
    monkeypatch.setattr(acceleration, "cpu_has_native_bf16", lambda: False)
    assert resolve_precision("auto", "cpu") == "fp32"  # emulated: 2 to 5 times slower
    assert resolve_precision("auto", "cuda") == "fp32"


def test_native_bf16_agrees_with_the_cpu_flags(monkeypatch):
    """PyTorch's detection against the kernel's own list of CPU flags."""
    for cap in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"):
        monkeypatch.delenv(cap, raising=False)
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        pytest.skip("no /proc/cpuinfo")
    flags = next(line for line in cpuinfo.read_text().splitlines() if line.startswith("flags"))
    flags = set(flags.split(":", 1)[1].split())
    assert acceleration.cpu_has_native_bf16() == bool({"avx512_bf16", "amx_tile"} & flags)


@pytest.mark.parametrize(
    ("cap", "native"),
    [("AVX2", False), ("avx512_core", False), ("AVX512_CORE_BF16", None), ("ALL", None)],
)
def test_a_onednn_cap_below_bf16_means_fp32(monkeypatch, cap, native):
    """Capped at AVX2 (ONEDNN_MAX_CPU_ISA), oneDNN emulates bf16, 5.3 times slower than fp32 on
    the Zen 4 EPYC (small_cnn's NCHW step: 0.5715 s against 0.1081 s,
    benchmarks/results/train_layout/amd-epyc-bf16-as-avx2{_bf16,}.json): `auto` must then
    mean fp32.
    None: the cap allows bf16, so the CPU's own flags decide."""
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    uncapped = acceleration.cpu_has_native_bf16()
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
    assert acceleration.cpu_has_native_bf16() is (uncapped if native is None else native)
    if native is False:
        assert resolve_precision("auto", "cpu") == "fp32"


def test_channels_last_on_cuda_or_for_scoring():
    assert (
        resolve_precision("bf16", "cpu") == "bf16" and resolve_precision("fp32", "cuda") == "fp32"
    )
    with pytest.raises(ValueError, match="precision 'fp16'"):
        resolve_precision("fp16", "cpu")
    assert resolve_channels_last("auto", "cuda") is True
    assert resolve_channels_last("auto", "cpu") is False
    assert resolve_channels_last("auto", "cpu", training=False) is True
    assert resolve_channels_last("auto", "mps", training=False) is False
    assert resolve_channels_last(False, "cpu") is False


def test_acceleration_keeps_the_state_dict_and_sets_nhwc_weights():
    plain = build_model("small_cnn", 3)
    fast = accelerate(build_model("small_cnn", 3), channels_last=True, compile=True)
    assert list(fast.state_dict()) == list(plain.state_dict())
    conv = next(m for m in fast.modules() if isinstance(m, torch.nn.Conv2d) and m.in_channels > 1)
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert not conv.weight.is_contiguous()
    assert hasattr(fast.embed, "_torchdynamo_orig_callable") or "compile" in repr(fast.embed)


@pytest.mark.parametrize("name", ["adamw", "adam", "sgd"])
def test_the_optimiser_is_fused_on_the_cpu(name):
    s = experiment_settings({"optimizer": {"name": name, "lr": 0.01, "weight_decay": 0.0}})
    optimizer = make_optimizer(build_model("small_cnn", 3), s)
    assert optimizer.defaults["fused"] is True
    facts = acceleration_facts({**s, "precision": "bf16"}, torch.device("cpu"))
    assert facts == {
        "precision": "bf16",
        "channels_last": False,
        "compile": False,
        "fused_optimizer": True,
    }


def _scoring_case(seed: int = 0):
    torch.manual_seed(seed)
    frontend = Frontend(
        LogMelConfig(n_mels=32), 1.0, "dataset", torch.full((32,), -40.0), torch.full((32,), 8.0)
    )
    model = build_model("small_cnn", 3).eval()
    frames = Frontend.store(np.random.default_rng(seed).normal(-40, 8, (800, 32)))
    firsts = torch.arange(0, 800 - frontend.n_frames, 50)
    return model, frontend, frames, firsts


def test_bf16_scores_are_close_to_fp32_but_computed_in_bf16():
    model, frontend, frames, firsts = _scoring_case()
    fp32, _ = score_windows(model, frontend, frames, firsts, 3, False, precision="fp32")
    bf16, emb = score_windows(
        model, frontend, frames, firsts, 3, False, embeddings=True, precision="bf16"
    )
    difference = np.abs(fp32 - bf16).max()
    assert 0 < difference <= BF16_ATOL
    assert emb.dtype == np.float32


def test_a_bundle_records_and_honours_its_precision(tmp_path):
    model, frontend, frames, firsts = _scoring_case()
    s = experiment_settings({"model": "small_cnn"})
    info = {"experiment": "x", "seed": 0, "fold": None, "epoch": 1, "provenance": {}}
    species = {"A": "a", "B": "b", "C": "c"}
    save_bundle(
        tmp_path / "bf16.pt", model, frontend, s, species, None, info, {"precision": "bf16"}
    )
    save_bundle(tmp_path / "old.pt", model, frontend, s, species, None, info)
    expected = {
        p: score_windows(model, frontend, frames, firsts, 3, False, precision=p)[0]
        for p in ("fp32", "bf16")
    }
    bundle = load_bundle(tmp_path / "bf16.pt")
    assert bundle.precision == "bf16" and bundle.info["acceleration"]["precision"] == "bf16"
    assert np.array_equal(bundle.score(frames, firsts), expected["bf16"])
    assert np.array_equal(bundle.accelerate("fp32").score(frames, firsts), expected["fp32"])
    assert load_bundle(tmp_path / "old.pt").precision == "fp32"


# --- the workflow: bf16 + channels_last + compile on the CPU, killed, resumed, predicted ----

CODES = ["SPHSUR", "BOABIS", "BOAFAB"]
CONFIG = {
    "results_dir": "results",
    "data": {"source": "synthetic", "audio_dir": "data/raw", "annotation_dir": "data/raw"},
    "synthetic": {"seed": 5, "n_recordings": 9, "duration_s": 30, "min_recordings_per_species": 3},
    "species": [{"code": c} for c in CODES],
    "frequency_groups": {"frequent_min_windows": 60, "common_min_windows": 30},
    "features": {"n_mels": 64, "hop_length": 256},
    "experiments_dir": "experiments",
    "experiments": ["acc_fp32", "acc_bf16"],
    "train_threads": 1,
}
EXPERIMENT = {
    "model": "small_cnn",
    "seeds": [0],
    "epochs": 3,
    "batch_size": 16,
    "optimizer": {"name": "adamw", "lr": 0.003, "weight_decay": 0.0001},
    "augment": {"time_shift": 0.5},
}
FAST = {"precision": "bf16", "channels_last": True, "compile": True}


def _run(name: str) -> str:
    return f"results/runs/{name}/seed0"


TIMING = {"train_seconds", "resumed_from_epoch"}


def _workdir(work):
    (work / "experiments").mkdir(parents=True)
    for name, extra in (("acc_fp32", {"precision": "fp32"}), ("acc_bf16", FAST)):
        text = yaml.safe_dump({"name": name, **EXPERIMENT, **extra})
        (work / "experiments" / f"{name}.yaml").write_text(text)
    (work / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    return work


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """`straight`: acc_fp32 and acc_bf16 trained straight through; `killed`: acc_bf16 killed
    (SIGKILL to Snakemake and the job: a lost node) after its first epoch, then resumed.
    `killed` starts as a copy of `straight` without acc_bf16's run (the same recordings,
    windows and features, their times kept, so Snakemake trains it alone). Inductor's own
    on-disk caches (torch's defaults) serve the compiled graphs of the second and third
    compilation from the first."""
    straight = _workdir(tmp_path_factory.mktemp("straight"))
    snakemake(straight, *[f"{_run(n)}/metrics.json" for n in ("acc_fp32", "acc_bf16")])
    killed = tmp_path_factory.mktemp("killed") / "work"
    shutil.copytree(straight, killed, symlinks=True)
    for made in ("results/runs/acc_bf16", "results/logs/train/acc_bf16",
                 "results/benchmarks/train/acc_bf16"):  # fmt: skip
        shutil.rmtree(killed / made)
    target = f"{_run('acc_bf16')}/metrics.json"
    cmd = SNAKEMAKE + ["--directory", str(killed), "--configfile", str(killed / "config.yaml")]
    output = killed / "snakemake.out"
    with output.open("w") as out:
        proc = subprocess.Popen(
            [*cmd, "--cores", "2", target], start_new_session=True, stdout=out, stderr=out,
        )  # fmt: skip
    resume = killed / _run("acc_bf16") / "resume.pt"
    log = killed / "results/logs/train/acc_bf16/seed0.log"
    deadline = time.time() + 600
    while not resume.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    if proc.poll() is not None:  # it ended (failed) before its first checkpoint
        pytest.fail(f"the run to kill ended with {proc.returncode}:\n{output.read_text()[-3000:]}")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert resume.exists(), "the bf16 run never wrote its first epoch checkpoint"
    assert "epoch 2: train_loss" not in log.read_text()  # killed during epoch 2
    assert not (killed / _run("acc_bf16") / "metrics.json").exists()
    snakemake(killed, "--unlock")
    snakemake(killed, "--rerun-incomplete", target)
    return straight, killed


@pytest.mark.workflow
def test_a_killed_bf16_compiled_run_resumes_to_identical_results(trained):
    straight, killed = trained
    run = _run("acc_bf16")
    log = (killed / "results/logs/train/acc_bf16/seed0.log").read_text()
    assert "resuming from the checkpoint of epoch 1" in log
    assert not (killed / run / "resume.pt").exists()
    a = json.loads((straight / run / "metrics.json").read_text())
    b = json.loads((killed / run / "metrics.json").read_text())
    assert b["resumed_from_epoch"] == 1 and a["resumed_from_epoch"] is None
    assert b["epochs_run"] == 3 and b["acceleration"] == {**FAST, "fused_optimizer": True}
    assert {k: v for k, v in a.items() if k not in TIMING} == {
        k: v for k, v in b.items() if k not in TIMING
    }
    for table in ("predictions.parquet", "val_predictions.parquet"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(straight / run / table), pd.read_parquet(killed / run / table)
        )
    ha = pd.read_csv(straight / run / "history.tsv", sep="\t").drop(columns="seconds")
    hb = pd.read_csv(killed / run / "history.tsv", sep="\t").drop(columns="seconds")
    pd.testing.assert_frame_equal(ha, hb)


@pytest.mark.workflow
def test_bf16_channels_last_compile_stays_close_to_fp32(trained):
    straight, _ = trained
    fp32 = json.loads((straight / _run("acc_fp32") / "metrics.json").read_text())
    bf16 = json.loads((straight / _run("acc_bf16") / "metrics.json").read_text())
    assert fp32["acceleration"]["precision"] == "fp32"
    assert bf16["acceleration"]["precision"] == "bf16"
    # the same initial weights and batches: the first epoch's mean loss differs only by bf16
    # rounding and compiled kernels (measured: 1.6 %); later epochs drift apart as any two
    # orders of float operations do. On about 80 test windows one window moves macro F1 by
    # several points, so it is held to 0.15 (measured: 0.745 fp32, 0.813 bf16); the demo's
    # cost of bf16 in F1 is measured over seeds in docs/benchmarks.md
    h32 = pd.read_csv(straight / _run("acc_fp32") / "history.tsv", sep="\t")
    h16 = pd.read_csv(straight / _run("acc_bf16") / "history.tsv", sep="\t")
    assert h16["train_loss"][0] == pytest.approx(h32["train_loss"][0], rel=0.03)
    assert abs(bf16["macro_f1"]["all"] - fp32["macro_f1"]["all"]) <= 0.15


@pytest.mark.workflow
def test_predict_scores_the_bf16_bundle_as_the_evaluation_did(trained):
    trained, _ = trained
    bundle = load_bundle(trained / _run("acc_bf16") / "model.pt")
    assert bundle.precision == "bf16"
    evaluated = pd.read_parquet(trained / _run("acc_bf16") / "predictions.parquet")
    tested = sorted(evaluated["recording_id"].unique())
    (trained / "tested").mkdir()  # the test recordings only, linked
    for rec in tested:
        (audio,) = [p for p in (trained / "data/raw").rglob(f"{rec}.*") if p.suffix != ".txt"]
        (trained / "tested" / audio.name).symlink_to(audio)
    (trained / "config.yaml").write_text(
        yaml.safe_dump(
            {**CONFIG, "predict": {"audio_dir": "tested", "experiment": "acc_bf16", "seed": 0,
                                   # the training data's own recordings: the machinery's test
                                   "allow_synthetic_model": True}}
        )
    )
    snakemake(trained, "results/predict/acc_bf16/detections.csv")
    out = trained / "results/predict/acc_bf16"
    every = pd.read_parquet(out / "scores")
    worst, checked = 0.0, 0
    for rec, rows in evaluated.groupby("recording_id"):
        merged = rows.merge(every[every.recording_id == rec], on="start_s")
        assert len(merged) == len(rows)
        for code in CODES:
            worst = max(worst, float(np.abs(merged[f"prob_{code}"] - merged[code]).max()))
        checked += len(merged)
    records = [r for p in (out / "records").glob("*.json") for r in json.loads(p.read_text())]
    assert sorted(r["recording_id"] for r in records) == tested
    assert {r["scored_with"]["precision"] for r in records} == {"bf16"}
    assert checked == len(evaluated) > 0
    assert worst <= BF16_ATOL

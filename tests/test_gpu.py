"""The accelerated paths on a GPU (`pytest -m gpu`; `tools/gpu_check.sh` runs them).

Without CUDA they skip, unless ANURAFLOW_GPU_TEST_DEVICE names a device: the dry run of
`gpu_check.sh` sets it to `cpu`, so this code runs in every CI run and cannot rot before the
day a GPU is lent.
"""

import os

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from anuraflow.detect.predict import score_recording
from anuraflow.features.bank import WindowBank
from anuraflow.features.frontend import Frontend
from anuraflow.features.logmel import LogMelConfig
from anuraflow.learn.acceleration import accelerate
from anuraflow.learn.bundle import load_bundle, save_bundle
from anuraflow.learn.experiments import experiment_settings
from anuraflow.learn.fit import Resume, fit
from anuraflow.learn.models import build_model
from anuraflow.learn.run_data import RunData
from anuraflow.learn.training import make_objective, make_optimizer, plan_methods, train_step

pytestmark = pytest.mark.gpu
CFG = LogMelConfig(n_mels=32, hop_length=512)
CODES = ["A", "B", "C"]
# bf16 keeps 8 bits of mantissa: activations round by up to 2^-9 relative, so after a few
# layers a logit moves by about 1 %; a probability (sigmoid slope <= 1/4) by well under 0.02
BF16_ATOL = 0.02
# cuDNN convolutions in float32 may use TF32 (10-bit mantissa) on Ampere and later
FP32_ATOL = 2e-3


@pytest.fixture(scope="module")
def device() -> torch.device:
    name = os.environ.get("ANURAFLOW_GPU_TEST_DEVICE")
    if name:
        return torch.device(name)
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device (ANURAFLOW_GPU_TEST_DEVICE=cpu runs these on the CPU)")
    return torch.device("cuda")


def toy_run(device: torch.device, n_windows: int = 96, seed: int = 0) -> RunData:
    """A bank of random log-mels on `device` whose labels follow a loud band per species."""
    gen = torch.Generator().manual_seed(seed)
    frontend = Frontend(CFG, 3.0, "dataset", torch.full((32,), -40.0), torch.full((32,), 10.0))
    per = frontend.n_frames
    frames = torch.randn(n_windows * per, 32, generator=gen) * 5 - 40
    labels = (torch.rand(n_windows, len(CODES), generator=gen) < 0.4).float()
    for c in range(len(CODES)):  # species c: mel bands 8c..8c+3 are 20 dB louder
        rows = torch.cat(
            [torch.arange(w * per, (w + 1) * per) for w in np.flatnonzero(labels[:, c])]
        )
        frames[rows.long(), 8 * c : 8 * c + 4] += 20
    bank = WindowBank(
        frames.half().to(device),
        (torch.arange(n_windows) * per).to(device),
        labels.to(device),
        frontend.to(device),
    )
    subset = np.array(["train"] * (n_windows - 32) + ["val"] * 16 + ["test"] * 16)
    windows = pd.DataFrame({"recording_id": [f"r{i}" for i in range(n_windows)], "subset": subset})
    subsets = {
        s: torch.tensor(np.flatnonzero(subset == s), device=device)
        for s in ("train", "val", "test")
    }
    return RunData(
        windows, CODES, {c: c for c in CODES}, bank, subsets, {c: "frequent" for c in CODES}, {}
    )


def settings(**switches) -> dict:
    return experiment_settings(
        {"model": "small_cnn", "epochs": 2, "batch_size": 16, "scheduler": None,
         "augment": {"time_shift": 0.5, "spec_augment": {"freq_masks": 1, "time_masks": 1}},
         "mixing": {}, **switches}
    )  # fmt: skip


def model_for(s: dict, device: torch.device) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model(s["model"], len(CODES), n_mels=32, n_frames=CFG.frames_per_window(3.0))
    return accelerate(model.to(device), s["channels_last"] is True, s["compile"])


def test_the_bank_lives_on_the_device_and_gathers_there(device):
    run = toy_run(device)
    x = run.bank.raw(run.subsets["train"][:8])
    assert run.bank.frames.device.type == device.type and x.device.type == device.type
    assert x.shape == (8, 1, 32, CFG.frames_per_window(3.0)) and x.dtype == torch.float32


@pytest.mark.parametrize("compile", [False, True])
def test_bf16_channels_last_training_steps_learn(device, compile):
    run = toy_run(device)
    s = settings(precision="bf16", channels_last=True, compile=compile)
    model = model_for(s, device)
    optimizer = make_optimizer(model, s)
    assert optimizer.defaults["fused"] is True
    objective = make_objective(s, run.bank.labels[run.subsets["train"]])
    gen = torch.Generator(device=device).manual_seed(0)
    losses = []
    plan = plan_methods(s, 12, gen)
    for step in range(12):
        idx = run.subsets["train"][(step * 16) % 64 : (step * 16) % 64 + 16]
        loss = train_step(model, run.bank, idx, plan[step], s, gen, objective, optimizer)
        losses.append(float(loss))
    assert all(np.isfinite(losses)) and np.mean(losses[-4:]) < np.mean(losses[:4])
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_resume_continues_to_the_same_weights(device, tmp_path):
    """A run stopped after epoch 1 and resumed equals the run trained straight through."""
    s = settings(precision="bf16", channels_last=True, epochs=2)
    straight = fit(model_for(s, device), [], toy_run(device), s, seed=0, progress=False)
    resume = Resume(tmp_path / "resume.pt", "fingerprint")
    first = fit(model_for(s, device), [], toy_run(device), {**s, "epochs": 1}, 0, False, resume)
    assert first.epoch == 1 and resume.path.exists()
    resumed = fit(model_for(s, device), [], toy_run(device), s, 0, False, resume)
    assert resumed.resumed_from == 1 and resumed.epoch == 2
    # cuDNN's bf16 kernels are not bitwise deterministic: two epochs may drift by rounding
    tol = 0 if device.type == "cpu" else 1e-2
    for key, value in straight.best_state.items():
        assert torch.allclose(value.float(), resumed.best_state[key].float(), atol=tol), key
    assert [h["train_loss"] for h in straight.history] == pytest.approx(
        [h["train_loss"] for h in resumed.history], abs=tol
    )


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_predict_on_the_device_equals_the_cpu(device, tmp_path, precision):
    frontend = Frontend(
        LogMelConfig(), 3.0, "dataset", torch.full((128,), -50.0), torch.full((128,), 15.0)
    )
    torch.manual_seed(0)
    model = build_model("small_cnn", len(CODES)).eval()
    s = experiment_settings({"model": "small_cnn"})
    info = {"experiment": "gpu", "seed": 0, "fold": None, "epoch": 1, "provenance": {}}
    species = {c: c for c in CODES}
    save_bundle(
        tmp_path / "m.pt", model, frontend, s, species, None, info, {"precision": precision}
    )
    audio = tmp_path / "a.wav"
    sf.write(audio, np.random.default_rng(0).normal(0, 0.1, 22050 * 20).astype(np.float32), 22050)
    on_cpu, _ = score_recording(audio, load_bundle(tmp_path / "m.pt", "cpu"), hop_s=1.0)
    on_device, _ = score_recording(audio, load_bundle(tmp_path / "m.pt", device), hop_s=1.0)
    assert len(on_cpu) == len(on_device) == 18
    tol = BF16_ATOL if precision == "bf16" else FP32_ATOL
    assert np.abs(on_cpu[CODES].to_numpy() - on_device[CODES].to_numpy()).max() <= tol

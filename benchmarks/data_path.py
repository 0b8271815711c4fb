"""Benchmark: training throughput (windows per second) of three data paths on one device.

(a) ours: every recording's log-mels in one device-resident float16 bank; windows are frame
    offsets; gather, normalisation, SpecAugment, time shift and Mix2 mixing run on the device
    (`anuraflow.learn.training.train_step`, the trainer's own step).
(b) the compute limit: the same model, loss and optimizer fed one random batch already on the
    device (no data path at all).
(c) the reference style (AnuraSet's published code): one 3 s WAV file per window, a PyTorch
    DataLoader with worker processes decoding them, the mel spectrogram computed per batch on
    the device, normalised, then the same step without mixing.

The bank holds random log-mel values of the real layout (`--recordings` one-minute recordings
of 7,501 frames x 128 mels; 1,612 is AnuraSet's 9 GB-as-windows, 3.1 GB as recordings): the
values do not change the cost. (c) writes `--wav-windows` real 16-bit WAV files to a
temporary directory and cycles over them.

    .venv/bin/python benchmarks/data_path.py                       # CPU: the demo model
    .venv/bin/python benchmarks/data_path.py --model mobilenetv3_large --recordings 1612 \
        --variants plain channels_last fused trainer compile      # on a GPU
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import yaml
from workflow_run import REPO, cpu_name, write_report

sys.path.insert(0, str(REPO))
from anuraflow.features.bank import WindowBank  # noqa: E402
from anuraflow.features.frontend import Frontend  # noqa: E402
from anuraflow.features.logmel import LOG_FLOOR, LogMelConfig, mel_transform  # noqa: E402
from anuraflow.learn.experiments import experiment_settings  # noqa: E402
from anuraflow.learn.losses import bce  # noqa: E402
from anuraflow.learn.models import build_model  # noqa: E402
from anuraflow.learn.training import (  # noqa: E402
    make_objective,
    train_step,
)

N_CLASSES, N_MELS, N_FRAMES, FRAMES_PER_RECORDING = 42, 128, 376, 7501


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def make_bank(recordings: int, device: torch.device, seed: int = 0) -> WindowBank:
    """Random log-mels in the layout build_bank makes: windows every second (125 frames)."""
    gen = torch.Generator().manual_seed(seed)
    frames = (
        torch.randn(recordings * FRAMES_PER_RECORDING, N_MELS, generator=gen) * 10 - 40
    ).half()
    per_rec = (FRAMES_PER_RECORDING - N_FRAMES) // 125 + 1  # 58 windows of 3 s in a minute
    starts = torch.cat(
        [torch.arange(per_rec) * 125 + r * FRAMES_PER_RECORDING for r in range(recordings)]
    )
    labels = (torch.rand(len(starts), N_CLASSES, generator=gen) < 0.05).float()
    return WindowBank(
        frames=frames.to(device),
        starts=starts.to(device),
        labels=labels.to(device),
        frontend=Frontend(
            LogMelConfig(n_mels=N_MELS),
            3.0,
            "dataset",
            torch.full((N_MELS,), -40.0, device=device),
            torch.full((N_MELS,), 10.0, device=device),
        ),
    )


NHWC = ("channels_last", "trainer", "compile")
FUSED = ("fused", "trainer", "compile")


def setup(settings: dict, variant: str, device: torch.device, labels: torch.Tensor):
    """Model, optimizer, objective for a variant: `plain` (NCHW, AdamW for-each), `channels_last`,
    `fused` (one AdamW kernel), `trainer` (both: what train_experiment does on CUDA), `compile`
    (trainer + torch.compile of the encoder). On CPU only `compile` differs from `plain`."""
    model = build_model(settings["model"], N_CLASSES, n_mels=N_MELS, n_frames=N_FRAMES)
    model = model.to(device)
    cuda = device.type == "cuda"
    if variant in NHWC and cuda:
        model = model.to(memory_format=torch.channels_last)
    opt = settings["optimizer"]
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=opt["lr"],
        weight_decay=opt["weight_decay"],
        fused=variant in FUSED and cuda,
        foreach=None if variant in FUSED and cuda else True,
    )
    if variant == "compile":
        model.embed = torch.compile(model.embed)
    model.train()
    return model, optimizer, make_objective(settings, labels)


def timed(step, steps: int, warmup: int, device: torch.device) -> float:
    for _ in range(warmup):
        step()
    sync(device)
    started = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    return time.perf_counter() - started


def ours(settings, variant, device, bank, batch, steps, warmup, seed=0) -> float:
    model, optimizer, objective = setup(settings, variant, device, bank.labels)
    generator = torch.Generator(device=device).manual_seed(seed)
    order = torch.randperm(len(bank.starts), generator=generator, device=device)
    position = [0]

    def step():
        i = position[0] % (len(order) - batch)
        position[0] += batch
        train_step(model, bank, order[i : i + batch], settings, generator, objective, optimizer)

    return steps * batch / timed(step, steps, warmup, device)


def plain_step(model, optimizer, x: torch.Tensor, y: torch.Tensor) -> None:
    """Forward, BCE, backward, update: no augmentation, no mixing."""
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=x.device.type == "cuda"):
        logits = model.classify(model.embed(x))
    loss = bce(logits.float(), y).mean()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def compute_limit(settings, variant, device, batch, steps, warmup) -> float:
    x = torch.randn(batch, 1, N_MELS, N_FRAMES, device=device)
    if variant in NHWC:
        x = x.contiguous(memory_format=torch.channels_last)
    y = (torch.rand(batch, N_CLASSES, device=device) < 0.05).float()
    model, optimizer, _ = setup(settings, variant, device, y)

    def step():
        plain_step(model, optimizer, x, y)

    return steps * batch / timed(step, steps, warmup, device)


class WindowFiles(torch.utils.data.Dataset):
    """The reference's dataset: one WAV per window, decoded when drawn."""

    def __init__(self, paths: list[Path], labels: np.ndarray):
        self.paths, self.labels = paths, labels

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        audio, _ = sf.read(self.paths[i], dtype="float32")
        return torch.from_numpy(audio), torch.from_numpy(self.labels[i])


def write_window_files(root: Path, n: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        path = root / f"window_{i:05d}.wav"
        sf.write(path, 0.1 * rng.standard_normal(48000), 16000, subtype="PCM_16")
        paths.append(path)
    return paths


def reference(settings, variant, device, paths, batch, steps, warmup, workers) -> float:
    labels = (np.random.default_rng(1).random((len(paths), N_CLASSES)) < 0.05).astype(np.float32)
    loader = torch.utils.data.DataLoader(
        WindowFiles(paths, labels),
        batch_size=batch,
        shuffle=True,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        drop_last=True,
        persistent_workers=workers > 0,
    )
    transform = mel_transform(LogMelConfig()).to(device)
    model, optimizer, _ = setup(settings, variant, device, torch.from_numpy(labels))
    batches = iter(())

    def step():
        nonlocal batches
        try:
            wave, y = next(batches)
        except StopIteration:
            batches = iter(loader)
            wave, y = next(batches)
        wave = wave.to(device, non_blocking=True)
        y = y.to(device, non_blocking=True)
        x = 10 * torch.log10(torch.clamp(transform(wave), min=LOG_FLOOR)).unsqueeze(1)
        x = (x + 40.0) / 10.0
        if variant in NHWC:
            x = x.contiguous(memory_format=torch.channels_last)
        plain_step(model, optimizer, x, y)

    return steps * batch / timed(step, steps, warmup, device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--model", help="default: mobilenetv3_large on CUDA, small_cnn on CPU")
    parser.add_argument("--experiment", default="t1_mix2", help="augmentation and mixing")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, help="timed steps (default 100 CUDA, 20 CPU)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--recordings", type=int, help="bank size (default 1612 CUDA, 100 CPU)")
    parser.add_argument("--wav-windows", type=int, default=2048)
    parser.add_argument("--workers", type=int, help="DataLoader workers (default: cores, max 8)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: all cores)")
    parser.add_argument("--variants", nargs="+", default=["trainer"])
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/data_path.json"))
    args = parser.parse_args()

    device = torch.device(args.device)
    cuda = device.type == "cuda"
    if args.threads:
        torch.set_num_threads(args.threads)
    experiment = yaml.safe_load((REPO / f"config/experiments/{args.experiment}.yaml").read_text())
    experiment["model"] = args.model or ("mobilenetv3_large" if cuda else "small_cnn")
    settings = experiment_settings(experiment)
    steps = args.steps or (100 if cuda else 20)
    recordings = args.recordings or (1612 if cuda else 100)
    workers = args.workers if args.workers is not None else min(8, len(os.sched_getaffinity(0)))
    bank = make_bank(recordings, device)
    tmp = Path(tempfile.mkdtemp(prefix="anuraflow-windows-"))
    try:
        paths = write_window_files(tmp, args.wav_windows)
        results = {}
        for variant in args.variants:
            row = {
                "a_ours": ours(settings, variant, device, bank, args.batch, steps, args.warmup),
                "b_compute_limit": compute_limit(
                    settings, variant, device, args.batch, steps, args.warmup
                ),
                "c_reference": reference(
                    settings, variant, device, paths, args.batch, steps, args.warmup, workers
                ),
            }
            row = {k: round(v, 1) for k, v in row.items()}
            row["a_over_b"] = round(row["a_ours"] / row["b_compute_limit"], 3)
            row["a_over_c"] = round(row["a_ours"] / row["c_reference"], 2)
            results[variant] = row
            print(variant, row, flush=True)
    finally:
        shutil.rmtree(tmp)
    best = max(results.values(), key=lambda r: r["a_ours"])
    report = {
        "benchmark": "data_path",
        "machine": {
            "device": torch.cuda.get_device_name(device) if cuda else cpu_name(),
            "cpu_cores": len(os.sched_getaffinity(0)),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },
        "model": settings["model"],
        "experiment": args.experiment,
        "precision": "bf16 autocast" if cuda else "float32",
        "batch": args.batch,
        "input": [1, N_MELS, N_FRAMES],
        "steps": steps,
        "bank_recordings": recordings,
        "bank_gb": round(bank.frames.numel() * 2 / 1e9, 2),
        "reference_workers": workers,
        "windows_per_s": results,
        "targets": (
            {
                "a_over_b_at_least_0.9": best["a_over_b"] >= 0.9,
                "a_over_c_at_least_5": best["a_over_c"] >= 5,
            }
            if cuda
            else {"cpu_a_over_b_at_least_0.8": best["a_over_b"] >= 0.8}
        ),
    }
    write_report(report, args.out)


if __name__ == "__main__":
    main()

"""Benchmark: training throughput (windows per second) of three data paths, per speed switch.

(a) ours: every recording's log-mels in one device-resident float16 bank; windows are frame
    offsets; gather, normalisation, SpecAugment, time shift and Mix2 mixing run on the device
    (`anuraflow.learn.training.train_step`, the trainer's own step).
(b) the compute limit: the same model, loss and optimiser fed one batch of the same bank,
    gathered and normalised once, already on the device (no data path at all).
(c) the reference style (AnuraSet's published code): one 3 s WAV file per window, a PyTorch
    DataLoader with worker processes decoding them, the mel spectrogram computed per batch on
    the device, normalised, then the same step without mixing.

Every path sees real sound, because the values change the cost (denormals, zeros after
ReLU): the bank holds the log-mels of the field recordings in `--audio-dir` (../shared/data/
real), computed by the frontend `predict` uses, tiled to `--recordings` one-minute recordings
of 7,501 frames x 128 mels (1,612 is AnuraSet's 3.1 GB); (c) cuts its WAV windows from the
same recordings. The JSON says which data each path saw.

A variant is `precision[+channels_last][+compile]` (fp32, bf16, bf16+channels_last+compile,
...): the experiment settings of `anuraflow.learn.acceleration`; the optimiser is the
trainer's (fused wherever PyTorch has it).

    .venv/bin/python -m benchmarks.speed.data_path               # CPU: small_cnn, 4 variants
    .venv/bin/python -m benchmarks.speed.data_path --model mobilenetv3_large --recordings 1612 \
        --variants bf16+channels_last bf16+channels_last+compile fp32      # on a GPU
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

from anuraflow.detect.predict import audio_facts, frame_blocks, standard_samples
from anuraflow.features.bank import WindowBank
from anuraflow.features.frontend import FrameStatistics, Frontend
from anuraflow.features.logmel import LOG_FLOOR, LogMelConfig, mel_transform
from anuraflow.learn.acceleration import accelerate, acceleration_facts, autocast
from anuraflow.learn.experiments import experiment_settings
from anuraflow.learn.losses import bce
from anuraflow.learn.models import build_model
from anuraflow.learn.training import (
    make_objective,
    make_optimizer,
    plan_methods,
    train_step,
)
from benchmarks.harness import REPO, cpu_name, result_path, write_report

N_CLASSES, FRAMES_PER_RECORDING, HOP_FRAMES = 42, 7501, 125
AUDIO_DIR = REPO.parent / "shared" / "data" / "real"
CFG = LogMelConfig(n_mels=128)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def field_recordings(audio_dir: Path) -> list[Path]:
    paths = sorted(p for p in audio_dir.iterdir() if p.suffix.lower() in (".wav", ".flac"))
    if not paths:
        raise SystemExit(f"no WAV or FLAC recordings in {audio_dir}")
    return paths


def real_frames(paths: list[Path]) -> torch.Tensor:
    """The recordings' log-mels as the frontend stores them (float16 dB), end to end."""
    frontend = Frontend(CFG, 3.0, "dataset", torch.zeros(CFG.n_mels), torch.ones(CFG.n_mels))
    blocks = [
        frames
        for path in paths
        for _, frames in frame_blocks(path, audio_facts(path), frontend, 300.0)
    ]
    return torch.cat(blocks)


def make_bank(source: torch.Tensor, recordings: int, device: torch.device, seed: int = 0):
    """A bank of `recordings` one-minute recordings cut cyclically from `source`'s frames,
    windows every second (58 per minute), 5 % positive labels, normalised by its own frames."""
    total = recordings * FRAMES_PER_RECORDING
    frames = source.repeat(-(-total // len(source)), 1)[:total]
    stats = FrameStatistics()
    stats.add(source.float().numpy())
    mean, std = (torch.tensor(v, dtype=torch.float32) for v in stats.mean_std())
    per_rec = (FRAMES_PER_RECORDING - CFG.frames_per_window(3.0)) // HOP_FRAMES + 1
    starts = torch.cat(
        [torch.arange(per_rec) * HOP_FRAMES + r * FRAMES_PER_RECORDING for r in range(recordings)]
    )
    gen = torch.Generator().manual_seed(seed)
    labels = (torch.rand(len(starts), N_CLASSES, generator=gen) < 0.05).float()
    frontend = Frontend(CFG, 3.0, "dataset", mean, std)
    return WindowBank(frames.to(device), starts.to(device), labels.to(device), frontend.to(device))


def variant_settings(settings: dict, variant: str) -> dict:
    """The experiment's settings with a variant's switches (`bf16+channels_last+compile`)."""
    precision, *flags = variant.split("+")
    unknown = set(flags) - {"channels_last", "compile"}
    if precision not in ("fp32", "bf16") or unknown:
        raise SystemExit(f"variant {variant!r}: fp32|bf16 then +channels_last, +compile")
    return {
        **settings,
        "precision": precision,
        "channels_last": "channels_last" in flags,
        "compile": "compile" in flags,
    }


def setup(settings: dict, device: torch.device, labels: torch.Tensor):
    """Model, optimiser and objective as `train_experiment` builds them for these settings."""
    model = build_model(
        settings["model"], N_CLASSES, n_mels=CFG.n_mels, n_frames=CFG.frames_per_window(3.0),
        **settings["model_args"],
    )  # fmt: skip
    model = accelerate(model.to(device), settings["channels_last"], settings["compile"])
    model.train()
    return model, make_optimizer(model, settings), make_objective(settings, labels)


def timed(step, steps: int, warmup: int, device: torch.device) -> float:
    for _ in range(warmup):  # includes the compile of a compiled variant
        step()
    sync(device)
    started = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    return time.perf_counter() - started


def ours(settings, device, bank, batch, steps, warmup, seed=0) -> float:
    model, optimizer, objective = setup(settings, device, bank.labels)
    generator = torch.Generator(device=device).manual_seed(seed)
    order = torch.randperm(len(bank.starts), generator=generator, device=device)
    plan = plan_methods(settings, steps + warmup, generator)  # as fit draws an epoch's
    position = [0]

    def step():
        i = position[0] % (len(order) - batch)
        method = plan[(position[0] // batch) % len(plan)]
        position[0] += batch
        train_step(
            model, bank, order[i : i + batch], method, settings, generator, objective, optimizer
        )

    return steps * batch / timed(step, steps, warmup, device)


def plain_step(model, optimizer, x: torch.Tensor, y: torch.Tensor, precision: str) -> None:
    """Forward, BCE, backward, update: no augmentation, no mixing."""
    with autocast(x.device.type, precision):
        logits = model.classify(model.embed(x))
    loss = bce(logits.float(), y).mean()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def compute_limit(settings, device, bank, batch, steps, warmup) -> float:
    idx = torch.randperm(len(bank.starts), generator=torch.Generator().manual_seed(1))[:batch]
    idx = idx.to(device)
    x = bank.frontend.model_input(bank.frames, bank.starts[idx])
    y = bank.labels[idx]
    model, optimizer, _ = setup(settings, device, y)

    def step():
        plain_step(model, optimizer, x, y, settings["precision"])

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


def write_window_files(root: Path, recordings: list[Path], n: int) -> list[Path]:
    """`n` 3 s 16 kHz 16-bit WAV windows cut every second, cyclically, from `recordings`."""
    rate, length = CFG.sample_rate, 3 * CFG.sample_rate
    signals = []
    for path in recordings:
        facts = audio_facts(path)
        with sf.SoundFile(str(path)) as sound:
            n_out = -(-facts.frames * rate // facts.sample_rate)
            signals.append(standard_samples(sound, facts, rate, 0, n_out))
    cuts = [(s, a) for s in signals for a in range(0, len(s) - length + 1, rate)]
    paths = []
    for i in range(n):
        signal, start = cuts[i % len(cuts)]
        path = root / f"window_{i:05d}.wav"
        sf.write(path, signal[start : start + length], rate, subtype="PCM_16")
        paths.append(path)
    return paths


def reference(settings, device, paths, batch, steps, warmup, workers) -> float:
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
    transform = mel_transform(CFG).to(device)
    model, optimizer, _ = setup(settings, device, torch.from_numpy(labels))
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
        plain_step(model, optimizer, (x + 40.0) / 10.0, y, settings["precision"])

    return steps * batch / timed(step, steps, warmup, device)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--model", help="default: mobilenetv3_large on CUDA, small_cnn on CPU")
    parser.add_argument("--experiment", default="t1_mix2", help="augmentation and mixing")
    parser.add_argument("--batch", type=int, help="default: the experiment's")
    parser.add_argument("--steps", type=int, help="timed steps (default 100 CUDA, 20 CPU)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--recordings", type=int, help="bank size (default 1612 CUDA, 100 CPU)")
    parser.add_argument("--audio-dir", type=Path, default=AUDIO_DIR)
    parser.add_argument("--wav-windows", type=int, default=2048)
    parser.add_argument("--workers", type=int, help="DataLoader workers (default: cores, max 8)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: all cores)")
    parser.add_argument("--paths", nargs="+", default=["a", "b", "c"], choices=["a", "b", "c"])
    parser.add_argument("--variants", nargs="+", help="default CPU: fp32 bf16 fp32+compile "
                        "bf16+compile; CUDA: bf16+channels_last(+compile), fp32")  # fmt: skip
    parser.add_argument("--out", help="default: results/data_path/<machine>_<model>.json")
    return parser.parse_args()


def measure(args, settings, device, bank, paths, workers) -> dict:
    """windows/s of each path for each variant, with the ratios."""
    results = {}
    for variant in args.variants:
        s = variant_settings(settings, variant)
        timing = (args.batch, args.steps, args.warmup)
        row = {}
        if "a" in args.paths:
            row["a_ours"] = ours(s, device, bank, *timing)
        if "b" in args.paths:
            row["b_compute_limit"] = compute_limit(s, device, bank, *timing)
        if "c" in args.paths:
            row["c_reference"] = reference(s, device, paths, *timing, workers)
        row = {k: round(v, 1) for k, v in row.items()}
        if "a_ours" in row and "b_compute_limit" in row:
            row["a_over_b"] = round(row["a_ours"] / row["b_compute_limit"], 3)
        if "a_ours" in row and "c_reference" in row:
            row["a_over_c"] = round(row["a_ours"] / row["c_reference"], 2)
        row["computed_with"] = acceleration_facts(s, device)
        results[variant] = row
        print(variant, row, flush=True)
    return results


def main() -> None:
    args = parse_args()
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    if args.threads:
        torch.set_num_threads(args.threads)
    experiment = yaml.safe_load((REPO / f"config/experiments/{args.experiment}.yaml").read_text())
    model = args.model or ("mobilenetv3_large" if cuda else "small_cnn")
    device_name = torch.cuda.get_device_name(device) if cuda else None
    args.out = args.out or str(result_path("data_path", model, device_name))
    if model != experiment["model"]:  # another model: its own default arguments
        experiment.update(model=model, model_args={})
    settings = experiment_settings(experiment)
    args.batch = args.batch or settings["batch_size"]
    args.steps = args.steps or (100 if cuda else 20)
    args.variants = args.variants or (
        ["bf16+channels_last", "bf16+channels_last+compile", "fp32"]
        if cuda
        else ["fp32", "bf16", "fp32+compile", "bf16+compile"]
    )
    recordings = args.recordings or (1612 if cuda else 100)
    workers = args.workers if args.workers is not None else min(8, len(os.sched_getaffinity(0)))
    sources = field_recordings(args.audio_dir)
    bank = make_bank(real_frames(sources), recordings, device)
    tmp = Path(tempfile.mkdtemp(prefix="anuraflow-windows-"))
    try:
        paths = write_window_files(tmp, sources, args.wav_windows) if "c" in args.paths else []
        results = measure(args, settings, device, bank, paths, workers)
    finally:
        shutil.rmtree(tmp)
    names = ", ".join(p.name for p in sources)
    report = {
        "benchmark": "data_path",
        "command": " ".join(["benchmarks/speed/data_path.py", *sys.argv[1:]]),
        "machine": {
            "device": torch.cuda.get_device_name(device) if cuda else cpu_name(),
            "cpu_cores": len(os.sched_getaffinity(0)),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },
        "model": settings["model"],
        "model_args": settings["model_args"],
        "experiment": args.experiment,
        "batch": args.batch,
        "input": [1, CFG.n_mels, CFG.frames_per_window(3.0)],
        "steps": args.steps,
        "warmup_steps": args.warmup,
        "bank_recordings": recordings,
        "bank_gb": round(bank.frames.numel() * 2 / 1e9, 2),
        "data": {
            "a_ours": f"the bank: log-mels of {names} in {args.audio_dir.resolve()}, "
            f"tiled to {recordings} one-minute recordings",
            "b_compute_limit": f"one batch of {args.batch} windows of the same bank, "
            "gathered and normalised once",
            "c_reference": f"{args.wav_windows} 3 s WAV windows cut every second from them",
        },
        "reference_workers": workers,
        "windows_per_s": results,
        "target_a_over_b": 0.9,
        "a_over_b_met": {v: r["a_over_b"] >= 0.9 for v, r in results.items() if "a_over_b" in r},
    }
    write_report(report, args.out)


if __name__ == "__main__":
    main()

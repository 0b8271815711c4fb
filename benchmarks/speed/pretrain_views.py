"""Benchmark: seed 003's waveform views for pretraining, one window at a time vs batched.

Pretraining makes two random views (time stretch, pitch shift or noise; Table 2) of every 3 s
window of every batch. Three ways, the same draws from the same distribution:

- `before`: as pretraining made them until now, one window at a time with torchaudio's
  phase vocoder, on the CPU, then copied to the device;
- `one_at_a_time`: one window at a time with `anuraflow.learn.views.phase_vocoder` (the same
  numbers as torchaudio's, from the frame-major layout torch.stft returns);
- `batched`: `anuraflow.learn.views.random_views`, which groups the windows that drew the same
  transformation and runs each group as one batched call on the windows' own device.

    .venv/bin/python -m benchmarks.speed.pretrain_views                 # CPU
    .venv/bin/python -m benchmarks.speed.pretrain_views --device cuda   # on a GPU

The figure is views per second (3 s windows of integrated noise at 16 kHz; the content does not
change the cost).
"""

from __future__ import annotations

import argparse
import os
import time
from unittest import mock

import torch
import torchaudio.functional as AF

from anuraflow.learn import views
from anuraflow.learn.views import random_views
from benchmarks.harness import cpu_name, result_path, write_report

SAMPLE_RATE, WINDOW_S = 16000, 3.0


def one_at_a_time(waves: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A Python loop over the windows, each a batch of one (with `views.phase_vocoder`)."""
    return torch.cat([random_views(w[None], SAMPLE_RATE, generator) for w in waves])


def before(waves: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One window at a time with torchaudio's phase vocoder on the CPU, then to the device
    (the code before this change); `generator` is a CPU one."""
    with mock.patch.object(views, "phase_vocoder", AF.phase_vocoder):
        return one_at_a_time(waves.cpu(), generator).to(waves.device)


def views_per_second(make, waves: torch.Tensor, batches: int, on_cpu: bool = False) -> float:
    device = waves.device
    generator = torch.Generator("cpu" if on_cpu else device).manual_seed(0)
    make(waves, generator)  # warm-up: FFT plans, resampling kernels
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(batches):
        make(waves, generator)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batches * len(waves) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=32, help="pretraining's default batch")
    parser.add_argument("--batches", type=int, help="timed batches (default 20 CUDA, 5 CPU)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: all cores)")
    parser.add_argument("--out", default=str(result_path("pretrain_views")))
    args = parser.parse_args()

    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    batches = args.batches or (20 if device.type == "cuda" else 5)
    gen = torch.Generator().manual_seed(1)
    waves = torch.randn(args.batch, int(SAMPLE_RATE * WINDOW_S), generator=gen).cumsum(-1)
    waves = (waves - waves.mean(-1, keepdim=True)).to(device) * 1e-3
    rates = {
        "before": views_per_second(before, waves, batches, on_cpu=True),
        "one_at_a_time": views_per_second(one_at_a_time, waves, batches),
        "batched": views_per_second(lambda w, g: random_views(w, SAMPLE_RATE, g), waves, batches),
    }
    report = {
        "benchmark": "pretrain_views",
        "machine": {
            "device": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name(),
            "cpu_cores": len(os.sched_getaffinity(0)),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },
        "batch": args.batch,
        "window_s": WINDOW_S,
        "timed_batches": batches,
        "views_per_s": {k: round(v, 1) for k, v in rates.items()},
        "speedup_over_before": round(rates["batched"] / rates["before"], 2),
    }
    write_report(report, args.out)


if __name__ == "__main__":
    main()

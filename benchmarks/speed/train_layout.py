"""Benchmark: training on NCHW against NHWC (`channels_last`) weights, per model, on the CPU at
hand, and the small CNN's pooling that decides it.

For each model, the plain step (forward, loss, backward, optimiser step: `data_path.
plain_step`) on one random batch of its experiment's size and precision (`auto` unless
`--precision`), in both layouts from the same initial weights; then PyTorch's 2 x 2
max-pooling on the three feature-map shapes of `small_cnn` at batch 64, in both layouts,
forward only. Medians over `--steps` timed calls after warm-up.

    .venv/bin/python -m benchmarks.speed.train_layout

With ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 in front: the kernels of an AVX2-only
CPU (the result file says so, `<cpu>-as-avx2.json`); adding `--precision bf16 --models
small_cnn` measures what bf16 costs where those kernels emulate it (`..._bf16.json`).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from anuraflow.core.hardware import keep_freed_memory
from anuraflow.learn.models import build_model
from anuraflow.learn.training import make_optimizer
from benchmarks.harness import cpu_facts, result_path, write_report
from benchmarks.speed.data_path import plain_step
from benchmarks.speed.epoch_vs_step import MODELS, settings_for

# small_cnn's feature maps before its three max-poolings (batch 64, 128 x 376 log-mels
# average-pooled 2 x 4 at the input: 64 x 94, then halved)
POOLED_SHAPES = [(64, 16, 64, 94), (64, 32, 32, 47), (64, 64, 16, 23)]


def median_seconds(call, steps: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        call()
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def step_seconds(settings: dict, channels_last: bool, steps: int) -> float:
    """Median seconds of one plain step of the experiment's model in one layout."""
    torch.manual_seed(0)
    model = build_model(settings["model"], 8, **(settings.get("model_args") or {}))
    batch = settings["batch_size"]
    x = torch.randn(batch, 1, 128, 376)
    y = (torch.rand(batch, 8) < 0.2).float()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    model.train()
    optimizer = make_optimizer(model, settings)
    return median_seconds(lambda: plain_step(model, optimizer, x, y, settings["precision"]), steps)


def pooling_ms(shape: tuple, channels_last: bool, steps: int) -> float:
    x = torch.randn(shape).relu()
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return 1e3 * median_seconds(lambda: F.max_pool2d(x, 2), steps)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    ap.add_argument("--steps", type=int, default=5, help="timed steps per model and layout")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    keep_freed_memory()
    models = {}
    for name in args.models:
        settings = settings_for(name, args.precision)
        nchw = step_seconds(settings, False, args.steps)
        nhwc = step_seconds(settings, True, args.steps)
        models[name] = {
            "experiment": MODELS[name],
            "precision": settings["precision"],
            "batch": settings["batch_size"],
            "step_nchw_s": round(nchw, 4),
            "step_nhwc_s": round(nhwc, 4),
            "nhwc_speedup": round(nchw / nhwc, 2),
        }
        print(name, models[name], flush=True)
    pooling = [
        {"shape": list(shape), "nchw_ms": round(pooling_ms(shape, False, 20), 2),
         "nhwc_ms": round(pooling_ms(shape, True, 20), 2)}
        for shape in POOLED_SHAPES
    ]  # fmt: skip
    report = {
        "benchmark": "train_layout",
        "command": f"python -m benchmarks.speed.train_layout --precision {args.precision} "
        f"--steps {args.steps} --threads {args.threads}",
        "date": time.strftime("%Y-%m-%d"),
        "cpu": cpu_facts(),
        "threads": args.threads,
        "models": models,
        "small_cnn_max_pool": pooling,
    }
    variant = "" if args.precision == "auto" else args.precision
    write_report(report, args.out or result_path("train_layout", variant))


if __name__ == "__main__":
    main()

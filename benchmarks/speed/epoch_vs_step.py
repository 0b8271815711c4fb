"""Benchmark: a training epoch against its bare steps, per model, on the CPU at hand.

The bare step is the model's forward, loss, backward and optimiser step on a batch already
gathered and normalised (`data_path.py`'s compute limit, the ceiling of any data path), timed
over as many steps as the epoch has. The epoch is the trainer's own, split as `fit` runs it:
the training pass (`train_epoch`: gathering the windows from the bank, normalisation,
augmentation and mixing, the steps), the evaluation after it (`epoch_record`: validation and
test scored, which the report's "cost of selecting on test" reads) and keeping the best
weights (`keep_if_best`'s copy). The bank is the demo's size: `--recordings` one-minute
recordings of the field recordings' real log-mels (the demo frontend), 70/10/20 by recording.
Each model runs its experiment's settings (augmentation, mixing, batch, precision `auto`),
with glibc's malloc keeping freed blocks, as `train_experiment` runs it (`--malloc-default`:
as it ran before).

    .venv/bin/python -m benchmarks.speed.epoch_vs_step --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import yaml

from anuraflow.core.hardware import keep_freed_memory
from anuraflow.learn.acceleration import acceleration_facts, resolve_precision
from anuraflow.learn.experiments import experiment_settings
from anuraflow.learn.fit import TrainState, epoch_record, keep_if_best, train_epoch
from anuraflow.learn.run import build_run_model
from anuraflow.learn.training import make_objective, make_optimizer, make_scheduler
from benchmarks.harness import REPO, cpu_facts, result_path, write_report
from benchmarks.speed.data_path import (
    AUDIO_DIR,
    field_recordings,
    make_bank,
    plain_step,
    real_frames,
)
from benchmarks.speed.epoch_time import run_data

MODELS = {"small_cnn": "demo_cnn", "resnet18": "t1_mix2", "mobilenetv3_large": "t1_mix2"}


def settings_for(model: str) -> dict:
    experiment = yaml.safe_load((REPO / f"config/experiments/{MODELS[model]}.yaml").read_text())
    if experiment["model"] != model:
        experiment.update(model=model, model_args={})
    settings = experiment_settings({**experiment, "epochs": 1, "precision": "auto"})
    settings["precision"] = resolve_precision("auto", "cpu")
    return settings


def bare_steps(model, settings, data, steps: int) -> float:
    """Seconds of `steps` plain steps on one fixed batch of training windows."""
    bank, batch = data.bank, settings["batch_size"]
    idx = data.subsets["train"][:batch]
    x = bank.frontend.model_input(bank.frames, bank.starts[idx])
    y = bank.labels[idx]
    optimizer = make_optimizer(model, settings)
    plain_step(model, optimizer, x, y, settings["precision"])  # warm-up
    started = time.perf_counter()
    for _ in range(steps):
        plain_step(model, optimizer, x, y, settings["precision"])
    return time.perf_counter() - started


def one_epoch(model, settings, data, seed: int) -> dict:
    """The parts of one epoch as `fit` runs them, in seconds."""
    steps = -(-len(data.subsets["train"]) // settings["batch_size"])
    optimizer = make_optimizer(model, settings)
    scheduler = make_scheduler(optimizer, settings, steps)
    objective = make_objective(settings, data.bank.labels[data.subsets["train"]])
    generator = torch.Generator().manual_seed(seed)
    model.train()
    t0 = time.perf_counter()
    loss, _ = train_epoch(model, data, settings, generator, objective, optimizer, scheduler,
                          "epoch", False)  # fmt: skip
    t1 = time.perf_counter()
    record = epoch_record(model, data, settings, 1, loss)
    t2 = time.perf_counter()
    keep_if_best(TrainState(), model, record, settings["select_on"])
    t3 = time.perf_counter()
    return {"train_pass_s": t1 - t0, "evaluation_s": t2 - t1, "keep_best_s": t3 - t2,
            "steps": steps}  # fmt: skip


def measure(model_name: str, data, rounds: int) -> dict:
    settings = settings_for(model_name)
    torch.manual_seed(0)
    model, _ = build_run_model(settings, data, None, torch.device("cpu"))
    one_epoch(model, settings, data, seed=99)  # warm-up: first-call costs
    epochs = [one_epoch(model, settings, data, seed=s) for s in range(rounds)]
    median = {k: statistics.median(e[k] for e in epochs) for k in epochs[0]}
    bare = statistics.median(bare_steps(model, settings, data, median["steps"])
                             for _ in range(rounds))  # fmt: skip
    epoch = median["train_pass_s"] + median["evaluation_s"] + median["keep_best_s"]
    return {
        "experiment": MODELS[model_name],
        "computed_with": acceleration_facts(settings, torch.device("cpu")),
        "batch": settings["batch_size"],
        "steps_per_epoch": median["steps"],
        "bare_steps_s": round(bare, 2),
        "train_pass_s": round(median["train_pass_s"], 2),
        "evaluation_s": round(median["evaluation_s"], 2),
        "keep_best_s": round(median["keep_best_s"], 3),
        "epoch_s": round(epoch, 2),
        # the ratios: the training pass against its bare steps (evaluation apart, as
        # the protocol needs it), and the whole epoch
        "train_pass_vs_bare": round(bare / median["train_pass_s"], 3),
        "epoch_vs_bare": round(bare / epoch, 3),
        "split_s": {
            "data_path_augmentation_mixing": round(median["train_pass_s"] - bare, 2),
            "evaluation": round(median["evaluation_s"], 2),
            "keep_best": round(median["keep_best_s"], 3),
        },
    }


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--recordings", type=int, default=36, help="25 of them train (demo: 25)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--malloc-default", action="store_true",
                    help="leave glibc's malloc as it is (the trainer keeps freed blocks)")
    ap.add_argument("--out")
    return ap.parse_args()


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    if not args.malloc_default:
        keep_freed_memory()
    bank = make_bank(real_frames(field_recordings(AUDIO_DIR)), args.recordings,
                     torch.device("cpu"))  # fmt: skip
    data = run_data(bank, args.recordings, len(bank.starts) // args.recordings, "cpu")
    rows = {}
    for name in args.models:
        rows[name] = measure(name, data, args.rounds)
        print(name, rows[name], flush=True)
    report = {
        "benchmark": "epoch_vs_step",
        "command": "python -m benchmarks.speed.epoch_vs_step " + " ".join(
            f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in vars(args).items() if k not in ("out", "malloc_default"))
        + (" --malloc-default" if args.malloc_default else ""),
        "date": time.strftime("%Y-%m-%d"),
        "cpu": cpu_facts(),
        "threads": args.threads,
        "malloc": "glibc defaults" if args.malloc_default else "keep_freed_memory",
        "windows": {s: len(i) for s, i in data.subsets.items()},
        "models": rows,
    }  # fmt: skip
    out = args.out or result_path("epoch_vs_step", "malloc_default" if args.malloc_default else "")
    write_report(report, out)


if __name__ == "__main__":
    main()

"""Benchmark: a training epoch against its bare steps, per model, on the CPU at hand.

The bare step is the model's forward, loss, backward and optimiser step on a batch already
gathered, normalised and augmented (`data_path.py`'s compute limit, the ceiling of any data
path), timed on the epoch's own batches (order, sizes, augmentation as `train_epoch` draws
them, prepared beforehand; before 2026-12-08, on one batch repeated). The epoch is the
trainer's own, split as `fit` runs it: the training pass (`train_epoch`: gathering the
windows from the bank, normalisation, augmentation and mixing, the steps), the evaluation
after it (`epoch_record`: validation and test scored, which the report's "cost of selecting
on test" reads) and keeping the best weights (`keep_if_best`'s copy); preparing the batches
is also timed alone, and `--profile` adds the operators whose time differs most between a
pass and its bare steps. The bank is the demo's size: `--recordings` one-minute recordings
of the field recordings' real log-mels (the demo frontend), 70/10/20 by recording. Each model
runs its experiment's settings (augmentation, mixing, batch, layout, precision `auto` unless
`--precision`), with glibc's malloc keeping freed blocks, as `train_experiment` runs it
(`--malloc-default`: as it ran before).

    .venv/bin/python -m benchmarks.speed.epoch_vs_step --threads 2

With ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 a newer CPU runs the kernels an AVX2-only
CPU runs (in float32: `auto` then resolves fp32); the result file says so
(`<cpu>-as-avx2.json`). It emulates the instruction set, not the older CPU's clock or caches.
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
from anuraflow.learn.training import (
    batch_starts,
    make_objective,
    make_optimizer,
    make_scheduler,
    prepare_inputs,
)
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


def settings_for(model: str, precision: str = "auto") -> dict:
    experiment = yaml.safe_load((REPO / f"config/experiments/{MODELS[model]}.yaml").read_text())
    if experiment["model"] != model:
        experiment.update(model=model, model_args={})
    settings = experiment_settings({**experiment, "epochs": 1, "precision": precision})
    settings["precision"] = resolve_precision(precision, "cpu")
    return settings


def epoch_batches(settings, data, seed: int, keep: bool = True) -> tuple[list, float]:
    """An epoch's training batches as `train_epoch` draws them (order, sizes, augmentation:
    `prepare_inputs`, what `train_step` does before the model runs), and the seconds that
    preparing them took. Timed with `keep` False: each batch is dropped before the next, as
    in training, so the allocator reuses its memory (kept, every batch is fresh memory)."""
    train, batch = data.subsets["train"], settings["batch_size"]
    generator = torch.Generator().manual_seed(seed)
    order = train[torch.randperm(len(train), generator=generator)]
    batches, started = [], time.perf_counter()
    for start in batch_starts(len(order), batch):
        idx = order[start : start + batch]
        x = prepare_inputs(data.bank, idx, settings, generator, data.noise)
        if keep:
            batches.append((x, data.bank.labels[idx]))
    return batches, time.perf_counter() - started


def bare_steps(model, settings, batches: list) -> float:
    """Seconds of plain steps (forward, loss, backward, update) on prepared `batches`."""
    optimizer = make_optimizer(model, settings)
    plain_step(model, optimizer, *batches[0], settings["precision"])  # warm-up
    started = time.perf_counter()
    for x, y in batches:
        plain_step(model, optimizer, x, y, settings["precision"])
    return time.perf_counter() - started


def one_epoch(model, settings, data, seed: int, evaluate: bool = True) -> dict:
    """The parts of one epoch as `fit` runs them, in seconds (`evaluate` False: the
    training pass alone)."""
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
    if not evaluate:
        return {"train_pass_s": t1 - t0, "steps": steps}
    record = epoch_record(model, data, settings, 1, loss)
    t2 = time.perf_counter()
    keep_if_best(TrainState(), model, record, settings["select_on"])
    t3 = time.perf_counter()
    return {"train_pass_s": t1 - t0, "evaluation_s": t2 - t1, "keep_best_s": t3 - t2,
            "steps": steps}  # fmt: skip


def one_round(model, settings, data, seed: int) -> dict:
    """One epoch and, right after it, the bare steps on that epoch's own batches and the
    batches' preparation alone: side by side, so that the machine's drift between rounds
    falls on both sides of a ratio alike."""
    parts = one_epoch(model, settings, data, seed)
    parts["batch_preparation_s"] = epoch_batches(settings, data, seed, keep=False)[1]
    batches, _ = epoch_batches(settings, data, seed)
    parts["bare_s"] = bare_steps(model, settings, batches)
    parts["pass_vs_bare"] = parts["bare_s"] / parts["train_pass_s"]
    return parts


def op_seconds(run) -> dict[str, float]:
    """Self CPU seconds per operator (and per optimiser call) while `run()` runs."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        run()
    return {e.key: e.self_cpu_time_total / 1e6 for e in prof.key_averages()}


def pass_profile(model, settings, data, seed: int, top: int = 12) -> list[dict]:
    """Where the training pass spends more than its bare steps: the operators whose self time
    differs most between one pass and the bare steps on that pass's own batches."""
    in_pass = op_seconds(lambda: one_epoch(model, settings, data, seed, evaluate=False))
    batches, _ = epoch_batches(settings, data, seed)
    in_bare = op_seconds(lambda: bare_steps(model, settings, batches))
    rows = [
        {
            "op": op,
            "pass_s": round(in_pass.get(op, 0.0), 4),
            "bare_s": round(in_bare.get(op, 0.0), 4),
        }
        for op in set(in_pass) | set(in_bare)
    ]
    rows.sort(key=lambda r: abs(r["pass_s"] - r["bare_s"]), reverse=True)
    return rows[:top]


def measure(model_name: str, data, rounds: int, precision: str = "auto",
            profile: bool = False) -> dict:  # fmt: skip
    settings = settings_for(model_name, precision)
    torch.manual_seed(0)
    model, _ = build_run_model(settings, data, None, torch.device("cpu"))
    one_epoch(model, settings, data, seed=99)  # warm-up: first-call costs
    runs = [one_round(model, settings, data, seed=s) for s in range(rounds)]
    median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    median["steps"] = runs[0]["steps"]  # the same every round (a median of two is a float)
    bare, preparation = median["bare_s"], median["batch_preparation_s"]
    epoch = median["train_pass_s"] + median["evaluation_s"] + median["keep_best_s"]
    return {
        "experiment": MODELS[model_name],
        "computed_with": acceleration_facts(settings, torch.device("cpu")),
        "batch": settings["batch_size"],
        "steps_per_epoch": median["steps"],
        "bare_steps_s": round(bare, 2),  # on the epoch's own batches, prepared beforehand
        "train_pass_s": round(median["train_pass_s"], 2),
        "evaluation_s": round(median["evaluation_s"], 2),
        "keep_best_s": round(median["keep_best_s"], 3),
        "epoch_s": round(epoch, 2),
        # the ratios: the training pass against its bare steps (evaluation apart, as
        # the protocol needs it), and the whole epoch
        "train_pass_vs_bare": round(bare / median["train_pass_s"], 3),
        "train_pass_vs_bare_by_round": [round(r["pass_vs_bare"], 3) for r in runs],
        # the paired estimate (each round's pass against its own bare steps): the verdict
        "train_pass_vs_bare_median_of_rounds": round(median["pass_vs_bare"], 3),
        "epoch_vs_bare": round(bare / epoch, 3),
        "split_s": {
            "data_path_augmentation_mixing": round(median["train_pass_s"] - bare, 2),
            # of which gathering, normalising and augmenting the batches, timed alone; the
            # rest is the loop's own (mixing, loss, scheduler, the running loss)
            "batch_preparation": round(preparation, 2),
            "evaluation": round(median["evaluation_s"], 2),
            "keep_best": round(median["keep_best_s"], 3),
        },
        **({"profile_pass_against_bare": pass_profile(model, settings, data, seed=rounds)}
           if profile else {}),
    }  # fmt: skip


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--recordings", type=int, default=36, help="25 of them train (demo: 25)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    ap.add_argument(
        "--profile",
        action="store_true",
        help="add the operators whose time differs most between pass and bare",
    )
    ap.add_argument(
        "--malloc-default",
        action="store_true",
        help="leave glibc's malloc as it is (the trainer keeps freed blocks)",
    )
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
        rows[name] = measure(name, data, args.rounds, args.precision, args.profile)
        print(name, rows[name], flush=True)
    report = {
        "benchmark": "epoch_vs_step",
        "command": "python -m benchmarks.speed.epoch_vs_step " + " ".join(
            f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in vars(args).items() if k not in ("out", "malloc_default", "profile"))
        + (" --malloc-default" if args.malloc_default else "")
        + (" --profile" if args.profile else ""),
        "date": time.strftime("%Y-%m-%d"),
        "cpu": cpu_facts(),
        "threads": args.threads,
        "malloc": "glibc defaults" if args.malloc_default else "keep_freed_memory",
        "windows": {s: len(i) for s, i in data.subsets.items()},
        "models": rows,
    }  # fmt: skip
    variant = "_".join(([args.precision] if args.precision != "auto" else [])
                       + (["malloc_default"] if args.malloc_default else []))  # fmt: skip
    out = args.out or result_path("epoch_vs_step", variant)
    write_report(report, out)


if __name__ == "__main__":
    main()

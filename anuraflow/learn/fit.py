"""The epoch loop: train, score validation (and test, for the record only), keep the epoch that
scores best on validation, checkpoint after every epoch so a killed job resumes."""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from anuraflow.evaluate.metrics import macro_f1
from anuraflow.evaluate.scoring import (
    decide,
    plain_loss,
)
from anuraflow.learn.checkpoint import (
    capture_rng,
    load_checkpoint,
    restore_rng,
    save_checkpoint,
)
from anuraflow.learn.run_data import RunData, score_subset
from anuraflow.learn.training import (
    EarlyStopping,
    batch_starts,
    make_objective,
    make_optimizer,
    make_scheduler,
    plan_methods,
    train_step,
)


@dataclass
class TrainState:
    """What the epoch loop carries from epoch to epoch (all of it checkpointed)."""

    epoch: int = 0
    history: list[dict] = field(default_factory=list)
    method_counts: dict[str, int] = field(default_factory=dict)
    best_score: float = -math.inf
    best_epoch: int = -1
    best_state: dict | None = None
    train_seconds: float = 0.0
    stopped: bool = False
    resumed_from: int | None = None


class Resume:
    """A run's checkpoint file: the state after every epoch, for a run with this very
    fingerprint only (`anuraflow.learn.checkpoint`)."""

    def __init__(self, path: str | Path, fingerprint: str):
        self.path, self.fingerprint = Path(path), fingerprint

    def load(self, model, optimizer, scheduler, stopper, generator) -> TrainState | None:
        saved = load_checkpoint(self.path, self.fingerprint)
        if saved is None:
            return None
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(saved["scheduler"])
        if stopper is not None:
            stopper.best, stopper.bad_epochs = saved["stopper"]
        restore_rng(saved["rng"], generator)
        print(f"resuming from the checkpoint of epoch {saved['epoch']} in {self.path}")
        return TrainState(**saved["state"], resumed_from=saved["epoch"])

    def save(self, state: TrainState, model, optimizer, scheduler, stopper, generator) -> None:
        kept = {k: v for k, v in vars(state).items() if k != "resumed_from"}
        save_checkpoint(
            {
                "epoch": state.epoch,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler else None,
                "stopper": [stopper.best, stopper.bad_epochs] if stopper else None,
                "state": kept,
                "rng": capture_rng(generator),
            },
            self.path,
            self.fingerprint,
        )

    def finished(self) -> None:
        self.path.unlink(missing_ok=True)  # nothing left to resume


def train_epoch(
    model,
    data: RunData,
    settings,
    generator,
    objective,
    optimizer,
    scheduler,
    desc: str,
    progress: bool,
) -> tuple[float, dict[str, int]]:
    """One pass over the training windows in a random order: (mean loss, steps per mixing
    method)."""
    from tqdm import tqdm

    batch_size, device = settings["batch_size"], data.bank.frames.device
    train = data.subsets["train"]
    order = train[torch.randperm(len(train), generator=generator, device=device)]
    running, seen, methods = 0.0, 0, {}
    starts = batch_starts(len(order), batch_size)
    plan = plan_methods(settings, len(starts), generator)
    bar = tqdm(starts, desc=desc, unit="batch", disable=not progress, mininterval=5)
    for step, start in enumerate(bar):
        idx, method = order[start : start + batch_size], plan[step]
        loss = train_step(
            model, data.bank, idx, method, settings, generator, objective, optimizer, data.noise
        )
        if settings["scheduler"] == "cosine":
            scheduler.step()
        methods[method] = methods.get(method, 0) + 1
        running = running + loss.double() * len(idx)  # on the device: no sync per step
        seen += len(idx)
        if progress and step % 50 == 0:  # reading the loss waits for the device
            bar.set_postfix(loss=f"{float(running) / seen:.4f}")
    return float(running) / max(seen, 1), methods


def epoch_record(
    model: nn.Module, data: RunData, settings: dict, epoch: int, train_loss: float
) -> dict:
    """An epoch's line of history.tsv: validation loss and macro F1, and test macro F1,
    recorded, never used to choose (what selecting on test, Mix2's protocol, would give)."""
    f1, val_loss = {}, None
    for subset in ("val", "test"):
        prob, _ = score_subset(model, data, subset, settings)
        true = data.true_labels(subset)
        f1[subset] = macro_f1(true, decide(prob, settings["task"], settings["threshold"]))
        if subset == "val":
            val_loss = plain_loss(prob, true, settings["task"])
    record = {
        "epoch": epoch,
        "train_loss": train_loss,
        "val_loss": val_loss,
        "val_macro_f1": 0.0 if math.isnan(f1["val"]) else f1["val"],
        "test_macro_f1": None if math.isnan(f1["test"]) else f1["test"],
    }
    print(
        f"epoch {epoch}: train_loss={train_loss:.4f} val_loss={val_loss:.4f} "
        f"val_macro_f1={record['val_macro_f1']:.4f}",
        flush=True,
    )
    return record


def keep_if_best(state: TrainState, model: nn.Module, record: dict, select_on: str) -> None:
    """Keep the weights of the epoch that scores best on validation (`select_on`)."""
    sign = -1.0 if select_on == "val_loss" else 1.0
    if sign * record[select_on] > state.best_score:
        state.best_score, state.best_epoch = sign * record[select_on], record["epoch"]
        state.best_state = copy.deepcopy(model.state_dict())


def fit(
    model: nn.Module,
    frozen: list[nn.Module],
    data: RunData,
    settings: dict,
    seed: int,
    progress: bool = True,
    resume: Resume | None = None,
) -> TrainState:
    """Train for the experiment's epochs (or until early stopping), keeping the weights of
    the epoch that scores best on validation (`select_on`). Test is scored every epoch for
    the record (`test_macro_f1`, the optimism of selecting on test), never to choose."""
    device = data.bank.frames.device
    optimizer = make_optimizer(model, settings)
    steps = math.ceil(len(data.subsets["train"]) / settings["batch_size"])
    scheduler = make_scheduler(optimizer, settings, settings["epochs"] * steps)
    objective = make_objective(settings, data.bank.labels[data.subsets["train"]])
    stopper = EarlyStopping(**settings["early_stopping"]) if settings["early_stopping"] else None
    generator = torch.Generator(device=device).manual_seed(seed)
    state = resume.load(model, optimizer, scheduler, stopper, generator) if resume else None
    state = state or TrainState()
    started, done_before = time.time(), state.train_seconds
    while state.epoch < settings["epochs"] and not state.stopped:
        epoch, t0 = state.epoch + 1, time.time()
        model.train()
        for module in frozen:  # a frozen encoder keeps its batch-norm statistics too
            module.eval()
        loop = (generator, objective, optimizer, scheduler)
        train_loss, methods = train_epoch(model, data, settings, *loop, f"epoch {epoch}", progress)
        for m, n in methods.items():
            state.method_counts[m] = state.method_counts.get(m, 0) + n
        record = epoch_record(model, data, settings, epoch, train_loss)
        record.update(lr=optimizer.param_groups[0]["lr"], seconds=time.time() - t0)
        state.history.append(record)
        if settings["scheduler"] == "plateau":
            scheduler.step(record["val_loss"])
        keep_if_best(state, model, record, settings["select_on"])
        state.stopped = stopper is not None and stopper.step(record)
        state.epoch = epoch
        state.train_seconds = done_before + time.time() - started
        if resume is not None:
            resume.save(state, model, optimizer, scheduler, stopper, generator)
        if state.stopped:
            print(f"early stopping after epoch {epoch} ({stopper.monitor})", flush=True)
    return state

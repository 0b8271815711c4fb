"""One training run (experiment x seed [x fold]) in three pieces: `prepare_run` (windows,
task, split, frontend and bank on the device), `fit` (the epoch loop, model selection on
validation, its resumable state) and `finish_run` (thresholds tuned on validation, test
metrics, the model bundle and the prediction tables). `train_experiment` chains them.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from anuraflow.core.fileio import write_json, write_parquet, write_text
from anuraflow.core.provenance import provenance
from anuraflow.data.species import assign_groups, species_table
from anuraflow.evaluate.metrics import macro_f1
from anuraflow.evaluate.scoring import (
    decide,
    evaluate,
    plain_loss,
    prediction_table,
    tuned_metrics,
)
from anuraflow.evaluate.thresholds import tune_thresholds
from anuraflow.features.bank import NoiseBank, WindowBank, build_bank, load_noise_bank
from anuraflow.features.frontend import score_windows
from anuraflow.features.logmel import read_feature_index
from anuraflow.learn.bundle import save_bundle
from anuraflow.learn.checkpoint import (
    capture_rng,
    load_checkpoint,
    load_encoder,
    restore_rng,
    run_fingerprint,
    save_checkpoint,
)
from anuraflow.learn.experiments import experiment_settings
from anuraflow.learn.models import build_model, n_parameters
from anuraflow.learn.tasks import prepare_task
from anuraflow.learn.training import (
    EarlyStopping,
    balanced_indices,
    fraction_of_labels,
    make_objective,
    make_optimizer,
    make_scheduler,
    pick_device,
    seed_everything,
    train_step,
)

SUBSETS = ("train", "val", "test")


@dataclass(frozen=True)
class RunInputs:
    """The files a run reads (None: not used by this run)."""

    windows: str | Path
    splits: str | Path
    feature_index: str | Path
    manifest: str | Path | None = None
    noise_bank: str | Path | None = None
    encoder: str | Path | None = None
    folds: str | Path | None = None  # with a fold: cross-validation
    # what a fold's recordings are: "val" (k-fold over train + val) or "test" (leave one
    # site out: the fold's site is the test set, every other recording trains or validates)
    fold_holds_out: str = "val"


@dataclass(frozen=True)
class RunOutputs:
    model: str | Path  # the model bundle (anuraflow.learn.bundle)
    predictions: str | Path  # test windows: true_<code>, prob_<code>
    val_predictions: str | Path  # validation windows, the same columns
    metrics: str | Path
    history: str | Path


@dataclass
class RunData:
    """A run's windows and labels on the training device, ready for `fit`."""

    windows: pd.DataFrame  # the task's windows with their subset
    codes: list[str]
    names: dict[str, str]  # code -> species name, in model output order
    bank: WindowBank
    subsets: dict[str, torch.Tensor]  # window positions per subset (train: after balancing)
    groups: dict[str, str]  # code -> frequency group
    summary: dict  # what the task kept and dropped
    noise: NoiseBank | None = None


def run_windows(inputs: RunInputs, fold: int | None) -> pd.DataFrame:
    """Windows with their split subset. With `fold` and `fold_holds_out="val"`, the fold's
    recordings are validation and the other train/val ones training (test unchanged); with
    "test", the fold's recordings (one site) are the test set, the split's validation
    recordings of the other sites stay validation (its test recordings of the other sites
    when the held-out site had every validation recording) and every other recording trains."""
    windows = pd.read_parquet(inputs.windows).merge(
        pd.read_parquet(inputs.splits), on="recording_id"
    )
    if fold is None:
        return windows
    folds = pd.read_parquet(inputs.folds).set_index("recording_id")["fold"]
    held = windows["recording_id"].map(folds).eq(fold).to_numpy()
    if inputs.fold_holds_out == "test":
        base = windows["subset"].to_numpy()
        # validation: the split's val recordings of the other sites, or, where the held-out
        # site had them all, its test recordings of the other sites
        val_from = "val" if ((base == "val") & ~held).any() else "test"
        windows["subset"] = np.where(held, "test", np.where(base == val_from, "val", "train"))
    else:
        in_cv = (windows["subset"] != "test").to_numpy()
        windows.loc[in_cv, "subset"] = np.where(held[in_cv], "val", "train")
    return windows


def prepare_run(
    inputs: RunInputs,
    settings: dict,
    seed: int,
    species_entries: list[dict],
    group_thresholds: dict,
    window_s: float,
    device: torch.device,
    fold: int | None = None,
) -> RunData:
    table = species_table(species_entries)
    all_windows = run_windows(inputs, fold)
    data = prepare_task(
        all_windows, table["code"].tolist(), settings["task"], **settings["dataset"]
    )
    windows, codes = data.windows, data.codes
    train_recs = set(all_windows.loc[all_windows["subset"] == "train", "recording_id"])
    bank = build_bank(
        windows,
        read_feature_index(inputs.feature_index),
        codes,
        window_s,
        train_recs,
        settings["normalise"],
        device,
    )
    noise = None
    if settings["augment"].get("noise"):
        if inputs.noise_bank is None:
            raise ValueError("augment.noise is set but the workflow has no noise bank")
        noise = load_noise_bank(inputs.noise_bank, bank.n_frames, device)
    subsets = {
        s: torch.tensor(np.flatnonzero(windows["subset"].to_numpy() == s), device=device)
        for s in SUBSETS
    }
    for s, idx in subsets.items():
        if len(idx) == 0:
            raise ValueError(f"the {s} split has no windows; check the split fractions")
    train = fraction_of_labels(subsets["train"], settings["label_fraction"], seed)
    if settings["balance"]:
        target = settings["balance"]["target"]
        order = balanced_indices(bank.labels[train].cpu().numpy(), target, seed)
        train = train[torch.as_tensor(order, device=device)]
    subsets["train"] = train
    # groups from the species' window counts in the whole dataset, whatever the task keeps
    kept = table[table["code"].isin(codes)]
    groups = assign_groups(kept, all_windows[codes].sum().to_dict(), group_thresholds)
    names = dict(zip(table["code"], table["name"], strict=True))
    return RunData(
        windows,
        codes,
        {c: names[c] for c in codes},
        bank,
        subsets,
        groups,
        data.summary(),
        noise,
    )


def build_run_model(
    settings: dict, data: RunData, encoder: str | Path | None, device: torch.device
) -> tuple[nn.Module, list[nn.Module]]:
    """The experiment's network on `device` (from a pretrained encoder with `init`), and the
    modules it keeps frozen."""
    model = build_model(
        settings["model"],
        len(data.codes),
        n_mels=data.bank.frontend.features.n_mels,
        n_frames=data.bank.n_frames,
        weights=settings["pretrained_weights"],
        dense_head=settings["dense_head"],
        **settings["model_args"],
    )
    frozen = []
    if settings["init"]:
        if encoder is None:
            raise ValueError("init.pretrain is set but no pretrained encoder was given")
        frozen = load_encoder(model, encoder, settings["model"], settings["init"]["freeze"])
        print(f"fine-tuning from the encoder {encoder} (frozen: {bool(frozen)})", flush=True)
    model = model.to(device)
    if device.type == "cuda":  # cuDNN's fast bf16 convolutions want NHWC weights
        model = model.to(memory_format=torch.channels_last)
    return model, frozen


def score_subset(model: nn.Module, data: RunData, subset: str, settings: dict, embeddings=False):
    """Probabilities (and embeddings) of one subset's windows, through the run's frontend."""
    bank = data.bank
    return score_windows(
        model,
        bank.frontend,
        bank.frames,
        bank.starts[data.subsets[subset]],
        len(data.codes),
        settings["task"] == "multiclass",
        embeddings=embeddings,
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
    starts = [s for s in range(0, len(order), batch_size) if len(order) - s >= 2]
    bar = tqdm(starts, desc=desc, unit="batch", disable=not progress, mininterval=5)
    for step, start in enumerate(bar):
        idx = order[start : start + batch_size]
        method, loss = train_step(
            model, data.bank, idx, settings, generator, objective, optimizer, data.noise
        )
        if settings["scheduler"] == "cosine":
            scheduler.step()
        methods[method] = methods.get(method, 0) + 1
        running = running + loss.double() * len(idx)  # on the device: no sync per step
        seen += len(idx)
        if progress and step % 50 == 0:  # reading the loss waits for the device
            bar.set_postfix(loss=f"{float(running) / seen:.4f}")
    return float(running) / max(seen, 1), methods


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
    true = {s: data.bank.labels[data.subsets[s]].cpu().numpy() for s in ("val", "test")}

    def scored(subset: str) -> tuple[np.ndarray, float]:
        prob, _ = score_subset(model, data, subset, settings)
        return prob, macro_f1(true[subset], decide(prob, settings["task"], settings["threshold"]))

    sign = -1.0 if settings["select_on"] == "val_loss" else 1.0
    started, done_before = time.time(), state.train_seconds
    while state.epoch < settings["epochs"] and not state.stopped:
        epoch, t0 = state.epoch + 1, time.time()
        model.train()
        for module in frozen:  # a frozen encoder keeps its batch-norm statistics too
            module.eval()
        train_loss, methods = train_epoch(
            model,
            data,
            settings,
            generator,
            objective,
            optimizer,
            scheduler,
            f"epoch {epoch}",
            progress,
        )
        for m, n in methods.items():
            state.method_counts[m] = state.method_counts.get(m, 0) + n
        val_prob, val_f1 = scored("val")
        val_loss = plain_loss(val_prob, true["val"], settings["task"])
        # recorded, never used to choose: what selecting on test (Mix2's protocol) would give
        _, test_f1 = scored("test")
        record = {
            "epoch": epoch,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "val_macro_f1": 0.0 if math.isnan(val_f1) else val_f1,
            "test_macro_f1": None if math.isnan(test_f1) else test_f1,
            "lr": optimizer.param_groups[0]["lr"],
            "seconds": time.time() - t0,
        }
        state.history.append(record)
        print(
            f"epoch {epoch}: train_loss={train_loss:.4f} val_loss={val_loss:.4f} "
            f"val_macro_f1={record['val_macro_f1']:.4f}",
            flush=True,
        )
        if settings["scheduler"] == "plateau":
            scheduler.step(val_loss)
        if sign * record[settings["select_on"]] > state.best_score:
            state.best_score, state.best_epoch = sign * record[settings["select_on"]], epoch
            state.best_state = copy.deepcopy(model.state_dict())
        state.stopped = stopper is not None and stopper.step(record)
        state.epoch = epoch
        state.train_seconds = done_before + time.time() - started
        if resume is not None:
            resume.save(state, model, optimizer, scheduler, stopper, generator)
        if state.stopped:
            print(f"early stopping after epoch {epoch} ({stopper.monitor})", flush=True)
    return state


def finish_run(
    model: nn.Module,
    state: TrainState,
    data: RunData,
    settings: dict,
    run: dict,
    outputs: RunOutputs,
) -> dict:
    """Load the selected weights, tune the thresholds on validation, write the bundle, the
    validation and test predictions, the history and the metrics (returned). `run`: the
    facts that go into metrics.json as they are (experiment, seed, fold, device, provenance)."""
    model.load_state_dict(state.best_state)
    val_prob, _ = score_subset(model, data, "val", settings)
    test_prob, embeddings = score_subset(model, data, "test", settings, embeddings=True)
    true = {s: data.bank.labels[data.subsets[s]].cpu().numpy().astype(int) for s in ("val", "test")}
    thresholds = None
    if settings["task"] != "multiclass":
        thresholds = tune_thresholds(true["val"], val_prob, data.codes, settings["threshold"])
    info = {k: run[k] for k in ("experiment", "seed", "fold", "provenance")}
    save_bundle(
        outputs.model,
        model,
        data.bank.frontend,
        settings,
        data.names,
        thresholds,
        {**info, "epoch": state.best_epoch},
    )
    for subset, prob, path in (
        ("val", val_prob, outputs.val_predictions),
        ("test", test_prob, outputs.predictions),
    ):
        rows = data.windows.iloc[data.subsets[subset].cpu().numpy()]
        write_parquet(prediction_table(rows, true[subset], prob, data.codes), path)
    best = state.history[state.best_epoch - 1]
    metrics = {
        **{k: v for k, v in run.items() if k != "provenance"},
        "model": settings["model"],
        "task": settings["task"],
        "epochs": settings["epochs"],
        "epochs_run": len(state.history),
        "best_epoch": state.best_epoch,
        "best_val_macro_f1": best["val_macro_f1"],
        "best_val_loss": best["val_loss"],
        "selected_on": settings["select_on"],
        "threshold": settings["threshold"],
        "dataset": data.summary,
        "n_windows": {s: len(i) for s, i in data.subsets.items()},
        "mixing_steps": state.method_counts,
        **evaluate(
            true["test"], test_prob, embeddings, data.codes, data.groups, settings, run["seed"]
        ),
        "test_selected": epoch_chosen_on_test(state.history),
        "thresholds": thresholds,
        "tuned": tuned_metrics(true["test"], test_prob, data.codes, data.groups, thresholds),
        "groups": data.groups,
        "train_seconds": state.train_seconds,
        "resumed_from_epoch": state.resumed_from,
        "n_parameters": n_parameters(model),
        "codes": data.codes,
        "settings": settings,
        "provenance": run["provenance"],
    }
    write_text(pd.DataFrame(state.history).to_csv(sep="\t", index=False), outputs.history)
    write_json(metrics, outputs.metrics)
    return metrics


def epoch_chosen_on_test(history: list[dict]) -> dict | None:
    """The epoch the test split itself would have chosen, and its test macro F1: reported as
    the optimism of selecting on test, never as a result."""
    scored = [h for h in history if h.get("test_macro_f1") is not None]
    if not scored:
        return None
    best = max(scored, key=lambda h: h["test_macro_f1"])
    return {"epoch": best["epoch"], "macro_f1": best["test_macro_f1"]}


def train_experiment(
    inputs: RunInputs,
    outputs: RunOutputs,
    experiment: dict,
    seed: int,
    species_entries: list[dict],
    group_thresholds: dict,
    window_s: float,
    fold: int | None = None,
    threads: int = 1,
    progress: bool = True,
    resume_path: str | Path | None = None,
    config: dict | None = None,
) -> dict:
    """Train, select the best epoch on the validation split only, evaluate it on test.

    With `resume_path`, the training state is saved there after every epoch and a matching
    state found there at the start is resumed from (deleted once the run has finished).
    `config` goes into the provenance. With `fold`, the recordings of that fold (of
    `inputs.folds`) are the validation set and the other train/val ones the training set.
    """
    settings = experiment_settings(experiment)
    torch.set_num_threads(max(1, threads))
    seed_everything(seed)
    device = pick_device(settings["device"])
    data = prepare_run(
        inputs, settings, seed, species_entries, group_thresholds, window_s, device, fold
    )
    model, frozen = build_run_model(settings, data, inputs.encoder, device)
    resume = None
    if resume_path is not None:
        resume = Resume(
            resume_path,
            fingerprint(
                inputs,
                settings,
                seed,
                species_entries,
                group_thresholds,
                window_s,
                threads,
                device,
                fold,
            ),
        )
    state = fit(model, frozen, data, settings, seed, progress, resume)
    manifest = pd.read_parquet(inputs.manifest) if inputs.manifest else None
    run = {
        "experiment": experiment.get("name"),
        "seed": seed,
        "fold": fold,
        "device": str(device),
        "provenance": provenance(config, manifest),
    }
    metrics = finish_run(model, state, data, settings, run, outputs)
    if resume is not None:
        resume.finished()
    return metrics


def fingerprint(
    inputs: RunInputs, settings, seed, species, groups, window_s, threads, device, fold
) -> str:
    """Every input the run depends on: a checkpoint of another fold, encoder or weights file
    must not be resumed from. The feature index holds every cache's checksum, so hashing it
    covers them all."""
    tables = [inputs.windows, inputs.splits, inputs.feature_index]
    tables += [inputs.folds] if fold is not None else []
    extra = (inputs.noise_bank, inputs.encoder, settings["pretrained_weights"])
    return run_fingerprint(
        settings,
        seed,
        tables,
        [Path(p).expanduser() for p in extra if p],
        species=species,
        groups=groups,
        window_s=window_s,
        threads=threads,
        device=str(device),
        fold=fold,
    )

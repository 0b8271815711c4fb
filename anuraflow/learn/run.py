"""One training run (experiment x seed [x fold]) in three pieces: `prepare_run` (windows,
task, split, frontend and bank on the device; `run_data`), `fit` (the epoch loop, model
selection on validation, its resumable state; `fit`) and `finish_run` (thresholds tuned on
validation, test metrics, the model bundle and the prediction tables). `train_experiment`
chains them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from anuraflow.core.fileio import write_json, write_parquet, write_text
from anuraflow.core.hardware import keep_freed_memory
from anuraflow.core.provenance import provenance
from anuraflow.evaluate.scoring import (
    embedding_sample,
    evaluate,
    prediction_table,
    tuned_metrics,
)
from anuraflow.evaluate.thresholds import tune_thresholds
from anuraflow.learn.acceleration import accelerate, acceleration_facts, resolve_channels_last
from anuraflow.learn.birdnet_finetune import check_model_file, standardise_head
from anuraflow.learn.bundle import save_bundle
from anuraflow.learn.checkpoint import (
    load_encoder,
    run_fingerprint,
)
from anuraflow.learn.experiments import experiment_settings
from anuraflow.learn.fit import Resume, TrainState, fit
from anuraflow.learn.models import build_model, n_parameters
from anuraflow.learn.run_data import RunData, RunInputs, prepare_run, score_subset
from anuraflow.learn.training import (
    pick_device,
    seed_everything,
)


@dataclass(frozen=True)
class RunOutputs:
    model: str | Path  # the model bundle (anuraflow.learn.bundle)
    predictions: str | Path  # test windows: true_<code>, prob_<code>
    val_predictions: str | Path  # validation windows, the same columns
    metrics: str | Path
    history: str | Path
    embeddings: str | Path  # test windows of one species: their embeddings, for the t-SNE


def build_run_model(
    settings: dict, data: RunData, encoder: str | Path | None, device: torch.device
) -> tuple[nn.Module, list[nn.Module]]:
    """The experiment's network on `device` (from a pretrained encoder with `init`), and the
    modules it keeps frozen."""
    model = build_model(
        settings["model"],
        len(data.codes),
        **data.bank.frontend.model_shape(),
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
    if data.bank.frontend.kind == "waveform":
        check_model_file(settings["model_args"].get("model_path"), data.bank.frontend.features)
        train = data.subsets["train"]
        standardise_head(model, lambda idx: data.bank.raw(train[idx.to(train.device)]), len(train))
    channels_last = resolve_channels_last(settings["channels_last"], device.type)
    return accelerate(model, channels_last, settings["compile"]), frozen


def input_facts(frontend) -> dict:
    """What the model reads: log-mels, or a pretrained model's embeddings or its input samples
    (which model, by checksum)."""
    if frontend.kind == "logmel":
        return {"kind": "logmel"}
    cfg = frontend.features
    return {"kind": frontend.kind, "model": cfg.model, "model_sha256": cfg.model_sha256}


def run_metrics(
    model: nn.Module, state: TrainState, data: RunData, settings: dict, run: dict
) -> dict:
    """metrics.json's facts about the run itself: what trained, how long, which epoch was
    selected and on what (the test metrics are added by `finish_run`)."""
    best = state.history[state.best_epoch - 1]
    return {
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
        "test_selected": epoch_chosen_on_test(state.history),
        "groups": data.groups,
        "train_seconds": state.train_seconds,
        "resumed_from_epoch": state.resumed_from,
        "acceleration": acceleration_facts(settings, data.bank.frames.device),
        "input": input_facts(data.bank.frontend),
        "n_parameters": n_parameters(model),
        "n_trained_parameters": n_parameters(model, trained=True),
        "codes": data.codes,
        "settings": settings,
        "provenance": run["provenance"],
    }


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
    true = {s: data.true_labels(s).astype(int) for s in ("val", "test")}
    thresholds = None
    if settings["task"] != "multiclass":
        thresholds = tune_thresholds(true["val"], val_prob, data.codes, settings["threshold"])
    info = {k: run[k] for k in ("experiment", "seed", "fold", "provenance")}
    metrics = run_metrics(model, state, data, settings, run)
    save_bundle(
        outputs.model,
        model,
        data.bank.frontend,
        settings,
        data.names,
        thresholds,
        {**info, "epoch": state.best_epoch},
        metrics["acceleration"],
    )
    rows = {s: data.windows.iloc[data.subsets[s].cpu().numpy()] for s in ("val", "test")}
    for subset, prob, path in (
        ("val", val_prob, outputs.val_predictions),
        ("test", test_prob, outputs.predictions),
    ):
        write_parquet(prediction_table(rows[subset], true[subset], prob, data.codes), path)
    write_parquet(
        embedding_sample(rows["test"], true["test"], embeddings, data.codes), outputs.embeddings
    )
    metrics.update(evaluate(true["test"], test_prob, embeddings, data.codes, data.groups, settings))
    metrics["tuned"] = tuned_metrics(true["test"], test_prob, data.codes, data.groups, thresholds)
    metrics["thresholds"] = thresholds
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


@dataclass(frozen=True)
class RunSpec:
    """Which run: the experiment (its config as written), the seed, the fold, and the
    workflow facts it is trained under (species, frequency-group thresholds, window length)."""

    experiment: dict
    seed: int
    species_entries: list[dict]
    group_thresholds: dict
    window_s: float
    fold: int | None = None


def train_experiment(
    inputs: RunInputs,
    outputs: RunOutputs,
    spec: RunSpec,
    threads: int = 1,
    progress: bool = True,
    resume_path: str | Path | None = None,
    config: dict | None = None,
) -> dict:
    """Train, select the best epoch on the validation split only, evaluate it on test.

    With `resume_path`, the training state is saved there after every epoch and a matching
    state found there at the start is resumed from (deleted once the run has finished).
    `config` goes into the provenance. With `spec.fold`, the recordings of that fold (of
    `inputs.folds`) are held out (`inputs.fold_holds_out`).
    """
    settings = experiment_settings(spec.experiment)
    torch.set_num_threads(max(1, threads))
    keep_freed_memory()  # the demo's epoch 1.2 times as fast on a CPU (docs/benchmarks.md)
    seed_everything(spec.seed)
    device = pick_device(settings["device"])
    data = prepare_run(
        inputs,
        settings,
        spec.seed,
        spec.species_entries,
        spec.group_thresholds,
        spec.window_s,
        device,
        spec.fold,
    )
    model, frozen = build_run_model(settings, data, inputs.encoder, device)
    resume = None
    if resume_path is not None:
        resume = Resume(resume_path, fingerprint(inputs, settings, spec, threads, device))
    state = fit(model, frozen, data, settings, spec.seed, progress, resume)
    manifest = pd.read_parquet(inputs.manifest) if inputs.manifest else None
    run = {
        "experiment": spec.experiment.get("name"),
        "seed": spec.seed,
        "fold": spec.fold,
        "device": str(device),
        "provenance": provenance(config, manifest),
    }
    metrics = finish_run(model, state, data, settings, run, outputs)
    if resume is not None:
        resume.finished()
    return metrics


def fingerprint(
    inputs: RunInputs, settings: dict, spec: RunSpec, threads: int, device: torch.device
) -> str:
    """Every input the run depends on: a checkpoint of another fold, encoder or weights file
    must not be resumed from. The feature index holds every cache's checksum, so hashing it
    covers them all."""
    tables = [inputs.windows, inputs.splits, inputs.feature_index]
    tables += [inputs.folds] if spec.fold is not None else []
    extra = (inputs.noise_bank, inputs.encoder, settings["pretrained_weights"])
    return run_fingerprint(
        settings,
        spec.seed,
        tables,
        [Path(p).expanduser() for p in extra if p],
        species=spec.species_entries,
        groups=spec.group_thresholds,
        window_s=spec.window_s,
        threads=threads,
        device=str(device),
        fold=spec.fold,
    )

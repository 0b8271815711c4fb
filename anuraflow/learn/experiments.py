"""Experiment configs: the defaults every experiment file is merged over, and the checks that
need more than the JSON schema (so a bad combination fails when the workflow starts).

Kept free of torch so the workflow can read experiments without importing it.
"""

from __future__ import annotations

import copy
from typing import Any

# Models that read a pretrained model's window embeddings instead of log-mels
# (anuraflow.learn.probes): an experiment with one of them makes the workflow run the embedding
# stage, and only such experiments do.
PROBE_MODELS = ("linear_probe", "mlp_probe")
# Models that read a window's samples at a pretrained network's rate and fine-tune that
# network (anuraflow.learn.birdnet_finetune): an experiment with one of them makes the workflow
# cache every recording's 48 kHz signal (the waveforms stage).
WAVEFORM_MODELS = ("birdnet_finetune",)
# What a waveform's network cannot use: augmentations of log-mels (its spectrogram is inside)
LOGMEL_AUGMENTATIONS = ("spec_augment", "time_stretch", "noise")
# What a probe cannot use: it has no spectrogram to augment and no backbone to initialise.
SPECTROGRAM_ONLY = ("pretrained_weights", "dense_head", "init")

MIX2_PROBABILITIES = {"mixup": 0.25, "manifold_mixup": 0.50, "multimix": 0.25}

EXPERIMENT_DEFAULTS: dict[str, Any] = {
    "model": "small_cnn",
    "model_args": {},
    "pretrained_weights": None,
    "dense_head": None,
    "init": None,
    "label_fraction": 1.0,
    "train_recordings": None,
    "balance": None,
    "folds": None,
    "task": "multilabel",
    "dataset": {
        "drop_single_subset_species": False,
        "drop_empty_windows": False,
        "empty_over": "all_species",
    },
    "epochs": 10,
    "batch_size": 64,
    "optimizer": {"name": "adamw", "lr": 1e-3, "weight_decay": 1e-6},
    "scheduler": "cosine",
    "plateau": {"factor": 0.5, "patience": 3, "min_lr": 1e-6},
    "early_stopping": None,
    "select_on": "val_macro_f1",
    "normalise": "dataset",
    "augment": {"spec_augment": None, "time_shift": 0.0, "time_stretch": None, "noise": None},
    "mixing": None,
    "loss": {
        "name": None,  # bce (multi-label) / ce (single-label) when not given
        "gamma": 2.0,
        "alpha": None,
        "class_weights": "none",
        "embedding": None,
    },
    "threshold": 0.5,
    "device": "auto",
    "precision": "auto",  # anuraflow.learn.acceleration
    "channels_last": "auto",
    "compile": False,
    "report": {},
}
MIXING_DEFAULTS = {
    "methods": MIX2_PROBABILITIES,
    "alpha": 1.0,
    "multimix_alpha": 0.2,  # the Mix2 authors' code
    "multimix_n": None,
}


def experiment_settings(experiment: dict) -> dict:
    """Experiment config merged over the defaults (one level deep for nested dicts)."""
    out = copy.deepcopy(EXPERIMENT_DEFAULTS)
    for key, value in experiment.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    if out["mixing"] is not None:
        out["mixing"] = {**MIXING_DEFAULTS, **out["mixing"]}
    if out["dense_head"] is not None:
        out["dense_head"] = {"units": [256, 128], "dropout": 0.5, "l2": 0.0, **out["dense_head"]}
    if out["init"] is not None:
        out["init"] = {"freeze": False, **out["init"]}
    if out["balance"] is not None:
        out["balance"] = {"target": "max", **out["balance"]}
    loss = out["loss"]
    if loss["name"] is None:
        loss["name"] = "ce" if out["task"] == "multiclass" else "bce"
    if (loss["name"] == "ce") != (out["task"] == "multiclass") and loss["name"] != "focal":
        raise ValueError(f"loss {loss['name']!r} does not fit task {out['task']!r}")
    emb = loss["embedding"] or {}
    allowed = {"add_hard": {"mu_p", "sigma_p", "mu_n", "sigma_n"}, "add_soft": {"mu", "sigma_p"}}
    extra = set(emb) - {"name", "weight"} - allowed.get(emb.get("name"), {"gamma"})
    if extra:
        raise ValueError(f"loss.embedding {emb['name']!r} takes no {', '.join(sorted(extra))}")
    if emb.get("name") in ("add_hard", "opl") and out["mixing"] is not None:
        raise ValueError(
            f"embedding loss {emb['name']!r} needs hard labels but mixing makes them soft; "
            "use add_soft with mixing (seed 001, section 3.4)"
        )
    if uses_embeddings(out):
        check_probe(out)
    if uses_waveforms(out):
        check_waveform_model(out)
    return out


def uses_waveforms(settings: dict) -> bool:
    """Whether the experiment fine-tunes a network on the recordings' samples."""
    return settings.get("model") in WAVEFORM_MODELS


def check_waveform_model(settings: dict) -> None:
    """A fine-tuned BirdNET reads samples: no log-mel augmentation, encoder or ImageNet
    weights, and no normalisation but its own front end's."""
    for key in ("pretrained_weights", "init"):
        if settings[key]:
            raise ValueError(
                f"{key} does not apply to {settings['model']!r} (BirdNET V2.4 is its backbone)"
            )
    used = [k for k in LOGMEL_AUGMENTATIONS if settings["augment"].get(k)]
    if used:
        raise ValueError(
            f"augment.{used[0]} works on log-mels; {settings['model']!r} reads samples and makes "
            "its own spectrogram (time_shift and mixing apply)"
        )
    if settings["normalise"] != "none":
        raise ValueError(
            f"{settings['model']!r} normalises its input in its own front end: set normalise: "
            f"none (found {settings['normalise']!r})"
        )


def uses_embeddings(settings: dict) -> bool:
    """Whether the experiment trains a probe on embeddings (model in PROBE_MODELS)."""
    return settings.get("model") in PROBE_MODELS


def check_probe(settings: dict) -> None:
    """A probe's experiment: no spectrogram augmentation, backbone or per-example scaling."""
    for key in SPECTROGRAM_ONLY:
        if settings[key]:
            raise ValueError(f"{key} does not apply to {settings['model']!r} (it reads embeddings)")
    used = [k for k, v in settings["augment"].items() if v]
    if used:
        raise ValueError(
            f"augment.{used[0]} works on log-mels; {settings['model']!r} reads embeddings "
            "(mixing, Mixup included, does apply)"
        )
    if settings["normalise"] not in ("dataset", "none"):
        raise ValueError(
            f"normalise {settings['normalise']!r} is for log-mels; embeddings take 'dataset' "
            "(per dimension, the training recordings' statistics) or 'none'"
        )


def cpu_training_note(
    n_runs: int, epochs: int, train_windows: int, hours: float, steps: dict[str, float],
    train_gpus: int,
) -> str:  # fmt: skip
    """What the start-up warning says when training will run on this machine's CPU: the work,
    the hours projected from a measured step of each network (`steps`: model -> seconds per
    step of its batch), and what to do instead."""
    gpus = f" (train_gpus is {train_gpus}, but no GPU is visible here)" if train_gpus else ""
    measured = ", ".join(f"{m} {t:.2g} s" for m, t in steps.items())
    length = f"{hours:,.1f} h" if hours >= 1 else f"{max(hours * 60, 1):.0f} min"
    return (
        f"training will run on this machine's CPU{gpus}: {n_runs} run(s), {epochs} epochs in "
        f"all, over about {train_windows:,} training windows: about {length} of "
        f"training steps alone (a step measured here: {measured}; validation, mixing and "
        "the data path come on top). On a GPU node run it there (docs/hpc.md); for a smoke "
        "run set experiment_overrides: {epochs: 1, seeds: [0]}."
    )

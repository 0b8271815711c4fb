"""A run's data on the training device: its windows with their subset (the split, a k-fold
fold or a held-out site), the task's species, the feature bank and the subsets' positions."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from anuraflow.data.species import assign_groups, species_table
from anuraflow.features.bank import (
    NoiseBank,
    WindowBank,
    build_bank,
    build_embedding_bank,
    build_waveform_bank,
    load_noise_bank,
)
from anuraflow.features.frontend import score_windows
from anuraflow.features.logmel import read_feature_index
from anuraflow.learn.acceleration import resolve_precision
from anuraflow.learn.experiments import uses_embeddings, uses_waveforms
from anuraflow.learn.tasks import prepare_task
from anuraflow.learn.training import (
    balanced_indices,
    fraction_of_labels,
)

SUBSETS = ("train", "val", "test")


@dataclass(frozen=True)
class RunInputs:
    """The files a run reads (None: not used by this run)."""

    windows: str | Path
    splits: str | Path
    # the log-mel caches' index (the embedding caches' for a probe, the waveform caches' for
    # a fine-tuned BirdNET)
    feature_index: str | Path
    manifest: str | Path | None = None
    noise_bank: str | Path | None = None
    encoder: str | Path | None = None
    folds: str | Path | None = None  # with a fold: cross-validation
    # what a fold's recordings are: "val" (k-fold over train + val) or "test" (leave one
    # site out: the fold's site is the test set, every other recording trains or validates)
    fold_holds_out: str = "val"


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
    _true: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def true_labels(self, subset: str) -> np.ndarray:
        """The subset's labels on the CPU, copied from the device once (scored every epoch)."""
        if subset not in self._true:
            self._true[subset] = self.bank.labels[self.subsets[subset]].cpu().numpy()
        return self._true[subset]


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
    partial = windows["partial"].to_numpy(bool) if "partial" in windows else None
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
    if partial is not None:  # partially labelled (reviewed) windows only ever train
        windows.loc[partial, "subset"] = "train"
    return windows


def subset_positions(windows: pd.DataFrame, device: torch.device) -> dict[str, torch.Tensor]:
    """Window positions of each subset, on the device; an empty subset is an error."""
    subsets = {
        s: torch.tensor(np.flatnonzero(windows["subset"].to_numpy() == s), device=device)
        for s in SUBSETS
    }
    for s, idx in subsets.items():
        if len(idx) == 0:
            raise ValueError(f"the {s} split has no windows; check the split fractions")
    return subsets


def recording_subset(
    train: torch.Tensor, recording_ids: np.ndarray, n: int | None, seed: int
) -> torch.Tensor:
    """The training windows of `n` of their recordings (few labels: a random choice seeded by
    `seed`, the same for every experiment run with that seed); None: all of them."""
    if n is None:
        return train
    recs = recording_ids[train.cpu().numpy()]
    names = np.unique(recs)
    if n > len(names):
        raise ValueError(f"train_recordings is {n}, the split has {len(names)} training recordings")
    keep = np.random.default_rng([seed, 1]).choice(names, n, replace=False)
    return train[torch.as_tensor(np.isin(recs, keep), device=train.device)]


def training_positions(
    train: torch.Tensor, labels: torch.Tensor, settings: dict, seed: int
) -> torch.Tensor:
    """The training windows a run uses: a seeded share of them (`label_fraction`), then
    repeated towards balanced classes (`balance`)."""
    train = fraction_of_labels(train, settings["label_fraction"], seed)
    if settings["balance"]:
        target = settings["balance"]["target"]
        order = balanced_indices(labels[train].cpu().numpy(), target, seed)
        train = train[torch.as_tensor(order, device=train.device)]
    return train


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
    make_bank = build_bank
    if uses_embeddings(settings):
        make_bank = build_embedding_bank
    elif uses_waveforms(settings):
        make_bank = build_waveform_bank
    bank = make_bank(
        windows,
        read_feature_index(inputs.feature_index),
        codes,
        window_s,
        train_recs,
        settings["normalise"],
        device,
    )
    if bank.known is not None and (
        settings["task"] == "multiclass" or settings["loss"]["embedding"]
    ):
        raise ValueError(
            "reviewed windows of recordings without a label file have partial labels: the "
            "multiclass task and the embedding losses need every label; train on them with a "
            "multilabel task and a classification loss (bce or focal)"
        )
    noise = None
    if settings["augment"].get("noise"):
        if inputs.noise_bank is None:
            raise ValueError("augment.noise is set but the workflow has no noise bank")
        noise = load_noise_bank(inputs.noise_bank, bank.n_frames, device)
    subsets = subset_positions(windows, device)
    recording_ids = windows["recording_id"].to_numpy()
    train = recording_subset(subsets["train"], recording_ids, settings["train_recordings"], seed)
    subsets["train"] = training_positions(train, bank.labels, settings, seed)
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


def score_subset(model: nn.Module, data: RunData, subset: str, settings: dict, embeddings=False):
    """Probabilities (and embeddings) of one subset's windows, through the run's frontend, at
    the run's precision."""
    bank = data.bank
    return score_windows(
        model,
        bank.frontend,
        bank.frames,
        bank.starts[data.subsets[subset]],
        len(data.codes),
        settings["task"] == "multiclass",
        embeddings=embeddings,
        precision=resolve_precision(settings["precision"], bank.frames.device.type),
    )

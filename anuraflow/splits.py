"""Recording-level train / validation / test splits, stratified for multi-label data.

Windows overlap by 2 s, so splitting windows would leak: every split is made over recordings.
Iterative stratification (Sechidis et al. 2011, via `iterative-stratification`) keeps each
species' share of recordings close to the target fractions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit

from anuraflow.fileio import write_parquet


def recording_labels(windows: pd.DataFrame, codes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Recording ids and their multi-hot presence matrix (species present in any window)."""
    presence = windows.groupby("recording_id")[codes].max().sort_index()
    return presence.index.to_numpy(), presence.to_numpy().astype(int)


def _stratified_holdout(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    splitter = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
    keep, held = next(splitter.split(np.zeros((len(y), 1)), y))
    if len(held) == 0 or len(keep) == 0:
        # Iterative stratification can leave a side empty on a handful of recordings; every
        # subset must exist, so fall back to a seeded random split of the same size.
        n_held = min(max(1, round(fraction * len(y))), len(y) - 1)
        order = np.random.default_rng(seed).permutation(len(y))
        held, keep = order[:n_held], order[n_held:]
    return np.sort(keep), np.sort(held)


def split_recordings(
    recording_ids: np.ndarray,
    y: np.ndarray,
    test_fraction: float = 1 / 3,
    val_fraction: float = 0.2,
    seed: int = 0,
) -> pd.DataFrame:
    """Assign each recording to exactly one of train / val / test.

    `val_fraction` is the share of the training recordings carved out for validation.
    """
    if len(recording_ids) < 3:
        raise ValueError(f"need at least 3 recordings for train/val/test, got {len(recording_ids)}")
    subset = np.empty(len(recording_ids), dtype=object)
    train_idx, test_idx = _stratified_holdout(y, test_fraction, seed)
    fit_idx, val_idx = _stratified_holdout(y[train_idx], val_fraction, seed + 1)
    subset[test_idx] = "test"
    subset[train_idx[fit_idx]] = "train"
    subset[train_idx[val_idx]] = "val"
    return pd.DataFrame({"recording_id": recording_ids, "subset": subset})


def split_dataset(
    windows_path: str | Path,
    out_path: str | Path,
    codes: list[str],
    test_fraction: float = 1 / 3,
    val_fraction: float = 0.2,
    seed: int = 0,
) -> pd.DataFrame:
    windows = pd.read_parquet(windows_path)
    ids, y = recording_labels(windows, codes)
    splits = split_recordings(ids, y, test_fraction, val_fraction, seed)
    write_parquet(splits, out_path)
    return splits


def kfold_recordings(
    recording_ids: np.ndarray, y: np.ndarray, k: int = 5, seed: int = 0
) -> pd.DataFrame:
    """Each recording in exactly one of `k` folds, multi-label stratified (seed 003's 5-fold
    cross-validation, by recording so overlapping windows never straddle two folds)."""
    from iterstrat.ml_stratifiers import MultilabelStratifiedKFold

    if len(recording_ids) < k:
        raise ValueError(f"{k}-fold cross-validation needs at least {k} recordings")
    fold = np.empty(len(recording_ids), dtype=np.int64)
    splitter = MultilabelStratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    for f, (_, held) in enumerate(splitter.split(np.zeros((len(y), 1)), y)):
        fold[held] = f
    return pd.DataFrame({"recording_id": recording_ids, "fold": fold})


def kfold_dataset(
    windows_path: str | Path,
    splits_path: str | Path,
    out_path: str | Path,
    codes: list[str],
    k: int,
    seed: int = 0,
) -> pd.DataFrame:
    """folds.parquet over the train and validation recordings; test recordings stay out."""
    windows = pd.read_parquet(windows_path)
    splits = pd.read_parquet(splits_path)
    pool = set(splits.loc[splits["subset"] != "test", "recording_id"])
    ids, y = recording_labels(windows[windows["recording_id"].isin(pool)], codes)
    folds = kfold_recordings(ids, y, k, seed)
    write_parquet(folds, out_path)
    return folds

"""What the classifier is asked: which species, which windows, multi-label or single-label.

AnuraSet-36N and AnuraSet-36 (seed 000, Table II): drop the species that occur in only one
subset (training or test), and for AnuraSet-36 also the windows that had no species. A window
whose only species were dropped stays (with no positive label) in both, as the paper's counts
imply: 93,378 - 33,913 empty windows = 59,465 windows in AnuraSet-36. The authors' code instead
drops the windows empty over the 36 kept species (`empty_over="kept_species"`).

The single-label task (seed 002) keeps the windows with exactly one species and asks for that
species as one class among all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

TASKS = ("multilabel", "multiclass")
EMPTY_OVER = ("all_species", "kept_species")


@dataclass
class TaskData:
    windows: pd.DataFrame  # the windows kept, with their split subset
    codes: list[str]  # the species kept, in column order
    dropped_species: list[str] = field(default_factory=list)
    dropped_windows: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict:
        return {
            "n_species": len(self.codes),
            "n_windows": int(len(self.windows)),
            "dropped_species": self.dropped_species,
            "dropped_windows": self.dropped_windows,
        }


def single_subset_species(windows: pd.DataFrame, codes: list[str]) -> list[str]:
    """Species with positive windows in only one of training (train + val) or test."""
    fit = windows["subset"].isin(["train", "val"]).to_numpy()
    test = (windows["subset"] == "test").to_numpy()
    y = windows[codes].to_numpy() > 0
    in_fit, in_test = y[fit].any(axis=0), y[test].any(axis=0)
    return [c for c, a, b in zip(codes, in_fit, in_test, strict=True) if a != b]


def prepare_task(
    windows: pd.DataFrame,
    codes: list[str],
    task: str = "multilabel",
    drop_single_subset_species: bool = False,
    drop_empty_windows: bool = False,
    empty_over: str = "all_species",
) -> TaskData:
    """Apply the dataset variant and the task to a windows table that has a `subset` column.

    `empty_over`: which species make a window "empty" for `drop_empty_windows`: `all_species`
    (default; 59,465 AnuraSet-36 windows, the paper's count) or `kept_species` (the Mix2
    authors' code: also drops windows whose only species were among the dropped ones).
    """
    if empty_over not in EMPTY_OVER:
        raise ValueError(f"empty_over {empty_over!r}: one of {', '.join(EMPTY_OVER)}")
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; one of {', '.join(TASKS)}")
    dropped = single_subset_species(windows, codes) if drop_single_subset_species else []
    kept = [c for c in codes if c not in dropped]
    out = windows.drop(columns=dropped)
    counts: dict[str, int] = {}
    if drop_empty_windows:
        species = codes if empty_over == "all_species" else kept
        empty = (windows[species].to_numpy() == 0).all(axis=1)
        counts["empty"] = int(empty.sum())
        out = out[~empty]
    if task == "multiclass":
        single = out[kept].to_numpy().sum(axis=1) == 1
        counts["not_exactly_one_species"] = int((~single).sum())
        out = out[single]
    if not kept:
        raise ValueError("no species left after dropping those found in only one subset")
    return TaskData(out.reset_index(drop=True), kept, dropped, counts)

"""Detection histories: per species, site and occasion whether the archive's windows detected it
(1), did not (0), or nothing was recorded (missing, never 0), with the effort, the windows
scored, the windows detected and the highest score beside it. Built from predict's window
scores and records at the thresholds `validate` published (predict's own where there is no
validation)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from anuraflow.detect.predict_outputs import ScoredRecording
from anuraflow.ecology.occasions import (
    Occasions,
    effort_by_occasion,
    occasion_grid,
    window_occasions,
)

HISTORY_COLUMNS = [
    "species", "site", "occasion", "occasion_start", "effort_min", "recordings", "windows",
    "detected_windows", "max_score", "detection", "threshold",
]  # fmt: skip


@dataclass
class Inventory:
    """The archive's recordings split into those the histories use and those left out, each
    left-out one with its reason (a bad file, no start time in its name, no whole window)."""

    used: pd.DataFrame  # recording_id, site, start_datetime, duration_s
    excluded: pd.DataFrame  # recording_id, file, site, reason


def recording_inventory(records: list[ScoredRecording]) -> Inventory:
    """Every recording of predict's records counted once: usable ones, and the rest with why."""
    used, excluded = [], []
    for r in records:
        reason = None
        if r.status != "ok":
            reason = f"{r.status}: {r.problem or 'unreadable'}"
        elif not r.start_datetime:
            reason = "no start date and time in its name"
        elif not r.n_windows:
            reason = "shorter than one window: nothing scored"
        row = {"recording_id": r.recording_id, "site": r.site}
        if reason:
            excluded.append({**row, "file": r.file, "reason": reason})
        else:
            used.append({**row, "start_datetime": r.start_datetime, "duration_s": r.duration_s})
    return Inventory(
        used=pd.DataFrame(used, columns=["recording_id", "site", "start_datetime", "duration_s"]),
        excluded=pd.DataFrame(excluded, columns=["recording_id", "file", "site", "reason"]),
    )


def window_cells(
    scores: pd.DataFrame, inventory: Inventory, codes: list[str], thresholds: dict[str, float],
    occasions: Occasions,
) -> pd.DataFrame:  # fmt: skip
    """Per species, site and occasion: windows scored, windows at or above the threshold and
    the highest score, from the used recordings' windows (each in the occasion its own start
    time falls in)."""
    starts = dict(
        zip(inventory.used["recording_id"], inventory.used["start_datetime"], strict=True)
    )
    sites = dict(zip(inventory.used["recording_id"], inventory.used["site"], strict=True))
    windows = scores[scores["recording_id"].isin(starts)]
    keys = pd.DataFrame(
        {
            "site": np.asarray(windows["recording_id"].map(sites), dtype=object),
            "occasion_start": window_occasions(windows, starts, occasions).to_numpy(),
        }
    )
    parts = []
    for code in codes:
        values = windows[code].to_numpy(dtype=float)
        part = keys.assign(hit=values >= thresholds[code], score=values)
        parts.append(
            part.groupby(["site", "occasion_start"], sort=True)
            .agg(
                windows=("hit", "size"), detected_windows=("hit", "sum"), max_score=("score", "max")
            )
            .reset_index()
            .assign(species=code)
        )
    return pd.concat(parts, ignore_index=True)


def detection_histories(
    scores: pd.DataFrame, inventory: Inventory, codes: list[str], thresholds: dict[str, float],
    occasions: Occasions,
) -> pd.DataFrame:  # fmt: skip
    """The long table (HISTORY_COLUMNS): every species x site x occasion from the first to the
    last occasion with effort. `detection` is 1 where a window reached the threshold, 0 where
    windows were scored and none did, missing where nothing was recorded or no whole window
    starts in the occasion (the effort of such a cell is still shown)."""
    if inventory.used.empty:
        raise ValueError("no usable recording for detection histories (see the excluded list)")
    effort = effort_by_occasion(inventory.used, occasions)
    grid = pd.MultiIndex.from_product(
        [codes, sorted(inventory.used["site"].unique()), occasion_grid(effort, occasions)],
        names=["species", "site", "occasion_start"],
    ).to_frame(index=False)
    table = grid.merge(effort.drop(columns="occasion"), on=["site", "occasion_start"], how="left")
    table = table.merge(
        window_cells(scores, inventory, codes, thresholds, occasions),
        on=["species", "site", "occasion_start"],
        how="left",
    )
    table["effort_min"] = table["effort_min"].fillna(0.0)
    for column in ("recordings", "windows", "detected_windows"):
        table[column] = table[column].fillna(0).astype(int)
    scored = table["windows"] > 0
    table["detection"] = pd.array(
        np.where(scored, (table["detected_windows"] > 0).astype(int), 0), dtype="Int8"
    )
    table.loc[~scored, "detection"] = pd.NA
    table["occasion"] = occasions.label(table["occasion_start"]).to_numpy()
    table["threshold"] = table["species"].map(thresholds).astype(float)
    return table[HISTORY_COLUMNS]


def wide(histories: pd.DataFrame, species: str, value: str) -> pd.DataFrame:
    """One species' `value` as a site x occasion table (rows sites, columns occasions in time
    order), as unmarked's `unmarkedFrameOccu(y = ...)` and spOccupancy's `y` take it."""
    mine = histories[histories["species"] == species]
    order = mine.drop_duplicates("occasion").sort_values("occasion_start")["occasion"].tolist()
    out = mine.pivot(index="site", columns="occasion", values=value)[order]
    out.columns.name = None
    return out

"""Figures of the occupancy step: the detection histories as heat maps (sites x occasions, one
panel per species, and the effort beside them), and occupancy per species and model with its
interval."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap

from anuraflow.report.figures import _save_figure, _species_grid

HISTORY_COLOURS = ListedColormap(["#e8e8e8", "#bcd4e6", "#08519c"])  # missing, 0, 1
MODEL_COLOURS = {"naive": "#7f7f7f", "false_positive": "#1f77b4", "continuous_score": "#ff7f0e"}


def _ticks(ax, table: pd.DataFrame) -> None:
    step_x = max(1, len(table.columns) // 8)
    ax.set_xticks(range(0, len(table.columns), step_x), table.columns[::step_x], rotation=45,
                  ha="right", fontsize=7)  # fmt: skip
    step_y = max(1, len(table.index) // 12)
    ax.set_yticks(range(0, len(table.index), step_y), table.index[::step_y], fontsize=7)


def plot_histories(detections: dict[str, pd.DataFrame], effort: pd.DataFrame, path) -> None:
    """One panel per species (`detections`: code -> its site x occasion table of 1 / 0 /
    missing): detected (dark), not detected (light), nothing recorded (grey); and one panel of
    the minutes recorded per site and occasion (`effort`, the same shape)."""
    codes = list(detections)
    fig, axes = _species_grid(len(codes) + 1, width=4.0, height=2.8)
    for ax, code in zip(axes.flat, codes, strict=False):
        table = detections[code].astype(float)
        shown = np.where(np.isfinite(table.to_numpy()), table.to_numpy() + 1, 0)
        ax.imshow(shown, cmap=HISTORY_COLOURS, vmin=0, vmax=2, aspect="auto", interpolation="none")
        detected = int(np.nansum(table.to_numpy().max(axis=1, initial=0) > 0))
        ax.set_title(f"{code}: detected at {detected} of {len(table)} sites", fontsize=9)
        _ticks(ax, table)
    ax = axes.flat[len(codes)]
    image = ax.imshow(effort.to_numpy(), cmap="Greens", aspect="auto", interpolation="none")
    fig.colorbar(image, ax=ax, label="minutes recorded")
    ax.set_title("effort", fontsize=9)
    _ticks(ax, effort)
    fig.suptitle("detection histories (dark: detected, light: not, grey: nothing recorded)",
                 fontsize=10)  # fmt: skip
    _save_figure(fig, path)


def plot_occupancy(estimates: pd.DataFrame, path: str | Path) -> None:
    """Occupancy per species and model with its interval; a model that did not converge is
    left out of its species' row (the table says why)."""
    codes = list(dict.fromkeys(estimates["species"]))
    models = list(dict.fromkeys(estimates["model"]))
    fig, ax = plt.subplots(figsize=(6.5, 0.8 + 0.45 * len(codes) * max(1, len(models)) / 2))
    offsets = np.linspace(-0.25, 0.25, len(models)) if len(models) > 1 else [0.0]
    for offset, model in zip(offsets, models, strict=True):
        mine = estimates[(estimates["model"] == model) & estimates["psi"].notna()]
        y = np.array([codes.index(c) for c in mine["species"]]) + offset
        error = [mine["psi"] - mine["psi_low"], mine["psi_high"] - mine["psi"]]
        ax.errorbar(mine["psi"], y, xerr=error, fmt="o", ms=4, capsize=2,
                    color=MODEL_COLOURS.get(model), label=model)  # fmt: skip
    ax.set_yticks(range(len(codes)), codes, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("occupancy (share of sites occupied), with its interval")
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=8, loc="lower right")
    _save_figure(fig, path)

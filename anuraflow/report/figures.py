"""The report's figures (matplotlib, written as PNG): species frequency and per-species F1,
F1 by polyphony (Mix2 Figures 2 and 3), training curves, t-SNE (seed 003), model size against
score (seed 004)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from anuraflow.core.fileio import atomic_path  # noqa: E402
from anuraflow.evaluate.ranking import average_precision, precision_recall_points  # noqa: E402

GROUP_COLOURS = {"frequent": "#1b9e77", "common": "#d95f02", "rare": "#7570b3"}


def metric_value(value) -> float:
    """A metric read back from metrics.json, where an undefined one is null: NaN then."""
    return np.nan if value is None else float(value)


def _save_figure(fig: plt.Figure, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def plot_species_frequency(
    counts: pd.Series, groups: dict[str, str], thresholds: dict, path: str | Path
) -> None:
    """Windows per species, sorted, coloured by group, thresholds dashed (Mix2 Figure 2)."""
    counts = counts.sort_values(ascending=False)
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(counts) + 2), 4))
    ax.bar(counts.index, counts.values, color=[GROUP_COLOURS[groups[c]] for c in counts.index])
    handles = [
        ax.axhline(
            thresholds[key],
            ls="--",
            color=GROUP_COLOURS[label],
            lw=1,
            label=f"{label} threshold ({thresholds[key]} windows)",
        )
        for key, label in (("frequent_min_windows", "frequent"), ("common_min_windows", "common"))
    ]
    handles += [Patch(color=colour, label=g) for g, colour in GROUP_COLOURS.items()]
    ax.set_ylabel("windows with the species")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(axis="x", rotation=90)
    ax.legend(handles=handles, fontsize=8)
    ax.set_title("Species frequency")
    _save_figure(fig, path)


def absent_species(runs: list[dict], codes: list[str]) -> set[str]:
    """Species with no positive test window in any run: their F1 is undefined, not 0."""
    return {
        c
        for c in codes
        if all((r["per_species"].get(c) or {}).get("support", 0) == 0 for r in runs)
    }


def plot_per_species_f1(runs: list[dict], order: list[str], path: str | Path) -> None:
    """Per-species test F1, mean +/- std over seeds, one bar series per experiment; a species
    absent from the test split is greyed and labelled, an F1 of 0 gets a mark at 0."""
    exps = list(dict.fromkeys(r["experiment"] for r in runs))
    width = 0.8 / len(exps)
    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(order) + 2), 4))
    x = np.arange(len(order))
    absent = absent_species(runs, order)
    for i, c in enumerate(order):
        if c in absent:
            ax.axvspan(i - 0.1, i + 0.9, color="#dddddd", zorder=0)
            ax.text(
                i + 0.4,
                0.5,
                "absent from test",
                rotation=90,
                ha="center",
                va="center",
                fontsize=7,
                color="#666666",
            )
    for k, exp in enumerate(exps):
        f1 = np.array(
            [
                [
                    np.nan if c in absent else r["per_species"].get(c, {}).get("f1", np.nan)
                    for c in order
                ]
                for r in runs
                if r["experiment"] == exp
            ],
            dtype=float,
        )
        mean = f1.mean(0)
        bars = ax.bar(
            x + k * width,
            np.nan_to_num(mean),
            width,
            yerr=np.nan_to_num(f1.std(0)) if len(f1) > 1 else None,
            label=exp,
            capsize=2,
        )
        zero = np.flatnonzero(mean == 0)
        ax.plot(
            x[zero] + k * width,
            np.zeros(len(zero)),
            "_",
            ms=8,
            mew=2,
            color=bars.patches[0].get_facecolor() if bars.patches else "k",
        )
    labels = [f"{c} (absent)" if c in absent else c for c in order]
    ax.set_xticks(x + 0.4 - width / 2, labels, rotation=90)
    for tick, c in zip(ax.get_xticklabels(), order, strict=True):
        if c in absent:
            tick.set_color("#888888")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("test F1 (a mark at 0: F1 = 0)")
    ax.legend(fontsize=8)
    ax.set_title("F1 per species (sorted by frequency)")
    _save_figure(fig, path)


def plot_f1_by_polyphony(runs: list[dict], test_polyphony: pd.Series, path: str | Path) -> None:
    """Test windows per polyphony level (top) and macro F1 per level (bottom), Mix2 Figure 3."""
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(6, 6), sharex=True, gridspec_kw={"height_ratios": [1, 2]}
    )
    levels = test_polyphony.value_counts().sort_index()
    top.bar(levels.index, levels.values, color="grey")
    top.set_ylabel("test windows")
    for exp in dict.fromkeys(r["experiment"] for r in runs if "f1_by_polyphony" in r):
        per_run = [r["f1_by_polyphony"] for r in runs if r["experiment"] == exp]
        ks = sorted({int(k) for d in per_run for k in d})
        vals = np.array([[d.get(str(k), np.nan) for k in ks] for d in per_run], dtype=float)
        bottom.errorbar(
            ks, np.nanmean(vals, 0), yerr=np.nanstd(vals, 0), marker="o", capsize=3, label=exp
        )
    bottom.set_xlabel("polyphony (species active in the window)")
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    top.yaxis.set_major_locator(MaxNLocator(integer=True))
    bottom.set_ylabel("macro F1")
    bottom.set_ylim(0, 1.05)
    if bottom.get_legend_handles_labels()[0]:
        bottom.legend(fontsize=7, ncol=2)
    _save_figure(fig, path)


def plot_training_curves(histories: dict[str, pd.DataFrame], path: str | Path) -> None:
    fig, (loss_ax, f1_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for label, h in histories.items():
        (line,) = loss_ax.plot(h["epoch"], h["train_loss"], label=f"{label} train")
        loss_ax.plot(h["epoch"], h["val_loss"], ls="--", color=line.get_color())
        f1_ax.plot(h["epoch"], h["val_macro_f1"], color=line.get_color(), label=label)
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("loss (solid: train, dashed: validation)")
    f1_ax.set_xlabel("epoch")
    for ax in (loss_ax, f1_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    f1_ax.set_ylabel("validation macro F1")
    f1_ax.legend(fontsize=7)
    _save_figure(fig, path)


def plot_tsne(runs: list[dict], path: str | Path) -> None:
    """The t-SNE of test embeddings of the runs that carry one (each experiment's best run on
    validation, `embedding_maps.attach_tsne`), coloured by species (seed 003, Figure 2)."""
    best = {r["experiment"]: r for r in runs if r.get("tsne", {}).get("x")}
    n = max(1, len(best))
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 4), squeeze=False)
    legend: dict[str, object] = {}  # one legend for all panels, outside them
    for ax, (name, r) in zip(axes[0], best.items(), strict=False):
        t = r["tsne"]
        classes = np.asarray(t["class"])
        for c in sorted(set(classes)):
            sel = classes == c
            label = r["codes"][c] if "codes" in r else str(c)
            legend[label] = ax.scatter(np.asarray(t["x"])[sel], np.asarray(t["y"])[sel], s=8,
                                       color=species_colour(c), label=label)  # fmt: skip
        fold = "" if r.get("fold") is None else f" fold {r['fold']}"
        silhouette = metric_value(r.get("silhouette"))
        ax.set_title(f"{name}{fold} s{r['seed']}\nsilhouette {silhouette:.2f}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    if legend:  # 20 species a column: 42 species read as three columns beside the panels
        fig.legend(legend.values(), legend.keys(), loc="center left", bbox_to_anchor=(1.0, 0.5),
                   ncol=-(-len(legend) // 20), fontsize=6, markerscale=1.5)  # fmt: skip
    if not best:
        axes[0][0].text(0.5, 0.5, "no test window with exactly one species", ha="center")
    fig.tight_layout()
    _save_figure(fig, path)


def species_colour(index: int):
    """A colour per species index, distinct for up to 60 species (tab20, tab20b, tab20c)."""
    maps = ("tab20", "tab20b", "tab20c")
    return plt.get_cmap(maps[(index // 20) % 3])(index % 20)


def plot_model_size(summary: pd.DataFrame, path: str | Path) -> None:
    """Parameters against test score per experiment (seed 004): macro F1, or balanced accuracy
    for single-label experiments."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for _, r in summary.iterrows():
        col = "balanced_accuracy" if r["task"] == "multiclass" else "all"
        ax.errorbar(r["n_parameters"], r[f"{col}_mean"], yerr=np.nan_to_num(r[f"{col}_std"]),
                    fmt="o", capsize=3)  # fmt: skip
        ax.annotate(r["experiment"], (r["n_parameters"], r[f"{col}_mean"]), fontsize=7,
                    xytext=(4, 4), textcoords="offset points")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel("test macro F1 / balanced accuracy (%)")
    _save_figure(fig, path)


def plot_activity(activity: pd.DataFrame, names: dict[str, str], path: str | Path) -> None:
    """Calling activity: detections per recorded hour by hour of day, one panel per species
    with detections, one line per site (the diel view of passive acoustic monitoring)."""
    detected = [c for c in names if activity.loc[activity["species"] == c, "detections"].sum()]
    n = max(1, len(detected))
    cols = min(3, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(4.2 * cols, 2.6 * rows), squeeze=False, sharex=True
    )
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    if not detected:
        ax = axes.flat[0]
        ax.text(0.5, 0.5, "no detections", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    for ax, code in zip(axes.flat, detected, strict=False):
        rows_of = activity[activity["species"] == code]
        for site, part in rows_of.groupby("site"):
            part = part.sort_values("hour")
            ax.plot(part["hour"], part["detections_per_hour"], marker="o", ms=3, label=site)
        ax.set_title(f"{code} ({names[code]})" if names[code] != code else code, fontsize=9)
        ax.set_xlim(-0.5, 23.5)
        ax.set_xticks(range(0, 24, 3))
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("hour of day")
    for ax in axes[:, 0]:
        ax.set_ylabel("detections / recorded h")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, title="site", loc="upper right", fontsize=8)
    fig.tight_layout()
    _save_figure(fig, path)


def _species_grid(n: int, width: float = 2.6, height: float = 2.2):
    cols = min(4 if n <= 16 else 6, max(1, n))  # 42 species: 7 rows of 6
    rows = -(-max(n, 1) // cols)
    # constrained layout keeps the figure's title clear of the first row at any size
    fig, axes = plt.subplots(
        rows, cols, figsize=(width * cols, height * rows), squeeze=False, layout="constrained"
    )
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes


def plot_pr_curves(codes: list[str], true: np.ndarray, prob: np.ndarray, title: str, path) -> None:
    """Precision-recall curve per species (small multiples), AP in each title; a species
    without a positive test window has no curve."""
    fig, axes = _species_grid(len(codes))
    for ax, (j, code) in zip(axes.flat, enumerate(codes), strict=False):
        if true[:, j].sum() == 0:
            ax.text(0.5, 0.5, "no positive\ntest window", ha="center", va="center", fontsize=8)
            ax.set_title(code, fontsize=9)
            continue
        precision, recall = precision_recall_points(true[:, j], prob[:, j])
        ax.plot(recall, precision, drawstyle="steps-post")
        ax.axhline(true[:, j].mean(), color="#999999", lw=0.8, ls="--")  # chance level
        ap = average_precision(true[:, j], prob[:, j])
        ax.set_title(f"{code}  AP {100 * ap:.1f}", fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
    for ax in axes[-1]:
        ax.set_xlabel("recall")
    for ax in axes[:, 0]:
        ax.set_ylabel("precision")
    fig.suptitle(title, fontsize=10)
    _save_figure(fig, path)


def plot_score_histograms(
    codes: list[str], true: np.ndarray, prob: np.ndarray, title: str, path
) -> None:
    """Per species, the scores of positive and of negative test windows (counts, log scale)."""
    fig, axes = _species_grid(len(codes))
    bins = np.linspace(0, 1, 21)
    for ax, (j, code) in zip(axes.flat, enumerate(codes), strict=False):
        pos = true[:, j] > 0
        ax.hist(prob[~pos, j], bins=bins, color="#7570b3", alpha=0.6, label="negative")
        ax.hist(prob[pos, j], bins=bins, color="#d95f02", alpha=0.6, label="positive")
        ax.set_yscale("log")
        ax.set_title(f"{code} ({int(pos.sum())} positive)", fontsize=9)
        ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(numticks=4))
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    for ax in axes[-1]:
        ax.set_xlabel("score")
    for ax in axes[:, 0]:
        ax.set_ylabel("windows")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    _save_figure(fig, path)


def plot_codetection(matrix: pd.DataFrame, title: str, path) -> None:
    """Heat map of the co-detection matrix: row A, column B, the share of windows with A and
    without B in which B is predicted."""
    k = len(matrix)
    fig, ax = plt.subplots(figsize=(max(4, 0.45 * k + 2), max(3.5, 0.45 * k + 1.5)))
    values = matrix.to_numpy(dtype=float)
    image = ax.imshow(
        np.ma.masked_invalid(values),
        cmap="Reds",
        vmin=0,
        vmax=max(0.05, np.nanmax(values) if np.isfinite(values).any() else 1),
    )
    ax.set_xticks(range(k), matrix.columns, rotation=90, fontsize=8)
    ax.set_yticks(range(k), matrix.index, fontsize=8)
    ax.set_xlabel("predicted (absent)")
    ax.set_ylabel("present")
    if k <= 12:
        for a in range(k):
            for b in range(k):
                if np.isfinite(values[a, b]):
                    dark = values[a, b] > 0.5 * image.get_clim()[1]
                    ax.text(
                        b,
                        a,
                        f"{100 * values[a, b]:.0f}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if dark else "black",
                    )
    fig.colorbar(image, ax=ax, label="share of windows", shrink=0.8)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    _save_figure(fig, path)

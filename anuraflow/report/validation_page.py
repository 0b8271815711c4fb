"""The page `validate` publishes: per species the reviewed n, the precision at the tuned
threshold, the threshold for the target, the true detections with their interval, and one
figure of every species' curves (rule validate_precision)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from anuraflow.report.figures import _save_figure, _species_grid


def plot_species_validation(ax, result, target: float) -> None:
    """One species: the estimated precision of detections above each threshold (with its
    interval), P(present | score) from the logistic fit, the decisions at 0 and 1 (hollow:
    outside the stratified draw), the tuned (dashed) and published (solid) thresholds."""
    row, curve, reviewed = result.row, result.curve, result.reviewed
    ax.step(curve["threshold"], curve["precision"], where="post", color="#1f77b4",
            label="precision above t")  # fmt: skip
    ax.fill_between(curve["threshold"], curve["precision_low"], curve["precision_high"],
                    step="post", color="#1f77b4", alpha=0.2, linewidth=0)  # fmt: skip
    if not isinstance(result.fit, str):
        grid = np.linspace(0.005, 0.995, 199)
        ax.plot(
            grid, result.fit.probability(grid), color="#d62728", lw=1, label="P(present | score)"
        )
        ax.fill_between(grid, result.fit.probability(grid, -1.645),
                        result.fit.probability(grid, 1.645), color="#d62728", alpha=0.12,
                        linewidth=0)  # fmt: skip
    jitter = np.random.default_rng(0).uniform(-0.03, 0.03, len(reviewed))
    y = reviewed["present"].to_numpy() + jitter
    strat = reviewed["stratified"].to_numpy()
    ax.scatter(reviewed["score"][strat], y[strat], s=8, color="#333", alpha=0.6)
    ax.scatter(reviewed["score"][~strat], y[~strat], s=10, facecolors="none", edgecolors="#333")
    ax.axhline(target, color="#888", lw=0.8, ls=":")
    ax.axvline(row["tuned_threshold"], color="#555", lw=1, ls="--")
    if row["rule"] == "validated":
        ax.axvline(row["threshold"], color="#2a7d2a", lw=1.5)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.08, 1.08)
    ax.set_title(f"{row['species']} ({row['reviewed']} reviewed)", fontsize=9)
    ax.grid(alpha=0.3)


def plot_validation(results: list, target: float, path: str | Path) -> None:
    """Every species' panel (`plot_species_validation`), score on x, precision on y."""
    fig, axes = _species_grid(len(results), width=3.0, height=2.4)
    for ax, result in zip(axes.flat, results, strict=False):
        plot_species_validation(ax, result, target)
    for ax in axes[-1]:
        ax.set_xlabel("score threshold")
    for ax in axes[:, 0]:
        ax.set_ylabel("precision")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=8)
    _save_figure(fig, path)


HEADER = ["species", "reviewed", "present", "outside the draw (present)", "tuned threshold",
          "precision there (interval)", "threshold for the target", "threshold used", "rule",
          "reviews above it", "precision there (interval)", "lower bound reaches the target",
          "detections", "true detections (interval)", "selections", "their precision (leans low)",
          "more reviews needed"]  # fmt: skip
TEXT_COLUMNS = {"rule", "lower bound reaches the target"}


THRESHOLD = "{:.3g}"  # thresholds near 0 matter: 0.0014 is not 0.00


def _fmt(value, spec: str = "{:.2f}") -> str:
    missing = value is None or (isinstance(value, float) and np.isnan(value))
    return "–" if missing else spec.format(value)


def _with_interval(value, low, high, spec: str = "{:.2f}") -> str:
    """`value (low–high)`; without the interval where it is missing."""
    text = _fmt(value, spec)
    bounds = f"{_fmt(low, spec)}–{_fmt(high, spec)}"
    return text if bounds == "–––" else f"{text} ({bounds})"


def _count(value) -> int | str:
    """An integer read back from precision.csv (NaN where missing: an en dash)."""
    missing = value is None or (isinstance(value, float) and np.isnan(value))
    return "–" if missing else int(value)


def table_rows(rows: list[dict]) -> list[list]:
    """The published table's cells (HEADER) from precision.csv's rows (or `validate_species`'),
    numbers formatted, a missing one as an en dash."""
    out = []
    for r in rows:
        out.append([
            r["species"], r["reviewed"], r["present"],
            f"{r['unstratified']} ({r['unstratified_present']})",
            _fmt(r["tuned_threshold"], THRESHOLD),
            _with_interval(r["precision_at_tuned"], r["precision_at_tuned_low"],
                           r["precision_at_tuned_high"]),
            _fmt(r["threshold_for_target"], THRESHOLD), _fmt(r["threshold"], THRESHOLD),
            r["rule"], r["reviewed_above"],
            _with_interval(r["precision"], r["precision_low"], r["precision_high"]),
            "yes" if r["target_met"] else "no",
            r["detections"],
            _with_interval(r["true_detections"], r["true_detections_low"],
                           r["true_detections_high"], "{:.0f}"),
            r.get("selections", "–"), _fmt(r.get("selection_precision")),
            _count(r["more_reviews"]),
        ])  # fmt: skip
    return out


def table_notes(rows: list[dict]) -> list[str]:
    """Below the table: per species why an interval or the logistic fit is missing, and where
    the lower bound falls short, the reviews that would lift it (`review_plan`)."""
    notes = []
    for r in rows:
        said = dict.fromkeys(
            n for n in (r["interval_note"], r["logistic_note"], r["review_plan"])
            if isinstance(n, str)
        )
        notes += [f"{r['species']}: {note}" for note in said]
    return notes


SITE_HEADER = ["species", "site", "threshold used", "reviewed", "reviews above it",
               "detections", "precision (interval)"]  # fmt: skip


def site_rows(per_site) -> list[list]:
    """per_site.csv's rows as the page's cells."""
    return [[r.species, r.site, _fmt(r.threshold, THRESHOLD), r.reviewed, r.reviewed_above,
             r.detections, _with_interval(r.precision, r.precision_low, r.precision_high)]
            for r in per_site.itertuples()]  # fmt: skip


def validation_page_context(
    results: list, records: list[dict], settings, outputs: dict, per_site=None
) -> dict:
    """What validation.html.j2 is filled with (the figure is `outputs["figure"]`, beside it)."""
    return {
        "site_header": SITE_HEADER,
        "site_rows": [] if per_site is None else site_rows(per_site),
        "title": "How precise are the detections?",
        "settings": settings,
        "n_recordings": len(records),
        "header": HEADER,
        "text_columns": [h in TEXT_COLUMNS for h in HEADER],
        "rows": table_rows([r.row for r in results]),
        "notes": table_notes([r.row for r in results]),
        "figure": Path(outputs["figure"]).name,
        "files": {k: Path(v).name for k, v in outputs.items()},
    }

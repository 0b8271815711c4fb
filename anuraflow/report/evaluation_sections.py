"""The report's evaluation sections, from the runs' test predictions: threshold-free curves,
recording-bootstrap intervals, paired differences, per-site scores, co-detection, and what
selecting the epoch on test would have given."""

from __future__ import annotations

import numpy as np
import pandas as pd

from anuraflow.core.fileio import write_text
from anuraflow.evaluate.analysis import (
    RunPredictions,
    codetection_matrix,
    paired_intervals,
    per_site_scores,
    run_predictions,
)
from anuraflow.report.figures import (
    metric_value,
    plot_codetection,
    plot_pr_curves,
    plot_score_histograms,
)
from anuraflow.report.review import write_gallery

FIGURES = ("pr_curves", "score_histograms", "codetection")


def _pct(value) -> str:
    return "-" if value is None or np.isnan(metric_value(value)) else f"{100 * value:.1f}"


def _interval(d: dict | None) -> str:
    if not d or d["estimate"] is None:
        return "-"
    if d["low"] is None:
        return _pct(d["estimate"])
    return f"{_pct(d['estimate'])} [{_pct(d['low'])}, {_pct(d['high'])}]"


def best_run(runs: list[dict]) -> int:
    """Index of the run with the best validation macro F1 (validation only picks it)."""
    return int(np.argmax([metric_value(r["best_val_macro_f1"]) for r in runs]))


def interval_table(runs: list[dict], intervals: list[dict]):
    rows = [
        {
            "cells": [
                r["experiment"],
                "" if r.get("fold") is None else r["fold"],
                r["seed"],
                ci["test_recordings"],
                _interval(ci["macro_f1"]),
                _interval(ci.get("macro_ap")),
            ]
        }
        for r, ci in zip(runs, intervals, strict=True)
    ]
    header = [
        "experiment",
        "fold",
        "seed",
        "test recordings",
        "macro F1 [95 % CI]",
        "macro AP [95 % CI]",
    ]
    return {"header": header, "rows": rows}


def paired_table(preds: list[RunPredictions], pairs: list[list[str]], n_boot: int, seed: int):
    """Macro F1 difference (a - b, mean over each one's runs) with its paired interval."""
    if not pairs:
        return None
    rows = []
    for a, b in pairs:
        ra = [p for p in preds if p.experiment == a and p.fold is None]
        rb = [p for p in preds if p.experiment == b and p.fold is None]
        out = paired_intervals(ra, rb, n_boot, seed) if ra and rb else None
        note = "" if out else "not paired: different test windows or no runs"
        rows.append(
            {
                "cells": [
                    f"{a} vs {b}",
                    len(ra),
                    len(rb),
                    _interval(out) if out else "-",
                    note or ("differ" if out["low"] > 0 or out["high"] < 0 else "interval holds 0"),
                ]
            }
        )
    header = ["pair", "runs a", "runs b", "macro F1 difference, points [95 % CI]", ""]
    return {"header": header, "rows": rows}


def site_table(preds: list[RunPredictions]) -> tuple[dict, pd.DataFrame]:
    """Per experiment and test site: mean over runs of macro F1 and macro AP."""
    scores = pd.concat([per_site_scores(p) for p in preds], ignore_index=True)
    summary = (
        scores.groupby(["experiment", "site"], sort=False)
        .agg(
            runs=("seed", "size"),
            recordings=("recordings", "max"),
            windows=("windows", "max"),
            macro_f1=("macro_f1", "mean"),
            macro_ap=("macro_ap", "mean"),
        )
        .reset_index()
    )
    rows = [
        {
            "cells": [
                r.experiment,
                r.site,
                r.runs,
                r.recordings,
                r.windows,
                _pct(r.macro_f1),
                _pct(r.macro_ap),
            ]
        }
        for r in summary.itertuples()
    ]
    header = ["experiment", "site", "runs", "recordings", "windows", "macro F1", "macro AP"]
    return {"header": header, "rows": rows}, scores


def optimism_table(runs: list[dict]) -> dict | None:
    """Per run: test macro F1 of the epoch chosen on validation, and of the epoch that test
    itself would have chosen (never a result: the optimism of selecting on test)."""
    rows = []
    for r in runs:
        chosen = r.get("test_selected")
        if not chosen:
            continue
        ours = metric_value(r["macro_f1"]["all"])
        rows.append(
            {
                "cells": [
                    r["experiment"],
                    "" if r.get("fold") is None else r["fold"],
                    r["seed"],
                    f"{r['best_epoch']}",
                    _pct(ours),
                    f"{chosen['epoch']}",
                    _pct(chosen["macro_f1"]),
                    f"{100 * (metric_value(chosen['macro_f1']) - ours):+.1f}",
                ]
            }
        )
    if not rows:
        return None
    header = [
        "experiment",
        "fold",
        "seed",
        "epoch (validation)",
        "test macro F1 (our result)",
        "epoch (test)",
        "test macro F1 if chosen on test",
        "optimism (points)",
    ]
    return {"header": header, "rows": rows}


def evaluation_sections(
    runs: list[dict],
    prediction_paths: list[str],
    intervals: list[dict],
    compare: list[list[str]],
    outputs: dict[str, str],
    review: dict,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict:
    """Write the sections' figures, per_site_table.tsv / codetection.tsv and the review
    clips; return the template's values for them. `intervals`: each run's intervals.json
    (`analysis.write_run_intervals`); `n_boot` and `seed` for the paired differences;
    `review`: audio_dir (the standardised recordings) and k (mistakes per species and kind)."""
    preds = [run_predictions(r, p) for r, p in zip(runs, prediction_paths, strict=True)]
    best = preds[best_run(runs)]
    label = f"{best.experiment} seed {best.seed}" + (
        f" fold {best.fold}" if best.fold is not None else ""
    )
    plot_pr_curves(best.codes, best.true, best.prob, f"test, {label}", outputs["pr_curves"])
    plot_score_histograms(
        best.codes, best.true, best.prob, f"test, {label}", outputs["score_histograms"]
    )
    matrix = codetection_matrix(best)
    write_text(matrix.to_csv(sep="\t", float_format="%.4f"), outputs["codetection_table"])
    plot_codetection(matrix, f"co-detection on test, {label}", outputs["codetection"])
    sites, site_scores = site_table(preds)
    write_text(
        site_scores.to_csv(sep="\t", index=False, float_format="%.4f"), outputs["site_table"]
    )
    return {
        "best_run": label,
        "interval_table": interval_table(runs, intervals),
        "paired_table": paired_table(preds, compare, n_boot, seed),
        "site_table": sites,
        "optimism_table": optimism_table(runs),
        "gallery": write_gallery(best, review["audio_dir"], outputs["review"], review["k"]),
        "review_k": review["k"],
        "bootstrap": {"n_boot": n_boot, "seed": seed},
    }

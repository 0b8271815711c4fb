"""The results as tables: Table I-style metrics (mean +/- std over seeds) per configuration, the
paper-shaped tables, embedding statistics, paired t-tests and the list of runs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from anuraflow.report.figures import metric_value

GROUP_COLUMNS = ("frequent", "common", "rare", "all")


# macro F1 over active species (the paper's text) and over all species (the authors' code)
ALL_SPECIES = "_allsp"


METRIC_COLUMNS = GROUP_COLUMNS + tuple(c + ALL_SPECIES for c in GROUP_COLUMNS)


EXTRA_COLUMNS = ("weighted_f1", "map", "accuracy", "balanced_accuracy")


EMBEDDING_COLUMNS = ("intra_mean", "intra_cv", "inter_mean", "inter_cv", "silhouette")


OTHER_TABLE = "Other experiments"


def _run_row(r: dict) -> dict:
    rep = (r.get("settings") or {}).get("report") or {}
    emb = {**(r.get("embedding_stats") or {}), "silhouette": r.get("silhouette", np.nan)}
    return {
        "experiment": r["experiment"],
        "seed": r["seed"],
        "task": r.get("task", "multilabel"),
        "table": rep.get("table", OTHER_TABLE),
        "section": rep.get("section", ""),
        "row": rep.get("row", r["experiment"]),
        "order": rep.get("order", float("inf")),
        **r["macro_f1"],
        **{k + ALL_SPECIES: v for k, v in (r.get("macro_f1_all_species") or {}).items()},
        **{k: r.get(k, np.nan) for k in EXTRA_COLUMNS},
        **{k: emb.get(k, np.nan) for k in EMBEDDING_COLUMNS},
        "n_parameters": r.get("n_parameters", np.nan),
        "published": rep.get("published"),
    }


def metrics_table(runs: list[dict]) -> pd.DataFrame:
    """Per experiment: mean and sample std (ddof=1) over seeds of macro F1 (%) overall and per
    group (Table I), weighted F1, mAP, accuracy, balanced accuracy (%) and ADD's embedding
    statistics; with the table, section, row label and order the experiment asks for."""
    df = pd.DataFrame([_run_row(r) for r in runs])
    for c in METRIC_COLUMNS:
        df[c] = pd.to_numeric(df[c] if c in df else np.nan, errors="coerce")
    out = []
    for _, grp in df.groupby("experiment", sort=False):
        first = grp.iloc[0]
        row = {k: first[k] for k in ("experiment", "task", "table", "section", "row", "order")}
        row["n_seeds"] = grp["seed"].nunique()
        row["n_runs"] = len(grp)
        row["n_parameters"] = grp["n_parameters"].iloc[0]
        row["published"] = first["published"]
        for col in METRIC_COLUMNS + EXTRA_COLUMNS + EMBEDDING_COLUMNS:
            scale = 1.0 if col in EMBEDDING_COLUMNS else 100.0
            vals = pd.to_numeric(grp[col], errors="coerce").dropna().to_numpy() * scale
            row[f"{col}_mean"] = float(vals.mean()) if len(vals) else float("nan")
            row[f"{col}_std"] = float(vals.std(ddof=1)) if len(vals) > 1 else float("nan")
        out.append(row)
    return pd.DataFrame(out).sort_values(["table", "order"], kind="stable").reset_index(drop=True)


MULTILABEL_HEAD = (
    *GROUP_COLUMNS,
    *(c + ALL_SPECIES for c in GROUP_COLUMNS),
    "weighted_f1",
    "map",
)


MULTICLASS_HEAD = ("accuracy", "balanced_accuracy", "weighted_f1", "all")


HEAD_LABELS = {
    "frequent": "Frequent",
    "common": "Common",
    "rare": "Rare",
    "all": "All (macro F1)",
    **{c + ALL_SPECIES: f"{c.capitalize()}, all sp." for c in ("frequent", "common", "rare")},
    "all" + ALL_SPECIES: "All, all sp.",
    "weighted_f1": "weighted F1",
    "map": "mAP",
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced acc.",
}


HEAD_TITLES = {
    **dict.fromkeys(GROUP_COLUMNS, "macro F1 over the species active in the test split"),
    **{
        c + ALL_SPECIES: "macro F1 over all species, an absent one counting 0 (authors' code)"
        for c in GROUP_COLUMNS
    },
}


def mean_std(mean: float, std: float, digits: int = 1) -> str:
    if mean is None or np.isnan(mean):
        return "-"
    return f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if not np.isnan(std) else "")


def _header(columns) -> list[dict]:
    return [{"label": HEAD_LABELS.get(c, c), "title": HEAD_TITLES.get(c)} for c in columns]


def paper_tables(summary: pd.DataFrame) -> list[dict]:
    """One table per `report.table` (Table I, Table II, ...), rows in `report.order`, a section
    row per section, a `published` row under an experiment whose `report.published` quotes
    the paper (all-species convention); multi-label and single-label get their own columns."""
    out = []
    tables = sorted(
        summary["table"].unique(),
        key=lambda t: (t == OTHER_TABLE, not t.startswith("Table"), t),  # the paper's tables first
    )
    for name in tables:
        for task, head in (("multilabel", MULTILABEL_HEAD), ("multiclass", MULTICLASS_HEAD)):
            rows = summary[(summary["table"] == name) & (summary["task"] == task)]
            if rows.empty:
                continue
            body, section = [], None
            for _, r in rows.iterrows():
                if r["section"] and r["section"] != section:
                    section = r["section"]
                    body.append({"section": section})
                cells = [str(r["row"]), r["n_seeds"]]
                cells += [mean_std(r[f"{c}_mean"], r[f"{c}_std"]) for c in head]
                body.append({"cells": cells, "title": r["experiment"]})
                if isinstance(r.get("published"), dict) and task == "multilabel":
                    quoted = {k + ALL_SPECIES: v for k, v in r["published"].items()}
                    cells = ["published (paper, all species)", ""]
                    cells += [f"{quoted[c]:.1f}" if c in quoted else "" for c in head]
                    body.append({"cells": cells, "css": "published"})
            suffix = "" if task == "multilabel" else " (single-label task)"
            header = [{"label": "method"}, {"label": "seeds"}, *_header(head)]
            out.append({"name": name + suffix, "header": header, "rows": body})
    return out


def embedding_table(summary: pd.DataFrame) -> dict:
    """ADD's embedding statistics and the silhouette of each experiment's test embeddings."""
    header = [
        "experiment",
        "intra-class mean d_c",
        "intra-class CV",
        "inter-class mean d_c",
        "inter-class CV",
        "silhouette",
    ]
    rows = [
        {
            "cells": [r["experiment"]]
            + [mean_std(r[f"{c}_mean"], r[f"{c}_std"], 3) for c in EMBEDDING_COLUMNS]
        }
        for _, r in summary.iterrows()
    ]
    return {"header": header, "rows": rows}


def ttest_table(runs: list[dict], pairs: list[list[str]]) -> dict | None:
    """Paired two-tailed t-tests over the (fold, seed) runs two experiments share."""
    from anuraflow.evaluate.stats import paired_ttest

    if not pairs:
        return None
    score = {}
    for r in runs:
        metric = "balanced_accuracy" if r.get("task") == "multiclass" else None
        value = metric_value(r[metric] if metric else r["macro_f1"]["all"])
        score[(r["experiment"], r.get("fold"), r["seed"])] = (value, metric or "macro F1")
    rows = []
    for a, b in pairs:
        keys = sorted(
            {(f, s) for e, f, s in score if e == a} & {(f, s) for e, f, s in score if e == b},
            key=str,
        )
        if len(keys) < 2:
            rows.append(
                {"cells": [f"{a} vs {b}", "-", len(keys), "-", "-", "fewer than 2 paired runs"]}
            )
            continue
        out = paired_ttest([score[(a, *k)][0] for k in keys], [score[(b, *k)][0] for k in keys])
        verdict = "differ" if out["p"] <= 0.05 else "no significant difference"
        rows.append(
            {
                "cells": [
                    f"{a} vs {b}",
                    score[(a, *keys[0])][1],
                    out["n"],
                    f"{100 * out['mean_difference']:+.2f}",
                    f"{out['t']:.3f}",
                    f"{out['p']:.4f} ({verdict})",
                ]
            }
        )
    header = [
        "pair",
        "metric",
        "paired runs",
        "mean difference (points)",
        "t",
        "p (two-tailed, 0.05)",
    ]
    return {"header": header, "rows": rows}


def run_table(runs: list[dict]) -> dict:
    header = [
        "experiment",
        "fold",
        "seed",
        "model",
        "parameters",
        "best epoch",
        "val macro F1",
        "test macro F1 (active)",
        "test macro F1 (all sp.)",
        {
            "label": "test macro F1, tuned thresholds (active)",
            "title": "per-species thresholds chosen on validation (max F1 each); fixed where "
            "a species has no validation positive",
        },
        "device",
        "train s",
    ]
    rows = []
    for r in runs:
        all_sp = metric_value((r.get("macro_f1_all_species") or {}).get("all"))
        tuned = r.get("tuned")
        tuned_f1 = f"{metric_value(tuned['macro_f1']['all']):.3f}" if tuned else "(arg-max)"
        rows.append(
            {
                "cells": [
                    r["experiment"],
                    "" if r.get("fold") is None else r["fold"],
                    r["seed"],
                    r["model"],
                    f"{r.get('n_parameters', 0):,}",
                    f"{r['best_epoch']}/{r['epochs']}",
                    f"{metric_value(r['best_val_macro_f1']):.3f}",
                    f"{metric_value(r['macro_f1']['all']):.3f}",
                    f"{all_sp:.3f}",
                    tuned_f1,
                    r["device"],
                    f"{r['train_seconds']:.0f}",
                ]
            }
        )
    return {"header": header, "rows": rows}

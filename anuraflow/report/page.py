"""The report: Table I-style metrics (mean +/- std over seeds), per-species tables and the
Mix2 figures, rendered into one self-contained HTML page from a Jinja2 template
(`templates/report.html.j2`, autoescaped) whose tables and figures are filled in by name."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from anuraflow.core.fileio import write_text
from anuraflow.core.provenance import provenance
from anuraflow.data.species import assign_groups, species_table
from anuraflow.report.evaluation_sections import FIGURES, evaluation_sections
from anuraflow.report.figures import (
    metric_value,
    plot_f1_by_polyphony,
    plot_model_size,
    plot_per_species_f1,
    plot_species_frequency,
    plot_training_curves,
    plot_tsne,
)

GROUP_COLUMNS = ("frequent", "common", "rare", "all")
# macro F1 over active species (the paper's text) and over all species (the authors' code)
ALL_SPECIES = "_allsp"
METRIC_COLUMNS = GROUP_COLUMNS + tuple(c + ALL_SPECIES for c in GROUP_COLUMNS)


def load_runs(metrics_paths: list[str]) -> list[dict]:
    return [json.loads(Path(p).read_text()) for p in metrics_paths]


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


def _mean_std(mean: float, std: float, digits: int = 1) -> str:
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
                cells += [_mean_std(r[f"{c}_mean"], r[f"{c}_std"]) for c in head]
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
            + [_mean_std(r[f"{c}_mean"], r[f"{c}_std"], 3) for c in EMBEDDING_COLUMNS]
        }
        for _, r in summary.iterrows()
    ]
    return {"header": header, "rows": rows}


def species_tables(runs: list[dict], order: list[str], groups: dict[str, str]) -> list[dict]:
    """Per experiment, per species: precision, recall, F1 (mean ± std over runs), AP, AUROC,
    support;
    a species absent from the test split is marked, with dashes for what it cannot have."""
    out = []
    for exp in dict.fromkeys(r["experiment"] for r in runs):
        mine = [r for r in runs if r["experiment"] == exp]
        rows = []
        for c in order:
            scores = [r["per_species"][c] for r in mine if c in r["per_species"]]
            if not scores:
                continue  # not a species of this experiment (e.g. AnuraSet-36N)

            def values(key, scores=scores):
                return np.array([metric_value(s.get(key)) for s in scores], dtype=float)

            support = values("support")
            if support.sum() == 0:
                cells = [c, groups.get(c, ""), "-", "-", "-", "-", "-", 0, "absent from test"]
                rows.append({"cells": cells, "css": "absent"})
                continue
            f1 = values("f1") * 100
            ap = values("ap") * 100
            roc = values("auroc") * 100
            cells = [
                c,
                groups.get(c, ""),
                f"{np.nanmean(values('precision')) * 100:.1f}",
                f"{np.nanmean(values('recall')) * 100:.1f}",
                _mean_std(f1.mean(), f1.std(ddof=1) if len(f1) > 1 else np.nan),
                f"{np.nanmean(ap):.1f}" if not np.isnan(ap).all() else "-",
                f"{np.nanmean(roc):.1f}" if not np.isnan(roc).all() else "-",
                f"{support.mean():g}",
                "F1 = 0" if f1.max() == 0 else "",
            ]
            rows.append({"cells": cells})
        header = ["species", "group", "precision", "recall", "F1", "AP", "AUROC", "support", "note"]
        out.append({"name": f"{exp} ({len(mine)} runs)", "header": header, "rows": rows})
    return out


def species_table_tsv(tables: list[dict]) -> str:
    """The per-species tables (`species_tables`) as one TSV (experiment, species, ...; %)."""
    rows = []
    for t in tables:
        for row in t["rows"]:
            rows.append([t["name"].rsplit(" (", 1)[0], *row["cells"]])
    columns = [
        "experiment",
        "species",
        "group",
        "precision",
        "recall",
        "f1",
        "ap",
        "auroc",
        "support",
        "note",
    ]
    return pd.DataFrame(rows, columns=columns).to_csv(sep="\t", index=False)


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


def input_checks(manifest: pd.DataFrame, orphan_label_files: list[str]) -> dict:
    """What happened to every input that was not used as is: skipped, unlabelled, adjusted."""
    skipped = manifest[manifest["status"] == "skipped"]
    no_labels = manifest.loc[manifest["annotation_status"] == "no_file", "recording_id"]
    return {
        "used": int((manifest["status"] == "ok").sum()),
        "total": len(manifest),
        "skipped": [{"cells": [r.recording_id, r.problem]} for r in skipped.itertuples()],
        "lists": [
            ("Label files without a recording", list(orphan_label_files)),
            ("Recordings without a label file, taken as having no calls", no_labels.tolist()),
            (
                "Adjusted or dropped annotation rows and other notes",
                [n for ns in manifest["notes"] for n in ns],
            ),
        ],
    }


def checksum_table(inputs: dict) -> dict:
    rows = [
        {"cells": [rec, v["status"], v["audio_sha256"], v["annotation_sha256"] or "-"]}
        for rec, v in inputs.items()
    ]
    return {"header": ["recording", "status", "audio", "label file"], "rows": rows}


def balance_table(balance: pd.DataFrame) -> dict:
    rows = [
        {
            "cells": [
                r.species,
                r.recordings,
                r.train,
                r.val,
                r.test,
                "-" if np.isnan(r.max_deviation) else f"{r.max_deviation:.3f}",
            ]
        }
        for r in balance.itertuples()
    ]
    header = ["species", "recordings", "train", "val", "test", "largest share deviation"]
    return {"header": header, "rows": rows}


def split_origin_text(splits: pd.DataFrame) -> str:
    """One sentence on where the split came from (fresh, kept from earlier runs, pinned)."""
    counts = splits["origin"].value_counts() if "origin" in splits else pd.Series(dtype=int)
    if counts.get("file", 0):
        return f"The split is pinned by split.file ({counts['file']} recordings)."
    if counts.get("kept", 0):
        return (
            f"{counts['kept']} recordings keep the subset an earlier run gave them "
            f"(results/split_ledger.json), {counts.get('added', 0)} were added since."
        )
    return f"A stratified split of all {len(splits)} recordings."


CONTENTS = [
    ("results", "Results on the test split"),
    ("per-species", "Per-species results"),
    ("polyphony", "Macro F1 by polyphony"),
    ("embeddings", "Embedding statistics"),
    ("ttests", "Paired t-tests"),
    ("tsne", "t-SNE"),
    ("model-size", "Model size against score"),
    ("threshold-free", "Threshold-free metrics"),
    ("uncertainty", "Uncertainty over recordings"),
    ("sites", "Per-site results"),
    ("codetection", "What the model confuses"),
    ("optimism", "The cost of selecting on test"),
    ("review", "Mistakes to review"),
    ("runs", "Runs"),
    ("data", "Data"),
    ("curves", "Training curves"),
    ("inputs", "Input checks"),
    ("provenance", "Provenance"),
]


def _flatten(d: dict, prefix: str = "") -> list[tuple[str, str]]:
    """(dotted key, JSON value) of every leaf of a nested dict; lists stay one value."""
    rows = []
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows += _flatten(value, name + ".")
        else:
            rows.append((name, json.dumps(value, default=str)))
    return rows


def provenance_tables(prov: dict) -> list[dict]:
    """The provenance (without the per-file checksums) as tables: workflow, software, config."""
    git = prov.get("git") or {}
    workflow = [
        ("anuraflow", prov.get("anuraflow")),
        ("git commit", git.get("commit") or "not a git checkout"),
        ("uncommitted changes", git.get("dirty")),
        ("config SHA-256", prov.get("config_sha256", "-")),
        ("inputs SHA-256 (all checksums)", prov.get("inputs_sha256", "-")),
    ]
    tables = [
        {
            "name": "Workflow",
            "header": ["what", "value"],
            "rows": [{"cells": [k, "-" if v is None else str(v)]} for k, v in workflow],
        },
        {
            "name": "Software",
            "header": ["package", "version"],
            "rows": [
                {"cells": [k, v or "not installed"]}
                for k, v in (prov.get("versions") or {}).items()
            ],
        },
    ]
    if prov.get("config"):
        tables.append(
            {
                "name": "Configuration",
                "header": ["key", "value"],
                "rows": [{"cells": [k, v]} for k, v in _flatten(prov["config"])],
            }
        )
    return tables


def render_report(context: dict) -> str:
    """report.html from the template, every value autoescaped."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=False,
    )
    return env.get_template("report.html.j2").render(**context)


@dataclass
class ReportInputs:
    """What the report reads: every run's metrics and history, and the data tables."""

    metrics: list[str]
    histories: list[str]
    predictions: list[str]
    intervals: list[str]  # each run's recording-bootstrap intervals (JSON)
    audio_dir: str  # the standardised recordings, for the review clips
    windows: str
    splits: str
    manifest: str
    split_balance: str


def build_report(
    inputs: ReportInputs,
    species_entries: list[dict],
    group_thresholds: dict,
    outputs: dict[str, str],
    title: str = "anuraflow report",
    config: dict | None = None,
    orphan_label_files: list[str] | None = None,
    compare: list[list[str]] | None = None,
    review_k: int = 5,
    bootstrap: dict | None = None,
) -> None:
    """Write metrics_table.tsv, per_species_table.tsv, the figures and a self-contained
    report.html."""
    runs = load_runs(inputs.metrics)
    splits = pd.read_parquet(inputs.splits)
    windows = pd.read_parquet(inputs.windows).merge(
        splits[["recording_id", "subset"]], on="recording_id"
    )
    manifest = pd.read_parquet(inputs.manifest)
    table = species_table(species_entries)
    codes = table["code"].tolist()
    counts = windows[codes].sum()
    groups = assign_groups(table, counts.to_dict(), group_thresholds)
    order = counts.sort_values(ascending=False).index.tolist()

    summary = metrics_table(runs)
    write_text(
        summary.drop(columns="published").to_csv(sep="\t", index=False, float_format="%.3f"),
        outputs["table"],
    )
    per_species = species_tables(runs, order, groups)
    write_text(species_table_tsv(per_species), outputs["species_table"])
    plot_species_frequency(counts, groups, group_thresholds, outputs["frequency"])
    plot_per_species_f1(runs, order, outputs["per_species"])
    plot_f1_by_polyphony(
        runs, windows.loc[windows["subset"] == "test", "polyphony"], outputs["polyphony"]
    )
    histories = {
        f"{r['experiment']} s{r['seed']}": pd.read_csv(p, sep="\t")
        for r, p in zip(runs, inputs.histories, strict=True)
    }
    plot_training_curves(histories, outputs["curves"])
    plot_tsne(runs, outputs["tsne"])
    plot_model_size(summary, outputs["model_size"])

    prov = provenance(config, manifest)
    checksums = checksum_table(prov.pop("inputs", {}))
    used = manifest[manifest["status"] == "ok"]
    split_counts = windows.groupby("subset").agg(
        recordings=("recording_id", "nunique"), windows=("window_id", "size")
    )
    split = (config or {}).get("split", {})
    targets = (
        f"test {split.get('test_fraction', 1 / 3):.3g}, "
        f"val {split.get('val_fraction', 0.2):.3g} of the rest"
    )
    evaluation = evaluation_sections(
        runs,
        inputs.predictions,
        [json.loads(Path(p).read_text()) for p in inputs.intervals],
        compare or [],
        outputs,
        {"audio_dir": inputs.audio_dir, "k": review_k},
        **(bootstrap or {}),
    )
    images = {
        name: base64.b64encode(Path(outputs[name]).read_bytes()).decode()
        for name in (
            "frequency",
            "per_species",
            "polyphony",
            "curves",
            "tsne",
            "model_size",
            *FIGURES,
        )
    }
    context = {
        "title": title,
        "contents": CONTENTS,
        "images": images,
        "paper_tables": paper_tables(summary),
        "species_tables": per_species,
        "embedding_table": embedding_table(summary),
        "ttest_table": ttest_table(runs, compare or []),
        "run_table": run_table(runs),
        **evaluation,
        "data": {
            "recordings": len(used),
            "hours": f"{used['duration_s'].sum() / 3600:.2f}",
            "windows": len(windows),
            "empty": int(windows["empty"].sum()),
        },
        "subset_table": {
            "header": ["subset", "recordings", "windows"],
            "rows": [
                {"cells": [s, int(r.recordings), int(r.windows)]}
                for s, r in split_counts.iterrows()
            ],
        },
        "split_origin": split_origin_text(splits),
        "split_targets": targets,
        "split_method": split.get("method", "stratified"),
        "balance_table": balance_table(pd.read_csv(inputs.split_balance, sep="\t")),
        "species_table": {
            "header": ["code", "name", "group", "windows"],
            "rows": [
                {"cells": [c, n, groups[c], int(counts[c])]}
                for c, n in zip(table["code"], table["name"], strict=True)
            ],
        },
        "checks": input_checks(manifest, orphan_label_files or []),
        "provenance_json": json.dumps(prov, indent=2, default=str),
        "provenance_tables": provenance_tables(prov),
        "checksum_table": checksums,
    }
    write_text(render_report(context), outputs["html"])

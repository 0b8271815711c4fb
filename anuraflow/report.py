"""The report: Table I-style metrics (mean +/- std over seeds) and the Mix2 figures, in HTML."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from anuraflow.fileio import atomic_path, write_text  # noqa: E402
from anuraflow.provenance import provenance  # noqa: E402
from anuraflow.species import assign_groups, species_table  # noqa: E402

GROUP_COLOURS = {"frequent": "#1b9e77", "common": "#d95f02", "rare": "#7570b3"}
METRIC_COLUMNS = ("frequent", "common", "rare", "all")


def load_runs(metrics_paths: list[str]) -> list[dict]:
    return [json.loads(Path(p).read_text()) for p in metrics_paths]


def _number(value) -> float:
    """A metric read back from metrics.json, where an undefined one is null: NaN then."""
    return np.nan if value is None else float(value)


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
        **{k: r.get(k, np.nan) for k in EXTRA_COLUMNS},
        **{k: emb.get(k, np.nan) for k in EMBEDDING_COLUMNS},
        "n_parameters": r.get("n_parameters", np.nan),
    }


def metrics_table(runs: list[dict]) -> pd.DataFrame:
    """Per experiment: mean and sample std (ddof=1) over seeds of macro F1 (%) overall and per
    group (Table I), weighted F1, mAP, accuracy, balanced accuracy (%) and ADD's embedding
    statistics; with the table, section, row label and order the experiment asks for."""
    df = pd.DataFrame([_run_row(r) for r in runs]).astype({c: float for c in METRIC_COLUMNS})
    out = []
    for _, grp in df.groupby("experiment", sort=False):
        first = grp.iloc[0]
        row = {k: first[k] for k in ("experiment", "task", "table", "section", "row", "order")}
        row["n_seeds"] = grp["seed"].nunique()
        row["n_runs"] = len(grp)
        row["n_parameters"] = grp["n_parameters"].iloc[0]
        for col in METRIC_COLUMNS + EXTRA_COLUMNS + EMBEDDING_COLUMNS:
            scale = 1.0 if col in EMBEDDING_COLUMNS else 100.0
            vals = pd.to_numeric(grp[col], errors="coerce").dropna().to_numpy() * scale
            row[f"{col}_mean"] = float(vals.mean()) if len(vals) else float("nan")
            row[f"{col}_std"] = float(vals.std(ddof=1)) if len(vals) > 1 else float("nan")
        out.append(row)
    return pd.DataFrame(out).sort_values(["table", "order"], kind="stable").reset_index(drop=True)


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
    ax.tick_params(axis="x", rotation=90)
    ax.legend(handles=handles, fontsize=8)
    ax.set_title("Species frequency")
    _save_figure(fig, path)


def plot_per_species_f1(runs: list[dict], order: list[str], path: str | Path) -> None:
    """Per-species test F1, mean +/- std over seeds, one bar series per experiment."""
    exps = list(dict.fromkeys(r["experiment"] for r in runs))
    width = 0.8 / len(exps)
    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(order) + 2), 4))
    x = np.arange(len(order))
    for k, exp in enumerate(exps):
        f1 = np.array(
            [
                [r["per_species"].get(c, {}).get("f1", np.nan) for c in order]
                for r in runs
                if r["experiment"] == exp
            ],
            dtype=float,
        )
        ax.bar(
            x + k * width,
            np.nan_to_num(f1.mean(0)),
            width,
            yerr=np.nan_to_num(f1.std(0)) if len(f1) > 1 else None,
            label=exp,
            capsize=2,
        )
    ax.set_xticks(x + 0.4 - width / 2, order, rotation=90)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("test F1")
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
    f1_ax.set_ylabel("validation macro F1")
    f1_ax.legend(fontsize=7)
    _save_figure(fig, path)


def plot_tsne(runs: list[dict], path: str | Path) -> None:
    """Per experiment, the t-SNE of test embeddings of its best run (validation score),
    coloured by species (seed 003, Figure 2)."""
    best: dict[str, dict] = {}
    for r in runs:
        if r.get("tsne", {}).get("x") and (
            r["experiment"] not in best
            or _number(r["best_val_macro_f1"]) > _number(best[r["experiment"]]["best_val_macro_f1"])
        ):
            best[r["experiment"]] = r
    n = max(1, len(best))
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 4), squeeze=False)
    cmap = plt.get_cmap("tab20")
    for ax, (name, r) in zip(axes[0], best.items(), strict=False):
        t = r["tsne"]
        classes = np.asarray(t["class"])
        for c in sorted(set(classes)):
            sel = classes == c
            label = r["codes"][c] if "codes" in r else str(c)
            ax.scatter(np.asarray(t["x"])[sel], np.asarray(t["y"])[sel], s=8, color=cmap(c % 20),
                       label=label)  # fmt: skip
        fold = "" if r.get("fold") is None else f" fold {r['fold']}"
        silhouette = _number(r.get("silhouette"))
        ax.set_title(f"{name}{fold} s{r['seed']}\nsilhouette {silhouette:.2f}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(fontsize=6, markerscale=1.5)
    if not best:
        axes[0][0].text(0.5, 0.5, "no test window with exactly one species", ha="center")
    _save_figure(fig, path)


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


def ttest_table_html(runs: list[dict], pairs: list[list[str]]) -> str:
    """Paired two-tailed t-tests over the (fold, seed) runs two experiments share."""
    from anuraflow.stats import paired_ttest

    if not pairs:
        return "<p>No pairs configured (<code>report.compare</code>).</p>"
    score = {}
    for r in runs:
        metric = "balanced_accuracy" if r.get("task") == "multiclass" else None
        value = _number(r[metric] if metric else r["macro_f1"]["all"])
        score[(r["experiment"], r.get("fold"), r["seed"])] = (value, metric or "macro F1")
    rows = []
    for a, b in pairs:
        keys = sorted(
            {(f, s) for e, f, s in score if e == a} & {(f, s) for e, f, s in score if e == b},
            key=str,
        )
        if len(keys) < 2:
            rows.append(f"<tr><td>{a} vs {b}</td><td colspan=5>fewer than 2 paired runs</td></tr>")
            continue
        out = paired_ttest([score[(a, *k)][0] for k in keys], [score[(b, *k)][0] for k in keys])
        verdict = "differ" if out["p"] <= 0.05 else "no significant difference"
        rows.append(
            f"<tr><td>{html.escape(a)} vs {html.escape(b)}</td><td>{score[(a, *keys[0])][1]}</td>"
            f"<td>{out['n']}</td><td>{100 * out['mean_difference']:+.2f}</td>"
            f"<td>{out['t']:.3f}</td><td>{out['p']:.4f} ({verdict})</td></tr>"
        )
    return (
        "<table><tr><th>pair</th><th>metric</th><th>paired runs</th><th>mean difference "
        "(points)</th><th>t</th><th>p (two-tailed, 0.05)</th></tr>" + "".join(rows) + "</table>"
    )


MULTILABEL_HEAD = ("frequent", "common", "rare", "all", "weighted_f1", "map")
MULTICLASS_HEAD = ("accuracy", "balanced_accuracy", "weighted_f1", "all")
HEAD_LABELS = {
    "frequent": "Frequent",
    "common": "Common",
    "rare": "Rare",
    "all": "All (macro F1)",
    "weighted_f1": "weighted F1",
    "map": "mAP",
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced acc.",
}


def _cell(r: pd.Series, col: str, digits: int = 1) -> str:
    mean, std = r[f"{col}_mean"], r[f"{col}_std"]
    if np.isnan(mean):
        return "<td>-</td>"
    text = f"{mean:.{digits}f}" + (f" &plusmn; {std:.{digits}f}" if not np.isnan(std) else "")
    return f"<td>{text}</td>"


def paper_tables_html(summary: pd.DataFrame) -> str:
    """One HTML table per `report.table` (Table I, Table II, ...), rows in `report.order`, a
    spanning row per section; multi-label and single-label experiments get their own columns."""
    parts = []
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
                    body.append(
                        f'<tr><th colspan="{len(head) + 2}">{html.escape(section)}</th></tr>'
                    )
                body.append(
                    f'<tr><td title="{html.escape(r["experiment"])}">{html.escape(str(r["row"]))}'
                    f"</td><td>{r['n_seeds']}</td>" + "".join(_cell(r, c) for c in head) + "</tr>"
                )
            header = "".join(f"<th>{HEAD_LABELS[c]}</th>" for c in head)
            suffix = "" if task == "multilabel" else " (single-label task)"
            parts.append(
                f"<h3>{html.escape(name)}{suffix}</h3><table><tr><th>method</th><th>seeds</th>"
                f"{header}</tr>{''.join(body)}</table>"
            )
    return "\n".join(parts)


def embedding_table_html(summary: pd.DataFrame) -> str:
    """ADD's embedding statistics of each experiment's test embeddings (seed 001, Figure 5)."""
    rows = "".join(
        f"<tr><td>{html.escape(r['experiment'])}</td>"
        + "".join(_cell(r, c, 3) for c in EMBEDDING_COLUMNS)
        + "</tr>"
        for _, r in summary.iterrows()
    )
    return (
        "<table><tr><th>experiment</th><th>intra-class mean d<sub>c</sub></th>"
        "<th>intra-class CV</th><th>inter-class mean d<sub>c</sub></th><th>inter-class CV</th>"
        f"</tr>{rows}</table>"
    )


def _img(path: str | Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _list_html(items: list[str], empty: str) -> str:
    if not items:
        return f"<p>{empty}</p>"
    return "<ul>" + "".join(f"<li><code>{html.escape(i)}</code></li>" for i in items) + "</ul>"


def input_checks_html(manifest: pd.DataFrame, orphan_label_files: list[str]) -> str:
    """What happened to every input that was not used as is: skipped, unlabelled, adjusted."""
    skipped = manifest[manifest["status"] == "skipped"]
    rows = "".join(
        f"<tr><td>{html.escape(r.recording_id)}</td><td>{html.escape(r.problem)}</td></tr>"
        for r in skipped.itertuples()
    )
    skipped_html = (
        f"<table><tr><th>recording</th><th>why it was skipped</th></tr>{rows}</table>"
        if rows
        else "<p>None.</p>"
    )
    no_labels = manifest.loc[manifest["annotation_status"] == "no_file", "recording_id"]
    notes = [n for ns in manifest["notes"] for n in ns]
    return f"""<p>{int((manifest["status"] == "ok").sum())} of {len(manifest)} recordings used.
Policies: <code>on_bad_recording</code> and <code>on_bad_annotation</code> (README, "Failure
policies").</p>
<h3>Skipped recordings ({len(skipped)})</h3>{skipped_html}
<h3>Label files without a recording ({len(orphan_label_files)})</h3>
{_list_html(orphan_label_files, "None.")}
<h3>Recordings without a label file, taken as having no calls ({len(no_labels)})</h3>
{_list_html(no_labels.tolist(), "None.")}
<h3>Adjusted or dropped annotation rows and other notes ({len(notes)})</h3>
{_list_html(notes, "None.")}"""


def provenance_html(prov: dict) -> str:
    inputs = prov.pop("inputs", {})
    rows = "".join(
        f"<tr><td>{html.escape(rec)}</td><td>{v['status']}</td>"
        f"<td><code>{v['audio_sha256']}</code></td>"
        f"<td><code>{v['annotation_sha256'] or '-'}</code></td></tr>"
        for rec, v in inputs.items()
    )
    return f"""<pre>{html.escape(json.dumps(prov, indent=2, default=str))}</pre>
<details><summary>SHA-256 of every input file ({len(inputs)} recordings)</summary>
<table><tr><th>recording</th><th>status</th><th>audio</th><th>label file</th></tr>{rows}</table>
</details>"""


def build_report(
    metrics_paths: list[str],
    history_paths: list[str],
    windows_path: str,
    splits_path: str,
    manifest_path: str,
    species_entries: list[dict],
    group_thresholds: dict,
    outputs: dict[str, str],
    title: str = "anuraflow report",
    config: dict | None = None,
    orphan_label_files: list[str] | None = None,
    compare: list[list[str]] | None = None,
) -> None:
    """Write metrics_table.tsv, the four figures and a self-contained report.html."""
    runs = load_runs(metrics_paths)
    windows = pd.read_parquet(windows_path).merge(pd.read_parquet(splits_path), on="recording_id")
    manifest = pd.read_parquet(manifest_path)
    table = species_table(species_entries)
    codes = table["code"].tolist()
    counts = windows[codes].sum()
    groups = assign_groups(table, counts.to_dict(), group_thresholds)

    summary = metrics_table(runs)
    write_text(summary.to_csv(sep="\t", index=False, float_format="%.3f"), outputs["table"])
    plot_species_frequency(counts, groups, group_thresholds, outputs["frequency"])
    plot_per_species_f1(
        runs, counts.sort_values(ascending=False).index.tolist(), outputs["per_species"]
    )
    plot_f1_by_polyphony(
        runs, windows.loc[windows["subset"] == "test", "polyphony"], outputs["polyphony"]
    )
    histories = {
        f"{r['experiment']} s{r['seed']}": pd.read_csv(p, sep="\t")
        for r, p in zip(runs, history_paths, strict=True)
    }
    plot_training_curves(histories, outputs["curves"])
    plot_tsne(runs, outputs["tsne"])
    plot_model_size(summary, outputs["model_size"])

    prov = provenance(config, manifest)
    used = manifest[manifest["status"] == "ok"]
    run_rows = "".join(
        f"<tr><td>{html.escape(str(r['experiment']))}</td>"
        f"<td>{'' if r.get('fold') is None else r['fold']}</td><td>{r['seed']}</td>"
        f"<td>{html.escape(r['model'])}</td><td>{r['best_epoch']}/{r['epochs']}</td>"
        f"<td>{r['best_val_macro_f1']:.3f}</td><td>{r['macro_f1']['all']:.3f}</td>"
        f"<td>{html.escape(r['device'])}</td><td>{r['train_seconds']:.0f}</td></tr>"
        for r in runs
    )
    split_counts = windows.groupby("subset").agg(
        recordings=("recording_id", "nunique"), windows=("window_id", "size")
    )
    species_rows = "".join(
        f"<tr><td>{c}</td><td>{html.escape(n)}</td><td>{groups[c]}</td><td>{int(counts[c])}</td></tr>"
        for c, n in zip(table["code"], table["name"], strict=True)
    )
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}
th{{background:#f2f2f2}}td:first-child{{text-align:left}}img{{max-width:100%}}
pre{{background:#f6f6f6;padding:1em;overflow-x:auto}}</style></head><body>
<h1>{html.escape(title)}</h1>
<h2>Results on the test split (%)</h2>
<p>Mean &plusmn; sample standard deviation over seeds. Macro F1 is averaged over the species
with at least one positive test window; frequent / common / rare as in Figure 2 of Mix2.
Each run's model is the epoch chosen on the validation split (its <code>select_on</code>);
the test split is used only for these numbers. Rows follow the experiments'
<code>report</code> keys (Table I and II of Mix2, the loss comparison of the ADD paper, the
models of seed 002); hover a method for its experiment name.</p>
{paper_tables_html(summary)}
<h2>Embedding statistics (test windows with one species)</h2>
<p>Angular distance d<sub>c</sub> = 1 - cos between test embeddings: mean and coefficient of
variation within each class and between each pair of classes, averaged (seed 001, Figure 5).</p>
{embedding_table_html(summary)}
<h2>Paired t-tests between configurations</h2>
<p>Two-tailed Student's t-test on paired runs (same fold and seed), significance 0.05
(seed 003); the metric is balanced accuracy for single-label experiments, macro F1 otherwise.</p>
{ttest_table_html(runs, compare or [])}
<h2>Learned features: t-SNE and silhouette</h2>
<p>Penultimate-layer embeddings of test windows with exactly one species, from each
experiment's best run on validation; the silhouette coefficient is in the embedding table.</p>
{_img(outputs["tsne"], "t-SNE of test embeddings")}
<h2>Model size against score</h2>{_img(outputs["model_size"], "model size vs score")}
<h2>Runs</h2>
<table><tr><th>experiment</th><th>fold</th><th>seed</th><th>model</th><th>best epoch</th>
<th>val macro F1</th><th>test macro F1</th><th>device</th><th>train s</th></tr>{run_rows}</table>
<h2>Data</h2>
<p>{len(used)} recordings ({used["duration_s"].sum() / 3600:.2f} h),
{len(windows)} windows, {int(windows["empty"].sum())} without any species.</p>
{split_counts.to_html()}
<table><tr><th>code</th><th>name</th><th>group</th><th>windows</th></tr>{species_rows}</table>
<h2>Species frequency</h2>{_img(outputs["frequency"], "species frequency")}
<h2>F1 per species</h2>{_img(outputs["per_species"], "per-species F1")}
<h2>Macro F1 by polyphony</h2>{_img(outputs["polyphony"], "F1 by polyphony")}
<h2>Training curves</h2>{_img(outputs["curves"], "training curves")}
<h2>Input checks</h2>{input_checks_html(manifest, orphan_label_files or [])}
<h2>Provenance</h2>{provenance_html(prov)}
</body></html>
"""
    write_text(doc, outputs["html"])

"""The report: Table I-style metrics (mean +/- std over seeds), per-species tables and the
Mix2 figures, rendered into one self-contained HTML page from a Jinja2 template
(`templates/report.html.j2`, autoescaped) whose tables and figures are filled in by name."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from anuraflow.core.fileio import write_text
from anuraflow.core.provenance import provenance
from anuraflow.data.recordings import unlabelled_mode
from anuraflow.data.species import assign_groups, species_table
from anuraflow.report.data_tables import (
    balance_table,
    checksum_table,
    input_checks,
    provenance_tables,
    recordings_holding,
    split_origin_text,
)
from anuraflow.report.embedding_maps import attach_tsne
from anuraflow.report.evaluation_sections import FIGURES, evaluation_sections
from anuraflow.report.figures import (
    plot_f1_by_polyphony,
    plot_model_size,
    plot_per_species_f1,
    plot_species_frequency,
    plot_training_curves,
    plot_tsne,
)
from anuraflow.report.occupancy_section import occupancy_context
from anuraflow.report.render import render_report
from anuraflow.report.run_tables import (
    embedding_table,
    metrics_table,
    paper_tables,
    run_table,
    ttest_table,
)
from anuraflow.report.species_tables import species_table_tsv, species_tables


def load_runs(metrics_paths: list[str]) -> list[dict]:
    return [json.loads(Path(p).read_text()) for p in metrics_paths]


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


@dataclass
class ReportInputs:
    """What the report reads: every run's metrics and history, and the data tables."""

    metrics: list[str]
    histories: list[str]
    predictions: list[str]
    intervals: list[str]  # each run's recording-bootstrap intervals (JSON)
    embeddings: list[str]  # each run's test_embeddings.parquet (for the t-SNE)
    audio_dir: str  # the standardised recordings, for the review clips
    windows: str
    splits: str
    manifest: str
    split_balance: str
    review_labels: str | None = None  # review_labels.json: the labels files and overrides
    validation: list[str] | None = None  # validate's precision.csv and precision.png
    occupancy: list[str] | None = None  # the occupancy step's files (occupancy_section.py)


@dataclass
class ReportSettings:
    """How the report reads its inputs: the species, the group thresholds, the comparisons."""

    species_entries: list[dict]
    group_thresholds: dict
    title: str = "anuraflow report"
    config: dict | None = None
    orphan_label_files: list[str] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)
    compare: list[list[str]] = field(default_factory=list)
    review_k: int = 5
    bootstrap: dict = field(default_factory=dict)


@dataclass
class ReportData:
    """The inputs read once: runs, windows with their subset, manifest, species groups."""

    runs: list[dict]
    splits: pd.DataFrame
    windows: pd.DataFrame
    manifest: pd.DataFrame
    species: pd.DataFrame  # code, name
    counts: pd.Series  # windows per species
    groups: dict[str, str]  # code -> frequent / common / rare
    review: dict | None = None  # the review labels' record (files, decisions, overrides)

    @property
    def order(self) -> list[str]:
        """Species from the most to the least windows."""
        return self.counts.sort_values(ascending=False).index.tolist()


def read_report_data(inputs: ReportInputs, settings: ReportSettings) -> ReportData:
    splits = pd.read_parquet(inputs.splits)
    windows = pd.read_parquet(inputs.windows).merge(
        splits[["recording_id", "subset"]], on="recording_id"
    )
    table = species_table(settings.species_entries)
    counts = windows[table["code"].tolist()].sum()
    return ReportData(
        runs=load_runs(inputs.metrics),
        splits=splits,
        windows=windows,
        manifest=pd.read_parquet(inputs.manifest),
        species=table,
        counts=counts,
        groups=assign_groups(table, counts.to_dict(), settings.group_thresholds),
        review=json.loads(Path(inputs.review_labels).read_text()) if inputs.review_labels else None,
    )


def write_result_figures(
    d: ReportData,
    summary: pd.DataFrame,
    histories: list[str],
    thresholds: dict,
    outputs: dict[str, str],
) -> None:
    """The figures of the results sections (the evaluation sections write their own)."""
    plot_species_frequency(d.counts, d.groups, thresholds, outputs["frequency"])
    plot_per_species_f1(d.runs, d.order, outputs["per_species"])
    test_polyphony = d.windows.loc[d.windows["subset"] == "test", "polyphony"]
    plot_f1_by_polyphony(d.runs, test_polyphony, outputs["polyphony"])
    curves = {
        f"{r['experiment']} s{r['seed']}": pd.read_csv(p, sep="\t")
        for r, p in zip(d.runs, histories, strict=True)
    }
    plot_training_curves(curves, outputs["curves"])
    plot_tsne(d.runs, outputs["tsne"])  # the runs attach_tsne mapped
    plot_model_size(summary, outputs["model_size"])


def embedded_images(outputs: dict[str, str]) -> dict[str, str]:
    """Every figure as base64, so report.html is one self-contained file."""
    names = ("frequency", "per_species", "polyphony", "curves", "tsne", "model_size", *FIGURES)
    return {n: base64.b64encode(Path(outputs[n]).read_bytes()).decode() for n in names}


def sites_text(used: pd.DataFrame) -> str:
    """The sites the recordings are at (data.site), each with its count of recordings."""
    counts = used["site"].value_counts().sort_index()
    return ", ".join(f"{site} ({n})" for site, n in counts.items())


def data_context(d: ReportData, split_balance: str, split: dict, settings: ReportSettings) -> dict:
    """The Data section: what was used, the split and its balance, the species table."""
    used = d.manifest[d.manifest["status"] == "ok"]
    holding = recordings_holding(d.windows, d.species["code"].tolist())
    split_counts = d.windows.groupby("subset").agg(
        recordings=("recording_id", "nunique"), windows=("window_id", "size")
    )
    return {
        "data": {
            "recordings": len(used),
            "hours": f"{used['duration_s'].sum() / 3600:.2f}",
            "windows": len(d.windows),
            "empty": int(d.windows["empty"].sum()),
            "sites": sites_text(used),
        },
        "subset_table": {
            "header": ["subset", "recordings", "windows"],
            "rows": [
                {"cells": [s, int(r.recordings), int(r.windows)]}
                for s, r in split_counts.iterrows()
            ],
        },
        "split_origin": split_origin_text(d.splits),
        "species_from_labels": (settings.config or {}).get("species") == "from_labels",
        "split_targets": (
            f"test {split.get('test_fraction', 1 / 3):.3g}, "
            f"val {split.get('val_fraction', 0.2):.3g} of the rest"
        ),
        "split_method": split.get("method", "stratified"),
        "balance_table": balance_table(pd.read_csv(split_balance, sep="\t")),
        "species_table": {
            "header": ["code", "name", "group", "recordings", "windows"],
            "rows": [
                {"cells": [c, n, d.groups[c], int(holding[c]), int(d.counts[c])]}
                for c, n in zip(d.species["code"], d.species["name"], strict=True)
            ],
        },
    }


def runs_reading(runs: list[dict], kind: str) -> list[str]:
    """The experiments whose runs read `kind` (metrics.json's input: embedding, waveform)."""
    return sorted({r["experiment"] for r in runs if r.get("input", {}).get("kind") == kind})


def provenance_context(d: ReportData, settings: ReportSettings) -> dict:
    """Input checks and provenance: what was skipped, and what produced the results."""
    prov = provenance(settings.config, d.manifest)
    checksums = checksum_table(prov.pop("inputs", {}))
    return {
        "checks": input_checks(
            d.manifest, settings.orphan_label_files, settings.ignored_files, d.review,
            unlabelled_mode((settings.config or {}).get("data", {}))[0],
        ),  # fmt: skip
        "provenance_json": json.dumps(prov, indent=2, default=str),
        "provenance_tables": provenance_tables(prov),
        "checksum_table": checksums,
    }


def validation_context(paths: list[str] | None) -> dict | None:
    """The section of `validate`'s table and curves (docs/detection.md); none without it."""
    from anuraflow.report.validation_page import HEADER, table_notes, table_rows

    if not paths:
        return None
    table, figure = paths
    records = pd.read_csv(table).to_dict("records")
    return {
        "table": {"header": HEADER, "rows": [{"cells": cells} for cells in table_rows(records)]},
        "notes": table_notes(records),
        "image": base64.b64encode(Path(figure).read_bytes()).decode(),
    }


def contents(validation: dict | None, occupancy: dict | None) -> list[tuple[str, str]]:
    """The table of contents: the archive's sections, where they exist, after the review."""
    at = [anchor for anchor, _ in CONTENTS].index("review") + 1
    extra = [("validation", "Precision on the archive")] if validation else []
    extra += [("occupancy", "Occupancy and call density")] if occupancy else []
    return [*CONTENTS[:at], *extra, *CONTENTS[at:]]


def build_report(inputs: ReportInputs, settings: ReportSettings, outputs: dict[str, str]) -> None:
    """Write metrics_table.tsv, per_species_table.tsv, the figures and a self-contained
    report.html."""
    d = read_report_data(inputs, settings)
    attach_tsne(d.runs, inputs.embeddings)
    summary = metrics_table(d.runs)
    write_text(
        summary.drop(columns="published").to_csv(sep="\t", index=False, float_format="%.3f"),
        outputs["table"],
    )
    per_species = species_tables(d.runs, d.order, d.groups)
    write_text(species_table_tsv(per_species), outputs["species_table"])
    write_result_figures(d, summary, inputs.histories, settings.group_thresholds, outputs)
    evaluation = evaluation_sections(
        d.runs,
        inputs.predictions,
        [json.loads(Path(p).read_text()) for p in inputs.intervals],
        settings.compare,
        outputs,
        {"audio_dir": inputs.audio_dir, "k": settings.review_k},
        **settings.bootstrap,
    )
    validation = validation_context(inputs.validation)
    occupancy = occupancy_context(inputs.occupancy)
    context = {
        "title": settings.title,
        "validation": validation,
        "occupancy": occupancy,
        "contents": contents(validation, occupancy),
        "images": embedded_images(outputs),
        "paper_tables": paper_tables(summary),
        "species_tables": per_species,
        "embedding_table": embedding_table(summary),
        "ttest_table": ttest_table(d.runs, settings.compare),
        "run_table": run_table(d.runs),
        # keys set in every experiment (a smoke run's model or epochs): rows keep their labels
        "overrides": (settings.config or {}).get("experiment_overrides") or {},
        "embedding_runs": runs_reading(d.runs, "embedding"),
        "finetuned_runs": runs_reading(d.runs, "waveform"),
        **evaluation,
        **data_context(d, inputs.split_balance, (settings.config or {}).get("split", {}), settings),
        **provenance_context(d, settings),
    }
    write_text(render_report(context), outputs["html"])

"""The occupancy step's rules (target `occupancy`, docs/detection.md "From detections to
occupancy"): detection histories and their files (rule detection_histories), the occupancy
models per species (rule occupancy_fit) and call density per site (rule call_density)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from anuraflow.core.fileio import write_parquet, write_text
from anuraflow.detect.predict_outputs import ModelFacts, read_records, read_scores
from anuraflow.detect.validation import ValidateInputs, reviewed_windows
from anuraflow.detect.validation_sample import SampleDesign, species_edges
from anuraflow.ecology.call_density import WindowSites, species_call_density
from anuraflow.ecology.histories import detection_histories, recording_inventory, wide
from anuraflow.ecology.history_files import write_history_files
from anuraflow.ecology.occasions import Occasions
from anuraflow.ecology.occupancy_models import FitSettings, Survey, fit_model, naive_estimate
from anuraflow.report.occupancy_figures import plot_histories, plot_occupancy

FEW_SITES = 10  # below it an occupancy estimate rests on too few sites to say much
VALIDATION_KEYS = ("reviewed", "precision", "precision_low", "precision_high", "target_met", "rule")


@dataclass(frozen=True)
class ArchiveInputs:
    """predict's window scores and records, and validate's precision.csv where there is one."""

    scores: list[str]
    records: list[str]
    precision: str | None = None


def published_thresholds(model: ModelFacts, precision: str | None) -> tuple[dict, str, dict]:
    """(threshold per species, where they come from, validate's row per species): validate's
    published thresholds where it ran, the model's tuned ones otherwise."""
    if not precision:
        return dict(model.thresholds), "predict: the model's tuned thresholds", {}
    # codes as written: "NA" or "null" is a species code, not a missing value
    table = pd.read_csv(precision, keep_default_na=False, na_values=[""]).set_index("species")
    validation = {
        code: {k: (None if pd.isna(row[k]) else row[k]) for k in VALIDATION_KEYS}
        for code, row in table.iterrows()
    }
    return table["threshold"].astype(float).to_dict(), "validate: precision.csv", validation


def write_detection_histories(
    inputs: ArchiveInputs, occasions: Occasions, model: dict, outputs: dict[str, str]
) -> pd.DataFrame:
    """Rule detection_histories: histories.parquet, the R-ready folder, the excluded
    recordings (TSV) and the heat maps."""
    run = read_records(inputs.records)
    codes = run.model.codes
    thresholds, source, validation = published_thresholds(run.model, inputs.precision)
    inventory = recording_inventory(run.recordings)
    lost_sites = sorted(set(inventory.excluded["site"]) - set(inventory.used["site"]))
    for row in inventory.excluded.itertuples():
        print(f"left out: {row.file} ({row.reason})")
    if lost_sites:
        print(f"sites without a usable recording, left out: {', '.join(map(str, lost_sites))}")
    scores = read_scores(inputs.scores, with_ids=False)
    histories = detection_histories(scores, inventory, codes, thresholds, occasions)
    write_parquet(histories, outputs["histories"])
    one = histories[histories["species"] == codes[0]]
    sidecar = {
        "model": model,
        "codes": codes,
        "names": run.model.name_of,
        "thresholds": thresholds,
        "threshold_source": source,
        "validation": validation,
        "occasion": {"kind": occasions.kind, "means": occasions.describe(),
                     "first": one["occasion"].min(), "last": one["occasion"].max(),
                     "count": int(one["occasion"].nunique())},  # fmt: skip
        "sites": sorted(one["site"].unique().tolist()),
        "sites_left_out": lost_sites,
        "recordings_used": len(inventory.used),
        "recordings_left_out": len(inventory.excluded),
        "cells_recorded_without_window": int(
            ((one["effort_min"] > 0) & one["detection"].isna()).sum()
        ),
    }  # fmt: skip
    write_history_files(histories, inventory.used, sidecar, outputs["folder"])
    write_text(inventory.excluded.to_csv(sep="\t", index=False), outputs["excluded"])
    tables = {code: wide(histories, code, "detection") for code in codes}
    plot_histories(tables, wide(histories, codes[0], "effort_min"), outputs["figure"])
    print(f"{len(sidecar['sites'])} sites x {sidecar['occasion']['count']} occasions "
          f"({occasions.describe()}), {len(inventory.used)} recordings; thresholds from "
          f"{source}")  # fmt: skip
    return histories


ESTIMATE_COLUMNS = [
    "species", "model", "status", "psi", "psi_low", "psi_high", "p", "p_low", "p_high", "fp",
    "fp_low", "fp_high", "sites", "sites_detected", "occasions", "threshold",
    "validated_precision", "max_rhat", "min_ess", "divergences", "seconds", "note",
]  # fmt: skip


def estimate_rows(code: str, survey: Survey, estimates: list, sidecar: dict) -> list[dict]:
    """The estimates table's rows of one species, one per model."""
    detected = int((np.nan_to_num(survey.y, nan=0).max(axis=1) > 0).sum())
    base = {
        "species": code, "sites": int(survey.surveyed.sum()), "sites_detected": detected,
        "occasions": len(survey.occasions), "threshold": sidecar["thresholds"][code],
        "validated_precision": (sidecar["validation"].get(code) or {}).get("precision"),
        "note": (f"only {int(survey.surveyed.sum())} sites: an estimate from so few says "
                 "little" if survey.surveyed.sum() < FEW_SITES else ""),
    }  # fmt: skip
    rows = []
    for e in estimates:
        row = {**base, "model": e.model, "status": e.status, **e.diagnostics}
        for name, (mean, low, high) in e.values.items():
            row.update({name: mean, f"{name}_low": low, f"{name}_high": high})
        rows.append(row)
    return rows


def confirmed_calls(decisions_path: str | None, site_of: dict[str, str]) -> pd.Series:
    """Reviewed windows decided present, per species and site: a site with one is occupied for
    certain. biolith 0.1.0's models take no certain detections, so they stand beside the
    posterior presence (site_presence.csv) rather than in the fit."""
    if not decisions_path:
        return pd.Series(dtype=int)
    decisions = pd.read_parquet(decisions_path)
    present = decisions[decisions["decision"] == "present"]
    sites = present["recording"].map(site_of)
    return present.assign(site=sites).dropna(subset=["site"]).groupby(["species", "site"]).size()


def fit_occupancy(
    histories_path: str, sidecar_path: str, settings: FitSettings, outputs: dict[str, str],
    decisions: tuple[str, list[str]] | None = None,
) -> pd.DataFrame:  # fmt: skip
    """Rule occupancy_fit: per species the naive estimate and every configured model
    (estimates.csv), posterior presence per site beside the sites' confirmed calls
    (site_presence.csv; `decisions`: validate's decisions.parquet and predict's record files),
    and the figure."""
    histories = pd.read_parquet(histories_path)
    sidecar = json.loads(Path(sidecar_path).read_text())
    confirmed = (
        confirmed_calls(decisions[0], read_records(decisions[1]).site_of)
        if decisions
        else pd.Series(dtype=int)
    )
    rows, presence = [], []
    for code in sidecar["codes"]:
        survey = Survey.from_histories(histories, code)
        estimates = [naive_estimate(survey, settings.level)]
        for model in settings.models:
            estimates.append(fit_model(survey, model, settings))
            print(f"{code} {model}: {estimates[-1].status} "
                  f"({estimates[-1].diagnostics.get('seconds')} s)", flush=True)  # fmt: skip
        rows += estimate_rows(code, survey, estimates, sidecar)
        table = pd.DataFrame({"species": code, "site": survey.sites})
        table["occasions_detected"] = np.nansum(survey.y, axis=1).astype(int)
        table["confirmed_calls"] = [int(confirmed.get((code, site), 0)) for site in survey.sites]
        for e in estimates:
            column = "detected" if e.model == "naive" else f"presence_{e.model}"
            table[column] = e.presence if e.presence is not None else np.nan
        presence.append(table)
    estimates_table = pd.DataFrame(rows).reindex(columns=ESTIMATE_COLUMNS)
    write_text(estimates_table.to_csv(index=False, float_format="%.6g"), outputs["estimates"])
    write_text(pd.concat(presence).to_csv(index=False, float_format="%.6g"), outputs["presence"])
    plot_occupancy(estimates_table, outputs["figure"])
    return estimates_table


def write_call_density(
    inputs: ValidateInputs, design: SampleDesign, level: float, output: str
) -> pd.DataFrame:
    """Rule call_density: per species the call density over the archive validate drew from and
    at each of its sites, from the stratified draw's decisions (call_density.csv); `inputs` as
    validate's estimates read them."""
    run = read_records(inputs.records).without(inputs.exclude)
    scores = read_scores(inputs.scores, with_ids=False, exclude=inputs.exclude)
    sites = WindowSites.of_recordings(scores["recording_id"], run.site_of)
    sample = pd.read_parquet(inputs.sample)
    decisions = pd.read_parquet(inputs.decisions)
    parts = []
    for code in run.model.codes:
        values = scores[code].to_numpy(dtype=float)
        reviewed = reviewed_windows(code, decisions, sample, scores)
        drawn = reviewed[reviewed["stratified"]]
        parts.append(species_call_density(code, values, sites, species_edges(values, design),
                                          drawn, level, seed=design.seed))  # fmt: skip
    table = pd.concat(parts, ignore_index=True)
    write_text(table.to_csv(index=False, float_format="%.6g"), output)
    return table

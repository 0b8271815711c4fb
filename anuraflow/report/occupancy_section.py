"""The report's occupancy section (target `occupancy`): per species and model the occupancy with
its interval, detection and false-positive rates, convergence; the heat maps of the detection
histories with the effort; call density per site where validate ran."""

from __future__ import annotations

import base64
from pathlib import Path

import pandas as pd

from anuraflow.report.validation_page import THRESHOLD, _fmt, _with_interval

ESTIMATE_HEADER = ["species", "model", "occupancy (interval)", "detection per occasion",
                   "false-positive rate", "sites (detected)", "occasions", "threshold",
                   "validated precision", "fit"]  # fmt: skip
DENSITY_HEADER = ["species", "site", "windows", "call density (interval)", "note"]


def estimate_rows(table: pd.DataFrame) -> list[list]:
    """estimates.csv's rows as the report's cells; a fit that did not converge says so (the
    notes below the table say why)."""
    out = []
    for r in table.itertuples():
        fit = "–" if r.model == "naive" else (
            f"R-hat {r.max_rhat:.3f}" if r.status == "ok" else r.status.split(":")[0])  # fmt: skip
        out.append([
            r.species, r.model, _with_interval(r.psi, r.psi_low, r.psi_high),
            _with_interval(r.p, r.p_low, r.p_high), _with_interval(r.fp, r.fp_low, r.fp_high),
            f"{r.sites} ({r.sites_detected})", r.occasions, _fmt(r.threshold, THRESHOLD),
            _fmt(r.validated_precision), fit,
        ])  # fmt: skip
    return out


def density_rows(table: pd.DataFrame) -> list[list]:
    return [[r.species, r.site, r.windows,
             _with_interval(r.density, r.density_low, r.density_high, "{:.3f}"),
             r.note if isinstance(r.note, str) else ""]
            for r in table.itertuples()]  # fmt: skip


def occupancy_context(paths: list[str] | None) -> dict | None:
    """The section's tables and figures from the occupancy step's files (estimates.csv,
    occupancy.png, histories.png, and call_density.csv where validate ran); None without it."""
    if not paths:
        return None
    estimates, figure, histories, *density = paths
    table = pd.read_csv(estimates, keep_default_na=False, na_values=[""])
    # one line per note, naming its species (every species shares "only 4 sites" on the demo)
    noted = table[table["note"].fillna("") != ""].drop_duplicates(["species", "note"])
    notes = [f"{', '.join(part['species'])}: {note}" for note, part in noted.groupby("note")]
    notes += [f"{r.species}, {r.model}: {r.status}" for r in table.itertuples() if r.status != "ok"]
    section = {
        "table": {"header": ESTIMATE_HEADER, "rows": [{"cells": c} for c in estimate_rows(table)]},
        "notes": notes,
        "image": base64.b64encode(Path(figure).read_bytes()).decode(),
        "histories_image": base64.b64encode(Path(histories).read_bytes()).decode(),
        "density": None,
    }
    if density:
        rows = density_rows(pd.read_csv(density[0], keep_default_na=False, na_values=[""]))
        section["density"] = {"header": DENSITY_HEADER, "rows": [{"cells": c} for c in rows]}
    return section

"""The detection histories as R's occupancy packages read them, without edits: per species a
site x occasion CSV of 1 / 0 / NA (`unmarkedFrameOccu(y = ...)`, spOccupancy's `y`), the
effort and the occasions' day of year as site x occasion covariate CSVs (`obsCovs`,
`det.covs`), site covariates in their own CSV (`siteCovs`, `occ.covs`), and a sidecar JSON with
the model, the thresholds and their validated precision, the occasions and the recordings
left out. Species codes are kept as written in the JSON; a file name only replaces the
characters a file system would not take."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from anuraflow.core.fileio import write_json, write_text
from anuraflow.ecology.histories import wide

NA = "NA"  # R's read.csv and pandas' read_csv both read it as missing


def species_file_names(codes: list[str]) -> dict[str, str]:
    """code -> `detection_history_<code>.csv`, characters outside [A-Za-z0-9_.-] as '-', a
    number added where two codes would share a name."""
    names, taken = {}, set()
    for code in codes:
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", code).strip("-") or "species"
        name, k = f"detection_history_{stem}.csv", 2
        while name.lower() in taken:
            name, k = f"detection_history_{stem}_{k}.csv", k + 1
        taken.add(name.lower())
        names[code] = name
    return names


def site_covariates(histories: pd.DataFrame, used: pd.DataFrame) -> pd.DataFrame:
    """Per site: its usable recordings (`used`, each counted once), minutes recorded,
    occasions with effort, first and last of them (from the first species' rows: effort is
    the same for every species)."""
    one = histories[histories["species"] == histories["species"].iloc[0]]
    surveyed = one[one["effort_min"] > 0]
    out = one.groupby("site").agg(effort_min=("effort_min", "sum"))
    out.insert(
        0, "recordings", used.groupby("site").size().reindex(out.index).fillna(0).astype(int)
    )
    out["occasions_surveyed"] = (
        surveyed.groupby("site").size().reindex(out.index).fillna(0).astype(int)
    )
    out["first_occasion"] = surveyed.groupby("site")["occasion"].min().reindex(out.index)
    out["last_occasion"] = surveyed.groupby("site")["occasion"].max().reindex(out.index)
    return out.reset_index()


def write_history_files(
    histories: pd.DataFrame, used: pd.DataFrame, sidecar: dict, folder: str | Path
) -> dict:
    """Every file of the folder; returns the sidecar as written (with the files' names)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    codes = list(dict.fromkeys(histories["species"]))
    names = species_file_names(codes)
    for code in codes:
        table = wide(histories, code, "detection").astype("Int8")
        write_text(table.to_csv(na_rep=NA), folder / names[code])
    first = codes[0]
    write_text(wide(histories, first, "effort_min").to_csv(na_rep=NA, float_format="%.4g"),
               folder / "effort.csv")  # fmt: skip
    days = wide(histories.assign(day=pd.to_datetime(histories["occasion_start"]).dt.dayofyear),
                first, "day")  # fmt: skip
    write_text(days.to_csv(na_rep=NA), folder / "day_of_year.csv")
    write_text(site_covariates(histories, used).to_csv(index=False, na_rep=NA, float_format="%.4g"),
               folder / "site_covariates.csv")  # fmt: skip
    sidecar = {
        **sidecar,
        "files": {
            "detection_histories": names,
            "effort": "effort.csv",
            "day_of_year": "day_of_year.csv",
            "site_covariates": "site_covariates.csv",
        },
    }
    write_json(sidecar, folder / "histories.json")
    return sidecar


def read_history_csv(path: str | Path) -> pd.DataFrame:
    """A species' detection-history CSV as written (site index, occasions as columns)."""
    return pd.read_csv(path, index_col="site", na_values=[NA], keep_default_na=False)

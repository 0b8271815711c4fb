"""One annotation table for a whole dataset (CSV or TSV, a row per call naming its recording),
and the Raven multi-file tables read that way."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

from anuraflow.data.folders import nfc
from anuraflow.data.label_rows import (
    AnnotationError,
    call_row,
    calls_frame,
    check_times,
    head_lines,
    header_names,
    parse_number,
)
from anuraflow.data.raven import (
    RAVEN_BEGIN,
    RAVEN_END,
    is_multi_file,
)

TABLE_COLUMNS = {"recording": "fname", "start": "start", "end": "end", "label": "label"}


def native_raven_table(path: str | Path, columns: dict) -> bool:
    """Whether a whole-dataset table is a Raven multi-file selection table, read natively
    (each call at File Offset (s) within its Begin File); `refuse_concatenated_times` first."""
    header = header_names(head_lines(path)[:1])
    refuse_concatenated_times(path, header, columns)
    return is_multi_file(header)


def refuse_concatenated_times(path: str | Path, header: list[str], columns: dict) -> None:
    """Naming a multi-file table's Begin/End Time (s) as the calls' times is an error: they
    run on the timeline of all its files played end to end."""
    named = {str(columns.get(k, "")).strip().lower() for k in ("start", "end")}
    if is_multi_file(header) and named & {RAVEN_BEGIN, RAVEN_END}:
        raise AnnotationError(
            path,
            1,
            "a Raven multi-file selection table: its Begin Time (s) and End Time (s) run on "
            "the timeline of all its files played end to end, not within each recording. "
            "Leave recording, start and end out of data.annotation_table and it is read "
            "natively: a call starts at File Offset (s) in its Begin File (or Begin Path) "
            "and ends File Offset (s) + End Time (s) - Begin Time (s)",
        )


@functools.lru_cache(maxsize=4)
def _table_rows(path: str, mtime: float, columns: tuple) -> dict[str, pd.DataFrame]:
    """A whole-dataset annotation table read once per process (the per-recording jobs run as
    threads of one process), grouped by recording id; `mtime` keys the cache to the file."""
    sep = "\t" if Path(path).suffix.lower() in (".tsv", ".txt") else ","
    table = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    recording, start, end, label = columns
    header = [c.strip().lower() for c in table.columns]
    refuse_concatenated_times(path, header, {"start": start, "end": end})
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise AnnotationError(
            path,
            1,
            f"no column {', '.join(map(repr, missing))} (the columns "
            f"are {', '.join(table.columns)}); set data.annotation_table",
        )
    table["line"] = np.arange(len(table)) + 2
    ids = table[recording].map(lambda name: nfc(Path(name).stem) if name else name)
    return dict(tuple(table.assign(_id=ids).groupby("_id")))


def table_recordings(path: str | Path, columns: dict) -> set[str]:
    """The recording ids a whole-dataset annotation table names."""
    cols = {**TABLE_COLUMNS, **columns}
    key = tuple(cols[k] for k in TABLE_COLUMNS)
    return set(_table_rows(str(path), Path(path).stat().st_mtime, key))


def parse_annotation_table(path: str | Path, recording_id: str, columns: dict) -> pd.DataFrame:
    """One recording's calls from a whole-dataset table (CSV, or TSV for .tsv / .txt) with a
    row per call: the recording's file name, start, end and label (`CODE_Q`) columns, named by
    `columns` (keys recording, start, end, label). Errors name the table's line."""
    cols = {**TABLE_COLUMNS, **columns}
    key = tuple(cols[k] for k in TABLE_COLUMNS)
    groups = _table_rows(str(path), Path(path).stat().st_mtime, key)
    rows, where = [], Path(path)
    for values in groups.get(recording_id, pd.DataFrame()).to_dict("records"):
        line = int(values["line"])
        start = parse_number(where, line, "start time", values[cols["start"]])
        end = parse_number(where, line, "end time", values[cols["end"]])
        check_times(where, line, start, end)
        label = values[cols["label"]].strip()
        if not label:
            raise AnnotationError(path, line, "empty label")
        rows.append(call_row(line, start, end, label, np.nan, np.nan))
    return calls_frame(rows, recording_id, Path(path))

"""Raven selection tables, single-file and Raven Pro's multi-file ones (each selection timed
within its own file by File Offset (s))."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from anuraflow.core.fileio import write_text
from anuraflow.data.folders import nfc
from anuraflow.data.label_rows import (
    AnnotationError,
    call_row,
    calls_frame,
    check_times,
    header_names,
    parse_number,
    read_lines,
)

RAVEN_LABEL_COLUMNS = ("species", "annotation", "label")  # matched case-insensitively


RAVEN_BEGIN, RAVEN_END = "begin time (s)", "end time (s)"


# Raven Pro's multi-file columns: the selection's file, and its start within that file
RAVEN_FILE, RAVEN_PATH, RAVEN_OFFSET = "begin file", "begin path", "file offset (s)"


def is_multi_file(header: list[str]) -> bool:
    """A Raven header (lower case) of a multi-file selection table: its Begin/End Time (s) run
    on the timeline of several files played one after another."""
    return RAVEN_OFFSET in header and (RAVEN_FILE in header or RAVEN_PATH in header)


def raven_reference(fields: list[str], col: dict[str, int]) -> str:
    """The file a multi-file row belongs to, as written: its Begin Path, else its Begin File."""
    path = fields[col[RAVEN_PATH]].strip() if RAVEN_PATH in col else ""
    return path or fields[col[RAVEN_FILE]].strip()


def _raven_header(path: Path, lines: list[str]) -> tuple[list[str], str]:
    if not lines:
        raise AnnotationError(path, None, "file is empty (a Raven table needs a header row)")
    header = header_names(lines)
    for needed in (RAVEN_BEGIN, RAVEN_END):
        if needed not in header:
            raise AnnotationError(path, 1, f"Raven header has no {needed!r} column")
    label_col = next((c for c in RAVEN_LABEL_COLUMNS if c in header), None)
    if label_col is None:
        raise AnnotationError(path, 1, "Raven header has no Species/Annotation/Label column")
    return header, label_col


def raven_rows(path: Path, lines: list[str], header: list[str]):
    """(line number, fields, column index) of every selection row of a Raven table: blank
    lines and waveform-view duplicates of a selection left out."""
    col = {name: header.index(name) for name in header if name}
    for number, raw in enumerate(lines[1:], start=2):
        if not raw.strip():
            continue
        fields = raw.split("\t")
        fields += [""] * (len(header) - len(fields))  # Raven drops trailing empty cells
        view = fields[col["view"]].strip() if "view" in col else ""
        if view and not view.lower().startswith("spectrogram"):
            continue  # waveform-view duplicates of the same selection
        yield number, fields, col


def _raven_times(path: Path, number: int, fields: list[str], col: dict, multi: bool):
    """A row's call start and end within its own recording: Begin/End Time (s), or in a
    multi-file table File Offset (s) and File Offset (s) + End Time (s) - Begin Time (s)."""
    begin = parse_number(path, number, "begin time", fields[col[RAVEN_BEGIN]])
    end = parse_number(path, number, "end time", fields[col[RAVEN_END]])
    check_times(path, number, begin, end)
    if not multi:
        return begin, end
    offset = parse_number(path, number, "file offset", fields[col[RAVEN_OFFSET]])
    check_times(path, number, offset, offset + (end - begin))
    return offset, offset + (end - begin)


def parse_raven_table(
    path: str | Path,
    recording_id: str,
    on_blank_label: str = "fail",
    files: tuple[str, ...] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Raven selection table; the label column may be spelled `Species` or `Annotation`.

    A multi-file table (Begin File or Begin Path, and File Offset (s)) gives this recording
    the rows whose file is one of `files` (as written in the table; by default the rows whose
    file name is `recording_id`), timed within that file.

    Rows whose label is blank fail, or with `on_blank_label="skip"` are left out and reported
    in the returned list of "file:line: reason" strings, so nothing disappears unannounced.
    """
    path = Path(path)
    lines = read_lines(path)
    header, label_col = _raven_header(path, lines)
    multi = is_multi_file(header)
    if not multi and RAVEN_FILE in header:
        _refuse_files_without_offset(path, lines, header)
    rows: list[dict] = []
    skipped: list[str] = []
    for number, fields, col in raven_rows(path, lines, header):
        if multi and not _is_own_row(raven_reference(fields, col), recording_id, files):
            continue
        start, end = _raven_times(path, number, fields, col, multi)
        label = fields[col[label_col]].strip()
        if not label:
            if on_blank_label == "skip":
                skipped.append(f"{path}:{number}: blank {label_col} label, row skipped")
                continue
            raise AnnotationError(path, number, f"blank {label_col} label")
        low = fields[col["low freq (hz)"]] if "low freq (hz)" in col else ""
        high = fields[col["high freq (hz)"]] if "high freq (hz)" in col else ""
        rows.append(
            call_row(
                number,
                start,
                end,
                label,
                parse_number(path, number, "low frequency", low) if low else np.nan,
                parse_number(path, number, "high frequency", high) if high else np.nan,
            )
        )
    return calls_frame(rows, recording_id, path), skipped


def _refuse_files_without_offset(path: Path, lines: list[str], header: list[str]) -> None:
    """A table whose Begin File names several files but has no File Offset (s): its times run
    on the files played end to end, and nothing says where each file starts."""
    files = {}
    for number, fields, col in raven_rows(path, lines, header):
        files.setdefault(fields[col[RAVEN_FILE]].strip(), number)
    if len(files) > 1:
        second = list(files.items())[1]  # in the order the files first appear
        raise AnnotationError(
            path,
            second[1],
            f"a Raven table over {len(files)} files (this row: {second[0]!r}) without a File "
            "Offset (s) column: its times run on all the files played end to end; add the "
            "File Offset measurement in Raven and save the table again",
        )


def reference_parts(reference: str) -> tuple[str, str]:
    """(folder name, file stem) of a file as a Raven table names it (Windows paths too), in
    NFC; the folder is empty for a bare Begin File."""
    parts = nfc(reference).replace("\\", "/").split("/")
    return (parts[-2] if len(parts) > 1 else ""), Path(parts[-1]).stem


def _is_own_row(reference: str, recording_id: str, files: tuple[str, ...] | None) -> bool:
    if files is not None:
        return reference in files
    return reference_parts(reference)[1] == nfc(recording_id)


def is_raven_table(path: str | Path) -> bool:
    lines = read_lines(Path(path))
    return bool(lines) and RAVEN_BEGIN in lines[0].lower()


# Written here, beside the reader: the tables predict and search write for Raven Pro. The
# columns of a spectrogram-view selection, before a table's own columns:
RAVEN_VIEW_COLUMNS = [
    "Selection",
    "View",
    "Channel",
    "Begin Time (s)",
    "End Time (s)",
    "Low Freq (Hz)",
    "High Freq (Hz)",
]


def raven_table_name(recording_id: str) -> str:
    """The name Raven Pro gives a recording's first selection table."""
    return f"{recording_id}.Table.1.selections.txt"


def write_selection_table(
    path: str | Path, begin_s, end_s, band_hz: tuple, columns: dict[str, list]
) -> None:
    """A Raven Pro selection table (tab-separated, one spectrogram-view row per selection,
    numbered from 1), then `columns` (name -> one value per selection); the frequency
    columns hold `band_hz`, the band the model listens to. Header only when empty."""
    lines = ["\t".join([*RAVEN_VIEW_COLUMNS, *columns])]
    band = [f"{band_hz[0]:.1f}", f"{band_hz[1]:.1f}"]
    rows = zip(begin_s, end_s, *columns.values(), strict=True)
    for i, (begin, end, *values) in enumerate(rows, start=1):
        fields = [i, "Spectrogram 1", 1, f"{begin:.6f}", f"{end:.6f}", *band, *values]
        lines.append("\t".join(map(str, fields)))
    write_text("\n".join(lines) + "\n", path)

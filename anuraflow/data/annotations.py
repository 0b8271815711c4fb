"""Annotation formats: AnuraSet/Audacity label tracks and Raven selection tables.

Both are normalised to one table, one row per call, keeping the file and line it came from so
that every label in a result can be traced back to a line someone wrote.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
import pandas as pd

from anuraflow.core.fileio import file_sha256, write_parquet
from anuraflow.data.folders import nfc

COLUMNS = [
    "recording_id",
    "start_s",
    "end_s",
    "species",
    "quality",
    "low_freq_hz",
    "high_freq_hz",
    "source_file",
    "source_line",
]
RAVEN_LABEL_COLUMNS = ("species", "annotation", "label")  # matched case-insensitively
RAVEN_BEGIN, RAVEN_END = "begin time (s)", "end time (s)"
# Raven Pro's multi-file columns: the selection's file, and its start within that file
RAVEN_FILE, RAVEN_PATH, RAVEN_OFFSET = "begin file", "begin path", "file offset (s)"
QUALITY_SUFFIX = re.compile(r"^(?P<code>[^_]+)_(?P<quality>[A-Za-z]+)$")
# Qualities that mark a call to ignore: AnuraSet's FALSE, also spelled LALSE in its raw labels
IGNORED_QUALITIES = frozenset({"FALSE", "LALSE"})


class AnnotationError(ValueError):
    """An annotation that cannot be used; the message names the file and the line."""

    def __init__(self, path: str | Path, line: int | None, message: str):
        self.path, self.line = str(path), line
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")


def split_code_quality(label: str) -> tuple[str, str | None]:
    """'BOAFAB_M' -> ('BOAFAB', 'M'), 'BOAFAB_FALSE' -> ('BOAFAB', 'FALSE'); a label without a
    letters-only suffix keeps quality None."""
    match = QUALITY_SUFFIX.match(label)
    if match:
        return match["code"], match["quality"].upper()
    return label, None


def read_lines(path: Path) -> list[str]:
    # utf-8-sig strips a BOM; splitlines handles CRLF and a missing final newline.
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise AnnotationError(
            path, line, f"not UTF-8 text (byte 0x{raw[err.start]:02X}); save the file as UTF-8"
        ) from None


def head_lines(path: str | Path, size: int = 1 << 16) -> list[str]:
    """The first lines of a text file, to tell what it is: bytes that are not UTF-8 (a README
    in Latin-1) are replaced here, and refused with file and line only if it is parsed."""
    with open(path, "rb") as fh:
        return fh.read(size).decode("utf-8-sig", errors="replace").splitlines()


def header_names(lines: list[str]) -> list[str]:
    """A tab-separated table's column names, stripped and in lower case (Raven's spelling
    varies in case); none for an empty file."""
    return [h.strip().lower() for h in lines[0].split("\t")] if lines else []


def looks_like_label_track(lines: list[str]) -> bool:
    """Whether text reads as an Audacity label track: its first line `start<TAB>end<TAB>...`
    with numeric times (a README does not)."""
    first = next((line for line in lines if line.strip()), "")
    fields = first.split("\t")
    try:
        float(fields[0]), float(fields[1])
    except (ValueError, IndexError):
        return False
    return len(fields) >= 3


def _number(path: Path, line: int, field: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise AnnotationError(path, line, f"{field} {text!r} is not a number") from None
    if not np.isfinite(value):
        raise AnnotationError(path, line, f"{field} {text!r} is not finite")
    return value


def _check_times(path: Path, line: int, start: float, end: float) -> None:
    if start < 0:
        raise AnnotationError(path, line, f"start time {start} is negative")
    if end < start:
        raise AnnotationError(path, line, f"end time {end} is before start time {start}")


def _call_row(line: int, start: float, end: float, label: str, low: float, high: float) -> dict:
    """One normalised call, its quality suffix split off."""
    code, quality = split_code_quality(label)
    return dict(
        start_s=start,
        end_s=end,
        species=code,
        quality=quality,
        low_freq_hz=low,
        high_freq_hz=high,
        source_line=line,
    )


def _frame(rows: list[dict], recording_id: str, path: Path) -> pd.DataFrame:
    df = pd.DataFrame(
        rows, columns=[c for c in COLUMNS if c not in ("recording_id", "source_file")]
    )
    df["recording_id"] = recording_id
    df["source_file"] = str(path)
    return df[COLUMNS].astype(
        {
            "start_s": "float64",
            "end_s": "float64",
            "low_freq_hz": "float64",
            "high_freq_hz": "float64",
            "source_line": "int64",
        }
    )


def parse_audacity_labels(path: str | Path, recording_id: str) -> pd.DataFrame:
    """AnuraSet strong labels: `start<TAB>end<TAB>CODE_Q` per line.

    A line beginning with a backslash is Audacity's spectral-selection line
    (`\\<TAB>low<TAB>high`) and sets the frequency range of the label above it.
    """
    path = Path(path)
    rows: list[dict] = []
    for number, raw in enumerate(read_lines(path), start=1):
        if not raw.strip():
            continue
        fields = raw.split("\t")
        if fields[0].strip() == "\\":
            if not rows or len(fields) < 3:
                raise AnnotationError(path, number, "frequency line without a label line above")
            rows[-1]["low_freq_hz"] = _number(path, number, "low frequency", fields[1])
            rows[-1]["high_freq_hz"] = _number(path, number, "high frequency", fields[2])
            continue
        if len(fields) != 3:
            raise AnnotationError(
                path,
                number,
                f"expected 3 tab-separated fields (start, end, label), got {len(fields)}",
            )
        start = _number(path, number, "start time", fields[0])
        end = _number(path, number, "end time", fields[1])
        _check_times(path, number, start, end)
        label = fields[2].strip()
        if not label:
            raise AnnotationError(path, number, "empty label")
        rows.append(_call_row(number, start, end, label, np.nan, np.nan))
    return _frame(rows, recording_id, path)


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
    begin = _number(path, number, "begin time", fields[col[RAVEN_BEGIN]])
    end = _number(path, number, "end time", fields[col[RAVEN_END]])
    _check_times(path, number, begin, end)
    if not multi:
        return begin, end
    offset = _number(path, number, "file offset", fields[col[RAVEN_OFFSET]])
    _check_times(path, number, offset, offset + (end - begin))
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
            _call_row(
                number,
                start,
                end,
                label,
                _number(path, number, "low frequency", low) if low else np.nan,
                _number(path, number, "high frequency", high) if high else np.nan,
            )
        )
    return _frame(rows, recording_id, path), skipped


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
        start = _number(where, line, "start time", values[cols["start"]])
        end = _number(where, line, "end time", values[cols["end"]])
        _check_times(where, line, start, end)
        label = values[cols["label"]].strip()
        if not label:
            raise AnnotationError(path, line, "empty label")
        rows.append(_call_row(line, start, end, label, np.nan, np.nan))
    return _frame(rows, recording_id, Path(path))


def read_annotation_file(
    path: str | Path,
    recording_id: str,
    on_blank_label: str = "fail",
    table_columns: dict | None = None,
    table_files: tuple[str, ...] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Parse a label file of either format (told apart by the Raven header), or with
    `table_columns` this recording's rows of a whole-dataset table, or with `table_files`
    this recording's rows of a Raven multi-file table (the files as the table names them)."""
    if table_files:
        return parse_raven_table(path, recording_id, on_blank_label, tuple(table_files))
    if table_columns is not None:
        return parse_annotation_table(path, recording_id, table_columns), []
    if is_raven_table(path):
        return parse_raven_table(path, recording_id, on_blank_label)
    return parse_audacity_labels(path, recording_id), []


def check_species(df: pd.DataFrame, known_codes: list[str]) -> None:
    """Unknown species codes are errors naming the file and line (typos must not vanish)."""
    unknown = df[~df["species"].isin(known_codes)]
    if len(unknown):
        first = unknown.iloc[0]
        codes = sorted(unknown["species"].unique())
        raise AnnotationError(
            first["source_file"],
            int(first["source_line"]),
            f"unknown species code {first['species']!r} (unknown codes in this file: "
            f"{', '.join(codes)}); add it to the species table in the config",
        )


def drop_ignored_calls(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Rows whose quality marks a call to ignore (`_FALSE`, `_LALSE`): dropped, each noted."""
    ignored = df["quality"].isin(IGNORED_QUALITIES)
    notes = [
        f"{row.source_file}:{row.source_line}: {row.species}_{row.quality} marks a call to "
        "ignore; dropped"
        for row in df[ignored].itertuples()
    ]
    return df[~ignored].reset_index(drop=True), notes


def drop_duplicate_calls(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Rows repeating an earlier row's start, end and species: dropped, each one reported."""
    key = ["start_s", "end_s", "species"]
    dup = df.duplicated(key, keep="first")
    if not dup.any():
        return df, []
    first_line = df[~dup].set_index(key)["source_line"]
    notes = [
        f"{row.source_file}:{row.source_line}: repeats line "
        f"{first_line[(row.start_s, row.end_s, row.species)]}, dropped"
        for row in df[dup].itertuples()
    ]
    return df[~dup].reset_index(drop=True), notes


def point_call_notes(df: pd.DataFrame) -> list[str]:
    """A note for every call with start = end (a click in Raven or Audacity): it marks the
    windows that contain its time (`windows.window_labels`)."""
    return [
        f"{row.source_file}:{row.source_line}: a point call at {row.start_s:g} s (start = end); "
        "it marks every window containing that time"
        for row in df[df["end_s"] == df["start_s"]].itertuples()
    ]


def fit_to_recording(df: pd.DataFrame, duration_s: float) -> tuple[pd.DataFrame, list[str]]:
    """A call starting at or after the recording's end is an error (labels for another file?);
    one running past the end is clipped to it, and reported."""
    late = df[df["start_s"] >= duration_s]
    if len(late):
        row = late.iloc[0]
        raise AnnotationError(
            row["source_file"],
            int(row["source_line"]),
            f"call starts at {row['start_s']:g} s, at or after the end of the "
            f"{duration_s:g} s recording",
        )
    over = df["end_s"] > duration_s
    notes = [
        f"{row.source_file}:{row.source_line}: ends at {row.end_s:g} s, after the recording's "
        f"end ({duration_s:g} s); clipped"
        for row in df[over].itertuples()
    ]
    df = df.copy()
    df.loc[over, "end_s"] = duration_s
    return df, notes


BAD_ANNOTATION_POLICIES = ("fail", "skip")


def normalise_annotation_file(
    path: str | Path | None,
    recording_id: str,
    out_path: str | Path,
    known_codes: list[str],
    on_blank_label: str = "fail",
    duration_s: float | None = None,
    on_bad_annotation: str = "fail",
    table_columns: dict | None = None,
    table_files: tuple[str, ...] | None = None,
) -> dict:
    """Parse, validate and write one recording's annotations; return what happened to them.

    The returned record has `status` ok, no_file, or skipped (a bad file under
    `on_bad_annotation="skip"`: the recording is then left out, as a bad recording is),
    `notes`: every row dropped, clipped, skipped or taken as a point call, as "file:line:
    what", and `blank_labels`: the rows skipped for a blank label (under "skip").
    """
    if on_bad_annotation not in BAD_ANNOTATION_POLICIES:
        raise ValueError(f"on_bad_annotation must be one of {BAD_ANNOTATION_POLICIES}")
    record = {
        "recording_id": recording_id,
        "annotation_path": None if path is None else str(path),
        "annotation_sha256": None if path is None else file_sha256(path),
        "status": "ok",
        "problem": None,
        "notes": [],
        "blank_labels": [],
        "n_calls": 0,
    }
    df = _frame([], recording_id, Path(""))
    if path is None:
        record["status"] = "no_file"
    else:
        try:
            df, skipped = read_annotation_file(
                path, recording_id, on_blank_label, table_columns, table_files
            )
            df, ignored = drop_ignored_calls(df)
            check_species(df, known_codes)
            df, duplicates = drop_duplicate_calls(df)
            clipped: list[str] = []
            if duration_s is not None:
                df, clipped = fit_to_recording(df, duration_s)
            record["notes"] = skipped + ignored + duplicates + clipped + point_call_notes(df)
            record["blank_labels"] = skipped
        except AnnotationError as err:
            if on_bad_annotation == "fail":
                raise
            df = _frame([], recording_id, Path(path))
            record.update(status="skipped", problem=str(err))
    record["n_calls"] = len(df)
    write_parquet(df, out_path)
    return record


def merge_annotations(paths: list[str | Path], out_path: str | Path) -> pd.DataFrame:
    # one small file per recording: read on this thread, without Arrow's thread pools, whose
    # workers can abort the process at exit (apache/arrow#34314: three merge_annotations jobs
    # of one test-suite run died with SIGABRT after writing their output)
    frames = [pd.read_parquet(p, use_threads=False, pre_buffer=False) for p in paths]
    non_empty = [f for f in frames if len(f)]
    df = pd.concat(non_empty, ignore_index=True) if non_empty else frames[0].iloc[:0]
    df = df.sort_values(["recording_id", "start_s", "species"]).reset_index(drop=True)
    write_parquet(df, out_path)
    return df

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


def _read_lines(path: Path) -> list[str]:
    # utf-8-sig strips a BOM; splitlines handles CRLF and a missing final newline.
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise AnnotationError(
            path, line, f"not UTF-8 text (byte 0x{raw[err.start]:02X}); save the file as UTF-8"
        ) from None


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
    for number, raw in enumerate(_read_lines(path), start=1):
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


def parse_raven_table(
    path: str | Path, recording_id: str, on_blank_label: str = "fail"
) -> tuple[pd.DataFrame, list[str]]:
    """Raven selection table; the label column may be spelled `Species` or `Annotation`.

    Rows whose label is blank fail, or with `on_blank_label="skip"` are left out and reported
    in the returned list of "file:line: reason" strings, so nothing disappears unannounced.
    """
    path = Path(path)
    lines = _read_lines(path)
    if not lines:
        raise AnnotationError(path, None, "file is empty (a Raven table needs a header row)")
    header = [h.strip().lower() for h in lines[0].split("\t")]
    for needed in (RAVEN_BEGIN, RAVEN_END):
        if needed not in header:
            raise AnnotationError(path, 1, f"Raven header has no {needed!r} column")
    label_col = next((c for c in RAVEN_LABEL_COLUMNS if c in header), None)
    if label_col is None:
        raise AnnotationError(path, 1, "Raven header has no Species/Annotation/Label column")
    col = {name: header.index(name) for name in header if name}
    rows: list[dict] = []
    skipped: list[str] = []
    for number, raw in enumerate(lines[1:], start=2):
        if not raw.strip():
            continue
        fields = raw.split("\t")
        fields += [""] * (len(header) - len(fields))  # Raven drops trailing empty cells
        view = fields[col["view"]].strip() if "view" in col else ""
        if view and not view.lower().startswith("spectrogram"):
            continue  # waveform-view duplicates of the same selection
        start = _number(path, number, "begin time", fields[col[RAVEN_BEGIN]])
        end = _number(path, number, "end time", fields[col[RAVEN_END]])
        _check_times(path, number, start, end)
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


def is_raven_table(path: str | Path) -> bool:
    lines = _read_lines(Path(path))
    return bool(lines) and RAVEN_BEGIN in lines[0].lower()


TABLE_COLUMNS = {"recording": "fname", "start": "start", "end": "end", "label": "label"}


@functools.lru_cache(maxsize=4)
def _table_rows(path: str, mtime: float, columns: tuple) -> dict[str, pd.DataFrame]:
    """A whole-dataset annotation table read once per process (the per-recording jobs run as
    threads of one process), grouped by recording id; `mtime` keys the cache to the file."""
    sep = "\t" if Path(path).suffix.lower() in (".tsv", ".txt") else ","
    table = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    recording, start, end, label = columns
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise AnnotationError(
            path,
            1,
            f"no column {', '.join(map(repr, missing))} (the columns "
            f"are {', '.join(table.columns)}); set data.annotation_table",
        )
    table["line"] = np.arange(len(table)) + 2
    ids = table[recording].map(lambda name: Path(name).stem if name else name)
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
) -> tuple[pd.DataFrame, list[str]]:
    """Parse a label file of either format (told apart by the Raven header), or with
    `table_columns` this recording's rows of a whole-dataset table."""
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
) -> dict:
    """Parse, validate and write one recording's annotations; return what happened to them.

    The returned record has `status` ok, no_file, or skipped (a bad file under
    `on_bad_annotation="skip"`: the recording is then left out, as a bad recording is) and
    `notes`: every row dropped, clipped or skipped, as "file:line: what".
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
        "n_calls": 0,
    }
    df = _frame([], recording_id, Path(""))
    if path is None:
        record["status"] = "no_file"
    else:
        try:
            df, skipped = read_annotation_file(path, recording_id, on_blank_label, table_columns)
            df, ignored = drop_ignored_calls(df)
            check_species(df, known_codes)
            df, duplicates = drop_duplicate_calls(df)
            clipped: list[str] = []
            if duration_s is not None:
                df, clipped = fit_to_recording(df, duration_s)
            record["notes"] = skipped + ignored + duplicates + clipped
        except AnnotationError as err:
            if on_bad_annotation == "fail":
                raise
            df = _frame([], recording_id, Path(path))
            record.update(status="skipped", problem=str(err))
    record["n_calls"] = len(df)
    write_parquet(df, out_path)
    return record


def merge_annotations(paths: list[str | Path], out_path: str | Path) -> pd.DataFrame:
    frames = [pd.read_parquet(p) for p in paths]
    non_empty = [f for f in frames if len(f)]
    df = pd.concat(non_empty, ignore_index=True) if non_empty else frames[0].iloc[:0]
    df = df.sort_values(["recording_id", "start_s", "species"]).reset_index(drop=True)
    write_parquet(df, out_path)
    return df

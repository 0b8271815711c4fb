"""Annotations of a recording, whatever their format, checked and merged: the format read
(`audacity`, `raven`, `annotation_table`), unknown species refused by file and line, ignored,
duplicate and out-of-range calls dropped with a note each, and the dataset's one table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from anuraflow.core.fileio import file_sha256, write_parquet
from anuraflow.data.annotation_table import parse_annotation_table
from anuraflow.data.audacity import parse_audacity_labels
from anuraflow.data.label_rows import (
    DEFAULT_CODES,
    IGNORED_QUALITIES,
    AnnotationError,
    LabelCodes,
    calls_frame,
    resplit_qualities,
)
from anuraflow.data.raven import (
    is_raven_table,
    parse_raven_table,
)


def read_annotation_file(
    path: str | Path,
    recording_id: str,
    on_blank_label: str = "fail",
    table_columns: dict | None = None,
    table_files: tuple[str, ...] | None = None,
    codes: LabelCodes = DEFAULT_CODES,
) -> tuple[pd.DataFrame, list[str]]:
    """Parse a label file of either format (told apart by the Raven header), or with
    `table_columns` this recording's rows of a whole-dataset table, or with `table_files`
    this recording's rows of a Raven multi-file table (the files as the table names them);
    each label's quality suffix split off where `codes.qualities` names it."""
    if table_files:
        df, skipped = parse_raven_table(path, recording_id, on_blank_label, tuple(table_files))
    elif table_columns is not None:
        df, skipped = parse_annotation_table(path, recording_id, table_columns), []
    elif is_raven_table(path):
        df, skipped = parse_raven_table(path, recording_id, on_blank_label)
    else:
        df, skipped = parse_audacity_labels(path, recording_id), []
    return resplit_qualities(df, codes.qualities), skipped


def nearest_code(code: str, known_codes: list[str]) -> str:
    """The clause naming the known code closest to a likely typo (difflib, case ignored), or
    nothing when none is close."""
    import difflib

    upper = {c.upper(): c for c in known_codes}
    close = difflib.get_close_matches(code.upper(), list(upper), n=1)
    return f"; nearest known code: {upper[close[0]]}" if close else ""


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
            f"{', '.join(codes)}){nearest_code(first['species'], known_codes)}; add it to "
            "the species table in the config",
        )


def drop_ignored_calls(
    df: pd.DataFrame, ignore_codes: frozenset[str] = frozenset()
) -> tuple[pd.DataFrame, list[str]]:
    """Rows whose quality marks a call to ignore (`_FALSE`, `_LALSE`), and rows of a code the
    user ignores (`data.ignore_codes`: UNK, noise, ?): dropped, each noted."""
    ignored = df["quality"].isin(IGNORED_QUALITIES)
    unwanted = df["species"].isin(ignore_codes) & ~ignored
    notes = [
        f"{row.source_file}:{row.source_line}: {row.species}_{row.quality} marks a call to "
        "ignore; dropped"
        for row in df[ignored].itertuples()
    ] + [
        f"{row.source_file}:{row.source_line}: {row.species!r} is in data.ignore_codes; dropped"
        for row in df[unwanted].itertuples()
    ]
    return df[~(ignored | unwanted)].reset_index(drop=True), notes


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


def checked_calls(
    df: pd.DataFrame, known_codes: list[str], duration_s: float | None,
    ignore_codes: frozenset[str] = frozenset(),
) -> tuple[pd.DataFrame, list[str]]:  # fmt: skip
    """A file's calls after the checks, in order: ignored qualities and codes dropped, unknown
    species refused, duplicates dropped, calls fitted to the recording (when its duration is
    known); a note for each change and each point call."""
    df, ignored = drop_ignored_calls(df, ignore_codes)
    check_species(df, known_codes)
    df, duplicates = drop_duplicate_calls(df)
    clipped: list[str] = []
    if duration_s is not None:
        df, clipped = fit_to_recording(df, duration_s)
    return df, ignored + duplicates + clipped + point_call_notes(df)


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
    codes: LabelCodes = DEFAULT_CODES,
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
    df = calls_frame([], recording_id, Path(""))
    if path is None:
        record["status"] = "no_file"
    else:
        try:
            df, skipped = read_annotation_file(
                path, recording_id, on_blank_label, table_columns, table_files, codes
            )
            df, notes = checked_calls(df, known_codes, duration_s, codes.ignore_codes)
            record["notes"] = skipped + notes
            record["blank_labels"] = skipped
        except AnnotationError as err:
            if on_bad_annotation == "fail":
                raise
            df = calls_frame([], recording_id, Path(path))
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

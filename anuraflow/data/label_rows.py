"""The one table every annotation format becomes: a row per call, with the file and line it
came from, so every label in a result traces back to a line someone wrote; the reading and
field checks the formats share, and the error that names file and line."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

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


def parse_number(path: Path, line: int, field: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise AnnotationError(path, line, f"{field} {text!r} is not a number") from None
    if not np.isfinite(value):
        raise AnnotationError(path, line, f"{field} {text!r} is not finite")
    return value


def check_times(path: Path, line: int, start: float, end: float) -> None:
    if start < 0:
        raise AnnotationError(path, line, f"start time {start} is negative")
    if end < start:
        raise AnnotationError(path, line, f"end time {end} is before start time {start}")


def call_row(line: int, start: float, end: float, label: str, low: float, high: float) -> dict:
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


def calls_frame(rows: list[dict], recording_id: str, path: Path) -> pd.DataFrame:
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

"""The one table every annotation format becomes: a row per call, with the file and line it
came from, so every label in a result traces back to a line someone wrote; the reading and
field checks the formats share, and the error that names file and line."""

from __future__ import annotations

from dataclasses import dataclass
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


# AnuraSet's quality suffixes (CODE_L, _M, _H; _FALSE, also spelled _LALSE in its raw labels,
# marks a call to ignore): a label's last `_` part is a quality only where it is one of these
# (or the config's `data.qualities`), so `Rana_catesbeiana` and `LITH_CAT` stay codes
DEFAULT_QUALITIES = ("L", "M", "H", "FALSE", "LALSE")
IGNORED_QUALITIES = frozenset({"FALSE", "LALSE"})


@dataclass(frozen=True)
class LabelCodes:
    """How a written label becomes a species code: the suffixes that are qualities, and the
    codes whose rows are dropped and counted (`data.ignore_codes`: UNK, noise, ?)."""

    qualities: frozenset[str] = frozenset(DEFAULT_QUALITIES)
    ignore_codes: frozenset[str] = frozenset()

    @classmethod
    def from_config(cls, data: dict) -> LabelCodes:
        """From the config's `data` section (its defaults where a key is absent)."""
        return cls(frozenset(data.get("qualities", DEFAULT_QUALITIES)),
                   frozenset(data.get("ignore_codes", ())))  # fmt: skip


DEFAULT_CODES = LabelCodes()  # AnuraSet's qualities, nothing ignored


class AnnotationError(ValueError):
    """An annotation that cannot be used; the message names the file and the line."""

    def __init__(self, path: str | Path, line: int | None, message: str):
        self.path, self.line = str(path), line
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")


def split_code_quality(
    label: str, qualities: frozenset[str] = frozenset(DEFAULT_QUALITIES)
) -> tuple[str, str | None]:
    """'BOAFAB_M' -> ('BOAFAB', 'M'), 'BOAFAB_FALSE' -> ('BOAFAB', 'FALSE'),
    'Rana_catesbeiana_M' -> ('Rana_catesbeiana', 'M'); a label whose last `_` part is not one
    of `qualities` (compared in upper case) is all code: 'LITH_CAT' -> ('LITH_CAT', None)."""
    code, sep, suffix = label.rpartition("_")
    if sep and code and suffix.upper() in qualities:
        return code, suffix.upper()
    return label, None


def resplit_qualities(df: pd.DataFrame, qualities: frozenset[str]) -> pd.DataFrame:
    """The calls' codes and qualities split again by `qualities` (the parsers split by the
    defaults): each label is joined back as written and split anew, so nothing is lost."""
    if qualities == frozenset(DEFAULT_QUALITIES) or len(df) == 0:
        return df
    labels = [c if q is None or q != q else f"{c}_{q}"
              for c, q in zip(df["species"], df["quality"], strict=True)]  # fmt: skip
    split = [split_code_quality(label, qualities) for label in labels]
    return df.assign(species=[c for c, _ in split], quality=[q for _, q in split])


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

"""AnuraSet's strong labels: Audacity label tracks, `start<TAB>end<TAB>CODE_Q` per line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from anuraflow.data.label_rows import (
    AnnotationError,
    call_row,
    calls_frame,
    check_times,
    parse_number,
    read_lines,
)


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
            rows[-1]["low_freq_hz"] = parse_number(path, number, "low frequency", fields[1])
            rows[-1]["high_freq_hz"] = parse_number(path, number, "high frequency", fields[2])
            continue
        if len(fields) != 3:
            raise AnnotationError(
                path,
                number,
                f"expected 3 tab-separated fields (start, end, label), got {len(fields)}",
            )
        start = parse_number(path, number, "start time", fields[0])
        end = parse_number(path, number, "end time", fields[1])
        check_times(path, number, start, end)
        label = fields[2].strip()
        if not label:
            raise AnnotationError(path, number, "empty label")
        rows.append(call_row(number, start, end, label, np.nan, np.nan))
    return calls_frame(rows, recording_id, path)

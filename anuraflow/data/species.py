"""The species table: codes, names and frequency groups (frequent / common / rare, as in Mix2)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from anuraflow.data.annotations import drop_ignored_calls, read_annotation_file
from anuraflow.data.label_rows import DEFAULT_CODES, AnnotationError, LabelCodes

GROUPS = ("frequent", "common", "rare")


def species_table(entries: Sequence[Mapping]) -> pd.DataFrame:
    """Config entries ({code, name, group}) as a table; group may be omitted ("auto")."""
    df = pd.DataFrame(
        [
            {"code": e["code"], "name": e.get("name") or e["code"], "group": e.get("group", "auto")}
            for e in entries
        ]
    )
    dupes = df["code"][df["code"].duplicated()].tolist()
    if dupes:
        raise ValueError(f"species table lists these codes twice: {', '.join(dupes)}")
    return df


def frequency_group(n_windows: int, frequent_min: int, common_min: int) -> str:
    """Mix2's grouping: frequent (> frequent_min windows), common (common_min..frequent_min)."""
    if n_windows > frequent_min:
        return "frequent"
    if n_windows >= common_min:
        return "common"
    return "rare"


def assign_groups(
    table: pd.DataFrame, window_counts: Mapping[str, int], thresholds: Mapping[str, int]
) -> dict[str, str]:
    """Group per code: the table's own group where given, else from the window count.

    `thresholds` is the config's `frequency_groups` (frequent_min_windows, common_min_windows).
    """
    frequent_min = thresholds["frequent_min_windows"]
    common_min = thresholds["common_min_windows"]
    groups = {}
    for code, group in zip(table["code"], table["group"], strict=True):
        if group in GROUPS:
            groups[code] = group
        else:
            groups[code] = frequency_group(
                int(window_counts.get(code, 0)), frequent_min, common_min
            )
    return groups


def species_in_labels(
    files: Mapping[str, str | None],
    table_columns: Mapping | None = None,
    table_files: Mapping[str, Sequence[str]] | None = None,
    codes: LabelCodes = DEFAULT_CODES,
) -> tuple[dict[str, int], list[str], dict[str, int]]:
    """(code -> number of recordings whose labels name it, the files that could not be read,
    ignored code -> rows dropped) for `species: from_labels`. `files`: recording id -> its
    label file (None: none). Calls marked to ignore (`_FALSE`) or of an ignored code
    (`codes.ignore_codes`) name no species;
    a file that cannot be read is listed, not raised: its own annotation job reports it by
    file and line under `on_bad_annotation`."""
    counts: dict[str, int] = {}
    dropped: dict[str, int] = {}
    unreadable = []
    for recording, path in files.items():
        if path is None:
            continue
        own_files = tuple((table_files or {}).get(recording) or ())
        try:
            calls, _ = read_annotation_file(path, recording, "skip", table_columns, own_files,
                                            codes)  # fmt: skip
        except AnnotationError as err:
            unreadable.append(str(err))
            continue
        for code in drop_ignored_calls(calls, codes.ignore_codes)[0]["species"].unique():
            counts[code] = counts.get(code, 0) + 1
        for code in calls.loc[calls["species"].isin(codes.ignore_codes), "species"]:
            dropped[code] = dropped.get(code, 0) + 1
    return dict(sorted(counts.items())), unreadable, dict(sorted(dropped.items()))


def look_alike_codes(codes: Sequence[str]) -> list[list[str]]:
    """Codes that differ only in case or spacing ('LITH_CAT', 'lith_cat', 'LITH CAT '), in
    groups: kept apart as written, but named at start-up, since they are often one species."""
    groups: dict[str, list[str]] = {}
    for code in codes:
        groups.setdefault("".join(code.split()).casefold(), []).append(code)
    return [sorted(g) for g in groups.values() if len(g) > 1]

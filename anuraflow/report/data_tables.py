"""What the data and the provenance sections show: input checks, checksums, split balance and
origin, and the provenance as tables."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd


def untimed_remark(manifest: pd.DataFrame) -> list[str]:
    """One sentence on the recordings whose name gives no start time (none: no sentence)."""
    untimed = manifest.loc[manifest["start_datetime"].isna(), "recording_id"].tolist()
    if not untimed:
        return []
    return [
        f"{len(untimed)} of {len(manifest)} recordings have no start date and time in their "
        f"name (e.g. {', '.join(untimed[:3])}), so no hour of day; a name ending "
        "YYYYMMDD_HHMMSS gives one (docs/real-data.md)."
    ]


IGNORED_CODE = re.compile(r": '(?P<code>.*)' is in data\.ignore_codes; dropped$")


def ignored_codes_remark(manifest: pd.DataFrame) -> list[str]:
    """One sentence counting the label rows dropped for data.ignore_codes, per code, from the
    annotation notes (none: no sentence); each row is also listed with its file and line."""
    counts: dict[str, int] = {}
    for notes in manifest["notes"]:
        for note in notes:
            if found := IGNORED_CODE.search(note):
                counts[found["code"]] = counts.get(found["code"], 0) + 1
    if not counts:
        return []
    each = ", ".join(f"{code} {n}" for code, n in sorted(counts.items()))
    return [f"Label rows of data.ignore_codes dropped: {each} (listed below)."]


def input_checks(
    manifest: pd.DataFrame,
    orphan_label_files: list[str],
    ignored_files: list[str] = (),
    review: dict | None = None,
    unlabelled_mode: str = "pool",
) -> dict:
    """What happened to every input that was not used as is: skipped, unlabelled (as
    `unlabelled_mode`, data.unlabelled, says), adjusted, ignored by name; with `review`
    (review_labels.json), the labels files and every decision that replaced an earlier one."""
    skipped = manifest[manifest["status"] == "skipped"]
    no_labels = manifest.loc[manifest["annotation_status"] == "no_file", "recording_id"]
    if review is not None:
        unlabelled = "Recordings without a label file: only their reviewed windows train"
    elif unlabelled_mode == "negative":
        unlabelled = ("Recordings without a label file, taken as holding no call "
                      "(data.unlabelled: negative)")  # fmt: skip
    else:
        unlabelled = ("Recordings without a label file, left out of training and testing "
                      "(data.unlabelled: pool)")  # fmt: skip
    lists = [
        ("Label files without a recording", list(orphan_label_files)),
        ("Files ignored by name (system files, other text)", list(ignored_files)),
        (unlabelled, no_labels.tolist()),
        (
            "Adjusted or dropped annotation rows and other notes",
            [n for ns in manifest["notes"] for n in ns],
        ),
    ]
    remarks = untimed_remark(manifest) + ignored_codes_remark(manifest)
    if review is not None:
        n = review["n_decisions"]
        remarks.append(
            f"Review labels: {len(review['files'])} labels file"
            f"{'s' if len(review['files']) != 1 else ''}, {n['present']} present, "
            f"{n['absent']} absent and {n['unsure']} unsure decisions (unsure ones are left "
            "out); each present or absent one labels its window for that species only."
        )
        lists += [
            (
                "Review labels files (SHA-256)",
                [f"{f['path']} ({f['sha256'][:12]})" for f in review["files"]],
            ),
            (
                "Review decisions replacing an earlier one by the same reviewer (the later wins)",
                [
                    f"{o['by']}: {o['species']} {o['decision']} in {o['recording']} at "
                    f"{o['start_s']:g} s, replacing {o['replaces']} ({o['replaced']})"
                    for o in review["overrides"]
                ],
            ),
        ]
    return {
        "used": int((manifest["status"] == "ok").sum()),
        "total": len(manifest),
        "remarks": remarks,
        "skipped": [{"cells": [r.recording_id, r.problem]} for r in skipped.itertuples()],
        "lists": lists,
    }


def checksum_table(inputs: dict) -> dict:
    rows = [
        {"cells": [rec, v["status"], v["audio_sha256"], v["annotation_sha256"] or "-"]}
        for rec, v in inputs.items()
    ]
    return {"header": ["recording", "status", "audio", "label file"], "rows": rows}


def balance_table(balance: pd.DataFrame) -> dict:
    rows = [
        {
            "cells": [
                r.species,
                r.recordings,
                r.train,
                r.val,
                r.test,
                "-" if np.isnan(r.max_deviation) else f"{r.max_deviation:.3f}",
            ]
        }
        for r in balance.itertuples()
    ]
    header = ["species", "recordings", "train", "val", "test", "largest share deviation"]
    return {"header": header, "rows": rows}


GROUPED_BY = {
    "site_night": "each site's night (noon to noon) in one subset",
    "site_day": "each site's calendar day in one subset",
    "site": "each site in one subset",
    "clip groups": "the clips of each group (data.clip_groups) in one subset",
}


def split_grouping_text(splits: pd.DataFrame) -> str:
    """One sentence on what the split kept together (split.group), or none by recording."""
    how = splits["grouped_by"].iloc[0] if "grouped_by" in splits and len(splits) else "recording"
    if how not in GROUPED_BY:
        return "Each recording was split on its own (split.group: recording)."
    groups = splits["group"].nunique() if "group" in splits else len(splits)
    return f"Split by group, {GROUPED_BY[how]}: {groups} groups (split.group: {how})."


def split_origin_text(splits: pd.DataFrame) -> str:
    """One sentence on where the split came from (fresh, kept from earlier runs, pinned), and
    one on what it kept together."""
    counts = splits["origin"].value_counts() if "origin" in splits else pd.Series(dtype=int)
    if counts.get("file", 0):
        return f"The split is pinned by split.file ({counts['file']} recordings)."
    grouping = split_grouping_text(splits)
    if counts.get("kept", 0):
        return (
            f"{counts['kept']} recordings keep the subset an earlier run gave them "
            f"(results/split_ledger.json), {counts.get('added', 0)} were added since. {grouping}"
        )
    return f"A stratified split of all {len(splits)} recordings. {grouping}"


def _flatten(d: dict, prefix: str = "") -> list[tuple[str, str]]:
    """(dotted key, JSON value) of every leaf of a nested dict; lists stay one value."""
    rows = []
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows += _flatten(value, name + ".")
        else:
            rows.append((name, json.dumps(value, default=str)))
    return rows


def provenance_tables(prov: dict) -> list[dict]:
    """The provenance (without the per-file checksums) as tables: workflow, software, config."""
    git = prov.get("git") or {}
    workflow = [
        ("anuraflow", prov.get("anuraflow")),
        ("git commit", git.get("commit") or "not a git checkout"),
        ("uncommitted changes", git.get("dirty")),
        ("config SHA-256", prov.get("config_sha256", "-")),
        ("inputs SHA-256 (all checksums)", prov.get("inputs_sha256", "-")),
    ]
    tables = [
        {
            "name": "Workflow",
            "header": ["what", "value"],
            "rows": [{"cells": [k, "-" if v is None else str(v)]} for k, v in workflow],
        },
        {
            "name": "Software",
            "header": ["package", "version"],
            "rows": [
                {"cells": [k, v or "not installed"]}
                for k, v in (prov.get("versions") or {}).items()
            ],
        },
    ]
    if prov.get("config"):
        tables.append(
            {
                "name": "Configuration",
                "header": ["key", "value"],
                "rows": [{"cells": [k, v]} for k, v in _flatten(prov["config"])],
            }
        )
    return tables


def recordings_holding(windows: pd.DataFrame, codes: list[str]) -> pd.Series:
    """Per species, the recordings with at least one window of it (0 for a species no window
    has, and for every species when there are no windows)."""
    if windows.empty:
        return pd.Series(0, index=codes, dtype=int)
    return windows.groupby("recording_id")[codes].max().sum().astype(int)

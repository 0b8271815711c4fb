"""Review decisions as training data: the `labels-{name}.tsv` files a review page downloads.

One row per decision: a grid window of a dataset recording, a species, and `present`,
`absent` or `unsure`, with who decided and when. Every row keeps its file and line, so a
label in a result traces back to the click that made it. A file the page wrote starts with
`# anuraflow review labels` and ends with `# end: N decisions`; without that end line it is a
half-written download and is refused.

Several files may decide the same window and species. The same reviewer deciding again is a
relabelling: the later decision (its `time`) wins and the override is recorded. Two
reviewers who disagree (present against absent) is a contradiction: refused, naming both
lines, since no rule can say who is right.

Decisions on recordings of `predict.audio_dir` (a `validate` sample, predict's review page) are
the archive's, not the dataset's: `label_files_by_use` sends each file to the merges that need
it when the DAG is built, and the dataset's merge sets those rows aside (`set_aside`) instead
of refusing them, so reviewing the archive never reruns the training chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from anuraflow.core.fileio import file_sha256
from anuraflow.data.label_rows import AnnotationError, read_lines
from anuraflow.data.windows import window_keys, with_labels

HEADER = ["recording", "start_s", "end_s", "species", "decision", "reviewer", "time"]
DECISIONS = ("present", "absent", "unsure")
PAGE_MARK = "# anuraflow review labels"
END_MARK = "# end:"
COLUMNS = [*HEADER, "file", "line"]
GRID_TOLERANCE = 1e-6


def _end_count(path: Path, line: str, number: int) -> int:
    try:
        return int(line[len(END_MARK) :].split()[0])
    except (IndexError, ValueError):
        message = f"end line {line!r} is not '# end: N decisions'"
        raise AnnotationError(path, number, message) from None


def read_review_file(path: str | Path) -> pd.DataFrame:
    """One labels file -> its decisions (HEADER columns, `file`, `line`); an error naming the
    file and line for a bad header, field, decision or time, or a half-written download."""
    path = Path(path)
    lines = read_lines(path)
    rows, header_seen, end, from_page = [], False, None, bool(lines) and lines[0] == PAGE_MARK
    for number, line in enumerate(lines, start=1):
        if end is not None and line.strip():
            raise AnnotationError(path, number, "text after the end line")
        if line.startswith(END_MARK):
            end = (number, _end_count(path, line, number))
            continue
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if not header_seen:
            if fields != HEADER:
                raise AnnotationError(
                    path, number, f"header {fields} is not the review page's {HEADER}"
                )
            header_seen = True
            continue
        if len(fields) != len(HEADER):
            raise AnnotationError(
                path, number, f"{len(fields)} fields, a decision has {len(HEADER)} ({HEADER})"
            )
        rows.append([*fields, str(path), number])
    if not header_seen:
        raise AnnotationError(path, None, f"no header line ({'<TAB>'.join(HEADER)})")
    if from_page and end is None:
        raise AnnotationError(
            path, len(lines), "no '# end: N decisions' line: a half-written download? "
            "Download the labels from the review page again",
        )  # fmt: skip
    if end is not None and end[1] != len(rows):
        raise AnnotationError(
            path, end[0], f"the end line counts {end[1]} decisions, the file holds {len(rows)}: "
            "a damaged or half-written download?",
        )  # fmt: skip
    df = pd.DataFrame(rows, columns=COLUMNS)
    return _typed(df)


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """Numbers, decisions and times checked and converted, naming the first bad line."""
    for col in ("start_s", "end_s"):
        values = pd.to_numeric(df[col], errors="coerce")
        _refuse(df, values.isna() | ~np.isfinite(values), f"{col} is not a number")
        df[col] = values.astype(float)
    df["decision"] = df["decision"].str.strip().str.lower()
    _refuse(df, ~df["decision"].isin(DECISIONS), f"decision is not one of {', '.join(DECISIONS)}")
    times = pd.to_datetime(df["time"], errors="coerce", utc=True, format="ISO8601")
    _refuse(df, times.isna(), "time is not an ISO 8601 time (2026-12-04T17:05:00Z)")
    df["time"] = times
    df["line"] = df["line"].astype(int)
    return df


def _refuse(df: pd.DataFrame, bad: pd.Series, message: str) -> None:
    if bad.any():
        row = df[bad.to_numpy()].iloc[0]
        raise AnnotationError(row["file"], int(row["line"]), message)


def check_on_grid(
    df: pd.DataFrame,
    durations: dict[str, float],
    codes: list[str],
    window_s: float,
    hop_s: float,
) -> None:
    """Refuse a decision on a recording that is not the dataset's (a file from another
    archive?), an unknown species, or a window that is not on the dataset's grid."""
    for row in df.itertuples(index=False):
        if row.recording not in durations:
            raise AnnotationError(
                row.file, row.line, f"recording {row.recording!r} is not a recording of this "
                "dataset (a labels file from another archive? A recording of predict.audio_dir "
                "needs the config's predict section)",
            )  # fmt: skip
        if row.species not in codes:
            raise AnnotationError(
                row.file, row.line, f"unknown species {row.species!r}; the config's species "
                f"are {', '.join(codes)}",
            )  # fmt: skip
        steps = row.start_s / hop_s
        fits = row.start_s + window_s <= durations[row.recording] + GRID_TOLERANCE
        if (
            abs(steps - round(steps)) > GRID_TOLERANCE
            or row.start_s < 0
            or not fits
            or abs(row.end_s - row.start_s - window_s) > GRID_TOLERANCE
        ):
            raise AnnotationError(
                row.file, row.line, f"{row.start_s:g}-{row.end_s:g} s of {row.recording} is not "
                f"a window of the grid ({window_s:g} s windows every {hop_s:g} s, inside its "
                f"{durations[row.recording]:g} s)",
            )  # fmt: skip


def resolve_decisions(df: pd.DataFrame) -> tuple[pd.DataFrame, list[dict]]:
    """One decision per window and species: a reviewer's later decision replaces their
    earlier one (each replacement returned as an override); reviewers who disagree are an
    error naming both lines."""
    df = df.assign(start_s=df["start_s"].round(6), end_s=df["end_s"].round(6))
    df = df.sort_values(["time", "file", "line"], kind="stable")
    kept, overrides = [], []
    for _, group in df.groupby(["recording", "start_s", "species"], sort=True):
        decided = group[group["decision"] != "unsure"]
        for _, a in decided.iterrows():
            other = decided[
                (decided["reviewer"] != a["reviewer"]) & (decided["decision"] != a["decision"])
            ]
            if len(other):
                b = other.iloc[0]
                raise AnnotationError(
                    a["file"], int(a["line"]), f"{a['reviewer']!r} decided {a['decision']} for "
                    f"{a['species']} in {a['recording']} at {a['start_s']:g} s; {b['reviewer']!r}"
                    f" decided {b['decision']} at {b['file']}:{int(b['line'])}. Reviewers "
                    "disagree: keep one decision (edit or delete the other line)",
                )  # fmt: skip
        last = group.iloc[-1]
        ties = group[(group["time"] == last["time"]) & (group["decision"] != last["decision"])]
        if len(ties):
            raise AnnotationError(
                last["file"], int(last["line"]), f"decides {last['decision']} at the same time "
                f"as {ties.iloc[0]['file']}:{int(ties.iloc[0]['line'])} decides "
                f"{ties.iloc[0]['decision']}: which one holds?",
            )  # fmt: skip
        for _, earlier in group.iloc[:-1].iterrows():
            if earlier["decision"] != last["decision"]:
                overrides.append(
                    {
                        "recording": last["recording"],
                        "start_s": float(last["start_s"]),
                        "species": last["species"],
                        "decision": last["decision"],
                        "by": f"{last['file']}:{int(last['line'])}",
                        "replaces": earlier["decision"],
                        "replaced": f"{earlier['file']}:{int(earlier['line'])}",
                    }
                )
        kept.append(last)
    out = pd.DataFrame(kept, columns=df.columns).reset_index(drop=True)
    return out, overrides


def read_decision_rows(paths: list[str | Path]) -> pd.DataFrame:
    """Every row of the labels files (sorted by path), typed, each with its file and line."""
    frames = [read_review_file(p) for p in sorted(map(str, paths))]
    # typed even without any file (an empty review folder), as read_review_file's frames are
    return pd.concat(frames, ignore_index=True) if frames else _typed(pd.DataFrame(columns=COLUMNS))


def decisions_record(paths: list[str | Path], df: pd.DataFrame, decisions, overrides) -> dict:
    """What a merge records: the files with checksums, rows, decisions by kind, overrides."""
    return {
        "files": [{"path": p, "sha256": file_sha256(p)} for p in sorted(map(str, paths))],
        "n_rows": int(len(df)),
        "n_decisions": {d: int((decisions["decision"] == d).sum()) for d in DECISIONS},
        "overrides": overrides,
    }


def read_review_labels(
    paths: list[str | Path],
    durations: dict[str, float],
    codes: list[str],
    window_s: float,
    hop_s: float,
    set_aside: frozenset[str] = frozenset(),
) -> tuple[pd.DataFrame, dict]:
    """Every labels file checked and resolved: (one decision per window and species, the
    record: files with checksums, counts, overrides). Rows on a recording of `set_aside` (the
    archive's) that is not one of `durations`' are left out, counted in the record."""
    df = read_decision_rows(paths)
    elsewhere = df["recording"].isin(set(set_aside) - set(durations)).to_numpy()
    df = df[~elsewhere].reset_index(drop=True)
    check_on_grid(df, durations, codes, window_s, hop_s)
    decisions, overrides = resolve_decisions(df) if len(df) else (df, [])
    record = decisions_record(paths, df, decisions, overrides)
    record["n_archive_rows"] = int(elsewhere.sum())
    return decisions, record


def recordings_by_file(paths: list[str]) -> dict[str, frozenset[str] | None]:
    """Each labels file's recordings, read once when the DAG is built; None for a file that
    cannot be read (its merge's job names its bad line)."""
    out: dict[str, frozenset[str] | None] = {}
    for path in paths:
        try:
            out[path] = frozenset(read_review_file(path)["recording"])
        except AnnotationError:
            out[path] = None
    return out


def label_files_by_use(
    recordings_of: dict[str, frozenset[str] | None], dataset: set[str], archive: set[str]
) -> tuple[list[str], list[str], list[str]]:
    """The labels files the dataset's merge reads, those the archive's reads, and the
    archive's recordings that the dataset's files name (its merge sets their rows aside), from
    each file's recordings (`recordings_by_file`): a file goes to the archive's merge when it
    decides on a recording of the archive, to the dataset's when it decides on any other (both
    for a mixed file). A file that cannot be read goes to the dataset's merge, whose job names
    its bad line as before."""
    for_dataset, for_archive, aside = [], [], set()
    only_archive = archive - dataset
    for path, recordings in recordings_of.items():
        if recordings is None:
            for_dataset.append(path)
            continue
        if recordings & archive:
            for_archive.append(path)
        if recordings - only_archive or not recordings:
            for_dataset.append(path)
            aside |= recordings & only_archive
    return for_dataset, for_archive, sorted(aside)


def known_columns(codes: list[str]) -> list[str]:
    """The per-species columns of windows.parquet that say whether a label is known."""
    return [f"known_{c}" for c in codes]


def apply_review(
    windows: pd.DataFrame, decisions: pd.DataFrame, codes: list[str], unlabelled: set[str]
) -> tuple[pd.DataFrame, list[str]]:
    """Decisions applied to the annotation files' windows: `present` makes the window a
    positive, `absent` a negative, for that species only; `unsure` changes nothing.

    A recording in `unlabelled` (no label file) keeps only its reviewed windows, each known
    only for the species decided (`known_{code}` 0 elsewhere, `partial` True): it is never
    taken as all-negative. Returns the windows and a note per decision that changed a label
    an annotation file had given."""
    w = windows.reset_index(drop=True).copy()
    known = np.ones((len(w), len(codes)), dtype=np.uint8)
    labels = w[codes].to_numpy().astype(np.uint8)
    pool = w["recording_id"].isin(unlabelled).to_numpy()
    known[pool], labels[pool] = 0, 0
    where = {key: i for i, key in enumerate(window_keys(w["recording_id"], w["start_s"]))}
    column = {c: j for j, c in enumerate(codes)}
    changed = []
    decided = decisions[decisions["decision"] != "unsure"]
    keys = window_keys(decided["recording"], decided["start_s"])
    for d, key in zip(decided.itertuples(index=False), keys, strict=True):
        i, j = where[key], column[d.species]
        value = np.uint8(d.decision == "present")
        if not pool[i] and labels[i, j] != value:
            changed.append(
                f"{d.file}:{d.line}: {d.species} {d.decision} in {w['window_id'][i]} "
                f"(the annotation file said {'present' if labels[i, j] else 'absent'})"
            )
        labels[i, j], known[i, j] = value, 1
    keep = ~pool | (known.sum(axis=1) > 0)
    w = with_labels(w.drop(columns=codes), labels, codes)
    for name, col in zip(known_columns(codes), known.T, strict=True):
        w[name] = col
    w["partial"] = pool
    order = [*windows.columns, *known_columns(codes), "partial"]
    return w.loc[keep, order].reset_index(drop=True), changed


@dataclass(frozen=True)
class ReviewDecisions:
    """The merged decisions (review_labels.parquet) as `segment_dataset`'s `revise` step:
    applied to the windows of the usable recordings, each change an annotation file's label
    printed to the log."""

    path: str | Path
    codes: list[str]

    def __call__(self, windows: pd.DataFrame, manifest: pd.DataFrame) -> pd.DataFrame:
        unlabelled = set(manifest.loc[manifest["annotation_status"] == "no_file", "recording_id"])
        decisions = pd.read_parquet(self.path)
        windows, changed = apply_review(windows, decisions, self.codes, unlabelled)
        print(f"review decisions: {len(changed)} changed an annotation file's label")
        for note in changed:
            print(f"  {note}")
        print(f"{int(windows['partial'].sum())} reviewed windows of {len(unlabelled)} "
              "recordings without a label file", flush=True)  # fmt: skip
        return windows


def known_mask(windows: pd.DataFrame, codes: list[str]) -> np.ndarray | None:
    """[n, species] 0/1 of the labels that are known; None when every label is (no review,
    or none of these windows is partial)."""
    names = known_columns(codes)
    if not set(names) <= set(windows.columns):
        return None
    mask = windows[names].to_numpy().astype(np.float32)
    return None if mask.all() else mask


def merge_review_labels(
    paths: list[str | Path],
    manifest_path: str | Path,
    codes: list[str],
    grid: tuple[float, float],
    decisions_out: str | Path,
    record_out: str | Path,
    archive: frozenset[str] = frozenset(),
) -> pd.DataFrame:
    """Rule merge_review_labels: every labels file of the review folder, checked against the
    usable recordings of the manifest and the window grid, as one table of decisions (with
    each decision's file and line) and a record of the files and overrides. Rows on the
    `archive`'s recordings (predict.audio_dir) are the archive's merge's: left out here."""
    from anuraflow.core.fileio import write_json, write_parquet

    manifest = pd.read_parquet(manifest_path)
    ok = manifest[manifest["status"] == "ok"]
    durations = dict(zip(ok["recording_id"], ok["duration_s"].astype(float), strict=True))
    decisions, record = read_review_labels(paths, durations, codes, *grid, archive)
    print(f"{len(paths)} labels files, {record['n_rows']} rows: " + ", ".join(
        f"{n} {d}" for d, n in record["n_decisions"].items()), flush=True)  # fmt: skip
    if record["n_archive_rows"]:
        print(f"{record['n_archive_rows']} rows on recordings of predict.audio_dir left to the "
              "archive's decisions (validate)", flush=True)  # fmt: skip
    for o in record["overrides"]:
        print(f"  override: {o['by']} ({o['decision']}) replaces {o['replaced']} ({o['replaces']})")
    write_parquet(decisions.assign(time=decisions["time"].astype(str))[COLUMNS], decisions_out)
    write_json(record, record_out)
    return decisions


def labels_file_text(decisions: pd.DataFrame, reviewer: str, time: str) -> str:
    """A labels file as the review page downloads it, from rows of recording, start_s, end_s,
    species, decision: what a simulated reviewer (the loop's benchmark, the tests) writes."""
    rows = ["\t".join([d.recording, f"{d.start_s:g}", f"{d.end_s:g}", d.species, d.decision,
                       reviewer, time]) for d in decisions.itertuples(index=False)]  # fmt: skip
    return "\n".join([PAGE_MARK, "\t".join(HEADER), *rows, f"{END_MARK} {len(rows)} decisions", ""])

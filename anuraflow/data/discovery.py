"""Which file is which recording, and which label file (or which rows of a Raven multi-file
table) belongs to it: a data folder as recorders and annotators leave it.

A recording's id is its file name without extension, in Unicode NFC. A name that is only a
start time (AudioMoth's `YYYYMMDD_HHMMSS`, repeated in every device's folder) gets its folders
under the data folder as a prefix, `siteA/20191113_190000.WAV` -> `siteA_20191113_190000`;
`id_from="folder_and_name"` does so for every name. Either way an id depends only on the
file's own path, so adding a folder never renames the recordings already there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from anuraflow.data.annotation_table import native_raven_table, table_recordings
from anuraflow.data.audacity import looks_like_label_track
from anuraflow.data.folders import list_files, nfc
from anuraflow.data.label_rows import AnnotationError, head_lines, header_names, read_lines
from anuraflow.data.raven import (
    RAVEN_BEGIN,
    is_multi_file,
    raven_reference,
    raven_rows,
    reference_parts,
)
from anuraflow.data.recordings import AUDIO_EXTENSIONS, NAME_PATTERN, RecordingSource

ID_RULES = ("name", "folder_and_name")


def recording_id(folders: tuple[str, ...], stem: str, id_from: str = "name") -> str:
    """The id of the file `stem` found in `folders` (its path under the data folder)."""
    if id_from not in ID_RULES:
        raise ValueError(f"recording ids from {id_from!r}: one of {', '.join(ID_RULES)}")
    stem = nfc(stem)
    name = NAME_PATTERN.match(stem)
    time_only = name is not None and name["site"] is None
    if folders and (id_from == "folder_and_name" or time_only):
        return "_".join([*map(nfc, folders), stem])
    return stem


def _folders(path: Path, root: Path) -> tuple[str, ...]:
    return path.parent.relative_to(root).parts


@dataclass
class Discovery:
    """The recordings found, label files or table rows that belong to none (`orphans`), and
    files passed over by name (`ignored`), each as "path: why"."""

    sources: dict[str, RecordingSource]
    orphans: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def find_audio(audio_dir: str | Path, id_from: str = "name") -> tuple[dict[str, Path], list[str]]:
    """Recording id -> audio file under `audio_dir`, and the files ignored by name. Two files
    with one id are an error: silently picking one would make results depend on order."""
    root = Path(audio_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"audio directory does not exist: {root}")
    listing = list_files(root, AUDIO_EXTENSIONS)
    audio: dict[str, Path] = {}
    # a folder named like a recording is one that cannot be read: it fails by name (under
    # on_bad_recording) where skipping it silently would lose a recording someone expected
    for path in sorted(listing.files + listing.folders):
        rec = recording_id(_folders(path, root), path.stem, id_from)
        if rec in audio:
            raise ValueError(
                f"recording id {rec!r} is used by two audio files: {audio[rec]} and {path}; "
                "rename one, or set data.recording_ids: folder_and_name to prefix every id "
                "with its folders"
            )
        audio[rec] = path
    return audio, listing.ignored


def discover(
    audio_dir: str | Path, annotation_dir: str | Path | None, id_from: str = "name"
) -> Discovery:
    """Every audio file under `audio_dir`, paired with its label file under `annotation_dir`
    by recording id, or with its rows of a Raven multi-file table there."""
    audio, ignored = find_audio(audio_dir, id_from)
    sources = {rec: RecordingSource(rec, str(path), None) for rec, path in audio.items()}
    if annotation_dir is None:
        return Discovery(sources, [], ignored)
    labels = _label_files(Path(annotation_dir), set(audio), id_from)
    tables = {rec: [] for rec in audio}
    orphans = labels.orphans
    for table in labels.tables:
        owned, unmatched = table_owners(table, audio)
        orphans += unmatched
        for rec, files in owned.items():
            tables[rec].append((table, files))
    for rec, path in audio.items():
        named = labels.by_id.get(rec, [])
        found = [str(p) for p in named] + [str(t) for t, _ in tables[rec]]
        if len(found) > 1:
            raise ValueError(f"recording {rec!r} has several annotation files: " + ", ".join(found))
        if tables[rec]:
            table, files = tables[rec][0]
            sources[rec] = RecordingSource(rec, str(path), str(table), tuple(files))
        elif named:
            sources[rec] = RecordingSource(rec, str(path), str(named[0]))
    return Discovery(sources, sorted(orphans), sorted(set(ignored + labels.ignored)))


def discover_recordings(
    audio_dir: str | Path, annotation_dir: str | Path | None, id_from: str = "name"
) -> dict[str, RecordingSource]:
    """The recordings of `discover`, for callers that need nothing else."""
    return discover(audio_dir, annotation_dir, id_from).sources


@dataclass
class _Labels:
    by_id: dict[str, list[Path]] = field(default_factory=dict)
    tables: list[Path] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def _label_files(root: Path, recordings: set[str], id_from: str) -> _Labels:
    """The text files under `root`: a recording's label file (named after it, Raven's
    `<name>.Table.1.selections.txt` or `<name>.txt`), a Raven multi-file table (any name),
    an orphan label file, or, with a note, some other text (a README)."""
    labels = _Labels()
    listing = list_files(root, (".txt",))
    labels.ignored += listing.ignored
    for path in listing.files:
        lines = head_lines(path)
        header = header_names(lines)
        if is_multi_file(header):
            labels.tables.append(path)
            continue
        stem = path.name.split(".Table.")[0] if ".Table." in path.name else path.stem
        ids = {recording_id(_folders(path, root), stem, id_from), nfc(stem)} & recordings
        if ids:
            labels.by_id.setdefault(min(ids), []).append(path)
        elif RAVEN_BEGIN in header or looks_like_label_track(lines):
            labels.orphans.append(str(path))
        else:
            labels.ignored.append(
                f"{path}: neither named after a recording nor a label table, ignored"
            )
    return labels


def table_owners(
    table: str | Path, audio: dict[str, Path]
) -> tuple[dict[str, list[str]], list[str]]:
    """Recording id -> the files (as written in the table's Begin Path or Begin File) of a
    Raven multi-file table that are that recording, and "table:line: ..." for files that are
    no recording. A file name shared by several recordings (one per site folder) is told
    apart by the folder in its Begin Path, else by the folder the table is in (a table beside
    its recording); when neither tells, it is an error."""
    table = Path(table)
    lines = read_lines(table)
    header = header_names(lines)
    first_line: dict[str, int] = {}
    for number, fields, col in raven_rows(table, lines, header):
        reference = raven_reference(fields, col)
        if not reference:
            raise AnnotationError(table, number, "no Begin File (or Begin Path): whose call?")
        first_line.setdefault(reference, number)
    by_stem: dict[str, list[str]] = {}
    for rec, path in audio.items():
        by_stem.setdefault(nfc(path.stem), []).append(rec)
    owned: dict[str, list[str]] = {}
    orphans = []
    for reference, line in first_line.items():
        folder, stem = reference_parts(reference)
        candidates = by_stem.get(stem, [])
        # one name in several site folders: the folder in Begin Path, else the table's own
        for hint in (folder, nfc(table.parent.name)) if len(candidates) > 1 else ():
            in_folder = [r for r in candidates if nfc(audio[r].parent.name) == hint]
            if in_folder:
                candidates = in_folder
                break
        if not candidates:
            orphans.append(f"{table}:{line}: {reference} is no recording under the audio folder")
        elif len(candidates) > 1:
            raise ValueError(
                f"{table}:{line}: {reference!r} could be any of the recordings "
                f"{', '.join(sorted(candidates))}; add Raven's Begin Path column (the "
                "file's folder tells them apart), or keep one table per folder"
            )
        else:
            owned.setdefault(candidates[0], []).append(reference)
    return owned, orphans


def with_annotation_table(
    sources: dict[str, RecordingSource], table: str | Path, recordings_in_table: set[str]
) -> tuple[dict[str, RecordingSource], list[str]]:
    """Every recording the table names gets the table as its annotation source; the others
    have none. Also the table's recordings without audio (reported like orphan label files)."""
    paired = {
        rec: RecordingSource(rec, s.audio, str(table) if rec in recordings_in_table else None)
        for rec, s in sources.items()
    }
    orphans = sorted(f"{table}: recording {rec}" for rec in recordings_in_table - set(sources))
    return paired, orphans


def with_raven_table(
    sources: dict[str, RecordingSource], table: str | Path
) -> tuple[dict[str, RecordingSource], list[str]]:
    """A Raven multi-file table given as `data.annotation_table`: each recording gets its
    rows, read natively; files the table names that are no recording, as orphans."""
    owned, orphans = table_owners(table, {r: Path(s.audio) for r, s in sources.items()})
    paired = {
        rec: RecordingSource(rec, s.audio, str(table), tuple(owned[rec]))
        if rec in owned
        else RecordingSource(rec, s.audio, None)
        for rec, s in sources.items()
    }
    return paired, orphans


def discover_with_table(audio_dir: str | Path, table: dict, id_from: str = "name") -> Discovery:
    """Every audio file under `audio_dir`, labelled by one table for the whole dataset
    (`table`: its path and column names): a Raven multi-file selection table is read
    natively, any other table by its named columns."""
    found = discover(audio_dir, None, id_from)
    if native_raven_table(table["path"], table):
        sources, orphans = with_raven_table(found.sources, table["path"])
    else:
        named = table_recordings(table["path"], table)
        sources, orphans = with_annotation_table(found.sources, table["path"], named)
    return Discovery(sources, orphans, found.ignored)

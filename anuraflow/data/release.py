"""The AnuraSet release as researchers download it: 3 s clips and a `metadata.csv`.

`metadata.csv` holds `sample_name, fname, min_t, max_t, site, date, species_number, subset`,
then one 0/1 column per species; the clip of a row is `audio/{site}/{fname}_{min_t}_{max_t}.wav`
with site the part of `fname` before its first `_`, and `fname` the one-minute recording the
clip was cut from. Consecutive clips overlap by 2 s, so each recording is rebuilt from its clips
(the overlapping samples must agree; a stretch no clip covers stays a gap of zeros that no
window uses) and its features are computed once, as for raw recordings: one job per
recording, windows as slices. Windows and labels are the metadata's rows; the split is the
release's official one (validation carved from its train recordings by `splits`).
"""

from __future__ import annotations

import functools
import hashlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from anuraflow.core.fileio import atomic_path, write_parquet
from anuraflow.data.audio import (
    AudioError,
    decode_pcm16_wav,
    resample,
    to_mono,
    write_ingested,
    write_skipped,
)
from anuraflow.data.recordings import parse_recording_name
from anuraflow.data.windows import window_id, with_labels

RELEASE_COLUMNS = [
    "sample_name",
    "fname",
    "min_t",
    "max_t",
    "site",
    "date",
    "species_number",
    "subset",
]
RELEASE_SUBSETS = ("train", "test")
# overlapping clips cut from one 16-bit recording agree to the last bit; allow one step
OVERLAP_TOLERANCE = 1.5 / 32768


class ReleaseError(ValueError):
    """A metadata.csv that cannot be used; the message names the file and the line."""

    def __init__(self, path: str | Path, line: int | None, message: str):
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")


def clip_site(fname: str) -> str:
    """The site folder of a recording's clips: `fname` up to its first `_`."""
    return fname.split("_", 1)[0]


def clip_path(release_dir: str | Path, fname: str, min_t: int, max_t: int) -> Path:
    return Path(release_dir) / "audio" / clip_site(fname) / f"{fname}_{min_t}_{max_t}.wav"


def read_metadata_header(path: str | Path, codes: list[str]) -> list[str]:
    """The species columns of metadata.csv, checked against the config's species."""
    header = pd.read_csv(path, nrows=0).columns.tolist()
    if header[: len(RELEASE_COLUMNS)] != RELEASE_COLUMNS:
        raise ReleaseError(
            path,
            1,
            f"the first columns must be {', '.join(RELEASE_COLUMNS)}; got "
            f"{', '.join(header[: len(RELEASE_COLUMNS)])}",
        )
    species = header[len(RELEASE_COLUMNS) :]
    unknown = [c for c in species if c not in codes]
    if unknown:
        raise ReleaseError(
            path, 1, f"species column(s) not in the config's species: {', '.join(unknown)}"
        )
    missing = [c for c in codes if c not in species]
    if missing:
        raise ReleaseError(path, 1, f"no column for the config's species {', '.join(missing)}")
    return species


def row_problems(table: pd.DataFrame, species: list[str]) -> pd.Series:
    """Per metadata row, what is wrong with it (the first failing check, in column order), or
    None; each check runs over all rows at once (93,378 rows in about a second)."""
    problems = pd.Series(None, index=table.index, dtype=object)

    def flag(mask: pd.Series, message) -> None:
        todo = mask & problems.isna()
        problems[todo] = [message(row) for _, row in table[todo].iterrows()]

    times = {c: pd.to_numeric(table[c], errors="coerce") for c in ("min_t", "max_t")}
    for col, t in times.items():
        flag(
            t.isna() | (t % 1 != 0) | (t < 0),
            lambda r, col=col: f"{col} {r[col]!r} is not a whole number of seconds",
        )
    flag(
        times["max_t"] <= times["min_t"],
        lambda r: f"max_t {r['max_t']} is not after min_t {r['min_t']}",
    )
    flag(
        ~table["subset"].isin(RELEASE_SUBSETS),
        lambda r: f"subset {r['subset']!r} is not train or test",
    )
    for c in species:
        flag(
            ~table[c].str.strip().isin(["0", "1"]),
            lambda r, c=c: f"column {c} is {r[c]!r}, not 0 or 1",
        )
    return problems


def read_metadata(
    path: str | Path, codes: list[str], on_bad_annotation: str = "fail"
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """The usable rows of metadata.csv (with their CSV `line`) and, per recording, a note for
    each dropped row.

    A bad row (times, subset, a species value other than 0/1) fails the run naming its line,
    or under `on_bad_annotation="skip"` is dropped with a note. A recording whose clips are in
    both official subsets cannot be split by recording: an error (or all its rows dropped).
    """
    species = read_metadata_header(path, codes)
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table["line"] = np.arange(len(table)) + 2
    notes: dict[str, list[str]] = {}
    keep = np.ones(len(table), dtype=bool)
    problems = row_problems(table, species)
    for i in np.flatnonzero(problems.notna().to_numpy()):
        row, problem = table.iloc[i], problems.iloc[i]
        if on_bad_annotation == "fail":
            raise ReleaseError(path, int(row["line"]), problem)
        keep[i] = False
        notes.setdefault(row["fname"], []).append(f"{path}:{row['line']}: {problem}; row dropped")
    table = table[keep].copy()
    table[["min_t", "max_t"]] = table[["min_t", "max_t"]].astype(float).astype(int)
    table[codes] = table[codes].astype(np.uint8)
    both = table.groupby("fname")["subset"].nunique()
    for fname in both[both > 1].index:
        rows = table[table["fname"] == fname]
        message = f"recording {fname} has clips in both subsets (lines {rows['line'].min()}-"
        message += f"{rows['line'].max()}); a recording must be in one"
        if on_bad_annotation == "fail":
            raise ReleaseError(path, int(rows["line"].iloc[0]), message)
        notes.setdefault(fname, []).append(f"{path}: {message}; its rows dropped")
        table = table[table["fname"] != fname]
    return table.reset_index(drop=True), notes


def index_release(
    release_dir: str | Path,
    codes: list[str],
    clips_out: str | Path,
    metadata_out: str | Path,
    split_out: str | Path,
    on_bad_recording: str = "fail",
    on_bad_annotation: str = "fail",
) -> pd.DataFrame:
    """Check metadata.csv and the clip files once, and write the checked metadata (Parquet),
    every usable clip with its file, size and CSV line and every note on a dropped row
    (`clips_out`, Parquet), and the official split (recording_id, subset)."""
    release_dir = Path(release_dir)
    csv = release_dir / "metadata.csv"
    table, notes = read_metadata(csv, codes, on_bad_annotation)
    paths = [
        clip_path(release_dir, f, a, b)
        for f, a, b in zip(table["fname"], table["min_t"], table["max_t"], strict=True)
    ]
    exists = np.array([p.is_file() for p in paths], dtype=bool)
    missing: dict[str, list[str]] = {}
    for i in np.flatnonzero(~exists):
        message = f"line {table['line'].iloc[i]} names {paths[i]}, which does not exist"
        if on_bad_recording == "fail":
            raise ReleaseError(csv, int(table["line"].iloc[i]), f"clip {paths[i]} does not exist")
        missing.setdefault(table["fname"].iloc[i], []).append(f"{csv}: {message}; row dropped")
    table = table.assign(path=[str(p) for p in paths])[exists].reset_index(drop=True)
    clips = table[["fname", "min_t", "max_t", "path", "line"]].assign(
        bytes=[Path(p).stat().st_size for p in table["path"]], note=None, policy=None
    )
    dropped = pd.DataFrame(
        [
            {"fname": rec, "note": n, "policy": policy}
            for policy, by_rec in (("on_bad_annotation", notes), ("on_bad_recording", missing))
            for rec, ns in by_rec.items()
            for n in ns
        ],
        columns=["fname", "note", "policy"],
    )
    write_parquet(pd.concat([clips, dropped], ignore_index=True), clips_out)
    write_parquet(table.drop(columns="path"), metadata_out)
    split = table.groupby("fname")["subset"].first().rename_axis("recording_id").reset_index()
    with atomic_path(split_out) as tmp:
        split.to_csv(tmp, sep="\t", index=False)
    return table


@functools.lru_cache(maxsize=2)
def _clips_by_recording(path: str, mtime: float) -> dict[str, pd.DataFrame]:
    """The clip index grouped by recording, read once per process (the ingest jobs run as
    threads of Snakemake's process); `mtime` keys the cache to the file."""
    return dict(tuple(pd.read_parquet(path).groupby("fname")))


def recording_clips(clips_index: str | Path, recording_id: str) -> tuple[list[dict], list[str]]:
    """One recording's usable clips (times, file, size, CSV line), in time order, and the notes
    on its dropped rows, from the clip index `index_release` wrote."""
    rows = _clips_by_recording(str(clips_index), Path(clips_index).stat().st_mtime).get(
        recording_id, pd.DataFrame(columns=["note", "min_t"])
    )
    clips = rows[rows["note"].isna()].sort_values("min_t")
    listing = [
        {
            "min_t": int(c.min_t),
            "max_t": int(c.max_t),
            "path": c.path,
            "line": int(c.line),
            "bytes": int(c.bytes),
        }
        for c in clips.itertuples()
    ]
    return listing, rows.loc[rows["note"].notna(), "note"].tolist()


def dropped_by_policy(clips_index: str | Path, recording_id: str) -> dict[str, list[str]]:
    """One recording's dropped metadata rows, by the policy that decides on them
    (on_bad_annotation: a bad row; on_bad_recording: a missing clip)."""
    rows = _clips_by_recording(str(clips_index), Path(clips_index).stat().st_mtime).get(
        recording_id
    )
    if rows is None or "policy" not in rows:
        return {}
    dropped = rows[rows["note"].notna()]
    return {k: g["note"].tolist() for k, g in dropped.groupby("policy")}


def assemble_clips(clips: list[dict], digest=None) -> tuple[np.ndarray, int, list[str]]:
    """One recording's samples rebuilt from its clips, its rate, and notes on gaps.

    Every clip must be (max_t - min_t) s long at one common rate; where clips overlap their
    samples must agree. A stretch no clip covers stays zeros, and is noted: no window of the
    release lies there, so only the STFT context at its edges sees it. `digest` (a hashlib
    object) is fed every clip's bytes, in time order.
    """
    if not clips:
        raise AudioError("no usable clip")
    rate, pieces = None, []
    for clip in sorted(clips, key=lambda c: c["min_t"]):
        raw = Path(clip["path"]).read_bytes()  # read once: hashed and decoded
        if digest is not None:
            digest.update(raw)
        decoded = decode_pcm16_wav(raw)
        if decoded is None:  # not plain 16-bit PCM: libsndfile reads it
            decoded = sf.read(io.BytesIO(raw), dtype="float32", always_2d=True)
        data, clip_rate = decoded
        mono = to_mono(data)
        rate = rate or clip_rate
        if clip_rate != rate:
            raise AudioError(
                f"{clip['path']}: sample rate {clip_rate} Hz, the recording's "
                f"other clips have {rate} Hz"
            )
        want = (clip["max_t"] - clip["min_t"]) * rate
        if abs(len(mono) - want) > 1:
            raise AudioError(
                f"{clip['path']}: {len(mono) / rate:.4f} s long, expected "
                f"{clip['max_t'] - clip['min_t']} s (min_t {clip['min_t']}, "
                f"max_t {clip['max_t']})"
            )
        pieces.append((clip, mono[:want]))
    end = max(c["max_t"] for c in clips) * rate
    out = np.zeros(end, np.float32)
    covered_to, gap = 0, 0  # clips in time order: [start of the first, covered_to) is whole
    for clip, mono in pieces:
        a = clip["min_t"] * rate
        b = a + len(mono)
        shared = min(b, covered_to) - a  # overlap with the clips before it
        if shared > 0:
            diff = np.abs(out[a : a + shared] - mono[:shared]).max()
            if diff > OVERLAP_TOLERANCE:
                raise AudioError(
                    f"{clip['path']}: differs by up to {diff:.5f} from the clip "
                    "before it where they overlap; not cut from one recording?"
                )
        gap += max(0, a - covered_to)
        out[a:b] = mono
        covered_to = max(covered_to, b)
    notes = []
    if gap:
        notes.append(f"{gap / rate:g} s of the recording are in no clip: kept as a gap of zeros")
    return out, rate, notes


def ingest_release_recording(
    clips_index: str | Path,
    recording_id: str,
    metadata_csv: str,
    audio_out: str | Path,
    record_out: str | Path,
    sample_rate: int,
    on_bad_recording: str = "fail",
) -> dict:
    """Rebuild one recording from its clips, standardise it like a raw recording (mono,
    `sample_rate`, 16-bit WAV) and write its manifest record."""
    rec = recording_id
    clips, dropped = recording_clips(clips_index, rec)
    _, start = parse_recording_name(rec)
    digest = hashlib.sha256()
    record = {
        "recording_id": rec,
        "site": clip_site(rec),
        "start_datetime": start.isoformat() if start else None,
        "source_path": str(Path(metadata_csv).parent / "audio" / clip_site(rec)),
        "source_sha256": None,
        "audio_path": str(audio_out),
        "sample_rate": sample_rate,
        "notes": list(dropped),
        "policy_problems": dropped_by_policy(clips_index, rec),
        "annotation_path": metadata_csv,
        "annotation_sha256": None,
        "annotation_status": "metadata",
        "n_calls": None,
        "n_clips": len(clips),
    }
    try:
        samples, rate, notes = assemble_clips(clips, digest)
        record["source_sha256"] = digest.hexdigest()  # of every clip's bytes, in time order
    except (AudioError, sf.LibsndfileError, RuntimeError) as err:
        if on_bad_recording == "fail":
            raise AudioError(f"recording {rec}: {err}") from err
        return write_skipped(record, f"{rec}: {err}", audio_out, record_out)
    record["notes"] += notes
    return write_ingested(
        record,
        resample(samples, rate, sample_rate),
        audio_out,
        record_out,
        orig_sample_rate=rate,
        orig_channels=1,
        orig_format="release clips",
    )


def release_windows(
    metadata_path: str | Path, manifest_path: str | Path, out_path: str | Path, codes: list[str]
) -> pd.DataFrame:
    """windows.parquet from the checked metadata: one window per clip of a usable recording,
    `window_id` `{fname}_{min_t}_{max_t}`, the release's labels."""
    table = pd.read_parquet(metadata_path)
    manifest = pd.read_parquet(manifest_path)
    usable = set(manifest.loc[manifest["status"] == "ok", "recording_id"])
    if not usable:
        raise ValueError(f"{manifest_path}: no usable recording (every one was skipped)")
    table = table[table["fname"].isin(usable)].sort_values(["fname", "min_t"])
    windows = pd.DataFrame(
        {
            "window_id": [
                window_id(f, a, b)
                for f, a, b in zip(table["fname"], table["min_t"], table["max_t"], strict=True)
            ],
            "recording_id": table["fname"].to_numpy(),
            "site": [clip_site(f) for f in table["fname"]],
            "start_s": table["min_t"].astype(float).to_numpy(),
            "end_s": table["max_t"].astype(float).to_numpy(),
        }
    )
    windows = with_labels(windows, table[codes].to_numpy(), codes)
    write_parquet(windows, out_path)
    return windows


def release_from_recordings(
    raw_dir: str | Path,
    release_dir: str | Path,
    codes: list[str],
    window_s: int = 3,
    hop_s: int = 1,
    clip_rate: int = 22050,
    test_every: int = 3,
) -> pd.DataFrame:
    """Write a release-format copy of one-minute recordings with Audacity labels (the test
    data of the release route): 3 s clips every second at `clip_rate`, 16-bit, labels by the
    AnuraSet authors' rule, every `test_every`-th recording in the test subset."""
    from anuraflow.data.audacity import parse_audacity_labels
    from anuraflow.data.audio import read_audio
    from anuraflow.data.discovery import discover_recordings
    from anuraflow.data.windows import window_labels, window_starts

    release_dir = Path(release_dir)
    rows = []
    for k, (rec, source) in enumerate(sorted(discover_recordings(raw_dir, raw_dir).items())):
        data, rate = read_audio(source.audio)
        mono = resample(to_mono(data), rate, clip_rate)
        starts = window_starts(len(mono) / clip_rate, window_s, hop_s).astype(int)
        calls = parse_audacity_labels(source.annotation, rec)
        labels = window_labels(starts.astype(float), window_s, calls, codes, rule="anuraset")
        for start, label in zip(starts, labels, strict=True):
            end = start + window_s
            path = clip_path(release_dir, rec, start, end)
            path.parent.mkdir(parents=True, exist_ok=True)
            clip = mono[start * clip_rate : end * clip_rate]
            sf.write(str(path), clip, clip_rate, subtype="PCM_16")
            rows.append(
                {
                    "sample_name": f"{rec}_{start}_{end}",
                    "fname": rec,
                    "min_t": start,
                    "max_t": end,
                    "site": clip_site(rec),
                    "date": rec.split("_")[1] if rec.count("_") >= 2 else "",
                    "species_number": int(label.sum()),
                    "subset": "test" if k % test_every == test_every - 1 else "train",
                    **dict(zip(codes, label.astype(int).tolist(), strict=True)),
                }
            )
    table = pd.DataFrame(rows)
    table.to_csv(release_dir / "metadata.csv", index=False)
    return table

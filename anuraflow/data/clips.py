"""Clips in one folder per class (seed 002's dataset layout, and the layout BirdNET users train
from): `{class_dir}/{CODE}/*.wav`, each clip one window of the single-label task.

Each clip is a "recording" of its own (`{CODE}_{file stem}`), standardised like a raw recording
and then fitted to the window as seed 002 aligns its inputs: a longer clip is cut (from its start,
or around its centre), a shorter one zero-padded at the end. Its label is its folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from anuraflow.core.fileio import file_sha256, write_parquet
from anuraflow.data.audio import (
    AudioError,
    read_audio,
    resample,
    to_mono,
    write_ingested,
    write_skipped,
)
from anuraflow.data.folders import is_system_file, list_files, nfc
from anuraflow.data.recordings import AUDIO_EXTENSIONS, RecordingSource
from anuraflow.data.windows import window_id, with_labels

CLIP_FITS = ("start", "center")


def class_folder_sources(class_dir: str | Path, codes: list[str]) -> dict[str, RecordingSource]:
    """Every clip under `{class_dir}/{CODE}/`, by recording id `{CODE}_{stem}`. A folder that
    is not a species of the config is an error naming it (a typo must not drop a class)."""
    root = Path(class_dir)
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not is_system_file(p.name))
    unknown = [p.name for p in folders if p.name not in codes]
    if unknown:
        raise ValueError(
            f"{root}: folder(s) {', '.join(unknown)} are not species of the config "
            f"(known: {', '.join(codes)})"
        )
    sources = {}
    for folder in folders:
        for path in list_files(folder, AUDIO_EXTENSIONS).files:
            rec = f"{folder.name}_{nfc(path.stem)}"
            if rec in sources:
                raise ValueError(f"{path}: a second clip named {path.stem} in {folder}")
            sources[rec] = RecordingSource(rec, str(path), None)
    return sources


def clip_groups(path: str | Path, class_dir: str | Path, codes: list[str]) -> dict[str, str]:
    """Recording id -> group from a table (CSV, or TSV for .tsv / .txt) with columns `file` (a
    clip's path under class_dir, e.g. BOAFAB/x.wav) and `group`. A file that is no clip of
    class_dir is an error naming its line; clips the table leaves out are groups of their own."""
    path = Path(path)
    sep = "\t" if path.suffix.lower() in (".tsv", ".txt") else ","
    table = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    missing = {"file", "group"} - set(table.columns)
    if missing:
        raise ValueError(f"{path}:1: no column {', '.join(sorted(missing))} (needs file, group)")
    sources = class_folder_sources(class_dir, codes)
    by_file = {str(Path(s.audio).relative_to(class_dir)): rec for rec, s in sources.items()}
    out = {}
    for line, row in enumerate(table.itertuples(index=False), start=2):
        rec = by_file.get(str(Path(row.file)))
        if rec is None:
            raise ValueError(f"{path}:{line}: {row.file} is not a clip under {class_dir}")
        out[rec] = row.group
    return out


def fit_clip(samples: np.ndarray, n: int, fit: str = "start") -> tuple[np.ndarray, str | None]:
    """`samples` cut or zero-padded to exactly `n`; a note when either happened."""
    if fit not in CLIP_FITS:
        raise ValueError(f"clip_fit {fit!r}: one of {', '.join(CLIP_FITS)}")
    if len(samples) > n:
        first = 0 if fit == "start" else (len(samples) - n) // 2
        return samples[first : first + n], f"cut from {len(samples)} to {n} samples ({fit})"
    if len(samples) < n:
        padded = np.concatenate([samples, np.zeros(n - len(samples), samples.dtype)])
        return padded, f"zero-padded from {len(samples)} to {n} samples"
    return samples, None


def ingest_clip(
    source: str | Path,
    audio_out: str | Path,
    record_out: str | Path,
    recording_id: str,
    sample_rate: int,
    window_s: float,
    fit: str = "start",
    on_bad_recording: str = "fail",
) -> dict:
    """One clip to mono `sample_rate` 16-bit WAV of exactly one window, and its record (its
    class is its folder). A window's frames all have their centres inside it (frames are
    counted down, `features.LogMelConfig`), so no padding past the window is needed."""
    source = Path(source)
    record = {
        "recording_id": recording_id,
        "site": source.parent.name,
        "class_code": source.parent.name,
        "start_datetime": None,
        "source_path": str(source),
        "source_sha256": file_sha256(source),
        "audio_path": str(audio_out),
        "sample_rate": sample_rate,
        "notes": [],
        "annotation_path": str(source.parent),
        "annotation_sha256": None,
        "annotation_status": "folder",
        "n_calls": None,
    }
    try:
        data, rate = read_audio(source)
        if data.shape[0] == 0:
            raise AudioError(f"{source}: contains no samples (zero-length audio)")
        mono = resample(to_mono(data), rate, sample_rate)
        if not np.isfinite(mono).all():
            raise AudioError(f"{source}: contains NaN or infinite samples")
    except AudioError as err:
        if on_bad_recording == "fail":
            raise
        return write_skipped(record, str(err), audio_out, record_out)
    out, note = fit_clip(mono, round(window_s * sample_rate), fit)
    if note:
        record["notes"].append(f"{source}: {note}")
    return write_ingested(
        record,
        out,
        audio_out,
        record_out,
        orig_sample_rate=rate,
        orig_channels=int(data.shape[1]),
        orig_duration_s=data.shape[0] / rate,
        orig_format=f"{sf.info(str(source)).format}",
    )


def class_folder_windows(
    manifest_path: str | Path, out_path: str | Path, codes: list[str], window_s: float
) -> pd.DataFrame:
    """windows.parquet: one window per usable clip, labelled by its folder."""
    manifest = pd.read_parquet(manifest_path)
    manifest = manifest[manifest["status"] == "ok"].sort_values("recording_id")
    if manifest.empty:
        raise ValueError(f"{manifest_path}: no usable clip (every one was skipped)")
    windows = pd.DataFrame(
        {
            "window_id": [window_id(r, 0, window_s) for r in manifest["recording_id"]],
            "recording_id": manifest["recording_id"].to_numpy(),
            "site": manifest["site"].to_numpy(),
            "start_s": 0.0,
            "end_s": float(window_s),
        }
    )
    labels = manifest["class_code"].to_numpy()[:, None] == np.array(codes)[None, :]
    windows = with_labels(windows, labels, codes)
    write_parquet(windows, out_path)
    return windows


def class_folders_from_windows(
    windows: pd.DataFrame,
    audio_paths: dict[str, str],
    out_dir: str | Path,
    codes: list[str],
    lengths_s: tuple[float, ...] = (2.5, 3.0, 4.0),
) -> pd.DataFrame:
    """A class-folders copy of labelled recordings (test data): every window with exactly one
    species, cut from its recording (`audio_paths`: recording id -> file) and written to
    `{out_dir}/{CODE}/`; clip lengths cycle through `lengths_s`, so padding and cutting are
    both exercised."""
    single = windows[windows[codes].sum(axis=1) == 1].reset_index(drop=True)
    rows = []
    for k, w in single.iterrows():
        data, rate = read_audio(audio_paths[w["recording_id"]])
        length = lengths_s[k % len(lengths_s)]
        start = int(w["start_s"] * rate)
        clip = to_mono(data)[start : start + int(length * rate)]
        code = codes[int(np.argmax(w[codes].to_numpy()))]
        path = Path(out_dir) / code / f"{w['window_id']}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), clip, rate, subtype="PCM_16")
        rows.append({"clip": str(path), "code": code, "seconds": len(clip) / rate})
    return pd.DataFrame(rows)

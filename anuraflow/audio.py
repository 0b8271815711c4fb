"""Audio IO: read any libsndfile format, mix to mono, resample, write standardised audio."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from anuraflow.fileio import atomic_path, write_json
from anuraflow.recordings import parse_recording_name, recording_site


class AudioError(ValueError):
    """A recording that cannot be used, with the file named in the message."""


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Samples as float32 [frames, channels] and the sample rate."""
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise AudioError(f"{path}: cannot be read as audio ({err})") from err
    return data, int(rate)


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Average the channels: keeps calls that reach only one microphone."""
    return samples.mean(axis=1) if samples.ndim == 2 else samples


def resample(samples: np.ndarray, orig_rate: int, new_rate: int) -> np.ndarray:
    """Band-limited sinc resampling (torchaudio), identity when the rates already match."""
    if orig_rate == new_rate:
        return samples.astype(np.float32, copy=False)
    import torch
    import torchaudio.functional as AF

    out = AF.resample(torch.from_numpy(np.ascontiguousarray(samples)), orig_rate, new_rate)
    return out.numpy()


def standardise_recording(
    source: str | Path,
    audio_out: str | Path,
    manifest_out: str | Path,
    sample_rate: int,
    recording_id: str | None = None,
) -> dict[str, Any]:
    """Ingest one raw recording: mono, `sample_rate`, 16-bit WAV, plus its manifest record."""
    source = Path(source)
    recording_id = recording_id or source.stem
    samples, orig_rate = read_audio(source)
    info = sf.info(str(source))
    if samples.shape[0] == 0:
        raise AudioError(f"{source}: contains no samples")
    mono = to_mono(samples)
    if not np.all(np.isfinite(mono)):
        raise AudioError(f"{source}: contains NaN or infinite samples")
    out = np.clip(resample(mono, orig_rate, sample_rate), -1.0, 1.0 - 2**-15)
    with atomic_path(audio_out) as tmp:
        sf.write(str(tmp), out, sample_rate, subtype="PCM_16", format="WAV")
    _, start = parse_recording_name(recording_id)
    record = {
        "recording_id": recording_id,
        "site": recording_site(recording_id, source),
        "start_datetime": start.isoformat() if start else None,
        "duration_s": out.shape[0] / sample_rate,
        "n_samples": int(out.shape[0]),
        "sample_rate": sample_rate,
        "orig_sample_rate": orig_rate,
        "orig_channels": int(samples.shape[1]),
        "orig_format": f"{info.format}/{info.subtype}" if info else None,
        "source_path": str(source),
        "source_sha256": file_sha256(source),
        "audio_path": str(audio_out),
    }
    write_json(record, manifest_out)
    return record

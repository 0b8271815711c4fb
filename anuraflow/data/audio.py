"""Audio IO: read any libsndfile format, mix to mono, resample, write standardised audio."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from anuraflow.core.fileio import atomic_path, file_sha256, write_json
from anuraflow.data.recorder_names import DEFAULT_NAMES, RecorderNames
from anuraflow.data.wav_header import truncation_note


class AudioError(ValueError):
    """A recording that cannot be used, with the file named in the message."""


LIBSNDFILE_ERRORS = (sf.LibsndfileError, RuntimeError, TypeError)


def check_not_empty(path: Path) -> None:
    if path.is_dir():
        raise AudioError(f"{path}: a folder named like an audio file, not a recording")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: empty file (0 bytes)")


def unreadable(path: Path, err: Exception) -> AudioError:
    """The error for a file libsndfile cannot open, with what is wrong in a WAV header."""
    problem = wav_header_problem(path)
    detail = f"{problem}; " if problem else ""
    return AudioError(f"{path}: cannot be read as audio ({detail}libsndfile: {err})")


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Samples as float32 [frames, channels] and the sample rate."""
    path = Path(path)
    check_not_empty(path)
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except LIBSNDFILE_ERRORS as err:
        raise unreadable(path, err) from err
    return data, int(rate)


# WAVE format tags: what a header announces, named so an error says more than "malformed".
WAV_FORMAT_TAGS = {
    0x0001: "PCM",
    0x0002: "MS ADPCM",
    0x0003: "IEEE float",
    0x0006: "A-law",
    0x0007: "mu-law",
    0x0011: "IMA ADPCM",
    0x0031: "GSM 6.10",
    0x0050: "MPEG",
    0x0055: "MPEG Layer 3",
    0x0161: "Windows Media Audio",
    0xFFFE: "extensible",
}
READABLE_WAV_TAGS = {0x0001, 0x0002, 0x0003, 0x0006, 0x0007, 0x0011, 0x0031, 0xFFFE}


def wav_header_problem(path: str | Path) -> str | None:
    """What is wrong with a RIFF/WAVE header, or None (fine, or not a WAV file at all)."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
        return None
    pos = 12
    while pos + 8 <= len(head):
        chunk, size = head[pos : pos + 4], int.from_bytes(head[pos + 4 : pos + 8], "little")
        if chunk == b"fmt ":
            body = head[pos + 8 : pos + 8 + size]
            if size < 16 or len(body) < 16:
                return f"truncated WAV header: the 'fmt ' chunk has {len(body)} of 16 bytes"
            tag = int.from_bytes(body[:2], "little")
            if tag not in READABLE_WAV_TAGS:
                name = WAV_FORMAT_TAGS.get(tag, "unknown")
                return f"unsupported WAV encoding: format tag 0x{tag:04X} ({name})"
            return None
        pos += 8 + size + (size & 1)
    return f"truncated WAV header: no complete 'fmt ' chunk in the file's {len(head)} bytes"


def decode_pcm16_wav(raw: bytes) -> tuple[np.ndarray, int] | None:
    """Samples [frames, channels] float32 and the rate of a plain 16-bit PCM WAV held in
    memory, as soundfile reads them (int16 / 32768); None for any other file, which the caller
    then reads with soundfile. The release's 93,378 clips are such files: decoding them here
    halves the cost of reading them one by one through libsndfile."""
    if len(raw) < 12 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        return None
    pos, fmt = 12, None
    while pos + 8 <= len(raw):
        chunk, size = raw[pos : pos + 4], int.from_bytes(raw[pos + 4 : pos + 8], "little")
        body = raw[pos + 8 : pos + 8 + size]
        if chunk == b"fmt ":
            if len(body) < 16:
                return None
            fmt = (
                int.from_bytes(body[0:2], "little"),  # format tag
                int.from_bytes(body[2:4], "little"),  # channels
                int.from_bytes(body[4:8], "little"),  # rate
                int.from_bytes(body[14:16], "little"),  # bits per sample
            )
        elif chunk == b"data":
            if fmt is None or fmt[0] != 1 or fmt[3] != 16 or fmt[1] < 1 or len(body) < size:
                return None
            frames = np.frombuffer(body[: size - size % (2 * fmt[1])], dtype="<i2")
            return (frames.reshape(-1, fmt[1]).astype(np.float32) / 32768.0), fmt[2]
        pos += 8 + size + (size & 1)
    return None


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Average the channels: keeps calls that reach only one microphone."""
    if samples.ndim == 2 and samples.shape[1] == 1:
        return samples[:, 0]  # already mono: a view, not a mean over one channel
    return samples.mean(axis=1) if samples.ndim == 2 else samples


def resample(samples: np.ndarray, orig_rate: int, new_rate: int) -> np.ndarray:
    """Band-limited sinc resampling (torchaudio), identity when the rates already match."""
    if orig_rate == new_rate:
        return samples.astype(np.float32, copy=False)
    import torch
    import torchaudio.functional as AF

    out = AF.resample(torch.from_numpy(np.ascontiguousarray(samples)), orig_rate, new_rate)
    return out.numpy()


MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8_000, 384_000
BAD_RECORDING_POLICIES = ("fail", "skip")


def check_sample_rate(path: str | Path, rate: int) -> None:
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioError(
            f"{path}: sample rate {rate} Hz is outside {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz"
        )


def silent_recording(path: str | Path) -> AudioError:
    """The error of a recording whose every sample is zero."""
    return AudioError(f"{path}: every sample is zero (a dead microphone or failed recorder?)")


def usable_samples(
    path: str | Path, samples: np.ndarray, rate: int, min_duration_s: float = 0.0
) -> np.ndarray:
    """The mono signal of a decoded recording, or an AudioError saying why it cannot be used."""
    check_sample_rate(path, rate)
    if samples.shape[0] == 0:
        raise AudioError(f"{path}: contains no samples (zero-length audio)")
    bad = ~np.isfinite(samples)
    if bad.any():
        first = int(np.flatnonzero(bad.any(axis=1))[0])
        raise AudioError(
            f"{path}: contains {int(bad.sum())} NaN or infinite samples "
            f"(the first at {first / rate:.3f} s)"
        )
    mono = to_mono(samples)
    if not np.any(mono):
        raise silent_recording(path)
    duration = samples.shape[0] / rate
    if duration + 1e-9 < min_duration_s:
        raise AudioError(
            f"{path}: is {duration:.3f} s long, shorter than one {min_duration_s:g} s window"
        )
    return mono


def clip_pcm16(samples: np.ndarray) -> np.ndarray:
    return np.clip(samples, -1.0, 1.0 - 2**-15)


def pcm16_levels(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mono float samples as the standardised 16-bit WAV holds them (written and read back
    through libsndfile in memory): what prediction scores, so that a recording scored without
    ingest gets the features a training recording got."""
    buffer = io.BytesIO()
    sf.write(buffer, clip_pcm16(samples), sample_rate, subtype="PCM_16", format="WAV")
    buffer.seek(0)
    return sf.read(buffer, dtype="float32")[0]


def write_standard_wav(samples: np.ndarray, audio_out: str | Path, sample_rate: int) -> np.ndarray:
    """Mono float samples at `sample_rate` written (atomically) as the workflow's standardised
    16-bit WAV, clipped to the 16-bit range; the samples written."""
    out = clip_pcm16(samples)
    with atomic_path(audio_out) as tmp:
        sf.write(str(tmp), out, sample_rate, subtype="PCM_16", format="WAV")
    return out


def write_skipped(
    record: dict, problem: str, audio_out: str | Path, record_out: str | Path
) -> dict:
    """A recording left out under `on_bad_recording: skip`: a WAV with no samples (the DAG
    stays whole) and its record, status "skipped" with the reason."""
    write_standard_wav(np.zeros(0, np.float32), audio_out, record["sample_rate"])
    record.update(status="skipped", problem=problem, duration_s=0.0, n_samples=0)
    write_json(record, record_out)
    return record


def write_ingested(
    record: dict, samples: np.ndarray, audio_out: str | Path, record_out: str | Path, **facts
) -> dict:
    """A usable recording: its standardised WAV and its record, status "ok", with its duration
    and sample count and the `facts` about its source (original rate, channels, format)."""
    out = write_standard_wav(samples, audio_out, record["sample_rate"])
    record.update(
        status="ok",
        problem=None,
        duration_s=out.shape[0] / record["sample_rate"],
        n_samples=int(out.shape[0]),
        **facts,
    )
    write_json(record, record_out)
    return record


def standardise_recording(
    source: str | Path,
    audio_out: str | Path,
    manifest_out: str | Path,
    sample_rate: int,
    recording_id: str | None = None,
    min_duration_s: float = 0.0,
    on_bad_recording: str = "fail",
    names: RecorderNames = DEFAULT_NAMES,
) -> dict[str, Any]:
    """Ingest one raw recording: mono, `sample_rate`, 16-bit WAV, plus its manifest record
    (its site and start time as `names` reads them).

    A recording that cannot be used raises AudioError (`on_bad_recording="fail"`), or with
    "skip" gets a record with status "skipped" and the reason, and a WAV with no samples, so
    the DAG stays whole while the recording contributes no window.
    """
    if on_bad_recording not in BAD_RECORDING_POLICIES:
        raise ValueError(f"on_bad_recording must be one of {BAD_RECORDING_POLICIES}")
    source = Path(source)
    recording_id = recording_id or source.stem
    start = names.start_of(recording_id)
    record: dict[str, Any] = {
        "recording_id": recording_id,
        "site": names.site_of(recording_id, source),
        "start_datetime": start.isoformat() if start else None,
        "source_path": str(source),
        "source_sha256": file_sha256(source),
        "audio_path": str(audio_out),
        "sample_rate": sample_rate,
        "notes": [],
    }
    try:
        samples, orig_rate = read_audio(source)
        mono = usable_samples(source, samples, orig_rate, min_duration_s)
    except AudioError as err:
        if on_bad_recording == "fail":
            raise
        return write_skipped(record, str(err), audio_out, manifest_out)
    info = sf.info(str(source))
    cut = truncation_note(source, len(samples))
    if cut:
        record["notes"].append(f"{source}: {cut}")
    if orig_rate < sample_rate:
        record["notes"].append(
            f"recorded at {orig_rate} Hz: no content above {orig_rate / 2:g} Hz after "
            f"resampling to {sample_rate} Hz"
        )
    return write_ingested(
        record,
        resample(mono, orig_rate, sample_rate),
        audio_out,
        manifest_out,
        orig_sample_rate=orig_rate,
        orig_channels=int(samples.shape[1]),
        orig_format=f"{info.format}/{info.subtype}",
    )

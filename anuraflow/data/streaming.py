"""Reading a recording in blocks as its standardised signal: mono, resampled to a model's rate,
at the 16-bit levels ingest writes. Every block equals the same samples of the whole file
standardised at once, so a 12-hour file is read in bounded memory by prediction (log-mels) and
by the embedding stage (48 kHz for BirdNET) alike."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from anuraflow.data.audio import (
    LIBSNDFILE_ERRORS,
    AudioError,
    check_not_empty,
    check_sample_rate,
    pcm16_levels,
    resample,
    to_mono,
    unreadable,
)

RESAMPLER_MARGIN = 4096  # input samples of context: far more than torchaudio's sinc kernel


@dataclass(frozen=True)
class AudioFacts:
    """What the recording is, as libsndfile reports it."""

    sample_rate: int
    channels: int
    frames: int
    format: str

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def audio_facts(path: str | Path) -> AudioFacts:
    """libsndfile's view of `path`, or an AudioError naming the file and the problem."""
    path = Path(path)
    check_not_empty(path)
    try:
        info = sf.info(str(path))
    except LIBSNDFILE_ERRORS as err:
        raise unreadable(path, err) from err
    check_sample_rate(path, info.samplerate)
    if info.frames == 0:
        raise AudioError(f"{path}: contains no samples (zero-length audio)")
    return AudioFacts(info.samplerate, info.channels, info.frames, f"{info.format}/{info.subtype}")


def output_length(n_in: int, rate_in: int, rate_out: int) -> int:
    """Samples after resampling (torchaudio's ceil(n * out / in))."""
    g = math.gcd(rate_in, rate_out)
    return -(-n_in * (rate_out // g) // (rate_in // g))


def standard_samples(
    sound: sf.SoundFile, facts: AudioFacts, rate: int, start: int, stop: int
) -> np.ndarray:
    """Samples [start, stop) of the standardised signal (mono, `rate`, 16-bit levels),
    computed from the part of the file they depend on. `start` must be a multiple of the
    resampler's output period (rate / gcd)."""
    g = math.gcd(facts.sample_rate, rate)
    p_in, p_out = facts.sample_rate // g, rate // g
    if start % p_out:
        raise ValueError(f"block start {start} is not a multiple of {p_out}")
    margin = 0 if p_in == p_out else p_in * math.ceil(RESAMPLER_MARGIN / p_in)
    first = max(0, start // p_out * p_in - margin)  # a multiple of p_in: same filter phases
    last = min(facts.frames, -(-stop * p_in // p_out) + margin)
    sound.seek(first)
    block = sound.read(last - first, dtype="float32", always_2d=True)
    if not np.isfinite(block).all():
        bad = int(np.flatnonzero(~np.isfinite(block).all(1))[0]) + first
        raise AudioError(
            f"{sound.name}: contains NaN or infinite samples (the first at "
            f"{bad / facts.sample_rate:.3f} s)"
        )
    out = resample(to_mono(block), facts.sample_rate, rate)
    offset = start - first // p_in * p_out
    return pcm16_levels(out[offset : offset + stop - start], rate)

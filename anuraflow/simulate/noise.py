"""Background noise: the pink floor under every synthetic recording, and the wind-noise bank of
seed 002's noise mixing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from anuraflow.core.fileio import atomic_path

NOISE_RMS = 0.02


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """1/f noise scaled to NOISE_RMS: the rain-and-insect floor of a field recording."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.arange(len(spectrum), dtype=float)
    freqs[0] = 1.0
    x = np.fft.irfft(spectrum / np.sqrt(freqs), n)
    return (x / np.sqrt(np.mean(x**2)) * NOISE_RMS).astype(np.float32)


def wind_noise(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Field-noise stand-in for a noise bank: low-frequency (brown) rumble in slow gusts over a
    pink floor, at about NOISE_RMS. No calls, so mixing it in never adds a species."""
    rumble = np.cumsum(rng.standard_normal(n))
    rumble -= np.convolve(rumble, np.ones(sr // 20) / (sr // 20), mode="same")  # drop DC drift
    rumble /= np.sqrt(np.mean(rumble**2)) + 1e-12
    t = np.arange(n) / sr
    gusts = 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.05, 0.3) * t + rng.uniform(0, 6.3))
    x = gusts * rumble * NOISE_RMS * rng.uniform(1.0, 3.0) + pink_noise(n, rng)
    return (x / max(1.0, np.abs(x).max() / 0.95)).astype(np.float32)


def write_noise_recordings(
    out_dir: str | Path,
    n_recordings: int,
    seed: int,
    duration_s: float = 30.0,
    sample_rate: int = 22050,
) -> list[Path]:
    """Write `{out_dir}/noise_{i:02d}.wav`: the synthetic noise bank of seed 002's noise mixing."""
    paths = []
    for i in range(n_recordings):
        rng = np.random.default_rng([seed, 3, i])
        path = Path(out_dir) / f"noise_{i:02d}.wav"
        audio = wind_noise(int(round(duration_s * sample_rate)), sample_rate, rng)
        with atomic_path(path) as tmp:
            sf.write(str(tmp), audio, sample_rate, subtype="PCM_16", format="WAV")
        paths.append(path)
    return paths

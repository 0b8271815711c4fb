"""Waveform views for self-supervision and class balancing (seed 003, Table 2).

Time stretch (0.7-1.3 in steps of 0.1, without 1.0), pitch shift (-12, -6, -3, 3, 6, 12
semitones) and noise addition (2-12 dB SNR in steps of 2), after Salamon and Bello (2017).
Each view applies one of them, drawn at random, to a window's waveform; the length is kept
(cropped or zero-padded) so that every view has the same log-mel shape.
"""

from __future__ import annotations

from fractions import Fraction

import torch
import torchaudio.functional as AF

STRETCH_FACTORS = (0.7, 0.8, 0.9, 1.1, 1.2, 1.3)
PITCH_STEPS = (-12, -6, -3, 3, 6, 12)
NOISE_SNR_DB = (2, 4, 6, 8, 10, 12)
N_FFT, HOP = 512, 128


def _fit(wave: torch.Tensor, length: int) -> torch.Tensor:
    if wave.shape[-1] >= length:
        return wave[..., :length]
    return torch.nn.functional.pad(wave, (0, length - wave.shape[-1]))


def time_stretch_to(wave: torch.Tensor, rate: float) -> torch.Tensor:
    """Play `rate` times faster at the same pitch (phase vocoder): length / rate samples."""
    window = torch.hann_window(N_FFT, device=wave.device)
    spec = torch.stft(wave, N_FFT, HOP, window=window, return_complex=True)
    advance = torch.linspace(0, torch.pi * HOP, spec.shape[-2], device=wave.device)[..., None]
    stretched = AF.phase_vocoder(spec, rate, advance)
    length = int(round(wave.shape[-1] / rate))
    return torch.istft(stretched, N_FFT, HOP, window=window, length=length)


def time_stretch(wave: torch.Tensor, rate: float) -> torch.Tensor:
    """Play `rate` times faster at the same pitch, cropped or padded to the input's length."""
    return _fit(time_stretch_to(wave, rate), wave.shape[-1])


def pitch_shift(wave: torch.Tensor, sample_rate: int, steps: int) -> torch.Tensor:
    """Shift by `steps` semitones at the same duration: stretch the time by 2^(steps/12), then
    resample by the same ratio. The ratio is taken as a fraction with a denominator of at most
    64 (within 0.03 % of a semitone step), which keeps the resampling kernel small and fast;
    torchaudio's pitch_shift resamples between rates whose gcd can be 2 (seconds per call)."""
    ratio = Fraction(2 ** (steps / 12)).limit_denominator(64)
    stretched = time_stretch_to(wave, 1 / float(ratio))
    out = AF.resample(stretched, ratio.numerator, ratio.denominator)
    return _fit(out, wave.shape[-1])


def add_noise(wave: torch.Tensor, snr_db: float, generator: torch.Generator) -> torch.Tensor:
    """White Gaussian noise scaled to exactly `snr_db` below each waveform's power."""
    noise = torch.randn(wave.shape, generator=generator, device=wave.device)
    p_signal = wave.pow(2).mean(-1, keepdim=True)
    p_noise = noise.pow(2).mean(-1, keepdim=True).clamp_min(1e-12)
    return wave + noise * torch.sqrt(p_signal / (p_noise * 10 ** (snr_db / 10)))


def random_view(wave: torch.Tensor, sample_rate: int, generator: torch.Generator) -> torch.Tensor:
    """One augmentation of Table 2 with one of its parameter values, both drawn at random."""

    def pick(values):
        return values[int(torch.randint(len(values), (1,), generator=generator))]

    kind = int(torch.randint(3, (1,), generator=generator))
    if kind == 0:
        return time_stretch(wave, pick(STRETCH_FACTORS))
    if kind == 1:
        return pitch_shift(wave, sample_rate, pick(PITCH_STEPS))
    return add_noise(wave, pick(NOISE_SNR_DB), generator)

"""Waveform views for self-supervision and class balancing (seed 003, Table 2).

Time stretch (0.7-1.3 in steps of 0.1, without 1.0), pitch shift (-12, -6, -3, 3, 6, 12
semitones) and noise addition (2-12 dB SNR in steps of 2), after Salamon and Bello (2017).
Each view applies one of them, drawn at random, to a window's waveform; the length is kept
(cropped or zero-padded) so that every view has the same log-mel shape.
"""

from __future__ import annotations

import math
from fractions import Fraction

import torch
import torch.nn.functional as F
import torchaudio.functional as AF

STRETCH_FACTORS = (0.7, 0.8, 0.9, 1.1, 1.2, 1.3)
PITCH_STEPS = (-12, -6, -3, 3, 6, 12)
NOISE_SNR_DB = (2, 4, 6, 8, 10, 12)
VIEWS = (STRETCH_FACTORS, PITCH_STEPS, NOISE_SNR_DB)  # kinds 0, 1, 2 of random_views
VALUES_PER_VIEW = 6
assert all(len(values) == VALUES_PER_VIEW for values in VIEWS)
N_FFT, HOP = 512, 128


def _fit(wave: torch.Tensor, length: int) -> torch.Tensor:
    if wave.shape[-1] >= length:
        return wave[..., :length]
    return F.pad(wave, (0, length - wave.shape[-1]))


def phase_vocoder(spec: torch.Tensor, rate: float, advance: torch.Tensor) -> torch.Tensor:
    """torchaudio's phase vocoder, the same numbers (tested), on the frame-major layout that
    torch.stft returns ([..., F, T] is a transposed view of frames [..., T, F]): magnitudes
    and phases are taken once per input frame and frames are gathered as rows, instead of
    gathering complex columns twice and taking both per output frame (1.8x faster on CPU).
    `spec` [..., F, T] complex, `advance` [F, 1] expected phase advance per hop."""
    if rate == 1.0:
        return spec
    frames = spec.transpose(-1, -2)  # [..., T, F]
    steps = torch.arange(0, frames.shape[-2], rate, device=spec.device, dtype=advance.dtype)
    i0 = steps.long()
    alpha = (steps - i0)[:, None]
    mag = F.pad(frames.abs(), (0, 0, 0, 2))  # two silent frames past the end, as torchaudio
    angle = F.pad(frames.angle(), (0, 0, 0, 2))
    advance = advance.reshape(-1)
    dphi = angle[..., i0 + 1, :] - angle[..., i0, :] - advance
    dphi = dphi - 2 * math.pi * torch.round(dphi / (2 * math.pi)) + advance
    phase = torch.cat([angle[..., :1, :], dphi[..., :-1, :]], dim=-2).cumsum(-2)
    magnitude = alpha * mag[..., i0 + 1, :] + (1 - alpha) * mag[..., i0, :]
    return torch.polar(magnitude, phase).transpose(-1, -2)


def time_stretch_to(wave: torch.Tensor, rate: float) -> torch.Tensor:
    """Play `rate` times faster at the same pitch (phase vocoder): length / rate samples."""
    window = torch.hann_window(N_FFT, device=wave.device)
    spec = torch.stft(wave, N_FFT, HOP, window=window, return_complex=True)
    advance = torch.linspace(0, torch.pi * HOP, spec.shape[-2], device=wave.device)[..., None]
    stretched = phase_vocoder(spec, rate, advance)
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
    """White Gaussian noise scaled to exactly `snr_db` below each waveform's power. The noise
    is drawn on the generator's device (a CPU generator cannot fill a GPU tensor)."""
    noise = torch.randn(wave.shape, generator=generator, device=generator.device).to(wave.device)
    p_signal = wave.pow(2).mean(-1, keepdim=True)
    p_noise = noise.pow(2).mean(-1, keepdim=True).clamp_min(1e-12)
    return wave + noise * torch.sqrt(p_signal / (p_noise * 10 ** (snr_db / 10)))


def _group_view(waves: torch.Tensor, sample_rate: int, kind: int, value, generator) -> torch.Tensor:
    if kind == 0:
        return time_stretch(waves, value)
    if kind == 1:
        return pitch_shift(waves, sample_rate, value)
    return add_noise(waves, value, generator)


def random_views(waves: torch.Tensor, sample_rate: int, generator: torch.Generator) -> torch.Tensor:
    """One augmentation of Table 2 per waveform of `waves` [B, T], with one of its parameter
    values, both drawn at random per waveform.

    Waveforms that drew the same augmentation and value are transformed together, on their own
    device: at most 18 batched calls per batch instead of one call per window.
    """
    n = len(waves)
    kinds = torch.randint(len(VIEWS), (n,), generator=generator, device=generator.device)
    picks = torch.randint(VALUES_PER_VIEW, (n,), generator=generator, device=generator.device)
    keys = (kinds * VALUES_PER_VIEW + picks).cpu()
    out = torch.empty_like(waves)
    for key in keys.unique().tolist():
        rows = (keys == key).nonzero().squeeze(1).to(waves.device)
        kind, pick = divmod(key, VALUES_PER_VIEW)
        out[rows] = _group_view(waves[rows], sample_rate, kind, VIEWS[kind][pick], generator)
    return out

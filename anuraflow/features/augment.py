"""Spectrogram augmentation and normalisation on whole batches (on the device that holds them).

SpecAugment (Park et al. 2019) zeroes random frequency and time stripes; circular time shift
rolls each example by a random number of frames, so a call may sit anywhere in the window;
noise mixing adds noise-bank examples at a calibrated SNR.
"""

from __future__ import annotations

import torch

# SpecAugment's defaults, for a config that gives only some of its keys: two stripes of each
# kind, widths below 8 mels and 60 frames
FREQ_MASKS, FREQ_WIDTH, TIME_MASKS, TIME_WIDTH = 2, 8, 2, 60


def _stripe_mask(
    batch: int,
    length: int,
    count: int,
    max_width: int,
    generator: torch.Generator | None,
    device: torch.device,
) -> torch.Tensor:
    """[batch, length] bool, True inside any of `count` stripes of width 0..max_width - 1.

    `max_width` is SpecAugment's mask parameter as torchaudio (and the Mix2 authors' code
    through it) reads it: widths strictly below it, so FrequencyMasking(10) masks 0-9 bands.
    """
    mask = torch.zeros(batch, length, dtype=torch.bool, device=device)
    pos = torch.arange(length, device=device)
    for _ in range(count):
        high = max(1, min(max_width, length + 1))
        width = torch.randint(0, high, (batch, 1), generator=generator, device=device)
        start = (
            torch.rand(batch, 1, generator=generator, device=device) * (length - width + 1)
        ).long()
        mask |= (pos >= start) & (pos < start + width)
    return mask


def spec_augment(
    x: torch.Tensor,
    freq_masks: int = FREQ_MASKS,
    freq_width: int = FREQ_WIDTH,
    time_masks: int = TIME_MASKS,
    time_width: int = TIME_WIDTH,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Zero `freq_masks` mel stripes (widths 0..freq_width - 1) and `time_masks` frame stripes
    (widths 0..time_width - 1) per example of [B, C, F, T]."""
    b, _, f, t = x.shape
    fmask, tmask = spec_augment_stripes(
        b, f, t, freq_masks, freq_width, time_masks, time_width, generator, x.device
    )
    drop = fmask[:, None, :, None] | tmask[:, None, None, :]
    return x.masked_fill(drop, 0.0)


def spec_augment_stripes(
    batch: int, n_mels: int, n_frames: int, freq_masks: int = FREQ_MASKS,
    freq_width: int = FREQ_WIDTH, time_masks: int = TIME_MASKS, time_width: int = TIME_WIDTH,
    generator: torch.Generator | None = None, device=None,
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """spec_augment's draws (with its defaults): ([B, n_mels], [B, n_frames]) bool, True
    where zeroed."""
    fmask = _stripe_mask(batch, n_mels, freq_masks, freq_width, generator, device)
    return fmask, _stripe_mask(batch, n_frames, time_masks, time_width, generator, device)


def time_stretch_frames(
    x: torch.Tensor, rates: tuple[float, ...], generator: torch.Generator | None = None
) -> torch.Tensor:
    """Seed 004's time stretch on log-mels [B, C, F, T]: each example played `rate` times
    faster (a rate drawn from `rates`), by linear interpolation along time only, so the pitch
    is kept; cropped or edge-padded back to T frames."""
    b, c, f, t = x.shape
    choice = torch.randint(len(rates), (b,), generator=generator, device=x.device)
    rate = torch.tensor(rates, dtype=x.dtype, device=x.device)[choice]
    pos = torch.arange(t, device=x.device, dtype=x.dtype)[None, :] * rate[:, None]  # [B, T]
    pos = pos.clamp(max=t - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=t - 1)
    w = (pos - lo).to(x.dtype)[:, None, None, :]

    def take(i):
        return torch.gather(x, 3, i[:, None, None, :].expand(b, c, f, t))

    return take(lo) * (1 - w) + take(hi) * w


def circular_time_shift(
    x: torch.Tensor, max_fraction: float = 1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Roll each example of [B, C, F, T] log-mels (or [B, T] samples) along time, its last
    axis, by its own random shift."""
    b, t = x.shape[0], x.shape[-1]
    shift = time_shifts(b, t, max_fraction, generator, x.device)
    if shift is None:
        return x
    idx = (torch.arange(t, device=x.device)[None, :] - shift) % t
    return torch.gather(x, -1, idx.reshape(b, *[1] * (x.dim() - 2), t).expand(x.shape))


def time_shifts(
    batch: int, length: int, max_fraction: float, generator: torch.Generator | None, device
) -> torch.Tensor | None:
    """circular_time_shift's draw: [B, 1] shifts in -m..m frames, m = max_fraction x length;
    None (nothing drawn) where m is 0."""
    max_shift = int(round(max_fraction * length))
    if max_shift == 0:
        return None
    return torch.randint(-max_shift, max_shift + 1, (batch, 1), generator=generator, device=device)


def mix_noise_at_snr(
    x_db: torch.Tensor,
    noise_db: torch.Tensor,
    snr_db: tuple[float, float] = (10.0, 20.0),
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Add noise to log-mel (dB) examples at an SNR drawn per example from `snr_db` (seed 002).

    Mel power is linear in the power spectrum and the powers of uncorrelated signals add, so
    mixing waveforms s + g*n is done here as 10 log10(P_s + g^2 P_n) on the cached features.
    The gain makes sum(P_s) / (g^2 sum(P_n)) = 10^(SNR/10) over the whole window: the triangular
    mel filters sum to one across the band, so these sums are the band's signal and noise energy
    and the SNR is the waveform SNR within the mel band.
    """
    b = x_db.shape[0]
    lo, hi = snr_db
    snr = lo + (hi - lo) * torch.rand(b, generator=generator, device=x_db.device)
    p_s = torch.pow(10.0, x_db.float() / 10)
    p_n = torch.pow(10.0, noise_db.float() / 10)
    dims = tuple(range(1, x_db.dim()))
    gain = p_s.sum(dims) / (p_n.sum(dims).clamp_min(1e-20) * torch.pow(10.0, snr / 10))
    gain = gain.reshape(b, *([1] * (x_db.dim() - 1)))
    return 10 * torch.log10((p_s + gain * p_n).clamp_min(1e-10))


NORMALISATIONS = ("dataset", "sample_z", "sample_minmax", "none")


def normalise(
    x: torch.Tensor,
    mode: str = "dataset",
    mean: torch.Tensor | None = None,
    std: torch.Tensor | None = None,
) -> torch.Tensor:
    """Scale [B, C, F, T] log-mels.

    dataset: per mel band with the training recordings' mean/std (given);
    sample_z: per example and mel band over time, zero mean / unit variance (seed 002);
    sample_minmax: per example to [0, 1]; none: unchanged.
    """
    if mode == "dataset":
        return (x - mean[:, None]) / std[:, None]
    if mode == "sample_z":
        mu = x.mean(dim=3, keepdim=True)
        sd = x.std(dim=3, keepdim=True, unbiased=False)
        return (x - mu) / sd.clamp_min(1e-5)
    if mode == "sample_minmax":
        lo = x.amin(dim=(1, 2, 3), keepdim=True)
        hi = x.amax(dim=(1, 2, 3), keepdim=True)
        return (x - lo) / (hi - lo).clamp_min(1e-5)
    if mode == "none":
        return x
    raise KeyError(f"unknown normalisation {mode!r}; one of {', '.join(NORMALISATIONS)}")

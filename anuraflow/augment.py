"""Spectrogram augmentation on whole batches (on the device that holds them).

SpecAugment (Park et al. 2019) zeroes random frequency and time stripes; circular time shift
rolls each example by a random number of frames, so a call may sit anywhere in the window.
"""

from __future__ import annotations

import torch


def _stripe_mask(
    batch: int,
    length: int,
    count: int,
    max_width: int,
    generator: torch.Generator | None,
    device: torch.device,
) -> torch.Tensor:
    """[batch, length] bool, True inside any of `count` stripes of width 0..max_width."""
    mask = torch.zeros(batch, length, dtype=torch.bool, device=device)
    pos = torch.arange(length, device=device)
    for _ in range(count):
        width = torch.randint(0, max_width + 1, (batch, 1), generator=generator, device=device)
        start = (
            torch.rand(batch, 1, generator=generator, device=device) * (length - width + 1)
        ).long()
        mask |= (pos >= start) & (pos < start + width)
    return mask


def spec_augment(
    x: torch.Tensor,
    freq_masks: int = 2,
    freq_width: int = 8,
    time_masks: int = 2,
    time_width: int = 60,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Zero `freq_masks` mel stripes and `time_masks` frame stripes per example of [B, C, F, T]."""
    b, _, f, t = x.shape
    fmask = _stripe_mask(b, f, freq_masks, freq_width, generator, x.device)
    tmask = _stripe_mask(b, t, time_masks, time_width, generator, x.device)
    drop = fmask[:, None, :, None] | tmask[:, None, None, :]
    return x.masked_fill(drop, 0.0)


def circular_time_shift(
    x: torch.Tensor, max_fraction: float = 1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Roll each example of [B, C, F, T] along time by its own random shift."""
    b, c, f, t = x.shape
    max_shift = int(round(max_fraction * t))
    if max_shift == 0:
        return x
    shift = torch.randint(-max_shift, max_shift + 1, (b, 1), generator=generator, device=x.device)
    idx = (torch.arange(t, device=x.device)[None, :] - shift) % t
    return torch.gather(x, 3, idx[:, None, None, :].expand(b, c, f, t))

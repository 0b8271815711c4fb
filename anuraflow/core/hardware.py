"""What this machine computes natively, asked where any layer needs it (the training's
precision, the embedding network's)."""

from __future__ import annotations

import torch


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (avx512_bf16 or AMX tiles), as PyTorch's
    own CPU detection reports it (private helpers, so absent ones count as no)."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def torch_device(name: str = "auto") -> torch.device:
    """`auto`: CUDA where it is visible, else the CPU; otherwise the device named."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)

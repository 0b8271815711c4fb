"""What this machine computes natively, asked where any layer needs it (the training's
precision, the embedding network's). torch is imported where needed: the benchmarks' harness
reads the oneDNN cap without it."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

# oneDNN's instruction-set caps (ONEDNN_MAX_CPU_ISA) below which it has no bf16 dot products
_ONEDNN_CAPS_WITHOUT_BF16 = {"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX512_CORE", "AVX512_CORE_VNNI"}


def onednn_isa_cap() -> str | None:
    """The instruction set oneDNN, which computes torch's convolutions and matrix products on a
    CPU, is capped at by ONEDNN_MAX_CPU_ISA (or its old name DNNL_MAX_CPU_ISA), upper-case;
    None when uncapped. The cap lets one machine run the kernels an older CPU would run."""
    for name in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"):
        cap = os.environ.get(name, "").strip().upper()
        if cap and cap not in ("ALL", "DEFAULT"):
            return cap
    return None


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (avx512_bf16 or AMX tiles), as PyTorch's
    own CPU detection reports it (private helpers, so absent ones count as no), and oneDNN is
    allowed to use it (`onednn_isa_cap`): capped at AVX2, bf16 would be emulated (the small
    CNN's step 5.3 times slower than in float32, docs/benchmarks.md)."""
    import torch

    if onednn_isa_cap() in _ONEDNN_CAPS_WITHOUT_BF16:
        return False
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def torch_device(name: str = "auto") -> torch.device:
    """`auto`: CUDA where it is visible, else the CPU; otherwise the device named."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters


def keep_freed_memory() -> bool:
    """Have glibc's malloc keep large freed blocks for reuse instead of handing each back to
    the kernel: torch on a CPU allocates and frees tensors of megabytes at every operator,
    and a fresh mapping costs a page fault per 4 KB when first written (a 16 MB float64 copy:
    3.2 ms against 0.6 ms reused). The process's memory then stays at its peak. False where
    the C library is not glibc (nothing changed)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, 1 << 30) and mallopt(_M_TRIM_THRESHOLD, 1 << 30))

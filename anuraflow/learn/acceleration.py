"""How a model computes: precision, memory format, compilation and the optimiser's kernel.

These are experiment settings, resolved the same way on every device, so the accelerated paths
of a GPU node run (and are tested) on a CPU too: `precision` (fp32, or bf16 autocast of the
forward pass), `channels_last` (NHWC weights, what cuDNN's and oneDNN's fast convolutions
want), `compile` (`torch.compile` of the encoder) and the fused optimiser step, used wherever
PyTorch has one for the device. `auto` is what measured fastest (docs/benchmarks.md): on an
H200 fp32 (MobileNetV3 trained 1.37 times faster in fp32, whose convolutions cuDNN runs in
TF32, than under bf16 autocast); on a CPU with bf16 instructions (avx512_bf16 or AMX) bf16
(on a Zen 4 EPYC, from as fast as fp32 to 1.9 times faster in training, and the demo's macro
F1 within its seed spread); on any other CPU fp32 (bf16 is emulated there and 2 to 5 times
slower); and channels_last on CUDA, on a CPU for scoring only.
"""

from __future__ import annotations

import torch
from torch import nn

from anuraflow.core.hardware import cpu_has_native_bf16

PRECISIONS = ("fp32", "bf16")


def resolve_precision(choice: str, device_type: str) -> str:
    """fp32 | bf16 for `choice` (auto | fp32 | bf16) on a device type (cpu | cuda). `auto`:
    bf16 on a CPU with bf16 instructions, fp32 on CUDA and on other CPUs (all measured)."""
    if choice == "auto":
        return "bf16" if device_type == "cpu" and cpu_has_native_bf16() else "fp32"
    if choice not in PRECISIONS:
        raise ValueError(f"precision {choice!r}: one of auto, {', '.join(PRECISIONS)}")
    return choice


def resolve_channels_last(choice: str | bool, device_type: str, training: bool = True) -> bool:
    """True | False for `choice` (auto | true | false) on a device type. `auto`: on CUDA, and
    on a CPU for scoring only. NHWC trains faster on a CPU too, with the demo's macro F1 within
    its seed spread (docs/benchmarks.md), but that was measured after training had been left
    on NCHW, so training on a CPU opts in."""
    if choice == "auto":
        return device_type == "cuda" or (device_type == "cpu" and not training)
    return bool(choice)


def autocast(device_type: str, precision: str) -> torch.autocast:
    """The forward pass's autocast for a resolved precision (disabled under fp32)."""
    return torch.autocast(device_type, dtype=torch.bfloat16, enabled=precision == "bf16")


def fused_supported(device: torch.device) -> bool:
    """Whether PyTorch has a fused Adam/AdamW/SGD step for `device` (CUDA and CPU in 2.11)."""
    from torch.utils._foreach_utils import _get_fused_kernels_supported_devices

    return device.type in _get_fused_kernels_supported_devices()


def accelerate(
    model: nn.Module, channels_last: bool, compile: bool, inference: bool = False
) -> nn.Module:
    """`model` with NHWC weights and/or a compiled `embed` (the encoder, where nearly all the
    work is). The module itself stays as it was, so its state dict, checkpoints and bundles
    have the same keys whatever the switches. `inference`: the weights will not change
    (prediction), so the compiler may fold them into its kernels (Inductor's freezing)."""
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    if compile:
        options = {"freezing": True} if inference else None
        model.embed = torch.compile(model.embed, options=options)
    return model


def acceleration_facts(settings: dict, device: torch.device) -> dict:
    """What a run computed with, resolved for its device (metrics.json, the model bundle)."""
    return {
        "precision": resolve_precision(settings["precision"], device.type),
        "channels_last": resolve_channels_last(settings["channels_last"], device.type),
        "compile": bool(settings["compile"]),
        "fused_optimizer": fused_supported(device),
    }

"""Which machine a figure comes from: the one CPU descriptor every benchmark records, and the
short tag its result file is named by (`benchmarks/results/<benchmark>/<tag>.json`)."""

from __future__ import annotations

import os
import platform
import re
import sys

from anuraflow.core.hardware import onednn_isa_cap

# the instruction sets that change this project's numbers (bf16 kernels, AMX tiles)
FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def _cpuinfo(field: str) -> str | None:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith(field):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_name() -> str:
    """The CPU's model name (platform.processor() is empty on most Linux systems)."""
    return _cpuinfo("model name") or platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    """The CPU's instruction-set flags from /proc/cpuinfo (empty where there is none)."""
    return set((_cpuinfo("flags") or "").split())


def instruction_level(flags: set[str]) -> str:
    """The best of the instruction sets that matter here: amx, bf16, avx512, avx2 or base."""
    for flag, level in (("amx_tile", "amx"), ("avx512_bf16", "bf16"), ("avx512f", "avx512"),
                        ("avx2", "avx2")):  # fmt: skip
        if flag in flags:
            return level
    return "base"


def cpu_facts() -> dict:
    """This machine's CPU as every result records it: model, cores, the flags of FLAGS it has
    and their summary level, and where the kernels were capped to an older CPU's instruction
    set (ONEDNN_MAX_CPU_ISA, ATEN_CPU_CAPABILITY), the caps."""
    flags = cpu_flags()
    facts = {
        "model": cpu_name(),
        "cores": os.cpu_count(),
        "flags": [f for f in FLAGS if f in flags],
        "level": instruction_level(flags),
    }
    caps = {"onednn": onednn_isa_cap(), "aten": os.environ.get("ATEN_CPU_CAPABILITY")}
    if any(caps.values()):
        facts["capped_to"] = caps
    return facts


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def machine_tag(device: str | None = None) -> str:
    """A result file's machine: the GPU's name where a CUDA `device` ran it (or, with torch
    already imported, where one is visible), else the CPU vendor and family and its
    instruction level, e.g. `nvidia-h200`, `amd-epyc-bf16`, `amd-epyc-avx2`, `intel-xeon-amx`;
    `amd-epyc-bf16-as-avx2` where oneDNN was capped at AVX2 (an emulation of the older CPU's
    kernels, not of its clock, caches or cores)."""
    if device is None and "torch" in sys.modules and sys.modules["torch"].cuda.is_available():
        device = sys.modules["torch"].cuda.get_device_name(0)
    if device and device.lower() != "cpu" and not device.startswith("cpu"):
        return _slug(device.split(" PCIe")[0].split(" SXM")[0])
    name = cpu_name()
    family = next((f for f in ("EPYC", "Xeon", "Ryzen", "Core") if f in name), None)
    vendor = "amd" if "AMD" in name else "intel" if "Intel" in name else None
    base = _slug(f"{vendor} {family}") if vendor and family else _slug(name) or "cpu"
    cap = onednn_isa_cap()
    return f"{base}-{instruction_level(cpu_flags())}" + (f"-as-{_slug(cap)}" if cap else "")

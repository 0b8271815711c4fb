"""Which runtime computes BirdNET V2.4's embeddings (`embeddings.runtime`): LiteRT, the
reference, or the torch network (`birdnet_torch`), which gives the same embeddings to float
rounding and runs on a GPU, in bf16 and under gradients. `auto` takes what is faster where
it runs: torch on CUDA or in bf16, LiteRT for fp32 on a CPU (there the torch network embeds
at about LiteRT's rate, 0.93 times in the stage: docs/benchmarks.md), and LiteRT wherever
the file does not convert.

torch and the network's modules are imported inside the functions: the Snakefile imports this
module at start-up, where nothing else has imported torch yet (seconds of start-up)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from anuraflow.features.birdnet import BirdNetEmbedder, birdnet_model_path, file_key

RUNTIMES = ("auto", "torch", "litert")


@lru_cache(maxsize=4)
def _conversion_problem(path: str, size: int, mtime_ns: int) -> str | None:  # file_key
    from anuraflow.features.birdnet_torch import converts

    return converts(path)


def resolve_runtime(
    model_path: str | Path | None = None, runtime: str = "auto", precision: str = "fp32",
    device: str = "auto",
) -> tuple[str, str]:  # fmt: skip
    """(torch | litert, why) for `runtime` (auto | torch | litert) at `precision` on `device`;
    `torch` asked of a file that does not convert is an error that says why."""
    from anuraflow.core.hardware import torch_device

    if runtime not in RUNTIMES:
        raise ValueError(f"embeddings.runtime {runtime!r}: one of {', '.join(RUNTIMES)}")
    if runtime == "litert" and precision != "fp32":
        raise ValueError(f"embeddings.precision {precision}: LiteRT runs fp32 only "
                         "(embeddings.runtime: torch or auto runs it)")  # fmt: skip
    if runtime == "litert":
        return "litert", "embeddings.runtime is litert"
    on_cuda = torch_device(device).type == "cuda"
    if runtime == "auto" and precision == "fp32" and not on_cuda:
        return "litert", "fp32 on a CPU: LiteRT, the reference, is as fast there"
    path = birdnet_model_path(model_path)
    problem = _conversion_problem(*file_key(path))
    if problem is None:
        return "torch", f"{path.name} converts to a torch network"
    if precision != "fp32":
        raise ValueError(f"embeddings.precision {precision} needs the torch runtime, but {problem}")
    if runtime == "torch":
        raise ValueError(f"embeddings.runtime is torch, but {problem}")
    return "litert", f"LiteRT, as {path.name} does not convert to torch: {problem}"


def make_embedder(
    model_path: str | Path | None = None, threads: int = 1, batch_size: int = 4,
    runtime: str = "auto", precision: str = "fp32", device: str = "auto",
):  # fmt: skip
    """A BirdNET V2.4 embedder (`embed(windows) -> embeddings`) on the runtime `runtime`
    resolves to; `precision` and `device` apply to torch (LiteRT runs fp32 on the CPU)."""
    chosen, _ = resolve_runtime(model_path, runtime, precision, device)
    if chosen == "litert":  # fp32: resolve_runtime refuses another precision there
        return BirdNetEmbedder(model_path, threads, batch_size)
    from anuraflow.core.hardware import torch_device
    from anuraflow.features.birdnet_torch import TorchBirdNetEmbedder

    return TorchBirdNetEmbedder(model_path, threads, batch_size, str(torch_device(device)),
                                precision)  # fmt: skip


def embedding_runtime_note(settings: dict) -> str:
    """What runs the embeddings and why, for the log at start-up; an error before any job
    where the settings cannot run here (bf16 on a CPU without bf16 instructions)."""
    from anuraflow.core.hardware import torch_device
    from anuraflow.features.birdnet_torch import check_precision

    runtime, why = resolve_runtime(settings["model_path"], settings["runtime"],
                                   settings["precision"], settings["device"])  # fmt: skip
    if runtime == "litert":
        return f"embeddings: BirdNET V2.4 on LiteRT ({why})"
    device = torch_device(settings["device"]).type
    check_precision(settings["precision"], device)
    return f"embeddings: BirdNET V2.4 on torch, {settings['precision']} on {device} ({why})"

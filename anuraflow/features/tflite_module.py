"""A TFLite graph as a torch module: its float constants become parameters (frozen until a
caller unfreezes them), its operators run in order with `tflite_ops`' meaning, any of its
tensors can be an output. Batches of any size run where the graph computes its shapes from
its input (BirdNET's does)."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import torch
from torch import nn

from anuraflow.features.tflite_graph import Graph
from anuraflow.features.tflite_ops import SUPPORTED, weight_layout

WEIGHT_OF = {"CONV_2D": 1, "DEPTHWISE_CONV_2D": 1}  # input position of a layout-changed weight


class UnsupportedGraph(NotImplementedError):
    """The graph holds an operator (or a use of one) that tflite_ops does not implement."""


def _layouts(graph: Graph) -> dict[int, str]:
    """Constant index -> the operator kind whose weight layout it takes."""
    layouts: dict[int, str] = {}
    for op in graph.operators:
        if op.kind in WEIGHT_OF:
            j = op.inputs[WEIGHT_OF[op.kind]]
            if layouts.get(j, op.kind) != op.kind or j not in graph.constants:
                raise UnsupportedGraph(f"weight tensor {graph.names[j]!r} of {op.kind}")
            layouts[j] = op.kind
    return layouts


def _last_uses(graph: Graph, keep: set[int]) -> list[list[int]]:
    """After each operator, the tensors no later operator reads (freed as the graph runs)."""
    last: dict[int, int] = {}
    for k, op in enumerate(graph.operators):
        for j in op.inputs:
            if j >= 0 and j not in graph.constants:
                last[j] = k
    frees: list[list[int]] = [[] for _ in graph.operators]
    for j, k in last.items():
        if j not in keep:
            frees[k].append(j)
    return frees


def fuse_silu(graph: Graph, keep: set[int]) -> list:
    """The operators with every LOGISTIC whose output only a MUL of its input by it reads
    fused into that MUL (SiLU, BirdNET's activation after every convolution)."""
    readers: dict[int, list[int]] = {}
    for k, op in enumerate(graph.operators):
        for j in op.inputs:
            readers.setdefault(j, []).append(k)
    fused, dropped = list(graph.operators), set()
    for k, op in enumerate(graph.operators):
        if op.kind != "LOGISTIC" or op.outputs[0] in keep:
            continue
        (x,), (s,) = op.inputs, op.outputs
        users = readers.get(s, [])
        if len(users) == 1 and graph.operators[users[0]].kind == "MUL":
            mul = graph.operators[users[0]]
            if sorted(mul.inputs) == sorted((x, s)) and not mul.options.get(
                "fusedActivationFunction"
            ):
                fused[users[0]] = replace(mul, kind="SILU", inputs=(x,))
                dropped.add(k)
    return [op for k, op in enumerate(fused) if k not in dropped]


class TFLiteModule(nn.Module):
    """`forward(x)` runs the graph on its one input and returns the tensors `outputs` names
    (indices into the graph's tensors), in that order."""

    def __init__(self, graph: Graph, outputs: list[int]) -> None:
        super().__init__()
        missing = sorted({op.kind for op in graph.operators} - set(SUPPORTED))
        if missing:
            raise UnsupportedGraph(f"operators not implemented: {', '.join(missing)}")
        if len(graph.inputs) != 1:
            raise UnsupportedGraph(f"{len(graph.inputs)} inputs; one is supported")
        graph = replace(graph, operators=fuse_silu(graph, set(outputs)))
        self.kinds = [op.kind for op in graph.operators]
        self.op_inputs = [op.inputs for op in graph.operators]
        self.op_outputs = [op.outputs for op in graph.operators]
        self.options = [op.options for op in graph.operators]
        self.names = graph.names
        self.input = graph.inputs[0]
        self.wanted = list(outputs)
        last = max(k for k, op in enumerate(graph.operators) if set(op.outputs) & set(outputs))
        self.n_ops = last + 1  # operators after the last wanted output are not run
        self.frees = _last_uses(graph, set(outputs))
        self.weights = nn.ParameterDict()
        self.fixed: dict[int, torch.Tensor] = {}  # int and scalar constants: not parameters
        layouts = _layouts(graph)
        used = {j for inputs in self.op_inputs[: self.n_ops] for j in inputs}
        for j, value in graph.constants.items():
            if j not in used:  # read only by operators that are not run
                continue
            tensor = torch.from_numpy(np.array(value))
            if tensor.is_floating_point() and tensor.numel() > 1:
                tensor = weight_layout(layouts.get(j, ""), tensor)
                self.weights[f"t{j}"] = nn.Parameter(tensor, requires_grad=False)
            else:
                self.fixed[j] = tensor

    def constant(self, j: int) -> torch.Tensor:
        key = f"t{j}"
        return self.weights[key] if key in self.weights else self.fixed[j]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        values = self.run({self.input: x}, 0, self.n_ops)
        return [values[j] for j in self.wanted]

    def crossing(self, split: int) -> set[int]:
        """The tensors computed before operator `split` that operators from `split` on read:
        what a caller running the two parts apart hands from one to the other."""
        made = {j for k in range(split) for j in self.op_outputs[k]} | {self.input}
        read = {j for k in range(split, self.n_ops) for j in self.op_inputs[k]}
        return made & (read | set(self.wanted))

    def run(self, values: dict[int, torch.Tensor], first: int, stop: int, bf16: bool = False,
            single_fft: bool = False, spent: dict[int, float] | None = None,
            ) -> dict[int, torch.Tensor]:  # fmt: skip
        """Operators first..stop-1 on `values` (tensor index -> value, updated and returned;
        a tensor no later operator reads is dropped); under bfloat16 autocast on `bf16`;
        FFTs in float32 on `single_fft` (TFLite's are float64); each operator's seconds added
        to `spent` (operator index -> s) where given (benchmarks/speed/birdnet_torch_profile)."""
        if bf16:
            device = next(iter(values.values())).device.type
            with torch.autocast(device, dtype=torch.bfloat16):
                return self.run(values, first, stop, single_fft=single_fft, spent=spent)
        for k in range(first, stop):
            args = [None if j < 0 else values[j] if j in values else self.constant(j)
                    for j in self.op_inputs[k]]  # fmt: skip
            options = self.options[k]
            if single_fft and self.kinds[k] == "RFFT2D":
                options = {**options, "single": True}
            started = time.perf_counter() if spent is not None else 0.0
            outputs = SUPPORTED[self.kinds[k]](args, options)
            if spent is not None:
                spent[k] = spent.get(k, 0.0) + time.perf_counter() - started
            for j, value in zip(self.op_outputs[k], outputs, strict=True):
                values[j] = value
            for j in self.frees[k]:
                values.pop(j, None)
        return values

    def own_weights(self, first: int) -> None:
        """Give every operator from `first` on its own copy of each weight another operator
        also reads. The converter stores equal constants once (BirdNET's blocks share a few
        biases), which is harmless while the weights are fixed; an operator being trained
        must not move the weights of others."""
        readers: dict[int, int] = {}
        for inputs in self.op_inputs[: self.n_ops]:
            for j in inputs:
                readers[j] = readers.get(j, 0) + 1
        self.op_inputs = list(self.op_inputs)
        self.names = list(self.names)
        for k in range(first, self.n_ops):
            inputs = list(self.op_inputs[k])
            for position, j in enumerate(inputs):
                if f"t{j}" in self.weights and readers[j] > 1:
                    copy = len(self.names)
                    self.names.append(f"{self.names[j]} (own copy of operator {k})")
                    self.weights[f"t{copy}"] = nn.Parameter(
                        self.weights[f"t{j}"].detach().clone(), requires_grad=False
                    )
                    inputs[position] = copy
            self.op_inputs[k] = tuple(inputs)

    def weights_read(self, first: int, stop: int) -> dict[str, nn.Parameter]:
        """The parameters operators first..stop-1 read (name in `weights` -> parameter)."""
        keys = {f"t{j}" for inputs in self.op_inputs[first:stop] for j in inputs}
        return {k: p for k, p in self.weights.items() if k in keys}

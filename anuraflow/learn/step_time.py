"""How long training will take on this CPU: one measured step of each experiment's network,
projected over its epochs, for the start-up warning when training would run without a GPU;
and how long scoring an archive will take (`predict`): the network's forward pass per window,
and a probe's BirdNET embedding per window, projected over the archive's audio.

A step is the network's forward pass, BCE and AdamW update on a random batch of the
experiment's input shape, in float32 with this process's torch threads, timed on a batch of
at most `MEASURED_BATCH` examples and scaled linearly to the experiment's batch size: mixing,
augmentation, validation and the data path are left out, so the projection is a lower bound.
Measured once per machine, network, shape and thread count, and kept in a JSON cache under
the user's cache folder (shared by every working directory).
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StepShape:
    """What a step's cost depends on: the network, its input, the batch, the classes."""

    model: str
    batch_size: int
    n_classes: int
    input_shape: tuple[int, ...]  # one example: (1, n_mels, n_frames) or (n_inputs,)

    def key(self, threads: int) -> str:
        """The cache's key: the number of classes left out (only the output layer's size)."""
        dims = "x".join(map(str, self.input_shape))
        machine = platform.processor() or platform.machine()
        return f"{self.model}|b{self.batch_size}|{dims}|t{threads}|{machine}"


MEASURED_BATCH = 2


def default_cache() -> Path:
    """$XDG_CACHE_HOME/anuraflow/step_seconds.json (~/.cache by default)."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "anuraflow" / "step_seconds.json"


def shape_model(shape: StepShape):
    """The network `shape` names, built for its input (an embedding or a log-mel window)."""
    from anuraflow.learn.models import build_model

    if len(shape.input_shape) == 1:
        return build_model(shape.model, shape.n_classes, n_inputs=shape.input_shape[0])
    _, n_mels, n_frames = shape.input_shape
    return build_model(shape.model, shape.n_classes, n_mels=n_mels, n_frames=n_frames)


def measure_step(shape: StepShape, repeats: int = 1) -> float:
    """Seconds per training step of `shape.batch_size` examples: the mean of `repeats` steps
    on min(batch, MEASURED_BATCH) examples after one warm-up step, scaled to the batch."""
    import torch

    model = shape_model(shape)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batch = min(shape.batch_size, MEASURED_BATCH)
    x = torch.randn(batch, *shape.input_shape)
    y = torch.randint(0, 2, (batch, shape.n_classes)).float()
    loss_fn = torch.nn.BCEWithLogitsLoss()
    times = []
    for _ in range(repeats + 1):
        started = time.perf_counter()
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
        times.append(time.perf_counter() - started)
    return sum(times[1:]) / repeats * shape.batch_size / batch


def cached_seconds(key: str, measure, cache: str | Path | None = None) -> float:
    """`measure()`, read from `cache` (a JSON file; `default_cache()` when None) when this
    machine measured `key` before; a cache that cannot be read or written is measured around."""
    path = Path(cache) if cache is not None else default_cache()
    try:
        known = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        known = {}
    if key not in known:
        known[key] = measure()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(known, indent=1))
        except OSError:
            pass
    return float(known[key])


def step_seconds(shape: StepShape, cache: str | Path | None = None) -> float:
    """`measure_step`, cached per machine, network, shape and thread count."""
    import torch

    return cached_seconds(shape.key(torch.get_num_threads()), lambda: measure_step(shape), cache)


def measure_forward(shape: StepShape, repeats: int = 2) -> float:
    """Seconds per window of the network's forward pass alone (scoring, not training), in
    float32 without gradients, on min(batch, MEASURED_BATCH) windows after a warm-up."""
    import torch

    model = shape_model(shape)
    model.eval()
    batch = min(shape.batch_size, MEASURED_BATCH)
    x = torch.randn(batch, *shape.input_shape)
    times = []
    with torch.no_grad():
        for _ in range(repeats + 1):
            started = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - started)
    return sum(times[1:]) / repeats / batch


def forward_seconds(shape: StepShape, cache: str | Path | None = None) -> float:
    """`measure_forward`, cached like `step_seconds`."""
    import torch

    key = "forward|" + shape.key(torch.get_num_threads())
    return cached_seconds(key, lambda: measure_forward(shape), cache)


def birdnet_window_seconds(threads: int = 1, cache: str | Path | None = None) -> float:
    """Seconds per 3 s window of BirdNET V2.4's embedding on this CPU (the runtime `auto`
    picks, `threads`), measured on a batch of silence after a warm-up, cached: what a probe's
    scoring costs."""

    def measure() -> float:
        import numpy as np

        from anuraflow.features.birdnet import WINDOW_SAMPLES
        from anuraflow.features.birdnet_runtime import make_embedder

        embedder = make_embedder(threads=threads, device="cpu")
        windows = np.zeros((4, WINDOW_SAMPLES), np.float32)
        embedder.embed(windows[:1])
        started = time.perf_counter()
        embedder.embed(windows)
        return (time.perf_counter() - started) / len(windows)

    machine = platform.processor() or platform.machine()
    return cached_seconds(f"birdnet-auto|t{threads}|{machine}", measure, cache)


def scoring_hours(window_s: float, audio_s: float, hop_s: float) -> float:
    """Hours of `window_s` per window over `audio_s` seconds of audio at `hop_s` between
    windows (about one window per hop)."""
    return window_s * audio_s / hop_s / 3600


def projected_hours(step_s: float, epochs: int, train_windows: int, batch_size: int) -> float:
    """Hours of `epochs` epochs of ceil(train_windows / batch_size) steps of `step_s`."""
    return step_s * epochs * math.ceil(train_windows / batch_size) / 3600

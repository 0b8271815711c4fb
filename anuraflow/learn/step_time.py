"""How long training will take on this CPU: one measured step of each experiment's network,
projected over its epochs, for the start-up warning when training would run without a GPU.

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


def measure_step(shape: StepShape, repeats: int = 1) -> float:
    """Seconds per training step of `shape.batch_size` examples: the mean of `repeats` steps
    on min(batch, MEASURED_BATCH) examples after one warm-up step, scaled to the batch."""
    import torch

    from anuraflow.learn.models import build_model

    if len(shape.input_shape) == 1:
        model = build_model(shape.model, shape.n_classes, n_inputs=shape.input_shape[0])
    else:
        _, n_mels, n_frames = shape.input_shape
        model = build_model(shape.model, shape.n_classes, n_mels=n_mels, n_frames=n_frames)
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


def step_seconds(shape: StepShape, cache: str | Path | None = None) -> float:
    """`measure_step`, read from `cache` (a JSON file; `default_cache()` when None) when this
    machine measured it before; a cache that cannot be read or written is measured around."""
    import torch

    key = shape.key(torch.get_num_threads())
    path = Path(cache) if cache is not None else default_cache()
    try:
        known = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        known = {}
    if key not in known:
        known[key] = measure_step(shape)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(known, indent=1))
        except OSError:
            pass
    return float(known[key])


def projected_hours(step_s: float, epochs: int, train_windows: int, batch_size: int) -> float:
    """Hours of `epochs` epochs of ceil(train_windows / batch_size) steps of `step_s`."""
    return step_s * epochs * math.ceil(train_windows / batch_size) / 3600

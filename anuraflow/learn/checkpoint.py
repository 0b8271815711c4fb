"""Resumable training state: a job killed mid-epoch restarts from its last finished epoch.

The state (model, optimizer, scheduler, best model so far, early stopping, history and every
random generator) is written atomically after each epoch. It is loaded with
`torch.load(weights_only=True)`, which unpickles tensors and plain containers only, never code,
and it is used only when its fingerprint (settings, seed, input files) matches the job's, so a
checkpoint left by another config is never trusted.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from anuraflow.core.fileio import atomic_path, file_sha256

FORMAT_VERSION = 2  # 2: the loop state under "state" (anuraflow.learn.run.TrainState)


def run_fingerprint(
    settings: dict,
    seed: int,
    tables: list[str | Path],
    large_files: list[str | Path] = (),
    **extra: Any,
) -> str:
    """SHA-256 of what a training run depends on: settings, seed, extra keys and input files.

    `tables` (windows, splits, the feature index with every cache's checksum) enter by
    content; `large_files` (noise bank, encoders, weights) by name, size and modification
    time, which any rewrite changes.
    """
    files = [[str(p), file_sha256(p)] for p in tables]
    for path in sorted(map(str, large_files)):
        stat = Path(path).stat()
        files.append([path, stat.st_size, stat.st_mtime_ns])
    blob = {"settings": settings, "seed": seed, "files": files, **extra}
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()


def capture_rng(generator: torch.Generator) -> dict:
    """Every random state training draws from, as tensors and plain values."""
    np_state = np.random.get_state()
    state = {
        "generator": generator.get_state(),
        "torch": torch.get_rng_state(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict, generator: torch.Generator) -> None:
    generator.set_state(state["generator"])
    torch.set_rng_state(state["torch"])
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_torch(obj: Any, path: str | Path) -> None:
    """torch.save, atomically: a job killed while writing leaves the previous file intact."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def save_checkpoint(state: dict, path: str | Path, fingerprint: str) -> None:
    save_torch({"format": FORMAT_VERSION, "fingerprint": fingerprint, **state}, path)


def load_checkpoint(path: str | Path, fingerprint: str) -> dict | None:
    """The saved state if `path` holds one for this very run, else None (and why, printed)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # unreadable or not a checkpoint: start afresh, say so
        print(f"ignoring checkpoint {path}: cannot be loaded ({err})", flush=True)
        return None
    if state.get("format") != FORMAT_VERSION or state.get("fingerprint") != fingerprint:
        print(f"ignoring checkpoint {path}: it was written for other settings or inputs")
        return None
    return state


def load_encoder(model: torch.nn.Module, path: str | Path, model_name: str, freeze: bool) -> list:
    """Put a pretrained encoder's weights into `model` (weights_only loading); with `freeze`,
    fix them so only the layers after the encoder train. Returns the frozen modules."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    if saved["model_name"] != model_name:
        raise ValueError(
            f"encoder {path} was pretrained as {saved['model_name']!r}, the experiment "
            f"trains {model_name!r}"
        )
    target = getattr(model, "base", model)  # under a dense head, the encoder is the base
    missing, unexpected = target.load_state_dict(saved["encoder"], strict=False)
    if unexpected or any(not k.startswith("head.") for k in missing):
        raise ValueError(f"encoder {path} does not fit: missing {missing}, unexpected {unexpected}")
    if not freeze:
        return []
    frozen = [m for n, m in target.named_children() if n != "head"]
    for module in frozen:
        for p in module.parameters():
            p.requires_grad_(False)
    return frozen

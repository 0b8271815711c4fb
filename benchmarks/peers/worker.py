"""What ours.py and theirs.py share: the command line of one measurement and the JSON line it
prints. Standard library and torch only, so it runs in both environments."""

from __future__ import annotations

import argparse
import json
import os
import warnings
from collections.abc import Callable


def worker_parser(batch: int, audio_required: bool) -> argparse.ArgumentParser:
    """The options every measurement takes; each side adds its own."""
    ap = argparse.ArgumentParser()
    ap.add_argument("task", choices=["predict", "predict_files", "train", "embed", "embed_files"])
    ap.add_argument("--arch", default="resnet18")
    ap.add_argument("--audio", required=audio_required)
    ap.add_argument("--warmup")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=batch)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--warmup-steps", type=int, default=1)
    return ap


def measure(tool: str, tasks: dict[str, Callable], args: argparse.Namespace) -> None:
    """Run the task on `args.threads` torch threads and print its row as one JSON line."""
    import torch

    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    row = tasks[args.task](args)
    row.update(tool=tool, torch=torch.__version__, pid=os.getpid())
    print(json.dumps(row), flush=True)

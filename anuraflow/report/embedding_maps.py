"""The t-SNE maps of the report (seed 003, Figure 2): for each experiment, the run with the best
validation score, from the test embeddings its training job saved. Computed here, once per
experiment, rather than in every training job: t-SNE and scikit-learn cost CPU there, and a GPU
job would wait on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from anuraflow.evaluate.metrics import tsne_points
from anuraflow.report.figures import metric_value


def best_runs(runs: list[dict]) -> dict[str, int]:
    """experiment -> index of its run with the highest best validation macro F1 (the first
    among equals)."""
    best: dict[str, int] = {}
    for i, r in enumerate(runs):
        name = r["experiment"]
        score = metric_value(r["best_val_macro_f1"])
        if name not in best or score > metric_value(runs[best[name]]["best_val_macro_f1"]):
            best[name] = i
    return best


def attach_tsne(runs: list[dict], embedding_paths: list[str | Path]) -> None:
    """Set `tsne` ({x, y, class}) on each experiment's best run, from its test_embeddings.parquet
    (`embedding_paths` in the order of `runs`)."""
    for i in best_runs(runs).values():
        table = pd.read_parquet(embedding_paths[i])
        columns = [c for c in table.columns if c.startswith("e") and c[1:].isdigit()]
        codes = list(runs[i]["codes"])
        classes = np.array([codes.index(c) for c in table["species"]], dtype=int)
        runs[i]["tsne"] = tsne_points(table[columns].to_numpy(), classes, runs[i]["seed"])

"""Probes: small classifiers trained on a frozen pretrained model's window embeddings.

What BirdNET-Analyzer's custom classifier and Perch's agile modelling train: a linear layer
(`linear_probe`) or one hidden layer with dropout (`mlp_probe`) on the 1024-d BirdNET
embedding. They take [batch, n_inputs] embeddings (the embedding route's frontend) and expose
`embed` and `classify` like every model, so Mixup, manifold mixing and the embedding losses
apply unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from anuraflow.features.frontend import EmbeddingFrontend


class LinearProbe(nn.Module):
    """One dense layer: logits = W e + b. Its embedding is its input."""

    def __init__(self, n_classes: int, n_inputs: int = 1024):
        super().__init__()
        self.head = nn.Linear(n_inputs, n_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def classify(self, h: torch.Tensor) -> torch.Tensor:
        return self.head(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embed(x))


class MLPProbe(nn.Module):
    """Dropout -> dense `hidden` units, ReLU -> dropout -> dense output. Its embedding is the
    hidden layer."""

    def __init__(
        self, n_classes: int, n_inputs: int = 1024, hidden: int = 256, dropout: float = 0.25
    ):
        super().__init__()
        self.hidden = nn.Sequential(nn.Dropout(dropout), nn.Linear(n_inputs, hidden), nn.ReLU())
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, n_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.hidden(x)

    def classify(self, h: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(h))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embed(x))


def fit_probe(
    x: np.ndarray,
    y: np.ndarray,
    known: np.ndarray | None,
    frontend: EmbeddingFrontend,
    steps: int = 300,
    lr: float = 0.01,
    weight_decay: float = 1e-4,
    seed: int = 0,
) -> Callable[[np.ndarray], np.ndarray]:
    """A linear probe fitted full-batch (AdamW, `steps` steps) with the masked BCE of partial
    labels on embeddings normalised by `frontend` (the workflow's own: `EmbeddingFrontend`
    with the training recordings' statistics, as `build_embedding_bank` makes it); returns a
    function [n, dim] -> [n, species] probabilities. The review loop's quick retrain (the
    benchmark retrains it hundreds of times); the workflow trains probes with `fit`."""
    from anuraflow.learn.losses import bce

    torch.manual_seed(seed)
    yt = torch.as_tensor(np.asarray(y, dtype=np.float32))
    kt = None if known is None else torch.as_tensor(np.asarray(known, dtype=np.float32))
    probe = LinearProbe(yt.shape[1], np.shape(x)[1])
    optimizer = torch.optim.AdamW(probe.parameters(), lr=lr, weight_decay=weight_decay)

    def normalised(rows: np.ndarray) -> torch.Tensor:
        return frontend.normalise(torch.as_tensor(np.asarray(rows, dtype=np.float32)))

    inputs = normalised(x)
    for _ in range(steps):
        optimizer.zero_grad()
        bce(probe(inputs), yt, known=kt).mean().backward()
        optimizer.step()
    probe.eval()

    def score(new: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return torch.sigmoid(probe(normalised(new))).numpy()

    return score

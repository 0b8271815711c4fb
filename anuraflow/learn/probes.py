"""Probes: small classifiers trained on a frozen pretrained model's window embeddings.

What BirdNET-Analyzer's custom classifier and Perch's agile modelling train: a linear layer
(`linear_probe`) or one hidden layer with dropout (`mlp_probe`) on the 1024-d BirdNET
embedding. They take [batch, n_inputs] embeddings (the embedding route's frontend) and expose
`embed` and `classify` like every model, so Mixup, manifold mixing and the embedding losses
apply unchanged.
"""

from __future__ import annotations

import torch
from torch import nn


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

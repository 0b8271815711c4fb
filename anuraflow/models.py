"""Model registry: one config key (`model`) picks the network.

Every model takes [batch, 1, n_mels, n_frames] log-mels and exposes `embed` (to the
penultimate layer) and `classify` (embedding to logits) so mixing in embedding space and
embedding statistics can reach the layer they need.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class SmallCNN(nn.Module):
    """Input average-pooled (2 mels x 4 frames), four conv blocks, frequency pooled to a few
    bands that are kept apart, then max+mean pooled over time.

    Small enough to train the demo on two CPU cores in a minute or two. Convolutions are blind
    to absolute frequency, so the bands are flattened into the features rather than averaged:
    two species with the same call shape at different carriers stay apart. The time max-pool
    lets a short call anywhere in the window drive its species' logit.
    """

    def __init__(
        self,
        n_classes: int,
        channels: tuple[int, ...] = (16, 32, 64, 128),
        input_pool: tuple[int, int] = (2, 4),
        embed_dim: int = 128,
        dropout: float = 0.2,
        freq_bands: int = 8,
    ):
        super().__init__()
        layers: list[nn.Module] = [nn.AvgPool2d(tuple(input_pool))]
        c_in = 1
        for i, c_out in enumerate(channels):
            layers += [
                nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
            ]
            if i < len(channels) - 1:
                layers.append(nn.MaxPool2d(2))
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.bands = nn.AdaptiveAvgPool2d((freq_bands, None))
        self.project = nn.Sequential(
            nn.Linear(2 * c_in * freq_bands, embed_dim), nn.ReLU(inplace=True), nn.Dropout(dropout)
        )
        self.head = nn.Linear(embed_dim, n_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        h = self.bands(self.features(x)).flatten(1, 2)  # [B, C * bands, T]
        h = torch.cat([h.amax(dim=2), h.mean(dim=2)], dim=1)
        return self.project(h)

    def classify(self, h: torch.Tensor) -> torch.Tensor:
        return self.head(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embed(x))


class MobileNetV3Large(nn.Module):
    """torchvision's MobileNetV3-Large from scratch with a one-channel stem (Mix2's model)."""

    def __init__(self, n_classes: int, dropout: float = 0.2):
        super().__init__()
        from torchvision.models import mobilenet_v3_large

        net = mobilenet_v3_large(weights=None, num_classes=n_classes, dropout=dropout)
        stem = net.features[0][0]
        net.features[0][0] = nn.Conv2d(
            1, stem.out_channels, stem.kernel_size, stem.stride, stem.padding, bias=False
        )
        self.features, self.pool = net.features, net.avgpool
        self.pre_head = net.classifier[:-1]  # Linear 960->1280, Hardswish, Dropout
        self.head = net.classifier[-1]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.pre_head(torch.flatten(self.pool(self.features(x)), 1))

    def classify(self, h: torch.Tensor) -> torch.Tensor:
        return self.head(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embed(x))


MODELS: dict[str, Callable[..., nn.Module]] = {
    "small_cnn": SmallCNN,
    "mobilenetv3_large": MobileNetV3Large,
}


def build_model(name: str, n_classes: int, **kwargs) -> nn.Module:
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}")
    return MODELS[name](n_classes, **kwargs)

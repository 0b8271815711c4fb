"""Model registry: one config key (`model`) picks the network.

Every model takes [batch, 1, n_mels, n_frames] log-mels (the probes of `anuraflow.learn.probes`
take [batch, n_inputs] embeddings, `birdnet_finetune` [batch, 144000] samples at 48 kHz) and
exposes `embed` (to the
penultimate layer) and `classify` (embedding to logits) so mixing in embedding space and
embedding statistics can reach the layer they need.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch
from torch import nn

from anuraflow.learn.birdnet_finetune import BirdNetClassifier
from anuraflow.learn.experiments import PROBE_MODELS
from anuraflow.learn.probes import LinearProbe, MLPProbe


def load_imagenet_weights(net: nn.Module, path: str | None) -> bool:
    """Load a torchvision state dict from a local file into `net` (weights_only loading).

    Nothing is downloaded: the file must be there (e.g. torchvision's `densenet121-*.pth`
    copied from a machine with network access); without it the error says where it looked.
    """
    if path is None:
        return False
    file = Path(path).expanduser()
    if not file.is_file():
        raise FileNotFoundError(
            f"pretrained_weights: {file} does not exist. Nothing can be downloaded here; put "
            "the torchvision state dict (.pth) of this model at that path, or remove the key "
            "to train from random weights"
        )
    state = torch.load(file, map_location="cpu", weights_only=True)
    missing, unexpected = net.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(
            f"pretrained_weights {file} does not fit {type(net).__name__}: "
            f"{len(missing)} missing keys (e.g. {missing[:3]}), "
            f"{len(unexpected)} unexpected (e.g. {unexpected[:3]})"
        )
    return True


def one_channel(conv: nn.Conv2d, keep_weights: bool) -> nn.Conv2d:
    """The same convolution for one-channel log-mels; pretrained RGB kernels are summed over
    their three input channels (a grey image gives the same response as before)."""
    new = nn.Conv2d(
        1,
        conv.out_channels,
        conv.kernel_size,
        conv.stride,
        conv.padding,
        bias=conv.bias is not None,
    )
    if keep_weights:
        with torch.no_grad():
            new.weight.copy_(conv.weight.sum(1, keepdim=True))
            if conv.bias is not None:
                new.bias.copy_(conv.bias)
    return new


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
    """torchvision's MobileNetV3-Large from scratch with a one-channel stem (Mix2's model).

    `head="mix2"` (default): the Mix2 authors' head, about 3.01 M parameters for 42 species
    (the paper's "three million"): the 960-channel map is averaged over mel bands, then max +
    mean pooled over frames, and one Linear(960, C) classifies; the pooled 960-d vector is the
    embedding that Manifold Mixup and MultiMix mix. `head="torchvision"`: torchvision's
    classifier (global average pool, Linear 960->1280, Hardswish, Dropout, Linear 1280->C;
    4.26 M parameters for 42 species), whose 1280-d layer is the embedding; ImageNet weights
    (seed 004) fill that layer too.
    """

    HEADS = ("mix2", "torchvision")

    def __init__(
        self,
        n_classes: int,
        dropout: float = 0.2,
        weights: str | None = None,
        head: str = "mix2",
    ):
        super().__init__()
        from torchvision.models import mobilenet_v3_large

        if head not in self.HEADS:
            raise ValueError(f"mobilenetv3_large head {head!r}: one of {', '.join(self.HEADS)}")
        net = mobilenet_v3_large(weights=None, dropout=dropout)
        loaded = load_imagenet_weights(net, weights)
        net.features[0][0] = one_channel(net.features[0][0], loaded)
        self.features, self.head_kind = net.features, head
        if head == "torchvision":
            self.pool = net.avgpool
            self.pre_head = net.classifier[:-1]  # Linear 960->1280, Hardswish, Dropout
        self.head = nn.Linear(net.classifier[-1].in_features if head == "torchvision" else
                              net.classifier[0].in_features, n_classes)  # fmt: skip
        nn.init.normal_(self.head.weight, 0, 0.01)  # torchvision's init of this layer
        nn.init.zeros_(self.head.bias)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)  # [B, 960, mels', frames']
        if self.head_kind == "torchvision":
            return self.pre_head(torch.flatten(self.pool(h), 1))
        h = h.mean(dim=2)  # over mel bands: [B, 960, frames']
        return h.amax(dim=2) + h.mean(dim=2)

    def classify(self, h: torch.Tensor) -> torch.Tensor:
        return self.head(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embed(x))


class ResNet(nn.Module):
    """torchvision's ResNet18/50/152 from scratch with a one-channel stem (AnuraSet baselines).

    The AnuraSet paper fine-tunes ImageNet weights; nothing is downloaded here, so these train
    from scratch unless `weights` names a local torchvision state dict (seed 004).
    """

    def __init__(self, n_classes: int, depth: int = 18, weights: str | None = None):
        super().__init__()
        from torchvision import models

        net = getattr(models, f"resnet{depth}")(weights=None)
        net.conv1 = one_channel(net.conv1, load_imagenet_weights(net, weights))
        self.body = nn.Sequential(*list(net.children())[:-1])  # up to the global average pool
        self.head = nn.Linear(net.fc.in_features, n_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.body(x), 1)

    def classify(self, h: torch.Tensor) -> torch.Tensor:
        return self.head(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embed(x))


class TemporalCNN(nn.Module):
    """Seed 002's baseline 1D-CNN: mel bands are channels, convolution runs over time only.

    Conv1D(32, k3) -> BN -> ReLU -> MaxPool(2) -> Dropout(0.3) -> Conv1D(64, k3) -> BN -> ReLU
    -> MaxPool(2) -> Dropout(0.3) -> Flatten -> Dense(128) -> Dropout(0.4) -> classes.
    """

    def __init__(
        self,
        n_classes: int,
        n_mels: int = 128,
        n_frames: int = 376,
        channels: tuple[int, int] = (32, 64),
        embed_dim: int = 128,
    ):
        super().__init__()
        c1, c2 = channels
        self.features = nn.Sequential(
            nn.Conv1d(n_mels, c1, 3, padding=1),
            nn.BatchNorm1d(c1),
            nn.ReLU(inplace=True),
            nn.MaxPool1d(2),
            nn.Dropout(0.3),
            nn.Conv1d(c1, c2, 3, padding=1),
            nn.BatchNorm1d(c2),
            nn.ReLU(inplace=True),
            nn.MaxPool1d(2),
            nn.Dropout(0.3),
        )
        self.project = nn.Sequential(
            nn.Flatten(), nn.Linear(c2 * (n_frames // 4), embed_dim), nn.ReLU(inplace=True)
        )
        self.head = nn.Sequential(nn.Dropout(0.4), nn.Linear(embed_dim, n_classes))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(self.features(x.squeeze(1)))  # [B, n_mels, T]

    def classify(self, h: torch.Tensor) -> torch.Tensor:
        return self.head(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embed(x))


class AlexNetMel(nn.Module):
    """Seed 002's AlexNet-style 2D CNN: an 11x11 stride-2 stem, 3x3 stacks, global average pool,
    dense layer, classes."""

    def __init__(self, n_classes: int, embed_dim: int = 256, dropout: float = 0.5):
        super().__init__()

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(True)]

        self.features = nn.Sequential(
            nn.Conv2d(1, 64, 11, stride=2, padding=5),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2),
            *block(64, 192),
            nn.MaxPool2d(3, stride=2),
            *block(192, 384),
            *block(384, 256),
            *block(256, 256),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.project = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(256, embed_dim), nn.ReLU(inplace=True)
        )
        self.head = nn.Linear(embed_dim, n_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(self.features(x))

    def classify(self, h: torch.Tensor) -> torch.Tensor:
        return self.head(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embed(x))


class PatchTransformer(nn.Module):
    """Seed 002's Transformer-Mel: 16x16 time-frequency patches as tokens, learned positional
    embeddings, pre-norm encoder layers, mean-pooled tokens to the classifier.

    Inputs are zero-padded up to whole patches (376 frames -> 24 patches of 16).
    """

    def __init__(
        self,
        n_classes: int,
        n_mels: int = 128,
        n_frames: int = 376,
        patch: int = 16,
        d_model: int = 128,
        depth: int = 4,
        heads: int = 4,
        dropout: float = 0.1,
    ):
        super().__init__()
        self.patch = patch
        self.grid = (math.ceil(n_mels / patch), math.ceil(n_frames / patch))
        self.to_tokens = nn.Conv2d(1, d_model, patch, stride=patch)
        self.position = nn.Parameter(torch.zeros(1, self.grid[0] * self.grid[1], d_model))
        nn.init.trunc_normal_(self.position, std=0.02)
        layer = nn.TransformerEncoderLayer(
            d_model,
            heads,
            4 * d_model,
            dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, n_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        f, t = x.shape[-2:]
        x = nn.functional.pad(
            x, (0, self.grid[1] * self.patch - t, 0, self.grid[0] * self.patch - f)
        )
        tokens = self.to_tokens(x).flatten(2).transpose(1, 2) + self.position
        return self.norm(self.encoder(tokens).mean(dim=1))

    def classify(self, h: torch.Tensor) -> torch.Tensor:
        return self.head(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embed(x))


class DenseNet121(nn.Module):
    """torchvision's DenseNet-121 with a one-channel stem (seed 004's transfer learning)."""

    def __init__(self, n_classes: int, weights: str | None = None):
        super().__init__()
        from torchvision.models import densenet121

        net = densenet121(weights=None)
        net.features.conv0 = one_channel(net.features.conv0, load_imagenet_weights(net, weights))
        self.features = net.features
        self.head = nn.Linear(net.classifier.in_features, n_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        h = nn.functional.relu(self.features(x))
        return torch.flatten(nn.functional.adaptive_avg_pool2d(h, 1), 1)

    def classify(self, h: torch.Tensor) -> torch.Tensor:
        return self.head(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embed(x))


class InceptionV3(nn.Module):
    """torchvision's Inception-v3 (no auxiliary head) with a one-channel stem (seeds 003/004).
    Needs inputs of at least 75 x 75 (128 mels x 376 frames is fine)."""

    def __init__(self, n_classes: int, weights: str | None = None, dropout: float = 0.5):
        super().__init__()
        from torchvision.models import inception_v3

        net = inception_v3(weights=None, aux_logits=True, init_weights=True)
        loaded = load_imagenet_weights(net, weights)
        net.Conv2d_1a_3x3.conv = one_channel(net.Conv2d_1a_3x3.conv, loaded)
        names = ["Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1"]
        names += ["Conv2d_4a_3x3", "maxpool2", "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a"]
        names += ["Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b"]
        names += ["Mixed_7c", "avgpool"]
        self.body = nn.Sequential(*(getattr(net, n) for n in names))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(net.fc.in_features, n_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(torch.flatten(self.body(x), 1))

    def classify(self, h: torch.Tensor) -> torch.Tensor:
        return self.head(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embed(x))


class DenseHead(nn.Module):
    """Seed 004's extra dense layers between a backbone and its output: Linear-ReLU-Dropout
    per entry of `units` (256, 128 in the paper), with an L2 penalty on their kernels."""

    def __init__(
        self,
        base: nn.Module,
        n_classes: int,
        units: tuple[int, ...] = (256, 128),
        dropout: float = 0.5,
        l2: float = 0.0,
    ):
        super().__init__()
        self.base, self.l2 = base, l2
        in_dim = base.head.in_features
        base.head = nn.Identity()
        layers: list[nn.Module] = []
        for n in units:
            layers += [nn.Linear(in_dim, n), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            in_dim = n
        self.dense = nn.Sequential(*layers)
        self.head = nn.Linear(in_dim, n_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(self.base.embed(x))

    def classify(self, h: torch.Tensor) -> torch.Tensor:
        return self.head(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embed(x))

    def penalty(self) -> torch.Tensor:
        """l2 * sum of squared dense kernels (Keras' kernel_regularizer=l2(l2))."""
        weights = [m.weight for m in self.dense if isinstance(m, nn.Linear)]
        return self.l2 * sum(w.pow(2).sum() for w in weights)


MODELS: dict[str, Callable[..., nn.Module]] = {
    "small_cnn": SmallCNN,
    "mobilenetv3_large": MobileNetV3Large,
    "resnet18": partial(ResNet, depth=18),
    "resnet50": partial(ResNet, depth=50),
    "resnet152": partial(ResNet, depth=152),
    "conv1d": TemporalCNN,
    "alexnet_mel": AlexNetMel,
    "transformer_mel": PatchTransformer,
    "densenet121": DenseNet121,
    "inception_v3": InceptionV3,
    "linear_probe": LinearProbe,
    "mlp_probe": MLPProbe,
    "birdnet_finetune": BirdNetClassifier,
}
# Models built on torchvision networks: they take `weights`, a local ImageNet state dict.
PRETRAINABLE = {
    "mobilenetv3_large",
    "resnet18",
    "resnet50",
    "resnet152",
    "densenet121",
    "inception_v3",
}
# Models whose layer sizes depend on the input shape: build_model passes n_mels / n_frames.
SHAPED_MODELS = {"conv1d", "transformer_mel"}


def build_model(
    name: str,
    n_classes: int,
    n_mels: int = 128,
    n_frames: int = 376,
    weights: str | None = None,
    dense_head: dict | None = None,
    n_inputs: int | None = None,
    **kwargs,
) -> nn.Module:
    """The registry's `name` for `n_classes`; `weights`: a local ImageNet state dict for the
    torchvision backbones; `dense_head`: {units, dropout, l2} extra layers (seed 004);
    `n_inputs`: the embedding size a probe reads."""
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}")
    if name in PROBE_MODELS:
        if n_inputs is None:
            raise ValueError(f"model {name!r} reads embeddings: give n_inputs")
        kwargs["n_inputs"] = n_inputs
    if name in SHAPED_MODELS:
        kwargs = {"n_mels": n_mels, "n_frames": n_frames, **kwargs}
    if name == "inception_v3" and min(n_mels, n_frames) < 75:
        raise ValueError(
            f"inception_v3 needs inputs of at least 75 x 75, got {n_mels} mels x {n_frames} frames"
        )
    if weights is not None:
        if name not in PRETRAINABLE:
            raise ValueError(f"model {name!r} has no ImageNet weights to load")
        kwargs["weights"] = weights
    model = MODELS[name](n_classes, **kwargs)
    if dense_head is not None:
        model = DenseHead(model, n_classes, **dense_head)
    return model


def encoder_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Every weight but the output layer's: what pretraining hands on to fine-tuning."""
    return {k: v for k, v in model.state_dict().items() if not k.startswith("head.")}


def n_parameters(model: nn.Module, trained: bool = False) -> int:
    """Weights of the model (`trained`: only those the optimizer updates)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trained)

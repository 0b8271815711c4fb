"""BirdNET V2.4 fine-tuned (`model: birdnet_finetune`): seed 004's transfer protocol on a
bioacoustic backbone instead of ImageNet weights.

The network is read from the user's BirdNET V2.4 file (`anuraflow.features.birdnet_torch`),
its 6,522-species classifier replaced by a new layer for the run's species. Its weights from
the block `unfreeze_from` on train, at `backbone_lr_scale` times the head's learning rate; the
spectrogram front end and the blocks before stay as read and run without gradients (the
graph has no batch norm or dropout left, so train and eval mode compute the same). The
front end always computes in float32, as in the embedding stage.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from anuraflow.features.birdnet import EMBEDDING_DIM, model_identity
from anuraflow.features.birdnet_torch import BirdNetNetwork
from anuraflow.features.tflite_module import UnsupportedGraph

# BirdNET V2.4's blocks in order, as its tensors are named: the stem, four stages of
# (MB)Conv blocks, and POST (the last batch norm and the 1x1 convolution to 1024 channels)
BLOCKS = (
    "CONV_0",
    *(f"BLOCK_1-{i}" for i in range(1, 4)),
    *(f"BLOCK_2-{i}" for i in range(1, 5)),
    *(f"BLOCK_3-{i}" for i in range(1, 6)),
    *(f"BLOCK_4-{i}" for i in range(1, 5)),
    "BNORM_POST",
)
HEAD_ONLY = "none"  # unfreeze_from: nothing of the backbone trains


def block_start(network: BirdNetNetwork, block: str) -> int:
    """The first operator of `block` (an entry of BLOCKS) among the network's operators."""
    if block not in BLOCKS:
        raise ValueError(
            f"unfreeze_from {block!r}: one of {', '.join(BLOCKS)}, or {HEAD_ONLY!r} (head only)"
        )
    net = network.net
    mark = f"model/{block}_" if block != "CONV_0" else "model/CONV_0/"
    for k in range(network.body_starts, net.n_ops):
        if any(mark in net.names[j] for j in net.op_outputs[k]):
            return k
    raise UnsupportedGraph(f"no operator of block {block!r} in the network")


class BirdNetClassifier(nn.Module):
    """[batch, 144000] samples at 48 kHz in [-1, 1] -> species logits, through BirdNET V2.4's
    1024-d embedding (`embed`) and a new linear layer (`classify`)."""

    def __init__(
        self,
        n_classes: int,
        unfreeze_from: str = "BLOCK_4-1",
        backbone_lr_scale: float = 0.1,
        model_path: str | Path | None = None,
    ) -> None:
        super().__init__()
        self.backbone = BirdNetNetwork(model_path, logits=False)
        net = self.backbone.net
        self.split = (
            net.n_ops if unfreeze_from == HEAD_ONLY else block_start(self.backbone, unfreeze_from)
        )
        self.unfreeze_from, self.backbone_lr_scale = unfreeze_from, float(backbone_lr_scale)
        net.own_weights(self.split)
        trained = net.weights_read(self.split, net.n_ops)
        for weight in trained.values():
            weight.requires_grad_(True)
        self.head = nn.Linear(EMBEDDING_DIM, n_classes)
        # `embed` standardises per dimension by the training windows' statistics
        # (`standardise_head`), as a probe's input is (normalise: dataset)
        self.register_buffer("embedding_mean", torch.zeros(EMBEDDING_DIM))
        self.register_buffer("embedding_std", torch.ones(EMBEDDING_DIM))

    def embed(self, samples: torch.Tensor) -> torch.Tensor:
        """[batch, 1024] embeddings standardised by the training windows' statistics: what
        the head (or seed 004's dense layers, `dense_head`) reads."""
        return (self.backbone_embed(samples) - self.embedding_mean) / self.embedding_std

    def backbone_embed(self, samples: torch.Tensor) -> torch.Tensor:
        """BirdNET's [batch, 1024] embeddings: the frozen part without gradients, the rest
        with them."""
        backbone, net = self.backbone, self.backbone.net
        with torch.no_grad():
            with torch.autocast(samples.device.type, enabled=False):
                values = backbone.front_end(samples.float())
            values = net.run(values, backbone.body_starts, self.split)
        values = net.run(values, self.split, net.n_ops)
        return values[backbone.embedding_index]

    def classify(self, h: torch.Tensor) -> torch.Tensor:
        return self.head(h)

    def forward(self, samples: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embed(samples))


def check_model_file(model_path: str | Path | None, features) -> None:
    """Refuse a BirdNET file other than the one the waveform caches were made for, or the
    model was trained on (`features`: the WaveformFrontend's, with the file's sha256)."""
    found = model_identity(model_path)
    if features.model_sha256 and found["model_sha256"] != features.model_sha256:
        raise ValueError(
            f"the BirdNET file {found['model_file']} (sha256 {found['model_sha256'][:12]}) is "
            f"not the one this model's samples were cached for and trained on "
            f"({features.model_sha256[:12]}); set embeddings.model_path to that file"
        )


@torch.no_grad()
def standardise_head(model: nn.Module, samples_of, n: int, batch_size: int = 64) -> None:
    """Set the statistics a BirdNetClassifier in `model` standardises embeddings by before
    its head: mean and std per dimension of the pretrained network's embeddings of the `n`
    training windows (`samples_of(idx)`: the samples of windows idx, 0 <= idx < n), before
    any weight moves; std floored at 1e-3, as the probes' statistics are."""
    (net,) = [m for m in model.modules() if isinstance(m, BirdNetClassifier)]
    total, square = 0.0, 0.0
    for start in range(0, n, batch_size):
        h = net.backbone_embed(samples_of(torch.arange(start, min(n, start + batch_size))))
        h = h.double()
        total, square = total + h.sum(0), square + (h**2).sum(0)
    mean = total / n
    net.embedding_mean.copy_(mean.float())
    net.embedding_std.copy_((square / n - mean**2).clamp_min(1e-6).sqrt().float())

"""Training steps: optimizer, schedule, objective, augmented inputs, Mix2's mixing, one step.

A batch is a gather of frame ranges from the run's `WindowBank` on the training device;
augmentation runs on the batch, on the same device. `anuraflow.learn.run` puts these together into
one experiment x seed run.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
from torch import nn

from anuraflow.core.hardware import torch_device
from anuraflow.features.augment import (
    circular_time_shift,
    mix_noise_at_snr,
    spec_augment,
    spec_augment_stripes,
    time_shifts,
    time_stretch_frames,
)
from anuraflow.features.bank import NoiseBank, WindowBank
from anuraflow.learn import losses
from anuraflow.learn.acceleration import autocast, fused_supported, resolve_precision
from anuraflow.learn.mixing import (
    METHODS,
    Mixture,
    PerExampleLoss,
    choose_methods,
    identity_mixture,
    mixed_loss,
    multimix_mixture,
    pair_mixture,
)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(name: str = "auto") -> torch.device:
    return torch_device(name)


def make_optimizer(model: nn.Module, settings: dict) -> torch.optim.Optimizer:
    """AdamW, Adam or SGD (momentum 0.9), with one fused kernel per step instead of a few per
    parameter tensor wherever PyTorch has one for the model's device."""
    opt = settings["optimizer"]
    name = opt["name"].lower()
    classes = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam, "sgd": torch.optim.SGD}
    if name not in classes:
        raise KeyError(f"unknown optimizer {opt['name']!r}")
    device = next(model.parameters()).device
    extra = {"momentum": 0.9} if name == "sgd" else {}
    return classes[name](
        parameter_groups(model, opt["lr"]),
        lr=opt["lr"],
        weight_decay=opt["weight_decay"],
        fused=fused_supported(device),
        **extra,
    )


def parameter_groups(model: nn.Module, lr: float) -> list:
    """The model's parameters, or where it holds a pretrained backbone trained at a lower rate
    (a module with `backbone_lr_scale`, `birdnet_finetune`), two groups: the backbone's
    trainable weights at lr * scale, every other trainable weight at lr."""
    owners = [m for m in model.modules() if hasattr(m, "backbone_lr_scale")]
    if not owners:
        return list(model.parameters())
    backbone = {id(p): p for m in owners for p in m.backbone.parameters() if p.requires_grad}
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in backbone]
    groups = [{"params": rest, "lr": lr}]
    if backbone:
        groups.append({"params": list(backbone.values()), "lr": lr * owners[0].backbone_lr_scale})
    return groups


def make_scheduler(optimizer, settings: dict, total_steps: int):
    """cosine: annealed every step; plateau: ReduceLROnPlateau on the validation loss per epoch."""
    name = settings["scheduler"]
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(total_steps, 1))
    if name == "plateau":
        p = settings["plateau"]
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, factor=p["factor"], patience=p["patience"], min_lr=p["min_lr"]
        )
    return None


@dataclass
class Objective:
    """The training loss: a per-example classification loss plus an optional embedding loss."""

    classification: PerExampleLoss
    embedding: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    embedding_weight: float = 1.0

    def __call__(self, h, logits, y, mixture: Mixture, known=None) -> torch.Tensor:
        loss = mixed_loss(self.classification, logits.float(), y, mixture, known)
        if self.embedding is not None:
            loss = loss + self.embedding_weight * self.embedding(h.float(), mixture.targets(y))
        return loss


def make_objective(settings: dict, y_train: torch.Tensor) -> Objective:
    cfg = settings["loss"]
    weighting = cfg["class_weights"] == "balanced"
    if settings["task"] == "multiclass":
        weight = losses.balanced_class_weight(y_train) if weighting else None
        gamma = cfg["gamma"] if cfg["name"] == "focal" else 0.0
        classification = partial(losses.cross_entropy, gamma=gamma, class_weight=weight)
    else:
        pos_weight = losses.balanced_pos_weight(y_train) if weighting else None
        if cfg["name"] == "focal":
            classification = partial(
                losses.focal, gamma=cfg["gamma"], alpha=cfg["alpha"], pos_weight=pos_weight
            )
        else:
            classification = partial(losses.bce, pos_weight=pos_weight)
    emb = cfg["embedding"]
    if not emb:
        return Objective(classification)
    args = {k: v for k, v in emb.items() if k not in ("name", "weight")}
    fn = {
        "add_hard": losses.add_hard,
        "add_soft": losses.add_soft,
        "opl": losses.orthogonal_projection,
    }[emb["name"]]
    return Objective(classification, partial(fn, **args), emb.get("weight", 1.0))


def prepare_inputs(
    bank: WindowBank,
    idx: torch.Tensor,
    settings: dict,
    generator: torch.Generator | None = None,
    noise: NoiseBank | None = None,
) -> torch.Tensor:
    """Window log-mels -> (train only: noise at an SNR) -> normalisation -> (train only:
    time stretch, time shift, SpecAugment). `generator` None means evaluation: nothing random
    is applied."""
    aug = settings["augment"]
    if generator is not None and fused_augmentation(bank, aug):
        return fused_inputs(bank, idx, aug, generator)
    x = bank.raw(idx)
    if generator is not None and noise is not None and aug.get("noise"):
        cfg = aug["noise"]
        noisy = mix_noise_at_snr(
            x, noise.sample(len(idx), generator), tuple(cfg["snr_db"]), generator
        )
        keep = torch.rand(len(idx), generator=generator, device=x.device) < cfg.get("p", 1.0)
        x = torch.where(keep[:, None, None, None], noisy, x)
    x = bank.frontend.normalise(x)
    if generator is not None:
        if aug.get("time_stretch"):
            x = time_stretch_frames(x, tuple(aug["time_stretch"]), generator)
        if aug.get("time_shift"):
            x = circular_time_shift(x, aug["time_shift"], generator)
        if aug.get("spec_augment"):
            x = spec_augment(x, **aug["spec_augment"], generator=generator)
    return x


def fused_augmentation(bank: WindowBank, aug: dict) -> bool:
    """Whether a training batch's augmentation is only a time shift and SpecAugment on
    log-mels normalised by dataset statistics (or none): `fused_inputs` then gives the same
    batch in fewer passes (the demo's small CNN)."""
    return (
        bank.frontend.kind == "logmel"
        and bank.frontend.normalisation in ("dataset", "none")
        and not aug.get("noise")
        and not aug.get("time_stretch")
    )


def fused_inputs(
    bank: WindowBank, idx: torch.Tensor, aug: dict, generator: torch.Generator
) -> torch.Tensor:
    """`prepare_inputs`' training batch, bit for bit, with the same draws in the same order
    (the shifts, then SpecAugment's stripes), computed by `Frontend.augmented_input`."""
    frontend, b = bank.frontend, len(idx)
    device = bank.frames.device
    shifts = None
    if aug.get("time_shift"):
        shifts = time_shifts(b, frontend.n_frames, aug["time_shift"], generator, device)
    stripes = None
    if aug.get("spec_augment"):
        stripes = spec_augment_stripes(
            b, frontend.features.n_mels, frontend.n_frames, **aug["spec_augment"],
            generator=generator, device=device,
        )  # fmt: skip
    return frontend.augmented_input(bank.frames, bank.starts[idx], shifts, stripes)


def batch_starts(n: int, batch_size: int) -> list[int]:
    """Where an epoch's batches of `n` shuffled windows start: every `batch_size`, leaving out
    a last batch of a single window (batch statistics and mixing pairs need two)."""
    return [s for s in range(0, n, batch_size) if n - s >= 2]


def plan_methods(settings: dict, steps: int, generator: torch.Generator) -> list[str]:
    """The mixing method of each of an epoch's `steps` steps (Mix2's per-step choice, drawn
    for the epoch at its start); "none" for every step of an experiment without mixing."""
    mix = settings["mixing"]
    return choose_methods(mix["methods"], steps, generator) if mix else ["none"] * steps


def mixing_step(
    model: nn.Module, x: torch.Tensor, method: str, settings: dict, generator: torch.Generator
) -> tuple[Mixture, torch.Tensor, torch.Tensor]:
    """One forward pass with the step's mixing method: (mixture, embeddings, logits)."""
    if method not in METHODS:
        raise KeyError(f"unknown mixing method {method!r}; one of {', '.join(METHODS)}")
    mix, b = settings["mixing"], x.shape[0]
    mixture = identity_mixture(b, x.device)
    if method == "mixup":
        mixture = pair_mixture(b, mix["alpha"], generator, x.device)
        x = mixture.apply(x)
    h = model.embed(x)
    if method == "manifold_mixup":
        mixture = pair_mixture(b, mix["alpha"], generator, x.device)
        h = mixture.apply(h)
    elif method == "multimix":
        mixture = multimix_mixture(b, mix["multimix_n"], mix["multimix_alpha"], generator, x.device)
        h = mixture.apply(h)
    return mixture, h, model.classify(h)


def train_step(
    model: nn.Module,
    bank: WindowBank,
    idx: torch.Tensor,
    method: str,
    settings: dict,
    generator: torch.Generator,
    objective: Objective,
    optimizer: torch.optim.Optimizer,
    noise: NoiseBank | None = None,
) -> torch.Tensor:
    """One optimisation step on windows `idx` with mixing `method` (`plan_methods`), all on
    the bank's device: inputs, augmentation, mixing, loss, update. Returns the detached loss,
    still on the device: reading it would wait for the GPU every step."""
    x = prepare_inputs(bank, idx, settings, generator, noise)
    y = bank.labels[idx]
    known = None if bank.known is None else bank.known[idx]
    with autocast(x.device.type, resolve_precision(settings["precision"], x.device.type)):
        mixture, h, logits = mixing_step(model, x, method, settings, generator)
    loss = objective(h, logits, y, mixture, known)
    if hasattr(model, "penalty"):
        loss = loss + model.penalty()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()


class EarlyStopping:
    """Stops after `patience` epochs without improvement of the monitored validation value."""

    def __init__(self, monitor: str = "val_loss", patience: int = 6, min_delta: float = 0.0):
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.best: float | None = None
        self.bad_epochs = 0

    def step(self, record: dict) -> bool:
        value = record[self.monitor]
        sign = -1.0 if self.monitor == "val_loss" else 1.0
        if self.best is None or sign * (value - self.best) > self.min_delta:
            self.best, self.bad_epochs = value, 0
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience


def fraction_of_labels(train_idx: torch.Tensor, fraction: float, seed: int) -> torch.Tensor:
    """A random `fraction` of the training windows (seed 003's 100 / 50 / 20 % runs)."""
    if fraction >= 1.0:
        return train_idx
    keep = max(1, int(round(fraction * len(train_idx))))
    order = np.random.default_rng(seed).permutation(len(train_idx))[:keep]
    return train_idx[torch.as_tensor(np.sort(order), device=train_idx.device)]


def balanced_indices(labels: np.ndarray, target: int | str, seed: int) -> np.ndarray:
    """Positions into `labels` [n, classes] with minority classes repeated up to `target`
    windows each (seed 003's balancing; every repeat is augmented anew when drawn).

    A window counts for its rarest species; windows without any species are kept once.
    """
    counts = labels.sum(0)
    rarity = np.where(labels > 0, counts[None, :], np.inf)
    owner = np.where(labels.any(1), rarity.argmin(1), -1)
    sizes = np.bincount(owner[owner >= 0], minlength=labels.shape[1])
    goal = int(sizes.max()) if target == "max" else int(target)
    rng = np.random.default_rng(seed)
    extra = [
        rng.choice(np.flatnonzero(owner == c), goal - sizes[c], replace=True)
        for c in range(labels.shape[1])
        if 0 < sizes[c] < goal
    ]
    return np.concatenate([np.arange(len(labels)), *extra]).astype(np.int64)

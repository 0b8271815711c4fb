"""Mixing regularisation of seed 000: Mixup, Manifold Mixup, MultiMix and their mixture Mix2
(its default probabilities are experiments.MIX2_PROBABILITIES).

Every method is expressed the same way: a batch of B originals becomes K mixed examples, each a
convex combination of originals given by a row-stochastic weight matrix W [K, B]. Inputs or
embeddings are mixed as W @ X; the targets are mixed *at the loss level* (the paper's practice):
the loss of mixed example k is sum_j W[k, j] * loss(logits_k, y_j). For losses linear in the
target (BCE, cross-entropy) that equals the loss against the mixed target W @ Y; for focal loss
it does not, which is why the weights, not the mixed targets, are carried to the loss.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch

METHODS = ("none", "mixup", "manifold_mixup", "multimix")
# [N, C] logits and [N, C] targets -> [N] losses (see losses.py)
PerExampleLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class Mixture:
    """Which originals make each mixed example, and with what weights (rows sum to 1)."""

    index: torch.Tensor  # [K, M] long: originals contributing to each mixed example
    weight: torch.Tensor  # [K, M] float: their weights

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """Mix a batch of inputs or embeddings [B, ...] into [K, ...]."""
        w = self.weight.to(x.dtype).reshape(*self.weight.shape, *([1] * (x.dim() - 1)))
        return (w * x[self.index]).sum(dim=1)

    def targets(self, y: torch.Tensor) -> torch.Tensor:
        """The mixed (soft) targets W @ Y [K, C]."""
        return self.apply(y)


def identity_mixture(batch: int, device: torch.device | None = None) -> Mixture:
    return Mixture(torch.arange(batch, device=device)[:, None], torch.ones(batch, 1, device=device))


def pair_mixture(
    batch: int, alpha: float = 1.0, generator: torch.Generator | None = None, device=None
) -> Mixture:
    """Mixup pairs: x~_i = lam_i x_i + (1 - lam_i) x_perm(i), one lam_i ~ Beta(alpha, alpha) per
    example, as the Mix2 authors' code draws it (the paper does not say; Zhang et al. draw one
    per batch)."""
    lam = _beta(alpha, batch, generator, device)
    perm = torch.randperm(batch, generator=generator, device=device)
    index = torch.stack([torch.arange(batch, device=device), perm], dim=1)
    weight = torch.stack([lam, 1 - lam], dim=1)
    return Mixture(index, weight)


def fixed_pair_mixture(lam: float, perm: torch.Tensor) -> Mixture:
    """A Mixup pairing with a given lambda and permutation (for tests and reproduction)."""
    b = len(perm)
    index = torch.stack([torch.arange(b, device=perm.device), perm], dim=1)
    weight = torch.tensor([[lam, 1.0 - lam]], device=perm.device).expand(b, 2)
    return Mixture(index, weight)


def dirichlet_matrix(
    n_mixed: int,
    batch: int,
    alpha: float = 1.0,
    generator: torch.Generator | None = None,
    device=None,
) -> torch.Tensor:
    """MultiMix's Lambda [n_mixed, batch]: each row ~ Dirichlet(alpha * 1_batch).

    Sampled as normalised Gamma(alpha, 1) draws (torch's Dirichlet takes no generator; this
    keeps runs reproducible from the seed).
    """
    g = _gamma(alpha, (n_mixed, batch), generator, device)
    return g / g.sum(dim=1, keepdim=True)


def multimix_mixture(
    batch: int,
    n_mixed: int | None = None,
    alpha: float = 1.0,
    generator: torch.Generator | None = None,
    device=None,
) -> Mixture:
    """MultiMix over the whole batch: H~ = Lambda H, Y~ = Lambda Y (n_mixed defaults to B)."""
    lam = dirichlet_matrix(n_mixed or batch, batch, alpha, generator, device)
    index = torch.arange(batch, device=device).expand(lam.shape[0], batch)
    return Mixture(index, lam)


def choose_methods(
    probabilities: Mapping[str, float], steps: int, generator: torch.Generator | None = None
) -> list[str]:
    """Mix2's per-step choice for `steps` steps at once: each step's method drawn
    independently with the configured probabilities. One draw (and one read back to the host)
    per epoch, not per step: a read per step would make the CPU wait for the GPU every step."""
    names = list(probabilities)
    values = [float(probabilities[n]) for n in names]
    if min(values) < 0 or sum(values) <= 0:
        raise ValueError(f"mixing probabilities must be >= 0 and not all 0: {dict(probabilities)}")
    if steps == 0:
        return []
    device = generator.device if generator is not None else None
    p = torch.tensor(values, device=device)  # on the generator's device, as multinomial needs
    drawn = torch.multinomial(p / p.sum(), steps, replacement=True, generator=generator)
    return [names[i] for i in drawn.tolist()]


def mixed_loss(
    per_example_loss: PerExampleLoss,
    logits: torch.Tensor,
    y: torch.Tensor,
    mixture: Mixture,
    known: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean over mixed examples k of sum_j W[k, j] * loss(logits_k, y_j): loss-level mixing.
    `known` [B, C] masks each original's unknown labels in its own term."""
    k, m = mixture.index.shape
    expanded = logits[:, None, :].expand(k, m, logits.shape[-1]).reshape(k * m, -1)
    index = mixture.index.reshape(-1)
    if known is None:
        losses = per_example_loss(expanded, y[index])
    else:
        losses = per_example_loss(expanded, y[index], known=known[index])
    losses = losses.reshape(k, m)
    return (mixture.weight * losses).sum(dim=1).mean()


def _gamma(alpha: float, shape: tuple, generator, device) -> torch.Tensor:
    conc = torch.full(shape, float(alpha), device=device)
    return torch._standard_gamma(conc, generator=generator).clamp_min(1e-12)


def _beta(alpha: float, n: int, generator, device) -> torch.Tensor:
    """n draws of Beta(alpha, alpha), as a / (a + b) of two Gamma(alpha, 1) draws."""
    a = _gamma(alpha, (n,), generator, device)
    b = _gamma(alpha, (n,), generator, device)
    return a / (a + b)

"""Self-supervision (seed 003): Barlow Twins and VICReg on two views of each window.

An encoder from the model registry (`embed`) feeds a projector of three dense layers of N
units (batch norm and ReLU after the first two, the last linear); the loss pulls the two
views' projections together while keeping their dimensions informative and decorrelated.
"""

from __future__ import annotations

import torch
from torch import nn


class Projector(nn.Module):
    """Three dense layers of `n` units: Linear-BN-ReLU, Linear-BN-ReLU, Linear."""

    def __init__(self, in_dim: int, n: int = 512):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_dim, n, bias=False),
            nn.BatchNorm1d(n),
            nn.ReLU(inplace=True),
            nn.Linear(n, n, bias=False),
            nn.BatchNorm1d(n),
            nn.ReLU(inplace=True),
            nn.Linear(n, n),
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h)


def _standardise(z: torch.Tensor, eps: float) -> torch.Tensor:
    """Zero mean, unit (biased) std per dimension over the batch, as a BatchNorm without affine."""
    return (z - z.mean(0)) / torch.sqrt(z.var(0, unbiased=False) + eps)


def cross_correlation(za: torch.Tensor, zb: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """C_ij between dimension i of view a and dimension j of view b over the batch, [N, N]."""
    return _standardise(za, eps).T @ _standardise(zb, eps) / za.shape[0]


def barlow_twins_loss(
    za: torch.Tensor, zb: torch.Tensor, lambd: float = 0.005, eps: float = 1e-5
) -> torch.Tensor:
    """sum_i (1 - C_ii)^2 + lambda sum_i sum_{j != i} C_ij^2 (Zbontar et al. 2021, eq. 1)."""
    c = cross_correlation(za.float(), zb.float(), eps)
    on_diag = (1 - torch.diagonal(c)).pow(2).sum()
    off_diag = (c - torch.diag_embed(torch.diagonal(c))).pow(2).sum()
    return on_diag + lambd * off_diag


def vicreg_variance(z: torch.Tensor, gamma: float = 1.0, eps: float = 1e-4) -> torch.Tensor:
    """v(Z) = 1/N sum_j max(0, gamma - sqrt(Var(z_j) + eps)): keeps every dimension spread."""
    return torch.relu(gamma - torch.sqrt(z.var(0) + eps)).mean()


def vicreg_covariance(z: torch.Tensor) -> torch.Tensor:
    """c(Z) = 1/N sum_{i != j} Cov(Z)_ij^2: decorrelates the dimensions."""
    n, dims = z.shape
    zc = z - z.mean(0)
    cov = zc.T @ zc / (n - 1)
    off = cov - torch.diag_embed(torch.diagonal(cov))
    return off.pow(2).sum() / dims


def vicreg_loss(
    za: torch.Tensor,
    zb: torch.Tensor,
    lambd: float = 25.0,
    mu: float = 25.0,
    nu: float = 1.0,
    gamma: float = 1.0,
    eps: float = 1e-4,
) -> torch.Tensor:
    """lambda mse(Za, Zb) + mu [v(Za) + v(Zb)] / 2 + nu [c(Za) + c(Zb)] (Bardes et al. 2022).

    The variance term is the mean of the two views' terms, as in the official implementation
    (the paper's eq. 6 sums them): its coefficients 25 / 25 / 1, which seed 003 uses, were
    tuned with that code, so a sum would weigh variance twice as much.
    """
    za, zb = za.float(), zb.float()
    invariance = nn.functional.mse_loss(za, zb)
    variance = (vicreg_variance(za, gamma, eps) + vicreg_variance(zb, gamma, eps)) / 2
    covariance = vicreg_covariance(za) + vicreg_covariance(zb)
    return lambd * invariance + mu * variance + nu * covariance


SSL_LOSSES = {"barlow_twins": barlow_twins_loss, "vicreg": vicreg_loss}

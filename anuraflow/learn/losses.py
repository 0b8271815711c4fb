"""Losses: BCE / cross-entropy, class weighting, focal loss, and the embedding losses ADD and OPL.

Classification losses are per example ([N, C] logits and targets -> [N]) so targets can be
mixed at the loss level (see mixing.py). Embedding losses take the embeddings of a batch and
its (possibly soft) targets and are added to the classification loss, as in seed 001, eq. 6.

ADD (Almudevar et al., seed 001) works on the angular distance d_c(a, b) = 1 - a.b of
L2-normalised vectors. Pairs are unordered (i < j). Hard form, eq. 1-5: D_p = {d_c^2} over
pairs with the same label, D_n = {(1 - d_c)^2} over pairs with different labels; the loss is
lambda_mu^p mu_p + lambda_sigma^p sigma_p + lambda_mu^n mu_n + lambda_sigma^n sigma_n with
unbiased standard deviations. Multi-label "same label" means the same set of species.
Soft form, eq. 7-8: lambda_mu L_mu + lambda_sigma^p sigma_p with
L_mu = mean over pairs of (d_c(y_i, y_j) - d_c(z_i, z_j))^2. Label vectors get an extra
"no species" component 1 - max(y) before normalising, so empty windows have a direction (for
one-hot labels it is 0 and changes nothing). sigma_p of the soft form is the weighted standard
deviation of d_c(z)^2 with pair weights 1 - d_c(y_i, y_j) (frequency weights, sum(w) - 1 in
the denominator): for one-hot labels the weights are 0/1 and it is the hard sigma_p exactly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _class_mean(terms: torch.Tensor, known: torch.Tensor | None) -> torch.Tensor:
    """Mean over classes of per-class terms [N, C]; with `known` (0/1 [N, C]) the terms of
    unknown labels count as 0 (a partially labelled window, docs/embeddings.md): the
    denominator stays C, so a window with every label known weighs as without a mask."""
    if known is not None:
        terms = terms * known
    return terms.mean(dim=1)


def bce(
    logits: torch.Tensor,
    y: torch.Tensor,
    pos_weight: torch.Tensor | None = None,
    known: torch.Tensor | None = None,
):
    """Binary cross-entropy per example, mean over classes; pos_weight scales positive terms;
    `known` masks the labels that are not known."""
    terms = F.binary_cross_entropy_with_logits(logits, y, pos_weight=pos_weight, reduction="none")
    return _class_mean(terms, known)


def focal(
    logits: torch.Tensor,
    y: torch.Tensor,
    gamma: float = 2.0,
    alpha: float | None = None,
    pos_weight: torch.Tensor | None = None,
    known: torch.Tensor | None = None,
):
    """Sigmoid focal loss (Lin et al. 2017) per example, mean over classes; gamma 0 is BCE;
    `known` masks the labels that are not known."""
    ce = F.binary_cross_entropy_with_logits(logits, y, pos_weight=pos_weight, reduction="none")
    p = torch.sigmoid(logits)
    p_t = p * y + (1 - p) * (1 - y)
    loss = (1 - p_t).clamp_min(0) ** gamma * ce
    if alpha is not None:
        loss = (alpha * y + (1 - alpha) * (1 - y)) * loss
    return _class_mean(loss, known)


def cross_entropy(
    logits: torch.Tensor,
    y: torch.Tensor,
    gamma: float = 0.0,
    class_weight: torch.Tensor | None = None,
):
    """Softmax cross-entropy against (soft) class distributions, optionally focal and weighted."""
    logp = F.log_softmax(logits, dim=1)
    terms = -y * logp
    if gamma:
        terms = (1 - logp.exp()).clamp_min(0) ** gamma * terms
    if class_weight is not None:
        terms = terms * class_weight
    return terms.sum(dim=1)


def balanced_pos_weight(y_train: torch.Tensor, max_weight: float = 100.0) -> torch.Tensor:
    """Multi-label class weighting: n_negative / n_positive per class, 1 for unseen classes."""
    pos = y_train.sum(dim=0)
    neg = y_train.shape[0] - pos
    w = torch.where(pos > 0, neg / pos.clamp_min(1), torch.ones_like(pos))
    return w.clamp(1.0 / max_weight, max_weight)


def balanced_class_weight(y_train: torch.Tensor) -> torch.Tensor:
    """Single-label class weighting, sklearn's 'balanced': N / (C * n_c), 1 for unseen classes."""
    n_c = y_train.sum(dim=0)
    w = y_train.shape[0] / (y_train.shape[1] * n_c.clamp_min(1))
    return torch.where(n_c > 0, w, torch.ones_like(w))


def angular_distance(a: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
    """d_c = 1 - cos between rows (L2-normalised here), in [0, 2]."""
    a = F.normalize(a.float(), dim=1)
    b = a if b is None else F.normalize(b.float(), dim=1)
    return 1 - a @ b.T


def _pairs(n: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.triu_indices(n, n, offset=1, device=device).unbind(0)


def _mean_std(values: torch.Tensor, weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Weighted mean and unbiased (frequency-weight) std; 0 where fewer than 2 pairs."""
    total = weight.sum()
    if total <= 0:
        zero = values.sum() * 0
        return zero, zero
    mean = (weight * values).sum() / total
    if total <= 1:
        return mean, values.sum() * 0
    var = (weight * (values - mean) ** 2).sum() / (total - 1)
    return mean, var.clamp_min(1e-12).sqrt()


def same_label_matrix(y: torch.Tensor) -> torch.Tensor:
    """[N, N] bool: rows with identical (hard) label vectors."""
    return (y[:, None, :] == y[None, :, :]).all(dim=2)


def add_hard_terms(z: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """mu_p, sigma_p, mu_n, sigma_n of eq. 3-4 for hard labels."""
    i, j = _pairs(len(z), z.device)
    dc = angular_distance(z)[i, j]
    same = same_label_matrix(y)[i, j].float()
    mu_p, sigma_p = _mean_std(dc**2, same)
    mu_n, sigma_n = _mean_std((1 - dc) ** 2, 1 - same)
    return {"mu_p": mu_p, "sigma_p": sigma_p, "mu_n": mu_n, "sigma_n": sigma_n}


def add_hard(
    z: torch.Tensor,
    y: torch.Tensor,
    mu_p: float = 1.0,
    sigma_p: float = 1.0,
    mu_n: float = 1.0,
    sigma_n: float = 1.0,
) -> torch.Tensor:
    """Eq. 5: the four moment terms, each with its own lambda."""
    t = add_hard_terms(z, y)
    return mu_p * t["mu_p"] + sigma_p * t["sigma_p"] + mu_n * t["mu_n"] + sigma_n * t["sigma_n"]


def label_directions(y: torch.Tensor) -> torch.Tensor:
    """Soft label vectors with a 'no species' component 1 - max(y) appended."""
    y = y.float()
    empty = (1 - y.amax(dim=1, keepdim=True)).clamp_min(0)
    return torch.cat([y, empty], dim=1)


def add_soft_terms(z: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """L_mu (eq. 7) and the label-weighted sigma_p of eq. 8."""
    i, j = _pairs(len(z), z.device)
    dz = angular_distance(z)[i, j]
    dy = angular_distance(label_directions(y))[i, j]
    l_mu = ((dy - dz) ** 2).mean() if len(i) else z.sum() * 0
    _, sigma_p = _mean_std(dz**2, (1 - dy).clamp_min(0))
    return {"l_mu": l_mu, "sigma_p": sigma_p}


def add_soft(z: torch.Tensor, y: torch.Tensor, mu: float = 1.0, sigma_p: float = 1.0):
    """Eq. 8: L_ADD^soft = lambda_mu L_mu + lambda_sigma^p sigma_p."""
    t = add_soft_terms(z, y)
    return mu * t["l_mu"] + sigma_p * t["sigma_p"]


def orthogonal_projection(z: torch.Tensor, y: torch.Tensor, gamma: float = 0.5) -> torch.Tensor:
    """OPL (Ranasinghe et al. 2021): (1 - s) + gamma |d|, s and d the mean cosine of same-label
    and different-label pairs of L2-normalised embeddings (hard labels)."""
    i, j = _pairs(len(z), z.device)
    cos = 1 - angular_distance(z)[i, j]
    same = same_label_matrix(y)[i, j].float()
    s = (cos * same).sum() / same.sum().clamp_min(1)
    d = (cos * (1 - same)).sum() / (1 - same).sum().clamp_min(1)
    return (1 - s) + gamma * d.abs()

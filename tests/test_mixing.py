"""Mixing of seed 000 against its formulas: Mixup, Manifold Mixup, MultiMix, Mix2."""

import pytest
import torch
import torch.nn.functional as F

from anuraflow.learn import losses
from anuraflow.learn.experiments import MIX2_PROBABILITIES
from anuraflow.learn.mixing import (
    choose_methods,
    dirichlet_matrix,
    fixed_pair_mixture,
    identity_mixture,
    mixed_loss,
    multimix_mixture,
    pair_mixture,
)

X = torch.arange(4 * 3, dtype=torch.float32).reshape(4, 3)
Y = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
PERM = torch.tensor([2, 0, 3, 1])


def test_mixup_lambda_one_and_zero_return_the_originals():
    one = fixed_pair_mixture(1.0, PERM)
    assert torch.equal(one.apply(X), X) and torch.equal(one.targets(Y), Y)
    zero = fixed_pair_mixture(0.0, PERM)
    assert torch.equal(zero.apply(X), X[PERM]) and torch.equal(zero.targets(Y), Y[PERM])


def test_mixup_is_the_convex_combination():
    m = fixed_pair_mixture(0.3, PERM)
    assert torch.allclose(m.apply(X), 0.3 * X + 0.7 * X[PERM])
    assert torch.allclose(m.targets(Y), 0.3 * Y + 0.7 * Y[PERM])


def test_mixup_and_manifold_mixup_draw_one_lambda_per_example():
    # the Mix2 authors' code: Beta(alpha, alpha).sample((batch, 1))
    g = torch.Generator().manual_seed(0)
    m = pair_mixture(4, alpha=0.4, generator=g)
    assert torch.allclose(m.weight.sum(1), torch.ones(4))
    assert len(set(m.weight[:, 0].tolist())) == 4
    assert sorted(m.index[:, 1].tolist()) == [0, 1, 2, 3]  # a permutation of the batch
    big = pair_mixture(20000, alpha=0.4, generator=g).weight[:, 0].double()
    # Beta(0.4, 0.4): mean 1/2, variance a^2 / ((2a)^2 (2a + 1)) = 1 / (4 * 1.8)
    assert abs(big.mean().item() - 0.5) < 0.01
    assert abs(big.var().item() - 1 / 7.2) < 0.005


@pytest.mark.parametrize("n_mixed", [None, 3, 10])
def test_multimix_rows_sum_to_one_and_targets_are_the_matrix_product(n_mixed):
    g = torch.Generator().manual_seed(1)
    m = multimix_mixture(4, n_mixed=n_mixed, alpha=1.0, generator=g)
    lam = m.weight
    assert lam.shape == (n_mixed or 4, 4)
    assert (lam >= 0).all()
    assert torch.allclose(lam.sum(1), torch.ones(len(lam)), atol=1e-6)
    assert torch.allclose(m.apply(X), lam @ X, atol=1e-5)  # H~ = Lambda H
    assert torch.allclose(m.targets(Y), lam @ Y, atol=1e-6)  # Y~ = Lambda Y


def test_dirichlet_matrix_mean_matches_the_concentration():
    g = torch.Generator().manual_seed(2)
    lam = dirichlet_matrix(20000, 5, alpha=0.5, generator=g)
    assert torch.allclose(lam.mean(0), torch.full((5,), 0.2), atol=0.01)  # E = 1/B


def test_mix2_choice_frequencies_match_the_probabilities():
    assert MIX2_PROBABILITIES == {"mixup": 0.25, "manifold_mixup": 0.5, "multimix": 0.25}
    g = torch.Generator().manual_seed(3)
    draws = choose_methods(MIX2_PROBABILITIES, 10_000, g)
    assert len(draws) == 10_000
    for method, p in MIX2_PROBABILITIES.items():
        assert abs(draws.count(method) / 10_000 - p) < 0.02
    custom = {"mixup": 0.1, "multimix": 0.9}
    draws = choose_methods(custom, 10_000, g)
    assert abs(draws.count("mixup") / 10_000 - 0.1) < 0.02
    assert choose_methods(custom, 0, g) == []


def test_mix2_choices_are_drawn_for_the_epoch_from_the_seed():
    """The epoch's plan is one draw from the run's generator: the same seed, the same plan,
    and a method that has probability 0 is never drawn."""
    probs = {"mixup": 0.0, "manifold_mixup": 0.5, "multimix": 0.5}
    a = choose_methods(probs, 500, torch.Generator().manual_seed(7))
    b = choose_methods(probs, 500, torch.Generator().manual_seed(7))
    assert a == b and "mixup" not in a and set(a) == {"manifold_mixup", "multimix"}


def test_choose_methods_refuses_bad_probabilities():
    with pytest.raises(ValueError, match="not all 0"):
        choose_methods({"mixup": 0.0}, 1)


def test_loss_level_mixing_equals_bce_against_mixed_targets():
    """BCE is linear in the target: mixing at the loss level == mixing the targets."""
    logits = torch.randn(4, 2, generator=torch.Generator().manual_seed(4))
    for m in (fixed_pair_mixture(0.3, PERM), multimix_mixture(4, 4, 1.0)):
        k = m.weight.shape[0]
        out = mixed_loss(losses.bce, logits[:k], Y, m)
        ref = F.binary_cross_entropy_with_logits(logits[:k], m.targets(Y))
        assert torch.allclose(out, ref, atol=1e-6)


def test_loss_level_mixing_with_focal_is_the_weighted_sum_of_losses():
    logits = torch.randn(4, 2, generator=torch.Generator().manual_seed(5))
    m = fixed_pair_mixture(0.3, PERM)
    out = mixed_loss(losses.focal, logits, Y, m)
    ref = (0.3 * losses.focal(logits, Y) + 0.7 * losses.focal(logits, Y[PERM])).mean()
    assert torch.allclose(out, ref, atol=1e-6)


def test_identity_mixture_is_the_plain_loss():
    logits = torch.randn(4, 2, generator=torch.Generator().manual_seed(6))
    out = mixed_loss(losses.bce, logits, Y, identity_mixture(4))
    assert torch.allclose(out, F.binary_cross_entropy_with_logits(logits, Y))

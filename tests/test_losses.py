"""Losses against hand computations: focal, class weights, ADD (hard and soft), OPL."""

import math

import pytest
import torch
import torch.nn.functional as F

from anuraflow.learn import losses

# Four unit embeddings and two classes: e1, e2 in A; e3, e4 in B.
Z = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [-1.0, 0.0]])
Y = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
# By hand: same-class pairs (1,2) cos .6 -> d_c .4 -> d_c^2 .16; (3,4) cos 0 -> 1.
#   mu_p = .58, sigma_p = sqrt(2 * .42^2 / 1) = .593970
# Different-class pairs, (1 - d_c)^2 = cos^2: (1,3) 0, (1,4) 1, (2,3) .64, (2,4) .36.
#   mu_n = .5, sigma_n = sqrt((.25 + .25 + .0196 + .0196) / 3) = .423950
MU_P, SIGMA_P, MU_N, SIGMA_N = 0.58, math.sqrt(0.3528), 0.5, math.sqrt(0.5392 / 3)


def test_add_hard_terms_equal_the_hand_computation():
    t = losses.add_hard_terms(Z, Y)
    assert t["mu_p"].item() == pytest.approx(MU_P, abs=1e-6)
    assert t["sigma_p"].item() == pytest.approx(SIGMA_P, abs=1e-6)
    assert t["mu_n"].item() == pytest.approx(MU_N, abs=1e-6)
    assert t["sigma_n"].item() == pytest.approx(SIGMA_N, abs=1e-6)
    total = losses.add_hard(Z, Y, 1.0, 2.0, 3.0, 4.0)
    assert total.item() == pytest.approx(MU_P + 2 * SIGMA_P + 3 * MU_N + 4 * SIGMA_N, abs=1e-5)


def test_add_uses_angles_not_lengths():
    assert torch.allclose(losses.add_hard(3 * Z, Y), losses.add_hard(Z, Y))


def test_add_soft_reduces_to_hard_for_one_hot_labels():
    """Seed 001: L_mu == lambda_mu^p mu_p + lambda_mu^n mu_n with lambda^n/lambda^p = |Dn|/|Dp|.

    Of the 6 pairs, |Dp| = 2 and |Dn| = 4, so L_mu = (2 mu_p + 4 mu_n) / 6.
    """
    soft = losses.add_soft_terms(Z, Y)
    assert soft["l_mu"].item() == pytest.approx((2 * MU_P + 4 * MU_N) / 6, abs=1e-6)
    assert soft["sigma_p"].item() == pytest.approx(SIGMA_P, abs=1e-6)
    hard = losses.add_hard(Z, Y, mu_p=2 / 6, sigma_p=0.7, mu_n=4 / 6, sigma_n=0.0)
    assert losses.add_soft(Z, Y, mu=1.0, sigma_p=0.7).item() == pytest.approx(hard.item(), abs=1e-6)


def test_add_soft_handles_mixed_and_empty_labels():
    y = torch.tensor([[0.3, 0.7], [0.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    z = torch.randn(4, 8, generator=torch.Generator().manual_seed(0), requires_grad=True)
    loss = losses.add_soft(z, y)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(z.grad).all()
    # the two empty windows share the 'no species' direction: same label, d_c(y) = 0
    dirs = losses.label_directions(y)
    assert losses.angular_distance(dirs)[1, 2].item() == pytest.approx(0.0, abs=1e-6)


def test_orthogonal_projection_loss_by_hand():
    # s = mean cos of same pairs = (.6 + 0) / 2 = .3; d = (0 - 1 + .8 - .6) / 4 = -.2
    assert losses.orthogonal_projection(Z, Y, gamma=0.5).item() == pytest.approx(0.8, abs=1e-6)


def test_focal_with_gamma_zero_is_bce():
    g = torch.Generator().manual_seed(1)
    logits, y = torch.randn(5, 3, generator=g), (torch.rand(5, 3, generator=g) > 0.5).float()
    assert torch.allclose(losses.focal(logits, y, gamma=0.0), losses.bce(logits, y))
    assert torch.allclose(
        losses.focal(logits, y, gamma=0.0).mean(), F.binary_cross_entropy_with_logits(logits, y)
    )


def test_focal_down_weights_easy_examples():
    # p = .5 for a positive: (1 - .5)^2 * ln 2
    out = losses.focal(torch.zeros(1, 1), torch.ones(1, 1), gamma=2.0)
    assert out.item() == pytest.approx(0.25 * math.log(2), abs=1e-6)
    out = losses.focal(torch.zeros(1, 1), torch.ones(1, 1), gamma=2.0, alpha=0.25)
    assert out.item() == pytest.approx(0.25 * 0.25 * math.log(2), abs=1e-6)


def test_balanced_weights():
    y = torch.tensor([[1.0, 0.0], [0.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    assert torch.allclose(losses.balanced_pos_weight(y), torch.tensor([1 / 3, 1.0]))
    one_hot = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    assert torch.allclose(losses.balanced_class_weight(one_hot), torch.tensor([4 / 6, 2.0]))


def test_weighted_bce_scales_the_positive_term():
    logits, y = torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 0.0]])
    out = losses.bce(logits, y, pos_weight=torch.tensor([3.0, 3.0]))
    assert out.item() == pytest.approx((3 * math.log(2) + math.log(2)) / 2, abs=1e-6)


def test_cross_entropy_matches_torch_for_one_hot_targets():
    g = torch.Generator().manual_seed(2)
    logits, target = torch.randn(6, 4, generator=g), torch.tensor([0, 1, 2, 3, 0, 1])
    y = F.one_hot(target, 4).float()
    assert torch.allclose(losses.cross_entropy(logits, y).mean(), F.cross_entropy(logits, target))
    w = torch.tensor([1.0, 2.0, 0.5, 1.0])
    ref = F.cross_entropy(logits, target, weight=w, reduction="none")
    assert torch.allclose(losses.cross_entropy(logits, y, class_weight=w), ref)

"""Barlow Twins and VICReg against their formulas (seed 003), with exact values."""

import pytest
import torch

from anuraflow.learn.ssl import (
    Projector,
    barlow_twins_loss,
    cross_correlation,
    vicreg_covariance,
    vicreg_loss,
    vicreg_variance,
)

# four examples, two dimensions: zero mean, unit (biased) std, orthogonal columns
DECORRELATED = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])


def test_barlow_twins_is_zero_for_identical_decorrelated_standardised_embeddings():
    assert torch.allclose(cross_correlation(DECORRELATED, DECORRELATED, eps=0), torch.eye(2))
    assert barlow_twins_loss(DECORRELATED, DECORRELATED, eps=0).item() == pytest.approx(0, abs=1e-7)


def test_barlow_twins_matches_a_hand_computation():
    za = torch.tensor([[1.0, 2.0], [3.0, 0.0], [5.0, 4.0]])
    zb = torch.tensor([[2.0, 1.0], [2.0, 3.0], [5.0, 2.0]])
    # standardised columns (biased std):
    #   za1 = [-1, 0, 1] * sqrt(3/2)              za2 = [0, -1, 1] * sqrt(3/2)
    #   zb1 = [-1, -1, 2] / sqrt(2)               zb2 = [-1, 1, 0] * sqrt(3/2)
    # C = za^T zb / 3:
    #   C11 = sqrt(3/2)/sqrt(2) * 3 / 3 = sqrt(3)/2      C12 = (3/2) * 1 / 3 = 1/2
    #   C21 = sqrt(3)/2                                   C22 = (3/2) * -1 / 3 = -1/2
    c = cross_correlation(za, zb, eps=0)
    s3 = 3**0.5 / 2
    assert torch.allclose(c, torch.tensor([[s3, 0.5], [s3, -0.5]]), atol=1e-6)
    expected = (1 - s3) ** 2 + (1 + 0.5) ** 2 + 0.005 * (0.5**2 + s3**2)
    assert barlow_twins_loss(za, zb, lambd=0.005, eps=0).item() == pytest.approx(expected, rel=1e-5)


def test_vicreg_variance_is_zero_when_every_std_reaches_gamma():
    z = torch.tensor([[0.0, 0.0], [2.0, 4.0], [4.0, 8.0]])  # unbiased std 2 and 4
    assert vicreg_variance(z, gamma=1.0).item() == 0.0
    assert vicreg_variance(z, gamma=3.0, eps=0).item() == pytest.approx((3 - 2) / 2)


def test_vicreg_covariance_is_zero_for_a_diagonal_covariance():
    assert vicreg_covariance(DECORRELATED).item() == pytest.approx(0, abs=1e-7)
    z = torch.tensor([[1.0, 1.0], [-1.0, -1.0]])  # cov = [[2, 2], [2, 2]]
    assert vicreg_covariance(z).item() == pytest.approx((4 + 4) / 2)


def test_vicreg_weights_its_three_terms():
    za, zb = DECORRELATED * 2, DECORRELATED * 2 + 0.5
    # identical spread: variance 0 (std >= 1), covariance 0; mse = 0.25
    assert vicreg_loss(za, zb).item() == pytest.approx(25 * 0.25, rel=1e-6)
    assert vicreg_loss(za, zb, lambd=1.0).item() == pytest.approx(0.25, rel=1e-6)


def test_vicreg_variance_term_is_the_mean_of_the_two_views():
    # the official implementation: std_loss = mean(relu(1 - std_a)) / 2 + mean(relu(1 - std_b)) / 2
    za = DECORRELATED * (0.5 / DECORRELATED.std(0))  # every dimension's std 0.5
    zb = za.clone()  # no invariance term; covariance 0 (decorrelated)
    v = 1 - torch.sqrt(torch.tensor(0.25 + 1e-4))
    assert vicreg_loss(za, zb).item() == pytest.approx(25 * (v + v).item() / 2, rel=1e-5)


def test_projector_shape():
    out = Projector(16, n=32)(torch.randn(5, 16))
    assert out.shape == (5, 32)

"""Seed 003's evaluation and fine-tuning helpers: folds, label fractions, balancing, encoders."""

import numpy as np
import pytest
import torch

from anuraflow.data.splits import kfold_recordings
from anuraflow.evaluate.metrics import silhouette
from anuraflow.learn.checkpoint import load_encoder
from anuraflow.learn.models import build_model, encoder_state
from anuraflow.learn.training import balanced_indices, fraction_of_labels


def test_k_folds_partition_the_recordings_exactly():
    ids = np.array([f"rec{i:02d}" for i in range(23)])
    y = np.random.default_rng(0).integers(0, 2, size=(23, 4))
    folds = kfold_recordings(ids, y, k=5, seed=1)
    assert sorted(folds["recording_id"]) == sorted(ids)  # every recording exactly once
    assert set(folds["fold"]) == set(range(5))
    assert folds.groupby("fold").size().between(3, 6).all()
    with pytest.raises(ValueError, match="at least 5 recordings"):
        kfold_recordings(ids[:3], y[:3], k=5)


def test_label_fraction_keeps_a_seeded_share():
    idx = torch.arange(100, 200)
    half = fraction_of_labels(idx, 0.5, seed=3)
    assert len(half) == 50 and set(half.tolist()) <= set(idx.tolist())
    assert torch.equal(half, fraction_of_labels(idx, 0.5, seed=3))
    assert len(fraction_of_labels(idx, 0.2, seed=3)) == 20
    assert fraction_of_labels(idx, 1.0, seed=3) is idx


def test_balancing_repeats_minority_windows_up_to_the_target():
    labels = np.zeros((10, 3), np.uint8)
    labels[:6, 0] = 1  # 6 of class 0
    labels[6:8, 1] = 1  # 2 of class 1
    labels[8, 2] = 1  # 1 of class 2
    # window 9 has no species: kept once, never repeated
    order = balanced_indices(labels, "max", seed=0)
    owner = labels[order].argmax(1)
    counts = np.bincount(owner[labels[order].any(1)], minlength=3)
    assert counts.tolist() == [6, 6, 6]
    assert (order[:10] == np.arange(10)).all() and (order == 9).sum() == 1
    assert np.bincount(labels[balanced_indices(labels, 4, 0)].argmax(1))[1:].tolist() == [4, 4]


def test_a_multilabel_window_counts_for_its_rarest_species():
    labels = np.array([[1, 0], [1, 0], [1, 0], [1, 1]], np.uint8)
    order = balanced_indices(labels, "max", seed=0)
    assert len(order) == 4 + 2 and (order[4:] == 3).all()  # species 1 (1 window) up to 3


def test_silhouette_of_separated_clusters():
    emb = np.array([[0.0, 0.0], [0.1, 0.0], [10.0, 0.0], [10.1, 0.0]])
    # by hand: a = 0.1 for each; b = 10.05 (the outer two), 9.95 (the inner two)
    by_hand = ((10.05 - 0.1) / 10.05 + (9.95 - 0.1) / 9.95) / 2
    assert silhouette(emb, np.array([0, 0, 1, 1])) == pytest.approx(by_hand)
    assert np.isnan(silhouette(emb, np.array([0, 0, 0, -1])))  # one class
    assert np.isnan(silhouette(emb, np.array([-1, -1, -1, -1])))  # no one-species window
    assert np.isnan(silhouette(emb, np.array([0, 1, -1, -1])))  # as many classes as windows


@pytest.mark.parametrize("seed", range(4))
def test_silhouette_equals_scikit_learns(seed):
    """Against scikit-learn's silhouette_score: classes of 1 to 40 windows (a window alone in
    its class scores 0), windows with no single species (-1) left out, float32 embeddings."""
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(seed)
    classes = np.concatenate([np.repeat(np.arange(5), rng.integers(1, 40, 5)), [-1] * 7])
    rng.shuffle(classes)
    emb = (rng.normal(size=(len(classes), 16)) + 2 * classes[:, None]).astype(np.float32)
    keep = classes >= 0
    assert silhouette(emb, classes) == pytest.approx(
        silhouette_score(emb[keep], classes[keep]), abs=1e-6
    )
    # capped at the first max_windows one-species windows, as the sample there
    first = np.flatnonzero(keep)[:30]
    if len(set(classes[first])) > 1:
        assert silhouette(emb, classes, max_windows=30) == pytest.approx(
            silhouette_score(emb[first], classes[first]), abs=1e-6
        )


def test_pretrained_encoder_is_loaded_and_frozen(tmp_path):
    source = build_model("small_cnn", 1)
    path = tmp_path / "encoder.pt"
    torch.save({"encoder": encoder_state(source), "model_name": "small_cnn"}, path)
    target = build_model("small_cnn", 4)
    frozen = load_encoder(target, path, "small_cnn", freeze=True)
    for key, value in encoder_state(source).items():
        assert torch.equal(target.state_dict()[key], value)
    trainable = {n for n, p in target.named_parameters() if p.requires_grad}
    assert trainable == {"head.weight", "head.bias"} and frozen
    with pytest.raises(ValueError, match="pretrained as 'small_cnn'"):
        load_encoder(build_model("resnet18", 4), path, "resnet18", freeze=False)


def test_time_stretch_on_log_mels_moves_events_and_keeps_bands():
    from anuraflow.features.augment import time_stretch_frames

    x = torch.zeros(2, 1, 4, 100)
    x[:, :, 2, 40] = 1.0  # an event in mel band 2 at frame 40
    out = time_stretch_frames(x, (2.0,), torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    assert (out[:, 0, 2].argmax(-1) == 20).all()  # twice as fast: at frame 20
    assert out[:, 0, [0, 1, 3]].abs().sum() == 0  # no energy moved across bands
    same = time_stretch_frames(x, (1.0,), torch.Generator().manual_seed(0))
    assert torch.equal(same, x)

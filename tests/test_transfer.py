"""Seed 004's transfer-learning models: DenseNet-121, Inception-v3, dense heads, local weights."""

import pytest
import torch
from torchvision.models import densenet121, resnet18

from anuraflow.learn.models import DenseHead, build_model, encoder_state, n_parameters


@pytest.mark.parametrize("name, n_mels", [("densenet121", 64), ("inception_v3", 80)])
def test_new_backbones_run_on_log_mels(name, n_mels):
    model = build_model(name, 7, n_mels=n_mels, n_frames=100).eval()
    x = torch.randn(2, 1, n_mels, 100)
    assert model(x).shape == (2, 7)
    assert model.classify(model.embed(x)).shape == (2, 7)


def test_inception_refuses_inputs_below_75():
    with pytest.raises(ValueError, match="at least 75 x 75, got 64 mels x 376 frames"):
        build_model("inception_v3", 3, n_mels=64, n_frames=376)


def test_local_imagenet_weights_are_loaded_and_the_stem_summed(tmp_path):
    reference = resnet18(weights=None)
    path = tmp_path / "resnet18-imagenet.pth"
    torch.save(reference.state_dict(), path)
    model = build_model("resnet18", 4, weights=str(path))
    stem = model.body[0].weight
    assert stem.shape == (64, 1, 7, 7)
    assert torch.allclose(stem, reference.conv1.weight.sum(1, keepdim=True))
    layer = model.body[4][0].conv1.weight  # layer1, first block
    assert torch.equal(layer, reference.layer1[0].conv1.weight)


def test_missing_weights_fail_with_the_path_and_no_download(tmp_path):
    missing = tmp_path / "nowhere" / "densenet121.pth"
    with pytest.raises(FileNotFoundError, match="Nothing can be downloaded here") as err:
        build_model("densenet121", 4, weights=str(missing))
    assert str(missing) in str(err.value)


def test_weights_of_another_model_are_refused(tmp_path):
    path = tmp_path / "densenet.pth"
    torch.save(densenet121(weights=None).state_dict(), path)
    with pytest.raises(ValueError, match="does not fit ResNet"):
        build_model("resnet18", 4, weights=str(path))
    with pytest.raises(ValueError, match="no ImageNet weights"):
        build_model("small_cnn", 4, weights=str(path))


def test_dense_head_layers_dropout_and_l2():
    model = build_model(
        "small_cnn", 5, dense_head={"units": [256, 128], "dropout": 0.5, "l2": 0.01}
    )
    assert isinstance(model, DenseHead)
    linears = [m for m in model.dense if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linears] == [256, 128]
    assert [m.p for m in model.dense if isinstance(m, torch.nn.Dropout)] == [0.5, 0.5]
    expected = 0.01 * sum(m.weight.pow(2).sum() for m in linears)
    assert torch.allclose(model.penalty(), expected)
    assert model.embed(torch.randn(3, 1, 64, 100)).shape == (3, 128)


def test_encoder_state_leaves_out_the_output_layer():
    model = build_model("small_cnn", 5)
    keys = encoder_state(model).keys()
    assert keys and not any(k.startswith("head.") for k in keys)
    assert n_parameters(model) == sum(p.numel() for p in model.parameters())

from pathlib import Path

import pytest
import torch
import yaml

from anuraflow.augment import circular_time_shift, spec_augment
from anuraflow.models import MODELS, build_model

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", sorted(MODELS))
def test_models_map_logmels_to_logits(name):
    torch.manual_seed(0)
    model = build_model(name, 7).eval()
    x = torch.randn(2, 1, 128, 376)
    with torch.no_grad():
        logits = model(x)
        assert logits.shape == (2, 7)
        assert torch.allclose(model.classify(model.embed(x)), logits)


def test_unknown_model():
    with pytest.raises(KeyError, match="unknown model 'resnet9000'"):
        build_model("resnet9000", 3)


def test_schema_lists_exactly_the_registry():
    schema = yaml.safe_load((REPO / "config/schemas/experiment.schema.yaml").read_text())
    assert sorted(schema["properties"]["model"]["enum"]) == sorted(MODELS)


def test_spec_augment_without_masks_is_identity():
    x = torch.randn(3, 1, 16, 40)
    assert torch.equal(spec_augment(x, 0, 8, 0, 10), x)


def test_spec_augment_zeroes_bounded_stripes():
    x = torch.ones(64, 1, 16, 40)
    g = torch.Generator().manual_seed(0)
    out = spec_augment(x, freq_masks=1, freq_width=3, time_masks=1, time_width=5, generator=g)
    zero_rows = (out[:, 0] == 0).all(dim=2).sum(dim=1)  # fully masked mel bands per example
    zero_cols = (out[:, 0] == 0).all(dim=1).sum(dim=1)  # fully masked frames per example
    assert zero_rows.max() <= 3 and zero_cols.max() <= 5
    assert zero_rows.sum() > 0 and zero_cols.sum() > 0
    masked = out == 0
    # everything not in a full stripe is untouched
    stripe = (out[:, 0] == 0).all(dim=2)[:, None, :, None] | (out[:, 0] == 0).all(dim=1)[
        :, None, None, :
    ]
    assert torch.equal(masked, stripe.expand_as(masked))


def test_circular_time_shift_rolls_each_example():
    x = torch.arange(2 * 5, dtype=torch.float32).reshape(2, 1, 1, 5).repeat(1, 1, 3, 1)
    g = torch.Generator().manual_seed(0)
    out = circular_time_shift(x, 1.0, g)
    for b in range(2):
        row = out[b, 0, 0].tolist()
        original = x[b, 0, 0].tolist()
        assert any(row == original[-k:] + original[:-k] for k in range(5))
        assert torch.equal(out[b, 0, 1], out[b, 0, 0])  # same shift for every mel band
    assert torch.equal(circular_time_shift(x, 0.0, g), x)

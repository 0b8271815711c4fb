from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from anuraflow.features.augment import (
    circular_time_shift,
    mix_noise_at_snr,
    normalise,
    spec_augment,
)
from anuraflow.features.logmel import LogMelConfig, logmel
from anuraflow.learn.experiments import PROBE_MODELS, WAVEFORM_MODELS
from anuraflow.learn.models import MODELS, build_model, n_parameters

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", sorted(set(MODELS) - set(PROBE_MODELS) - set(WAVEFORM_MODELS)))
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
    assert zero_rows.max() <= 2 and zero_cols.max() <= 4  # widths below the mask parameter
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


def test_noise_is_mixed_at_the_configured_snr():
    g = torch.Generator().manual_seed(0)
    signal_db = 10 * torch.log10(torch.rand(3, 1, 16, 40, generator=g) + 0.1)
    noise_db = 10 * torch.log10(torch.rand(3, 1, 16, 40, generator=g) + 0.1)
    mixed = mix_noise_at_snr(signal_db, noise_db, (15.0, 15.0), g)
    p_s, p_n, p_m = (10 ** (t / 10) for t in (signal_db, noise_db, mixed))
    added = p_m - p_s  # = gain * P_n
    gain = added.sum(dim=(1, 2, 3)) / p_n.sum(dim=(1, 2, 3))
    assert torch.allclose(added, gain[:, None, None, None] * p_n, rtol=1e-3, atol=1e-6)
    snr = 10 * torch.log10(p_s.sum(dim=(1, 2, 3)) / added.sum(dim=(1, 2, 3)))
    assert torch.allclose(snr, torch.full((3,), 15.0), atol=1e-3)


def test_noise_gain_matches_waveform_snr():
    """The mel-domain gain equals the waveform-domain one for broadband signals (within 0.3 dB)."""
    rng = np.random.default_rng(0)
    cfg = LogMelConfig()
    s = rng.standard_normal(48000).astype(np.float32)
    n = (0.3 * rng.standard_normal(48000)).astype(np.float32)
    s_db = torch.from_numpy(logmel(s, 16000, cfg)).T[None, None]
    n_db = torch.from_numpy(logmel(n, 16000, cfg)).T[None, None]
    mixed = mix_noise_at_snr(s_db, n_db, (10.0, 10.0))
    p_s, p_n, p_m = (10 ** (t.double() / 10) for t in (s_db, n_db, mixed))
    mel_gain = ((p_m - p_s).sum() / p_n.sum()).item()
    wave_gain = float(np.mean(s**2) / np.mean(n**2) / 10)  # a^2 with mean(s^2)/mean((a n)^2) = 10
    assert abs(10 * np.log10(mel_gain / wave_gain)) < 0.3


def test_normalisations():
    x = torch.randn(2, 1, 4, 30) * 5 + 3
    z = normalise(x, "sample_z")
    assert torch.allclose(z.mean(dim=3), torch.zeros(2, 1, 4), atol=1e-5)
    assert torch.allclose(z.std(dim=3, unbiased=False), torch.ones(2, 1, 4), atol=1e-4)
    m = normalise(x, "sample_minmax")
    assert torch.allclose(m.amin(dim=(1, 2, 3)), torch.zeros(2))
    assert torch.allclose(m.amax(dim=(1, 2, 3)), torch.ones(2))
    mean, std = torch.full((4,), 3.0), torch.full((4,), 5.0)
    assert torch.allclose(normalise(x, "dataset", mean, std), (x - 3) / 5)
    assert torch.equal(normalise(x, "none"), x)
    with pytest.raises(KeyError, match="unknown normalisation"):
        normalise(x, "max")


def test_spec_augment_widths_follow_torchaudio_mask_parameter():
    # torchaudio's FrequencyMasking(10) / TimeMasking(30) mask 0..9 / 0..29 bins, never 10 / 30
    x = torch.ones(3000, 1, 40, 60)
    g = torch.Generator().manual_seed(1)
    out = spec_augment(x, freq_masks=1, freq_width=10, time_masks=1, time_width=30, generator=g)
    rows = (out[:, 0] == 0).all(dim=2).sum(dim=1)
    cols = (out[:, 0] == 0).all(dim=1).sum(dim=1)
    assert set(rows.tolist()) == set(range(10)) and set(cols.tolist()) == set(range(30))


def test_mix2_mobilenet_has_the_authors_parameter_count():
    # the authors' head: 960 channels, mean over mel bands, max + mean over frames, one
    # Linear(960, 42); the paper's "three million parameters"
    model = build_model("mobilenetv3_large", 42)
    assert model.head_kind == "mix2"
    assert n_parameters(model) == pytest.approx(3.01e6, rel=0.01)
    assert n_parameters(model) - n_parameters(model.features) == 960 * 42 + 42
    x = torch.randn(2, 1, 128, 376)
    model.eval()
    with torch.no_grad():
        h = model.features(x).mean(dim=2)
        assert torch.allclose(model.embed(x), h.amax(dim=2) + h.mean(dim=2))
    torchvision_head = build_model("mobilenetv3_large", 42, head="torchvision")
    assert n_parameters(torchvision_head) == pytest.approx(4.26e6, rel=0.01)
    with pytest.raises(ValueError, match="head 'avg'"):
        build_model("mobilenetv3_large", 42, head="avg")


@pytest.mark.parametrize(
    "name", sorted(p.stem for p in (REPO / "config/experiments").glob("t[12]_*.yaml"))
)
def test_mix2_configs_carry_the_authors_settings(name):
    cfg = yaml.safe_load((REPO / f"config/experiments/{name}.yaml").read_text())
    if cfg["model"] != "mobilenetv3_large":
        return  # the ResNet baselines of AnuraSet
    assert cfg["model_args"] == {"head": "mix2"}
    spec = cfg.get("augment", {}).get("spec_augment")
    if spec is not None:
        assert spec == {"freq_masks": 3, "freq_width": 10, "time_masks": 6, "time_width": 30}
    if cfg.get("mixing"):
        assert cfg["mixing"]["multimix_alpha"] == 0.2


@pytest.mark.parametrize(
    "aug",
    [
        {"time_shift": 1.0, "spec_augment": {"freq_masks": 2, "freq_width": 8,
                                             "time_masks": 2, "time_width": 40}},
        {"time_shift": 0.25},
        {"spec_augment": {"freq_masks": 1, "freq_width": 5, "time_masks": 3, "time_width": 9}},
        {"time_shift": 0.5, "spec_augment": {"freq_masks": 1}},  # the rest: the defaults
        {},
    ],
)  # fmt: skip
@pytest.mark.parametrize("mode", ["dataset", "none"])
def test_fused_training_inputs_equal_the_separate_passes_bit_for_bit(aug, mode):
    """The demo's batch (time shift + SpecAugment on dataset-normalised log-mels) computed in
    one gather equals normalise -> circular_time_shift -> spec_augment with the same draws."""
    from anuraflow.features.bank import WindowBank
    from anuraflow.features.frontend import Frontend
    from anuraflow.learn.training import fused_augmentation, prepare_inputs

    g = torch.Generator().manual_seed(1)
    frames = (torch.randn(900, 16, generator=g) * 10 - 40).half()
    frontend = Frontend(LogMelConfig(n_mels=16), 3.0, mode, torch.randn(16, generator=g) - 40,
                        torch.rand(16, generator=g) + 5)  # fmt: skip
    bank = WindowBank(frames, torch.tensor([0, 7, 300, 520]), torch.zeros(4, 2), frontend)
    idx = torch.tensor([3, 0, 2, 2, 1])
    settings = {"augment": {"noise": None, "time_stretch": None, **aug}}
    assert fused_augmentation(bank, settings["augment"])
    fused = prepare_inputs(bank, idx, settings, torch.Generator().manual_seed(7))
    g = torch.Generator().manual_seed(7)
    x = frontend.normalise(bank.raw(idx))
    if aug.get("time_shift"):
        x = circular_time_shift(x, aug["time_shift"], g)
    if aug.get("spec_augment"):
        x = spec_augment(x, **aug["spec_augment"], generator=g)
    assert fused.shape == (5, 1, 16, frontend.n_frames) and fused.is_contiguous()
    assert torch.equal(fused, x)

"""BirdNET V2.4 fine-tuned (anuraflow/learn/birdnet_finetune.py, issue 58 part 3): the
waveform cache holds exactly the windows the embedding stage embeds, the classifier embeds
as the frozen network does, only the weights from `unfreeze_from` on (and the head) learn, at
their own learning rates, and the experiment checks refuse what does not apply."""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
from test_birdnet_torch import needs_birdnet

from anuraflow.features.augment import circular_time_shift
from anuraflow.features.bank import build_waveform_bank
from anuraflow.features.embeddings import EmbeddingConfig, window_signals
from anuraflow.features.waveforms import (
    index_waveform_caches,
    read_waveform_cache,
    recording_signal,
    write_waveform_cache,
)
from anuraflow.learn.experiments import experiment_settings

FINETUNE = {"name": "ft", "model": "birdnet_finetune", "seeds": [0], "normalise": "none"}


def noise_recording(path, seconds: float, rate: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    sf.write(path, 0.1 * rng.standard_normal(int(seconds * rate)), rate, subtype="PCM_16")


def test_cached_samples_are_the_windows_the_embedding_stage_cuts(tmp_path):
    """A 22.05 kHz file: the whole-recording signal at 48 kHz, cached as int16, sliced by the
    bank's frontend, equals window_signals' block-wise windows sample for sample."""
    audio = tmp_path / "rec.wav"
    noise_recording(audio, 9.5, 22050, 0)
    samples = recording_signal(audio, 48000)
    assert samples.dtype == np.int16 and len(samples) == 9.5 * 48000
    cfg = EmbeddingConfig(window_s=3.0, hop_s=1.0, model_sha256="abc")
    write_waveform_cache(tmp_path / "rec.parquet", samples, "rec", cfg)
    back, meta = read_waveform_cache(tmp_path / "rec.parquet")
    np.testing.assert_array_equal(back, samples)
    assert meta["n_samples"] == len(samples) and meta["sample_rate"] == 48000
    index = index_waveform_caches([tmp_path / "rec.parquet"], tmp_path / "index.parquet")
    assert index.loc[0, "recording_id"] == "rec" and index.loc[0, "model_sha256"] == "abc"
    starts = np.arange(7.0)  # 0..6 s: the grid of a 9.5 s recording
    windows = pd.DataFrame({"recording_id": "rec", "start_s": starts, "A": 0.0})
    bank = build_waveform_bank(
        windows, {"rec": str(tmp_path / "rec.parquet")}, ["A"], 3.0, {"rec"}, "none", "cpu"
    )
    cut = bank.raw(torch.arange(7)).numpy()
    expected = np.concatenate(list(window_signals(audio, starts, 48000, 3.0)))
    assert cut.shape == (7, 144000)
    np.testing.assert_array_equal(cut, expected)


def test_a_window_past_the_cached_signal_is_refused_by_name(tmp_path):
    cfg = EmbeddingConfig(window_s=3.0, hop_s=1.0)
    write_waveform_cache(tmp_path / "r.parquet", np.ones(4 * 48000, np.int16), "r", cfg)
    windows = pd.DataFrame({"recording_id": "r", "start_s": [0.0, 1.0, 1.5], "A": 0.0})
    with pytest.raises(ValueError, match=r"recording r: the window at 1.5 s reaches past"):
        build_waveform_bank(
            windows, {"r": str(tmp_path / "r.parquet")}, ["A"], 3.0, set(), "none", "cpu"
        )


def test_time_shift_rolls_samples_as_it_rolls_logmel_frames():
    """The same draws roll a [B, T] batch of samples and a [B, 1, F, T] batch of log-mels."""
    x = torch.arange(3 * 50, dtype=torch.float32).reshape(3, 50)
    shifted = circular_time_shift(x, 0.5, torch.Generator().manual_seed(4))
    logmels = circular_time_shift(x[:, None, None, :].repeat(1, 1, 2, 1), 0.5,
                                  torch.Generator().manual_seed(4))  # fmt: skip
    shifts = torch.randint(-25, 26, (3, 1), generator=torch.Generator().manual_seed(4))
    for b in range(3):
        assert torch.equal(shifted[b], torch.roll(x[b], int(shifts[b])))
        assert torch.equal(logmels[b, 0, 1], shifted[b])


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"augment": {"spec_augment": {"freq_masks": 1}}},
            "augment.spec_augment works on log-mels",
        ),
        ({"augment": {"time_stretch": [0.9, 1.1]}}, "augment.time_stretch works on log-mels"),
        ({"normalise": "dataset"}, "set normalise: none"),
        ({"pretrained_weights": "x.pth"}, "pretrained_weights does not apply"),
    ],
)
def test_what_does_not_apply_to_samples_is_refused(change, message):
    with pytest.raises(ValueError, match=message):
        experiment_settings({**FINETUNE, **change})
    settings = experiment_settings({**FINETUNE, "augment": {"time_shift": 0.5}})
    assert settings["model"] == "birdnet_finetune"


@needs_birdnet
def test_only_the_unfrozen_blocks_and_the_head_learn_at_their_rates(real_data):
    from anuraflow.features.birdnet_torch import BirdNetNetwork
    from anuraflow.learn.birdnet_finetune import BirdNetClassifier
    from anuraflow.learn.training import make_optimizer
    from benchmarks.harness import real_windows_48k

    x = torch.from_numpy(real_windows_48k(real_data)[:3])
    model = BirdNetClassifier(4, unfreeze_from="BNORM_POST", backbone_lr_scale=0.1)
    frozen_net = BirdNetNetwork(logits=False).eval()
    with torch.no_grad():
        np.testing.assert_array_equal(model.backbone_embed(x).numpy(), frozen_net(x)[0].numpy())
    net = model.backbone.net
    trained = net.weights_read(model.split, net.n_ops)
    # BNORM_POST on: its scale and shift and the 1x1 convolution to 1024 channels
    assert sum(p.numel() for p in trained.values()) == 192 + 192 + 1024 * 192 * 9 + 1024
    model(x).sum().backward()
    for name, p in model.backbone.net.weights.items():
        assert (p.grad is not None) == (name in trained), name
        if p.grad is not None:
            assert p.grad.abs().sum() > 0
    assert model.head.weight.grad.abs().sum() > 0
    settings = experiment_settings({**FINETUNE, "optimizer": {"name": "adamw", "lr": 0.002,
                                                              "weight_decay": 0.0}})  # fmt: skip
    groups = make_optimizer(model, settings).param_groups
    assert [g["lr"] for g in groups] == [0.002, pytest.approx(0.0002)]
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in trained.values()}
    assert {id(p) for p in groups[0]["params"]} == {id(p) for p in model.head.parameters()}


@needs_birdnet
def test_unfreeze_from_names_its_choices():
    from anuraflow.learn.birdnet_finetune import BLOCKS, BirdNetClassifier

    with pytest.raises(ValueError, match=r"unfreeze_from 'BLOCK_9-1': one of CONV_0, BLOCK_1-1"):
        BirdNetClassifier(2, unfreeze_from="BLOCK_9-1")
    head_only = BirdNetClassifier(2, unfreeze_from="none")
    assert not any(p.requires_grad for p in head_only.backbone.parameters())
    splits = [BirdNetClassifier(2, unfreeze_from=b).split for b in BLOCKS[::6]]
    assert splits == sorted(splits) and len(set(splits)) == len(splits)
    # the converter stored equal biases of several blocks once: a block that trains gets its
    # own copies, and the embedding is unchanged by the untying
    model = BirdNetClassifier(2, unfreeze_from="BLOCK_2-3")
    net = model.backbone.net
    assert not set(net.weights_read(0, model.split)) & set(net.weights_read(model.split, net.n_ops))
    x = 0.05 * torch.randn(2, 144000, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        np.testing.assert_array_equal(model.embed(x).numpy(), head_only.embed(x).numpy())


@needs_birdnet
def test_a_model_file_other_than_the_cached_ones_is_refused(tmp_path):
    from anuraflow.learn.birdnet_finetune import check_model_file

    cfg = EmbeddingConfig(model_sha256="0" * 64)
    with pytest.raises(ValueError, match=r"not the one this model's samples were cached for"):
        check_model_file(None, cfg)


@needs_birdnet
def test_the_head_reads_embeddings_standardised_by_the_training_windows(real_data):
    """standardise_head: mean and std per dimension of the pretrained embeddings (float64),
    before any weight moves; seed 004's dense layers read the same standardised embedding."""
    from anuraflow.learn.birdnet_finetune import standardise_head
    from anuraflow.learn.models import build_model
    from benchmarks.harness import real_windows_48k

    windows = torch.from_numpy(real_windows_48k(real_data)[:5])
    model = build_model("birdnet_finetune", 3, dense_head={"units": [16], "dropout": 0.0})
    standardise_head(model, lambda idx: windows[idx], 5, batch_size=2)
    with torch.no_grad():
        raw = model.base.backbone_embed(windows).double().numpy()
        h = model.base.embed(windows).double().numpy()
        assert model(windows).shape == (5, 3)
    np.testing.assert_allclose(model.base.embedding_mean.numpy(), raw.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.base.embedding_std.numpy(), np.maximum(raw.std(0), 1e-3),
                               rtol=1e-4, atol=1e-6)  # fmt: skip
    np.testing.assert_allclose(h.mean(0), 0, atol=1e-4)

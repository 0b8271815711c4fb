import hashlib
import json

import numpy as np
import pytest
import soundfile as sf

from anuraflow.data.audio import AudioError, read_audio, standardise_recording, to_mono
from anuraflow.features.logmel import (
    LogMelConfig,
    cache_recording_features,
    logmel,
    read_feature_cache,
    slice_window,
)


def test_ingest_real_32k_recording(real_data, tmp_path):
    src = real_data / "1min.wav"
    rec = standardise_recording(src, tmp_path / "a.wav", tmp_path / "m.json", 16000, "1min")
    info = sf.info(str(tmp_path / "a.wav"))
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    assert info.frames == 960000
    assert rec["orig_sample_rate"] == 32000 and rec["orig_channels"] == 1
    assert rec["duration_s"] == 60.0
    assert rec["source_sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert rec["site"] == real_data.name  # no AnuraSet name: the folder is the site
    assert json.loads((tmp_path / "m.json").read_text()) == rec


def test_ingest_stereo_flac_to_mono(tmp_path):
    rate = 44100
    t = np.arange(rate) / rate
    left, right = 0.5 * np.sin(2 * np.pi * 440 * t), 0.1 * np.sin(2 * np.pi * 440 * t)
    src = tmp_path / "INCT41_20200101_120000.flac"
    sf.write(str(src), np.stack([left, right], 1), rate, subtype="PCM_24")
    rec = standardise_recording(src, tmp_path / "o.wav", tmp_path / "o.json", 22050)
    assert rec["site"] == "INCT41" and rec["start_datetime"] == "2020-01-01T12:00:00"
    assert rec["orig_channels"] == 2 and rec["n_samples"] == 22050
    out, r = read_audio(tmp_path / "o.wav")
    assert r == 22050 and out.shape == (22050, 1)
    # mono is the channel mean: amplitude 0.3
    assert abs(np.abs(out[1000:-1000]).max() - 0.3) < 0.01


def test_to_mono_is_mean():
    x = np.array([[1.0, 3.0], [2.0, 4.0]], dtype=np.float32)
    assert to_mono(x).tolist() == [2.0, 3.0]


def test_not_audio_is_named(tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    with pytest.raises(AudioError, match="notes.wav: cannot be read as audio"):
        standardise_recording(bad, tmp_path / "o.wav", tmp_path / "o.json", 16000)


def test_feature_shapes_and_roundtrip(tmp_path):
    cfg = LogMelConfig()
    rng = np.random.default_rng(0)
    audio = rng.standard_normal(60 * 16000).astype(np.float32) * 0.1
    wav = tmp_path / "r.wav"
    sf.write(str(wav), audio, 16000, subtype="FLOAT")
    feats = cache_recording_features(wav, tmp_path / "r.parquet", "r", cfg)
    assert feats.shape == (7501, 128)  # 60 s * 16000 / 128 + 1
    cached, meta = read_feature_cache(tmp_path / "r.parquet")
    assert np.array_equal(cached, feats)
    assert meta["recording_id"] == "r" and meta["n_mels"] == 128 and meta["hop_length"] == 128
    assert cfg.frames_per_window(3.0) == 376
    assert slice_window(cached, 57.0, 3.0, cfg).shape == (376, 128)  # the last window fits
    with pytest.raises(IndexError):
        slice_window(cached, 58.0, 3.0, cfg)


def test_window_slice_matches_features_of_window_audio():
    """A window sliced from the recording's features equals the features of its own audio,
    except the two frames at each end where the window's own STFT pads by reflection."""
    cfg = LogMelConfig()
    rng = np.random.default_rng(1)
    audio = rng.standard_normal(10 * 16000).astype(np.float32) * 0.1
    whole = logmel(audio, 16000, cfg)
    start_s = 4.0
    seg = audio[int(start_s * 16000) : int((start_s + 3) * 16000)]
    own = logmel(seg, 16000, cfg)
    sliced = slice_window(whole, start_s, 3.0, cfg)
    assert own.shape == sliced.shape == (376, 128)
    np.testing.assert_allclose(sliced[2:-2], own[2:-2], atol=1e-3)


def test_logmel_resamples_to_config_rate():
    cfg = LogMelConfig()
    audio = np.zeros(22050 * 3, dtype=np.float32)
    assert logmel(audio, 22050, cfg).shape == (376, 128)


def test_logmel_equals_torchaudio_mel_spectrogram():
    # the fast power spectrum (re^2 + im^2) must give torchaudio's |X|^2 numbers
    import torch

    from anuraflow.features.logmel import LOG_FLOOR, mel_transform

    cfg = LogMelConfig()
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal(16000 * 3)).astype(np.float32)
    with torch.no_grad():
        ref = mel_transform(cfg)(torch.from_numpy(audio))
        ref = (10 * torch.log10(torch.clamp(ref, min=LOG_FLOOR))).T.numpy()
    np.testing.assert_allclose(logmel(audio, 16000, cfg), ref, atol=1e-3)


@pytest.mark.parametrize("channels", [1, 2])
def test_pcm16_fast_path_equals_soundfile(tmp_path, channels):
    from anuraflow.data.audio import decode_pcm16_wav

    rng = np.random.default_rng(channels)
    path = tmp_path / "x.wav"
    sf.write(str(path), rng.uniform(-0.9, 0.9, (1000, channels)), 22050, subtype="PCM_16")
    got, rate = decode_pcm16_wav(path.read_bytes())
    want, want_rate = sf.read(str(path), dtype="float32", always_2d=True)
    assert rate == want_rate == 22050 and np.array_equal(got, want)
    sf.write(str(path), np.zeros(100), 22050, subtype="FLOAT")
    assert decode_pcm16_wav(path.read_bytes()) is None  # left to libsndfile
    sf.write(str(tmp_path / "x.flac"), np.zeros(100), 22050)
    assert decode_pcm16_wav((tmp_path / "x.flac").read_bytes()) is None

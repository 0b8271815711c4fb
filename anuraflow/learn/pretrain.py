"""Self-supervised pretraining of an encoder (seed 003): two waveform views of each window,
log-mels computed on the fly, Barlow Twins or VICReg on the projections. Labels are never
read: the train and validation recordings of the split are used, the test ones never; the
encoder of the epoch with the lowest validation loss is handed on to fine-tuning.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from anuraflow.core.fileio import write_json, write_text
from anuraflow.core.provenance import provenance
from anuraflow.data.audio import read_audio, to_mono
from anuraflow.features.augment import spec_augment
from anuraflow.features.logmel import LOG_FLOOR, LogMelConfig, mel_transform
from anuraflow.learn.checkpoint import save_torch
from anuraflow.learn.models import build_model, encoder_state
from anuraflow.learn.ssl import SSL_LOSSES, Projector
from anuraflow.learn.training import batch_starts, pick_device, seed_everything
from anuraflow.learn.views import random_views

PRETRAIN_DEFAULTS = {
    "method": "vicreg",
    "model": "small_cnn",
    "model_args": {},
    "projector_dim": 512,
    "loss_args": {},
    "epochs": 10,
    "batch_size": 32,
    "lr": 1e-3,
    "max_windows": None,  # cap per epoch (random subset), None: every train window
    "spec_augment": None,  # SpecAugment on each view's log-mels, after the waveform view
    "device": "auto",
}


def pretrain_settings(config: dict) -> dict:
    return {**PRETRAIN_DEFAULTS, **config}


def _load_waves(recordings: list[str], audio_paths: dict[str, str]) -> dict[str, torch.Tensor]:
    return {r: torch.from_numpy(to_mono(read_audio(audio_paths[r])[0])) for r in recordings}


def _logmel(transform, waves: torch.Tensor) -> torch.Tensor:
    """[B, 1, n_mels, frames] per-example z-normalised log-mels (no dataset statistics)."""
    x = 10.0 * torch.log10(torch.clamp(transform(waves), min=LOG_FLOOR)).unsqueeze(1)
    mean = x.mean(dim=(2, 3), keepdim=True)
    return (x - mean) / x.std(dim=(2, 3), keepdim=True).clamp_min(1e-5)


@dataclass(frozen=True)
class PretrainOutputs:
    encoder: str | Path  # the best encoder's weights (what fine-tuning loads)
    history: str | Path  # per-epoch train and validation loss
    metrics: str | Path


class Pretraining:
    """An encoder, its projector and optimizer, and the windows' audio: `epoch` runs one
    pass of two-view self-supervision over a set of windows."""

    def __init__(self, settings: dict, cfg: LogMelConfig, window_s: float, waves: dict, device):
        self.settings, self.cfg, self.waves, self.device = settings, cfg, waves, device
        self.n_samples = int(round(window_s * cfg.sample_rate))
        self.transform = mel_transform(cfg).to(device)
        self.n_frames = cfg.frames_per_window(window_s)
        self.model = build_model(
            settings["model"], 1, n_mels=cfg.n_mels, n_frames=self.n_frames,
            **settings["model_args"],
        ).to(device)  # fmt: skip
        with torch.no_grad():
            self.model.eval()
            probe = torch.zeros(2, 1, cfg.n_mels, self.n_frames, device=device)
            embed_dim = self.model.embed(probe).shape[1]
        self.projector = Projector(embed_dim, settings["projector_dim"]).to(device)
        params = [p for n, p in self.model.named_parameters() if not n.startswith("head.")]
        self.optimizer = torch.optim.Adam(
            params + list(self.projector.parameters()), lr=settings["lr"]
        )
        self.loss_fn = SSL_LOSSES[settings["method"]]

    def encoder_file(self, state: dict, epoch: int) -> dict:
        """What fine-tuning loads: the encoder's weights and what it was built with."""
        return {
            "encoder": state,
            "model_name": self.settings["model"],
            "model_args": self.settings["model_args"],
            "n_mels": self.cfg.n_mels,
            "n_frames": self.n_frames,
            "method": self.settings["method"],
            "epoch": epoch,
        }

    def generators(self, seed: int) -> tuple[torch.Generator, torch.Generator]:
        """One for the order of the windows (CPU), one for the views and SpecAugment (on the
        device, where a CPU generator cannot draw)."""
        return torch.Generator().manual_seed(seed), torch.Generator(self.device).manual_seed(seed)

    def crops(self, rows: pd.DataFrame) -> torch.Tensor:
        rate, n = self.cfg.sample_rate, self.n_samples
        return torch.stack(
            [
                self.waves[r][int(round(s * rate)) :][:n]
                for r, s in zip(rows["recording_id"], rows["start_s"], strict=True)
            ]
        )

    def views(self, w: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Two random waveform views of each window, as log-mels (SpecAugment on each)."""
        pair = []
        for _ in range(2):
            x = _logmel(self.transform, random_views(w, self.cfg.sample_rate, gen))
            pair.append(x)
        if self.settings["spec_augment"]:
            pair = [spec_augment(x, **self.settings["spec_augment"], generator=gen) for x in pair]
        return pair[0], pair[1]

    def epoch(self, rows: pd.DataFrame, train: bool, gens: tuple, desc: str, progress: bool):
        """Mean SSL loss over `rows`' windows; with `train`, in a random order, with updates."""
        from tqdm import tqdm

        self.model.train(train)
        self.projector.train(train)
        order_gen, gen = gens
        order = torch.randperm(len(rows), generator=order_gen).numpy() if train else None
        order = np.arange(len(rows)) if order is None else order
        if train and self.settings["max_windows"]:
            order = order[: self.settings["max_windows"]]
        batch, total, seen = self.settings["batch_size"], 0.0, 0
        starts = batch_starts(len(order), batch)
        for start in tqdm(starts, desc=desc, unit="batch", disable=not progress, mininterval=5):
            idx = order[start : start + batch]
            xa, xb = self.views(self.crops(rows.iloc[idx]).to(self.device), gen)
            with torch.set_grad_enabled(train):
                za, zb = self.projector(self.model.embed(xa)), self.projector(self.model.embed(xb))
                loss = self.loss_fn(za, zb, **self.settings["loss_args"])
            if train:
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
            total += loss.item() * len(idx)
            seen += len(idx)
        return total / max(seen, 1)


def pretrain_encoder(
    windows_path: str | Path,
    splits_path: str | Path,
    audio_paths: list[str],
    config: dict,
    features: dict,
    window_s: float,
    seed: int,
    outputs: PretrainOutputs,
    threads: int = 1,
    workflow_config: dict | None = None,
    progress: bool = True,
) -> dict:
    """Pretrain the registry's `model` as an encoder with a projector; write the encoder of
    the epoch with the lowest validation loss, the history and the metrics."""
    settings = pretrain_settings(config)
    torch.set_num_threads(max(1, threads))
    seed_everything(seed)
    device = pick_device(settings["device"])
    cfg = LogMelConfig(**features)
    windows = pd.read_parquet(windows_path).merge(pd.read_parquet(splits_path), on="recording_id")
    subsets = {s: windows[windows["subset"] == s] for s in ("train", "val")}
    paths = {Path(p).stem: p for p in audio_paths}
    waves = _load_waves(sorted(set(windows["recording_id"]) & set(paths)), paths)
    run = Pretraining(settings, cfg, window_s, waves, device)
    train_gens = run.generators(seed)
    history, best_loss, best_state, best_epoch = [], math.inf, None, 0
    started = time.time()
    for epoch in range(1, settings["epochs"] + 1):
        t0 = time.time()
        train_loss = run.epoch(subsets["train"], True, train_gens, f"epoch {epoch} train", progress)
        # the same views every epoch for validation: losses are comparable across epochs
        val_gens = run.generators(seed + 1)
        val_loss = run.epoch(subsets["val"], False, val_gens, f"epoch {epoch} val", progress)
        history.append(
            {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss,
             "seconds": time.time() - t0}
        )  # fmt: skip
        print(f"epoch {epoch}: train_loss={train_loss:.4f} val_loss={val_loss:.4f}", flush=True)
        if val_loss < best_loss:
            best_loss, best_epoch = val_loss, epoch
            best_state = copy.deepcopy(encoder_state(run.model))
    save_torch(run.encoder_file(best_state, best_epoch), outputs.encoder)
    write_text(pd.DataFrame(history).to_csv(sep="\t", index=False), outputs.history)
    metrics = {
        "pretrain": config.get("name"),
        "method": settings["method"],
        "model": settings["model"],
        "seed": seed,
        "best_epoch": best_epoch,
        "best_val_loss": best_loss,
        "n_windows": {s: len(r) for s, r in subsets.items()},
        "train_seconds": time.time() - started,
        "settings": settings,
        "provenance": provenance(workflow_config),
    }
    write_json(metrics, outputs.metrics)
    return metrics

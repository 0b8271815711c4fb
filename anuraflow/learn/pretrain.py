"""Self-supervised pretraining of an encoder (seed 003): two waveform views of each window,
log-mels computed on the fly, Barlow Twins or VICReg on the projections. Labels are never
read: the train and validation recordings of the split are used, the test ones never; the
encoder of the epoch with the lowest validation loss is handed on to fine-tuning.
"""

from __future__ import annotations

import copy
import math
import time
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
from anuraflow.learn.training import pick_device, seed_everything
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


def pretrain_encoder(
    windows_path: str | Path,
    splits_path: str | Path,
    audio_paths: list[str],
    config: dict,
    features: dict,
    window_s: float,
    seed: int,
    out_encoder: str | Path,
    out_history: str | Path,
    out_metrics: str | Path,
    threads: int = 1,
    workflow_config: dict | None = None,
    progress: bool = True,
) -> dict:
    """Pretrain the registry's `model` as an encoder with a projector; write the best encoder."""
    from tqdm import tqdm

    settings = pretrain_settings(config)
    torch.set_num_threads(max(1, threads))
    seed_everything(seed)
    device = pick_device(settings["device"])
    cfg = LogMelConfig(**features)
    windows = pd.read_parquet(windows_path).merge(pd.read_parquet(splits_path), on="recording_id")
    subsets = {s: windows[windows["subset"] == s] for s in ("train", "val")}
    paths = {Path(p).stem: p for p in audio_paths}
    waves = _load_waves(sorted(set(windows["recording_id"]) & set(paths)), paths)
    n_samples = int(round(window_s * cfg.sample_rate))

    def crops(rows: pd.DataFrame) -> torch.Tensor:
        return torch.stack(
            [
                waves[r][int(round(s * cfg.sample_rate)) :][:n_samples]
                for r, s in zip(rows["recording_id"], rows["start_s"], strict=True)
            ]
        )

    transform = mel_transform(cfg).to(device)
    n_frames = cfg.frames_per_window(window_s)
    model = build_model(
        settings["model"], 1, n_mels=cfg.n_mels, n_frames=n_frames, **settings["model_args"]
    ).to(device)
    with torch.no_grad():
        model.eval()
        embed_dim = model.embed(torch.zeros(2, 1, cfg.n_mels, n_frames, device=device)).shape[1]
    projector = Projector(embed_dim, settings["projector_dim"]).to(device)
    params = [p for n, p in model.named_parameters() if not n.startswith("head.")]
    optimizer = torch.optim.Adam(params + list(projector.parameters()), lr=settings["lr"])
    loss_fn = SSL_LOSSES[settings["method"]]
    batch = settings["batch_size"]

    def generators(seed: int) -> tuple[torch.Generator, torch.Generator]:
        """One for the order of the windows (CPU), one for the views and SpecAugment (on the
        device, where a CPU generator cannot draw)."""
        return torch.Generator().manual_seed(seed), torch.Generator(device).manual_seed(seed)

    def run_epoch(rows: pd.DataFrame, train: bool, gens: tuple, desc: str) -> float:
        model.train(train)
        projector.train(train)
        total, seen = 0.0, 0
        order_gen, gen = gens
        order = (
            torch.randperm(len(rows), generator=order_gen).numpy()
            if train
            else np.arange(len(rows))
        )
        if train and settings["max_windows"]:
            order = order[: settings["max_windows"]]
        starts = [s for s in range(0, len(order), batch) if len(order) - s >= 2]
        for start in tqdm(starts, desc=desc, unit="batch", disable=not progress, mininterval=5):
            idx = order[start : start + batch]
            w = crops(rows.iloc[idx]).to(device)  # the views are made on the device, batched
            xa = _logmel(transform, random_views(w, cfg.sample_rate, gen))
            xb = _logmel(transform, random_views(w, cfg.sample_rate, gen))
            if settings["spec_augment"]:
                xa = spec_augment(xa, **settings["spec_augment"], generator=gen)
                xb = spec_augment(xb, **settings["spec_augment"], generator=gen)
            with torch.set_grad_enabled(train):
                loss = loss_fn(
                    projector(model.embed(xa)), projector(model.embed(xb)), **settings["loss_args"]
                )
            if train:
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            total += loss.item() * len(idx)
            seen += len(idx)
        return total / max(seen, 1)

    train_gens = generators(seed)
    history, best_loss, best_state, best_epoch = [], math.inf, None, 0
    started = time.time()
    for epoch in range(1, settings["epochs"] + 1):
        t0 = time.time()
        train_loss = run_epoch(subsets["train"], True, train_gens, f"epoch {epoch} train")
        # the same views every epoch for validation: losses are comparable across epochs
        val_loss = run_epoch(subsets["val"], False, generators(seed + 1), f"epoch {epoch} val")
        history.append(
            {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss,
             "seconds": time.time() - t0}
        )  # fmt: skip
        print(f"epoch {epoch}: train_loss={train_loss:.4f} val_loss={val_loss:.4f}", flush=True)
        if val_loss < best_loss:
            best_loss, best_epoch = val_loss, epoch
            best_state = copy.deepcopy(encoder_state(model))
    save_torch(
        {
            "encoder": best_state,
            "model_name": settings["model"],
            "model_args": settings["model_args"],
            "n_mels": cfg.n_mels,
            "n_frames": n_frames,
            "method": settings["method"],
            "epoch": best_epoch,
        },
        out_encoder,
    )
    write_text(pd.DataFrame(history).to_csv(sep="\t", index=False), out_history)
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
    write_json(metrics, out_metrics)
    return metrics

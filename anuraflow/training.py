"""Training one experiment x seed: data on the device, model selection on validation only.

The whole feature cache is held as one [total_frames, n_mels] float16 tensor on the training
device; a batch is a gather of frame ranges from it, so no audio is decoded and no spectrogram
is recomputed during training. Augmentation runs on the batch, on the same device.
"""

from __future__ import annotations

import copy
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from anuraflow.augment import circular_time_shift, spec_augment
from anuraflow.features import LogMelConfig, read_feature_cache
from anuraflow.fileio import atomic_path, write_json, write_parquet, write_text
from anuraflow.metrics import f1_by_polyphony, group_macro_f1, macro_f1, per_species_scores
from anuraflow.models import build_model
from anuraflow.species import assign_groups, species_table

EXPERIMENT_DEFAULTS: dict[str, Any] = {
    "model": "small_cnn",
    "model_args": {},
    "epochs": 10,
    "batch_size": 64,
    "optimizer": {"name": "adamw", "lr": 1e-3, "weight_decay": 1e-6},
    "scheduler": "cosine",
    "augment": {"spec_augment": None, "time_shift": 0.0},
    "threshold": 0.5,
    "device": "auto",
}


def experiment_settings(experiment: dict) -> dict:
    """Experiment config merged over the defaults (one level deep for nested dicts)."""
    out = copy.deepcopy(EXPERIMENT_DEFAULTS)
    for key, value in experiment.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@dataclass
class WindowBank:
    """Every recording's log-mels in one tensor; windows are (start frame, labels) pairs."""

    frames: torch.Tensor  # [total_frames, n_mels] float16
    starts: torch.Tensor  # [n_windows] first frame of each window in `frames`
    labels: torch.Tensor  # [n_windows, n_classes] float32
    n_frames: int  # frames per window
    mean: torch.Tensor  # [n_mels] float32, from the training recordings
    std: torch.Tensor

    def batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised [B, 1, n_mels, n_frames] float32 inputs and their targets."""
        rows = self.starts[idx, None] + torch.arange(self.n_frames, device=idx.device)
        x = self.frames[rows].float()  # [B, T, M]
        x = (x - self.mean) / self.std
        return x.transpose(1, 2).unsqueeze(1).contiguous(), self.labels[idx]


def build_bank(
    windows: pd.DataFrame,
    feature_paths: dict[str, str],
    codes: list[str],
    window_s: float,
    train_recordings: set[str],
    device: torch.device,
) -> WindowBank:
    blocks, offsets, offset = [], {}, 0
    cfg = None
    stats_sum = stats_sq = None
    stats_n = 0
    for rec in sorted(windows["recording_id"].unique()):
        feats, meta = read_feature_cache(feature_paths[rec])
        cfg = LogMelConfig(**{k: meta[k] for k in LogMelConfig.__dataclass_fields__})
        offsets[rec] = offset
        offset += feats.shape[0]
        blocks.append(torch.from_numpy(feats.astype(np.float16)))
        if rec in train_recordings:
            f64 = feats.astype(np.float64)
            stats_sum = f64.sum(0) if stats_sum is None else stats_sum + f64.sum(0)
            stats_sq = (f64**2).sum(0) if stats_sq is None else stats_sq + (f64**2).sum(0)
            stats_n += feats.shape[0]
    mean = stats_sum / stats_n
    std = np.sqrt(np.maximum(stats_sq / stats_n - mean**2, 1e-6))
    starts = [
        offsets[r] + cfg.frame_of(s)
        for r, s in zip(windows["recording_id"], windows["start_s"], strict=True)
    ]
    return WindowBank(
        frames=torch.cat(blocks).to(device),
        starts=torch.tensor(starts, dtype=torch.long, device=device),
        labels=torch.tensor(windows[codes].to_numpy(np.float32), device=device),
        n_frames=cfg.frames_per_window(window_s),
        mean=torch.tensor(mean, dtype=torch.float32, device=device),
        std=torch.tensor(std, dtype=torch.float32, device=device),
    )


def make_optimizer(model: nn.Module, settings: dict) -> torch.optim.Optimizer:
    opt = settings["optimizer"]
    name = opt["name"].lower()
    if name == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=opt["lr"], weight_decay=opt["weight_decay"])
    if name == "adam":
        return torch.optim.Adam(model.parameters(), lr=opt["lr"], weight_decay=opt["weight_decay"])
    if name == "sgd":
        return torch.optim.SGD(
            model.parameters(), lr=opt["lr"], weight_decay=opt["weight_decay"], momentum=0.9
        )
    raise KeyError(f"unknown optimizer {opt['name']!r}")


def augment_batch(x: torch.Tensor, settings: dict, generator: torch.Generator) -> torch.Tensor:
    aug = settings["augment"]
    if aug.get("time_shift"):
        x = circular_time_shift(x, aug["time_shift"], generator)
    if aug.get("spec_augment"):
        x = spec_augment(x, **aug["spec_augment"], generator=generator)
    return x


@torch.no_grad()
def predict(
    model: nn.Module, bank: WindowBank, idx: torch.Tensor, batch_size: int = 256
) -> np.ndarray:
    """Sigmoid probabilities [len(idx), n_classes]."""
    model.eval()
    out = []
    use_bf16 = idx.device.type == "cuda"
    for i in range(0, len(idx), batch_size):
        x, _ = bank.batch(idx[i : i + batch_size])
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_bf16):
            logits = model(x)
        out.append(torch.sigmoid(logits.float()).cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, bank.labels.shape[1]), np.float32)


def _save(obj: Any, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def train_experiment(
    windows_path: str | Path,
    splits_path: str | Path,
    feature_paths: list[str],
    experiment: dict,
    seed: int,
    species_entries: list[dict],
    group_thresholds: dict,
    window_s: float,
    out_model: str | Path,
    out_checkpoint: str | Path,
    out_predictions: str | Path,
    out_metrics: str | Path,
    out_history: str | Path,
    threads: int = 1,
    progress: bool = True,
) -> dict:
    """Train, select the epoch with the best validation macro F1, evaluate it on test."""
    from tqdm import tqdm

    settings = experiment_settings(experiment)
    torch.set_num_threads(max(1, threads))
    seed_everything(seed)
    device = pick_device(settings["device"])
    table = species_table(species_entries)
    codes = table["code"].tolist()

    windows = pd.read_parquet(windows_path).merge(pd.read_parquet(splits_path), on="recording_id")
    paths = {Path(p).stem: p for p in feature_paths}
    train_recs = set(windows.loc[windows["subset"] == "train", "recording_id"])
    bank = build_bank(windows, paths, codes, window_s, train_recs, device)
    subset_idx = {
        s: torch.tensor(np.flatnonzero(windows["subset"].to_numpy() == s), device=device)
        for s in ("train", "val", "test")
    }
    for s, idx in subset_idx.items():
        if len(idx) == 0:
            raise ValueError(f"the {s} split has no windows; check the split fractions")
    groups = assign_groups(table, windows[codes].sum().to_dict(), group_thresholds)

    model = build_model(settings["model"], len(codes), **settings["model_args"]).to(device)
    optimizer = make_optimizer(model, settings)
    batch_size = settings["batch_size"]
    steps_per_epoch = math.ceil(len(subset_idx["train"]) / batch_size)
    total_steps = settings["epochs"] * steps_per_epoch
    scheduler = (
        torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
        if settings["scheduler"] == "cosine"
        else torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
    )
    loss_fn = nn.BCEWithLogitsLoss()
    generator = torch.Generator(device=device).manual_seed(seed)
    use_bf16 = device.type == "cuda"
    threshold = settings["threshold"]
    val_true = bank.labels[subset_idx["val"]].cpu().numpy()

    history, best_f1, best_state, best_epoch = [], -1.0, None, -1
    started = time.time()
    for epoch in range(1, settings["epochs"] + 1):
        model.train()
        t0 = time.time()
        order = subset_idx["train"][
            torch.randperm(len(subset_idx["train"]), generator=generator, device=device)
        ]
        running, seen = 0.0, 0
        bar = tqdm(
            range(0, len(order), batch_size),
            desc=f"epoch {epoch}",
            unit="batch",
            disable=not progress,
            mininterval=5.0,
        )
        for start in bar:
            x, y = bank.batch(order[start : start + batch_size])
            x = augment_batch(x, settings, generator)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_bf16):
                logits = model(x)
            loss = loss_fn(logits.float(), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            running += loss.item() * len(y)
            seen += len(y)
            bar.set_postfix(loss=f"{running / seen:.4f}")
        val_prob = predict(model, bank, subset_idx["val"])
        val_loss = float(
            nn.functional.binary_cross_entropy(
                torch.from_numpy(val_prob), torch.from_numpy(val_true)
            )
        )
        val_f1 = macro_f1(val_true, (val_prob >= threshold).astype(int))
        val_f1 = 0.0 if math.isnan(val_f1) else val_f1
        history.append(
            {
                "epoch": epoch,
                "train_loss": running / seen,
                "val_loss": val_loss,
                "val_macro_f1": val_f1,
                "lr": optimizer.param_groups[0]["lr"],
                "seconds": time.time() - t0,
            }
        )
        print(
            f"epoch {epoch}: train_loss={running / seen:.4f} val_loss={val_loss:.4f} "
            f"val_macro_f1={val_f1:.4f}",
            flush=True,
        )
        if val_f1 > best_f1:
            best_f1, best_epoch = val_f1, epoch
            best_state = copy.deepcopy(model.state_dict())
        _save(
            {
                "epoch": epoch,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "history": history,
                "best_epoch": best_epoch,
                "best_val_macro_f1": best_f1,
            },
            out_checkpoint,
        )
    train_seconds = time.time() - started

    model.load_state_dict(best_state)
    _save(
        {
            "model": best_state,
            "model_name": settings["model"],
            "model_args": settings["model_args"],
            "codes": codes,
            "mean": bank.mean.cpu(),
            "std": bank.std.cpu(),
            "epoch": best_epoch,
        },
        out_model,
    )
    test_idx = subset_idx["test"]
    prob = predict(model, bank, test_idx)
    true = bank.labels[test_idx].cpu().numpy().astype(int)
    pred = (prob >= threshold).astype(int)

    test_windows = windows.iloc[test_idx.cpu().numpy()].reset_index(drop=True)
    preds = test_windows[
        ["window_id", "recording_id", "site", "start_s", "end_s", "polyphony"]
    ].copy()
    for j, c in enumerate(codes):
        preds[f"true_{c}"] = true[:, j].astype(np.uint8)
        preds[f"prob_{c}"] = prob[:, j]
    write_parquet(preds, out_predictions)

    metrics = {
        "experiment": experiment.get("name"),
        "seed": seed,
        "model": settings["model"],
        "device": str(device),
        "epochs": settings["epochs"],
        "best_epoch": best_epoch,
        "best_val_macro_f1": best_f1,
        "threshold": threshold,
        "n_windows": {s: len(i) for s, i in subset_idx.items()},
        "macro_f1": group_macro_f1(true, pred, codes, groups),
        "f1_by_polyphony": f1_by_polyphony(true, pred),
        "per_species": per_species_scores(true, pred, codes),
        "groups": groups,
        "train_seconds": train_seconds,
        "settings": settings,
    }
    write_json(metrics, out_metrics)
    write_text(pd.DataFrame(history).to_csv(sep="\t", index=False), out_history)
    return metrics

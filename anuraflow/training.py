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
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from anuraflow import losses
from anuraflow.augment import (
    circular_time_shift,
    mix_noise_at_snr,
    normalise,
    spec_augment,
    time_stretch_frames,
)
from anuraflow.checkpoint import (
    capture_rng,
    load_checkpoint,
    load_encoder,
    restore_rng,
    run_fingerprint,
    save_checkpoint,
    save_torch,
)
from anuraflow.experiments import experiment_settings
from anuraflow.features import LogMelConfig, read_feature_cache, read_feature_index
from anuraflow.fileio import write_json, write_parquet, write_text
from anuraflow.metrics import (
    embedding_statistics,
    f1_by_polyphony,
    group_macro_f1,
    macro_f1,
    mean_average_precision,
    per_species_scores,
    silhouette,
    single_label_scores,
    tsne_points,
    weighted_f1,
)
from anuraflow.mixing import (
    METHODS,
    Mixture,
    PerExampleLoss,
    choose_method,
    identity_mixture,
    mixed_loss,
    multimix_mixture,
    pair_mixture,
)
from anuraflow.models import build_model, n_parameters
from anuraflow.provenance import provenance
from anuraflow.species import assign_groups, species_table
from anuraflow.tasks import class_index, prepare_task


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

    frames: torch.Tensor  # [total_frames, n_mels] float16, dB
    starts: torch.Tensor  # [n_windows] first frame of each window in `frames`
    labels: torch.Tensor  # [n_windows, n_classes] float32
    n_frames: int  # frames per window
    mean: torch.Tensor  # [n_mels] float32, from the training recordings
    std: torch.Tensor

    def raw(self, idx: torch.Tensor) -> torch.Tensor:
        """[B, 1, n_mels, n_frames] float32 log-mels (dB) of windows `idx`."""
        return gather_frames(self.frames, self.starts[idx], self.n_frames)


def gather_frames(frames: torch.Tensor, starts: torch.Tensor, n_frames: int) -> torch.Tensor:
    rows = starts[:, None] + torch.arange(n_frames, device=starts.device)
    return frames[rows].float().transpose(1, 2).unsqueeze(1).contiguous()


@dataclass
class NoiseBank:
    """Noise recordings' log-mels in one tensor; a noise example is a random slice of it."""

    frames: torch.Tensor  # [total_frames, n_mels] float16, dB
    n_frames: int

    def sample(self, batch: int, generator: torch.Generator) -> torch.Tensor:
        last = self.frames.shape[0] - self.n_frames
        starts = torch.randint(0, last + 1, (batch,), generator=generator, device=generator.device)
        return gather_frames(self.frames, starts, self.n_frames)


def load_noise_bank(path: str | Path, n_frames: int, device: torch.device) -> NoiseBank:
    feats, _ = read_feature_cache(path)
    if feats.shape[0] < n_frames:
        raise ValueError(
            f"noise bank {path} has {feats.shape[0]} frames, a window needs {n_frames}"
        )
    return NoiseBank(torch.from_numpy(feats.astype(np.float16)).to(device), n_frames)


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
    # one fused kernel per step on CUDA instead of a few per parameter tensor
    fused = all(p.is_cuda for p in model.parameters())
    if name == "adamw":
        return torch.optim.AdamW(
            model.parameters(), lr=opt["lr"], weight_decay=opt["weight_decay"], fused=fused
        )
    if name == "adam":
        return torch.optim.Adam(
            model.parameters(), lr=opt["lr"], weight_decay=opt["weight_decay"], fused=fused
        )
    if name == "sgd":
        return torch.optim.SGD(
            model.parameters(), lr=opt["lr"], weight_decay=opt["weight_decay"], momentum=0.9
        )
    raise KeyError(f"unknown optimizer {opt['name']!r}")


def make_scheduler(optimizer, settings: dict, total_steps: int):
    """cosine: annealed every step; plateau: ReduceLROnPlateau on the validation loss per epoch."""
    name = settings["scheduler"]
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(total_steps, 1))
    if name == "plateau":
        p = settings["plateau"]
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, factor=p["factor"], patience=p["patience"], min_lr=p["min_lr"]
        )
    return None


@dataclass
class Objective:
    """The training loss: a per-example classification loss plus an optional embedding loss."""

    classification: PerExampleLoss
    embedding: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    embedding_weight: float = 1.0

    def __call__(self, h, logits, y, mixture: Mixture) -> torch.Tensor:
        loss = mixed_loss(self.classification, logits.float(), y, mixture)
        if self.embedding is not None:
            loss = loss + self.embedding_weight * self.embedding(h.float(), mixture.targets(y))
        return loss


def make_objective(settings: dict, y_train: torch.Tensor) -> Objective:
    cfg = settings["loss"]
    weighting = cfg["class_weights"] == "balanced"
    if settings["task"] == "multiclass":
        weight = losses.balanced_class_weight(y_train) if weighting else None
        gamma = cfg["gamma"] if cfg["name"] == "focal" else 0.0
        classification = partial(losses.cross_entropy, gamma=gamma, class_weight=weight)
    else:
        pos_weight = losses.balanced_pos_weight(y_train) if weighting else None
        if cfg["name"] == "focal":
            classification = partial(
                losses.focal, gamma=cfg["gamma"], alpha=cfg["alpha"], pos_weight=pos_weight
            )
        else:
            classification = partial(losses.bce, pos_weight=pos_weight)
    emb = cfg["embedding"]
    if not emb:
        return Objective(classification)
    args = {k: v for k, v in emb.items() if k not in ("name", "weight")}
    fn = {
        "add_hard": losses.add_hard,
        "add_soft": losses.add_soft,
        "opl": losses.orthogonal_projection,
    }[emb["name"]]
    return Objective(classification, partial(fn, **args), emb.get("weight", 1.0))


def prepare_inputs(
    bank: WindowBank,
    idx: torch.Tensor,
    settings: dict,
    generator: torch.Generator | None = None,
    noise: NoiseBank | None = None,
) -> torch.Tensor:
    """Window log-mels -> (train only: noise at an SNR) -> normalisation -> (train only:
    time stretch, time shift, SpecAugment). `generator` None means evaluation: nothing random
    is applied."""
    x = bank.raw(idx)
    aug = settings["augment"]
    if generator is not None and noise is not None and aug.get("noise"):
        cfg = aug["noise"]
        noisy = mix_noise_at_snr(
            x, noise.sample(len(idx), generator), tuple(cfg["snr_db"]), generator
        )
        keep = torch.rand(len(idx), generator=generator, device=x.device) < cfg.get("p", 1.0)
        x = torch.where(keep[:, None, None, None], noisy, x)
    x = normalise(x, settings["normalise"], bank.mean, bank.std)
    if generator is not None:
        if aug.get("time_stretch"):
            x = time_stretch_frames(x, tuple(aug["time_stretch"]), generator)
        if aug.get("time_shift"):
            x = circular_time_shift(x, aug["time_shift"], generator)
        if aug.get("spec_augment"):
            x = spec_augment(x, **aug["spec_augment"], generator=generator)
    return x


def mixing_step(
    model: nn.Module, x: torch.Tensor, settings: dict, generator: torch.Generator
) -> tuple[str, Mixture, torch.Tensor, torch.Tensor]:
    """One forward pass with Mix2's per-step choice: (method, mixture, embeddings, logits)."""
    mix = settings["mixing"]
    b = x.shape[0]
    method = choose_method(mix["methods"], generator) if mix else "none"
    if method not in METHODS:
        raise KeyError(f"unknown mixing method {method!r}; one of {', '.join(METHODS)}")
    mixture = identity_mixture(b, x.device)
    if method == "mixup":
        mixture = pair_mixture(b, mix["alpha"], generator, x.device)
        x = mixture.apply(x)
    h = model.embed(x)
    if method == "manifold_mixup":
        mixture = pair_mixture(b, mix["alpha"], generator, x.device)
        h = mixture.apply(h)
    elif method == "multimix":
        mixture = multimix_mixture(b, mix["multimix_n"], mix["multimix_alpha"], generator, x.device)
        h = mixture.apply(h)
    return method, mixture, h, model.classify(h)


def train_step(
    model: nn.Module,
    bank: WindowBank,
    idx: torch.Tensor,
    settings: dict,
    generator: torch.Generator,
    objective: Objective,
    optimizer: torch.optim.Optimizer,
    noise: NoiseBank | None = None,
) -> tuple[str, torch.Tensor]:
    """One optimisation step on windows `idx`, all on the bank's device: inputs, augmentation,
    mixing, loss, update. Returns the mixing method and the detached loss (still on the
    device: reading it would wait for the GPU every step)."""
    x = prepare_inputs(bank, idx, settings, generator, noise)
    y = bank.labels[idx]
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=x.device.type == "cuda"):
        method, mixture, h, logits = mixing_step(model, x, settings, generator)
    loss = objective(h, logits, y, mixture)
    if hasattr(model, "penalty"):
        loss = loss + model.penalty()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return method, loss.detach()


@torch.no_grad()
def predict(
    model: nn.Module,
    bank: WindowBank,
    idx: torch.Tensor,
    settings: dict,
    batch_size: int = 256,
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities [len(idx), n_classes] (sigmoid, or softmax for single-label) and embeddings."""
    model.eval()
    probs, embeds = [], []
    use_bf16 = idx.device.type == "cuda"
    softmax = settings["task"] == "multiclass"
    for i in range(0, len(idx), batch_size):
        x = prepare_inputs(bank, idx[i : i + batch_size], settings)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_bf16):
            h = model.embed(x)
            logits = model.classify(h).float()
        probs.append((logits.softmax(1) if softmax else torch.sigmoid(logits)).cpu())
        embeds.append(h.float().cpu())
    if not probs:
        return np.zeros((0, bank.labels.shape[1]), np.float32), np.zeros((0, 0), np.float32)
    return torch.cat(probs).numpy(), torch.cat(embeds).numpy()


def decide(prob: np.ndarray, settings: dict) -> np.ndarray:
    """0/1 decisions: threshold per species, or the arg-max class for single-label tasks."""
    if settings["task"] == "multiclass":
        out = np.zeros_like(prob, dtype=int)
        if len(prob):
            out[np.arange(len(prob)), prob.argmax(1)] = 1
        return out
    return (prob >= settings["threshold"]).astype(int)


def plain_loss(prob: np.ndarray, true: np.ndarray, settings: dict) -> float:
    """Unweighted BCE (multi-label) or cross-entropy (single-label) of predictions."""
    p = torch.from_numpy(prob).double().clamp(1e-7, 1 - 1e-7)
    t = torch.from_numpy(true).double()
    if settings["task"] == "multiclass":
        return float(-(t * p.log()).sum(1).mean())
    return float(nn.functional.binary_cross_entropy(p, t))


class EarlyStopping:
    """Stops after `patience` epochs without improvement of the monitored validation value."""

    def __init__(self, monitor: str = "val_loss", patience: int = 6, min_delta: float = 0.0):
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.best: float | None = None
        self.bad_epochs = 0

    def step(self, record: dict) -> bool:
        value = record[self.monitor]
        sign = -1.0 if self.monitor == "val_loss" else 1.0
        if self.best is None or sign * (value - self.best) > self.min_delta:
            self.best, self.bad_epochs = value, 0
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience


def evaluate(
    true: np.ndarray,
    prob: np.ndarray,
    embeddings: np.ndarray,
    codes: list[str],
    groups: dict[str, str],
    settings: dict,
    seed: int = 0,
) -> dict:
    """Every metric of the seeds that fits the task, on one subset's windows."""
    pred = decide(prob, settings)
    one_species = class_index(true)
    out = {
        "macro_f1": group_macro_f1(true, pred, codes, groups, over="active"),
        "macro_f1_all_species": group_macro_f1(true, pred, codes, groups, over="all"),
        "weighted_f1": weighted_f1(true, pred),
        "per_species": per_species_scores(true, pred, codes, prob),
        "embedding_stats": embedding_statistics(embeddings, one_species),
        "silhouette": silhouette(embeddings, one_species),
        "tsne": tsne_points(embeddings, one_species, seed),
    }
    if settings["task"] == "multiclass":
        out.update(single_label_scores(true.argmax(1), prob.argmax(1)))
    else:
        out["map"] = mean_average_precision(true, prob)
        out["f1_by_polyphony"] = f1_by_polyphony(true, pred)
    return out


def fraction_of_labels(train_idx: torch.Tensor, fraction: float, seed: int) -> torch.Tensor:
    """A random `fraction` of the training windows (seed 003's 100 / 50 / 20 % runs)."""
    if fraction >= 1.0:
        return train_idx
    keep = max(1, int(round(fraction * len(train_idx))))
    order = np.random.default_rng(seed).permutation(len(train_idx))[:keep]
    return train_idx[torch.as_tensor(np.sort(order), device=train_idx.device)]


def balanced_indices(labels: np.ndarray, target: int | str, seed: int) -> np.ndarray:
    """Positions into `labels` [n, classes] with minority classes repeated up to `target`
    windows each (seed 003's balancing; every repeat is augmented anew when drawn).

    A window counts for its rarest species; windows without any species are kept once.
    """
    counts = labels.sum(0)
    rarity = np.where(labels > 0, counts[None, :], np.inf)
    owner = np.where(labels.any(1), rarity.argmin(1), -1)
    sizes = np.bincount(owner[owner >= 0], minlength=labels.shape[1])
    goal = int(sizes.max()) if target == "max" else int(target)
    rng = np.random.default_rng(seed)
    extra = [
        rng.choice(np.flatnonzero(owner == c), goal - sizes[c], replace=True)
        for c in range(labels.shape[1])
        if 0 < sizes[c] < goal
    ]
    return np.concatenate([np.arange(len(labels)), *extra]).astype(np.int64)


def train_experiment(
    windows_path: str | Path,
    splits_path: str | Path,
    feature_index_path: str | Path,
    experiment: dict,
    seed: int,
    species_entries: list[dict],
    group_thresholds: dict,
    window_s: float,
    out_model: str | Path,
    out_predictions: str | Path,
    out_metrics: str | Path,
    out_history: str | Path,
    noise_bank_path: str | Path | None = None,
    threads: int = 1,
    progress: bool = True,
    resume_path: str | Path | None = None,
    manifest_path: str | Path | None = None,
    config: dict | None = None,
    encoder_path: str | Path | None = None,
    folds_path: str | Path | None = None,
    fold: int | None = None,
) -> dict:
    """Train, select the best epoch on the validation split only, evaluate it on test.

    With `resume_path`, the training state is saved there after every epoch and a matching
    state found there at the start is resumed from (deleted once the run has finished).
    `manifest_path` and `config` go into the metrics' provenance. `encoder_path`: a
    pretrained encoder to start from (`init`). `folds_path` and `fold`: cross-validation, the
    recordings of `fold` are the validation set and the other train/val ones the training set.
    """
    from tqdm import tqdm

    settings = experiment_settings(experiment)
    torch.set_num_threads(max(1, threads))
    seed_everything(seed)
    device = pick_device(settings["device"])
    table = species_table(species_entries)

    all_windows = pd.read_parquet(windows_path).merge(
        pd.read_parquet(splits_path), on="recording_id"
    )
    if fold is not None:
        folds = pd.read_parquet(folds_path).set_index("recording_id")["fold"]
        in_cv = all_windows["subset"] != "test"
        val = all_windows["recording_id"].map(folds).eq(fold)
        all_windows.loc[in_cv, "subset"] = np.where(val[in_cv], "val", "train")
    data = prepare_task(
        all_windows, table["code"].tolist(), settings["task"], **settings["dataset"]
    )
    windows, codes = data.windows, data.codes
    paths = read_feature_index(feature_index_path)
    train_recs = set(all_windows.loc[all_windows["subset"] == "train", "recording_id"])
    bank = build_bank(windows, paths, codes, window_s, train_recs, device)
    noise = None
    if settings["augment"].get("noise"):
        if noise_bank_path is None:
            raise ValueError("augment.noise is set but the workflow has no noise bank")
        noise = load_noise_bank(noise_bank_path, bank.n_frames, device)
    subset_idx = {
        s: torch.tensor(np.flatnonzero(windows["subset"].to_numpy() == s), device=device)
        for s in ("train", "val", "test")
    }
    for s, idx in subset_idx.items():
        if len(idx) == 0:
            raise ValueError(f"the {s} split has no windows; check the split fractions")
    # groups from the species' window counts in the whole dataset, whatever the task keeps
    groups = assign_groups(
        table[table["code"].isin(codes)], all_windows[codes].sum().to_dict(), group_thresholds
    )

    subset_idx["train"] = fraction_of_labels(subset_idx["train"], settings["label_fraction"], seed)
    if settings["balance"]:
        train_labels = bank.labels[subset_idx["train"]].cpu().numpy()
        order = balanced_indices(train_labels, settings["balance"]["target"], seed)
        subset_idx["train"] = subset_idx["train"][torch.as_tensor(order, device=device)]
    model = build_model(
        settings["model"],
        len(codes),
        n_mels=bank.frames.shape[1],
        n_frames=bank.n_frames,
        weights=settings["pretrained_weights"],
        dense_head=settings["dense_head"],
        **settings["model_args"],
    )
    frozen = []
    if settings["init"]:
        if encoder_path is None:
            raise ValueError("init.pretrain is set but no pretrained encoder was given")
        frozen = load_encoder(model, encoder_path, settings["model"], settings["init"]["freeze"])
        print(f"fine-tuning from the encoder {encoder_path} (frozen: {bool(frozen)})", flush=True)
    model = model.to(device)
    if device.type == "cuda":  # cuDNN's fast bf16 convolutions want NHWC weights
        model = model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, settings)
    batch_size = settings["batch_size"]
    steps_per_epoch = math.ceil(len(subset_idx["train"]) / batch_size)
    scheduler = make_scheduler(optimizer, settings, settings["epochs"] * steps_per_epoch)
    objective = make_objective(settings, bank.labels[subset_idx["train"]])
    stopper = EarlyStopping(**settings["early_stopping"]) if settings["early_stopping"] else None
    generator = torch.Generator(device=device).manual_seed(seed)
    val_true = bank.labels[subset_idx["val"]].cpu().numpy()
    select_sign = -1.0 if settings["select_on"] == "val_loss" else 1.0

    history, best_score, best_state, best_epoch = [], -math.inf, None, -1
    method_counts: dict[str, int] = {}
    done_seconds, first_epoch = 0.0, 1
    fingerprint = ""
    if resume_path is not None:
        # every input the run depends on: a checkpoint of another fold, encoder or weights
        # file must not be resumed from
        # the feature index holds every cache's checksum, so hashing it covers them all
        tables = [windows_path, splits_path, feature_index_path]
        tables += [folds_path] if fold is not None else []
        extra = (noise_bank_path, encoder_path, settings["pretrained_weights"])
        large = [Path(p).expanduser() for p in extra if p]
        fingerprint = run_fingerprint(
            settings, seed, tables, large, species=species_entries, groups=group_thresholds,
            window_s=window_s, threads=threads, device=str(device), fold=fold,
        )  # fmt: skip
        state = load_checkpoint(resume_path, fingerprint)
        if state is not None:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            if scheduler is not None:
                scheduler.load_state_dict(state["scheduler"])
            if stopper is not None:
                stopper.best, stopper.bad_epochs = state["stopper"]
            history, method_counts = state["history"], state["method_counts"]
            best_score, best_epoch = state["best_score"], state["best_epoch"]
            best_state = state["best_state"]
            done_seconds, first_epoch = state["train_seconds"], state["epoch"] + 1
            restore_rng(state["rng"], generator)
            print(f"resuming from the checkpoint of epoch {state['epoch']} in {resume_path}")
    started = time.time()
    stop = first_epoch > 1 and stopper is not None and stopper.bad_epochs >= stopper.patience
    for epoch in range(first_epoch, settings["epochs"] + 1):
        if stop:
            break
        model.train()
        for module in frozen:  # a frozen encoder keeps its batch-norm statistics too
            module.eval()
        t0 = time.time()
        train_idx = subset_idx["train"]
        order = train_idx[torch.randperm(len(train_idx), generator=generator, device=device)]
        running, seen = 0.0, 0
        starts = [s for s in range(0, len(order), batch_size) if len(order) - s >= 2]
        bar = tqdm(starts, desc=f"epoch {epoch}", unit="batch", disable=not progress, mininterval=5)
        for step, start in enumerate(bar):
            idx = order[start : start + batch_size]
            method, loss = train_step(
                model, bank, idx, settings, generator, objective, optimizer, noise
            )
            if settings["scheduler"] == "cosine":
                scheduler.step()
            method_counts[method] = method_counts.get(method, 0) + 1
            running = running + loss.double() * len(idx)  # on the device: no sync per step
            seen += len(idx)
            if progress and step % 50 == 0:  # reading the loss waits for the device
                bar.set_postfix(loss=f"{float(running) / seen:.4f}")
        running = float(running)
        val_prob, _ = predict(model, bank, subset_idx["val"], settings)
        val_loss = plain_loss(val_prob, val_true, settings)
        val_f1 = macro_f1(val_true, decide(val_prob, settings))
        record = {
            "epoch": epoch,
            "train_loss": running / max(seen, 1),
            "val_loss": val_loss,
            "val_macro_f1": 0.0 if math.isnan(val_f1) else val_f1,
            "lr": optimizer.param_groups[0]["lr"],
            "seconds": time.time() - t0,
        }
        history.append(record)
        print(
            f"epoch {epoch}: train_loss={record['train_loss']:.4f} val_loss={val_loss:.4f} "
            f"val_macro_f1={record['val_macro_f1']:.4f}",
            flush=True,
        )
        if settings["scheduler"] == "plateau":
            scheduler.step(val_loss)
        score = select_sign * record[settings["select_on"]]
        if score > best_score:
            best_score, best_epoch = score, epoch
            best_state = copy.deepcopy(model.state_dict())
        stop = stopper is not None and stopper.step(record)
        if resume_path is not None:
            save_checkpoint(
                {
                    "epoch": epoch,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict() if scheduler else None,
                    "stopper": [stopper.best, stopper.bad_epochs] if stopper else None,
                    "history": history,
                    "method_counts": method_counts,
                    "best_score": best_score,
                    "best_epoch": best_epoch,
                    "best_state": best_state,
                    "train_seconds": done_seconds + time.time() - started,
                    "rng": capture_rng(generator),
                },
                resume_path,
                fingerprint,
            )
        if stop:
            print(f"early stopping after epoch {epoch} ({stopper.monitor})", flush=True)
    train_seconds = done_seconds + time.time() - started

    model.load_state_dict(best_state)
    save_torch(
        {
            "model": best_state,
            "model_name": settings["model"],
            "model_args": settings["model_args"],
            "n_mels": bank.frames.shape[1],
            "n_frames": bank.n_frames,
            "codes": codes,
            "mean": bank.mean.cpu(),
            "std": bank.std.cpu(),
            "epoch": best_epoch,
        },
        out_model,
    )
    test_idx = subset_idx["test"]
    prob, embeddings = predict(model, bank, test_idx, settings)
    true = bank.labels[test_idx].cpu().numpy().astype(int)

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
        "task": settings["task"],
        "device": str(device),
        "epochs": settings["epochs"],
        "epochs_run": len(history),
        "best_epoch": best_epoch,
        "best_val_macro_f1": history[best_epoch - 1]["val_macro_f1"],
        "best_val_loss": history[best_epoch - 1]["val_loss"],
        "selected_on": settings["select_on"],
        "threshold": settings["threshold"],
        "dataset": data.summary(),
        "n_windows": {s: len(i) for s, i in subset_idx.items()},
        "mixing_steps": method_counts,
        **evaluate(true, prob, embeddings, codes, groups, settings, seed),
        "groups": groups,
        "train_seconds": train_seconds,
        "resumed_from_epoch": first_epoch - 1 if first_epoch > 1 else None,
        "fold": fold,
        "n_parameters": n_parameters(model),
        "codes": codes,
        "settings": settings,
        "provenance": provenance(config, pd.read_parquet(manifest_path) if manifest_path else None),
    }
    write_text(pd.DataFrame(history).to_csv(sep="\t", index=False), out_history)
    write_json(metrics, out_metrics)
    if resume_path is not None:
        Path(resume_path).unlink(missing_ok=True)  # finished: nothing left to resume
    return metrics

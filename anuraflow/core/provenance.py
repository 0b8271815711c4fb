"""Provenance: which code, config and software produced a result."""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import pandas as pd

CORE_PACKAGES = (
    "snakemake",
    "torch",
    "torchaudio",
    "torchvision",
    "onnx",
    "onnxruntime",
    "pandas",
    "pyarrow",
    "soundfile",
    "scikit-learn",
    "numpy",
    "iterative-stratification",
    "matplotlib",
)


def git_state(repo: str | Path | None = None) -> dict:
    """Commit and dirty flag of the workflow's checkout (None outside a git checkout)."""
    repo = Path(repo) if repo else Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": dirty}


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in CORE_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def config_hash(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def input_checksums(manifest: pd.DataFrame) -> dict[str, dict]:
    """Per recording: SHA-256 of its raw audio and of its label file, and whether it was used."""
    return {
        row.recording_id: {
            "audio": row.source_path,
            "audio_sha256": row.source_sha256,
            "annotation": row.annotation_path,
            "annotation_sha256": row.annotation_sha256,
            "status": row.status,
        }
        for row in manifest.sort_values("recording_id").itertuples()
    }


def provenance(config: dict | None = None, manifest: pd.DataFrame | None = None) -> dict:
    """Workflow version (git commit, dirty flag), software versions, the config and its hash,
    and the checksum of every input file, so a result can be traced to what produced it."""
    from anuraflow import __version__

    info = {"anuraflow": __version__, "git": git_state(), "versions": package_versions()}
    if config is not None:
        info["config"] = config
        info["config_sha256"] = config_hash(config)
    if manifest is not None:
        inputs = input_checksums(manifest)
        info["inputs"] = inputs
        info["inputs_sha256"] = config_hash(inputs)
    return info


def gpu_visible() -> bool:
    """An NVIDIA GPU on this machine, found without importing torch (the workflow builds its
    DAG without it): a device node or the driver's nvidia-smi."""
    return Path("/dev/nvidia0").exists() or shutil.which("nvidia-smi") is not None

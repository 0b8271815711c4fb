"""Provenance: which code, config and software produced a result."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path

CORE_PACKAGES = (
    "snakemake",
    "torch",
    "torchaudio",
    "torchvision",
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
    repo = Path(repo) if repo else Path(__file__).resolve().parent.parent
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


def provenance(config: dict | None = None) -> dict:
    from anuraflow import __version__

    info = {"anuraflow": __version__, "git": git_state(), "versions": package_versions()}
    if config is not None:
        info["config_sha256"] = config_hash(config)
    return info

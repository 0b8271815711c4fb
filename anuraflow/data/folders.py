"""Walking data folders as recorders, clusters and file managers leave them.

Symlinked folders are followed (cluster data folders often are links), each real folder once,
so a link back up the tree cannot loop and two links to one folder cannot double the data.
Hidden and system files (macOS's `._*` AppleDouble twins, `.DS_Store`, `Thumbs.db`,
`desktop.ini`) are ignored by name, each with a note. Names are compared in Unicode NFC, as
macOS writes decomposed accents (NFD) and other systems composed ones.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

SYSTEM_FILE_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini", "ehthumbs.db"})


def nfc(text: str) -> str:
    """`text` in Unicode normal form C: the form names are compared in."""
    return unicodedata.normalize("NFC", text)


def is_system_file(name: str) -> bool:
    """Hidden files (a leading dot, which covers `._*` and `.DS_Store`) and the names Windows
    and macOS leave in every folder: never recordings nor labels."""
    return name.startswith(".") or name.lower() in SYSTEM_FILE_NAMES


@dataclass
class FolderListing:
    """The files found under a folder, and what was passed over, as "path: why" notes."""

    files: list[Path] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)  # folders named like a wanted file


def list_files(root: str | Path, suffixes: tuple[str, ...] | None = None) -> FolderListing:
    """Every file under `root` (with one of `suffixes`, compared in lower case, when given),
    sorted by path, following symlinked folders once each; system files and hidden folders
    are ignored with a note. With `suffixes`, folders named like one of them are listed in
    `folders` (their contents are searched as well)."""
    root = Path(root)
    listing = FolderListing()
    seen: dict[str, str] = {}
    for folder, dirs, names in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            listing.ignored.append(
                f"{folder}: the same folder as {seen[real]} (a symlink), walked once"
            )
            dirs[:] = []
            continue
        seen[real] = folder
        for name in [d for d in dirs if d.startswith(".")]:
            listing.ignored.append(f"{Path(folder) / name}: hidden folder, not searched")
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if suffixes is not None:
            named = [d for d in dirs if Path(d).suffix.lower() in suffixes]
            listing.folders += [Path(folder) / d for d in named]
        for name in names:
            path = Path(folder) / name
            if is_system_file(name):
                if suffixes is None or path.suffix.lower() in suffixes:
                    listing.ignored.append(f"{path}: hidden or system file, ignored")
                continue
            if suffixes is None or path.suffix.lower() in suffixes:
                if path.is_file():
                    listing.files.append(path)
                else:
                    listing.ignored.append(f"{path}: a broken link or not a file, ignored")
    listing.files.sort()
    listing.ignored.sort()
    listing.folders.sort()
    return listing

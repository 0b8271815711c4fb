"""An archive cut into shards: runs of consecutive recordings that one `predict` job scores.

Recordings are taken in the order of their paths (a recorder's folder, then its files by
time), and a shard ends after a recording chosen by a hash of its own id, with a probability
of its duration over `shard_hours / 2` (content-defined boundaries, as rsync and
deduplicating backups cut files). So a shard holds on average half of `shard_hours` of audio,
never more than `shard_hours` (a cut is forced before a recording that would exceed it,
unless the shard is empty: a longer file is a shard of its own), and where a boundary falls
depends only on the recordings beside it, never on the archive's size: recordings added to
a folder, or a new folder, change only the shard they fall into (and the one after where a
boundary they bring splits it, or where a forced cut moves, up to the next drawn boundary).
A shard is named after its first recording.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def boundary_draw(recording_id: str) -> float:
    """A number in [0, 1) fixed by the recording's id: the same in every run and machine."""
    digest = hashlib.sha1(recording_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:7], "big") / 2**56


def plan_shards(
    recordings: Iterable[tuple[str, float]], shard_hours: float
) -> dict[str, list[str]]:
    """Shard name -> its recording ids, from (id, duration in s) in archive order (a duration
    of 0 for a file whose header cannot be read: it rides along with its neighbours)."""
    if shard_hours <= 0:
        raise ValueError(f"shard_hours must be positive, not {shard_hours}")
    cap_s, mean_s = shard_hours * 3600.0, shard_hours * 1800.0
    shards: dict[str, list[str]] = {}
    current: list[str] = []
    held_s = 0.0
    for rec, seconds in recordings:
        if current and held_s + seconds > cap_s:
            shards[current[0]], current, held_s = current, [], 0.0
        current.append(rec)
        held_s += seconds
        if boundary_draw(rec) < seconds / mean_s:
            shards[current[0]], current, held_s = current, [], 0.0
    if current:
        shards[current[0]] = current
    return shards

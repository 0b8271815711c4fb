"""The archive's shards (anuraflow/data/shards.py) and the header cache that plans them."""

import hashlib
import os

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from anuraflow.data.headers import audio_durations
from anuraflow.data.shards import boundary_draw, plan_shards


def season(n_sites: int, per_site: int, seconds: float = 60.0) -> list[tuple[str, float]]:
    """AudioMoth-like ids, a file every 10 minutes at each site, in path order."""
    return [
        (f"site{s:02d}_20240101_{i // 6:02d}{i % 6}000", seconds)
        for s in range(n_sites)
        for i in range(per_site)
    ]


def test_the_boundary_draw_is_the_ids_sha1():
    digest = hashlib.sha1(b"siteA_20191113_190000").hexdigest()
    assert boundary_draw("siteA_20191113_190000") == int(digest[:14], 16) / 16**14


def test_hand_worked_shards():
    # 0 s files (unreadable headers) never end a shard: one shard, named after the first
    assert plan_shards([("a", 0.0), ("b", 0.0), ("c", 0.0)], 1.0) == {"a": ["a", "b", "c"]}
    # a file of at least half the cap always ends its shard (probability 1); one longer than
    # the cap is a shard of its own
    assert plan_shards([("a", 1800.0), ("b", 9000.0), ("c", 0.0)], 1.0) == {
        "a": ["a"],
        "b": ["b"],
        "c": ["c"],
    }
    with pytest.raises(ValueError, match="shard_hours must be positive"):
        plan_shards([("a", 1.0)], 0)


def test_every_recording_once_in_order_and_no_shard_over_the_cap():
    recordings = season(5, 400)
    shards = plan_shards(recordings, 2.0)
    flat = [r for members in shards.values() for r in members]
    assert flat == [r for r, _ in recordings]
    assert all(name == members[0] for name, members in shards.items())
    hours = np.array([len(m) / 60 for m in shards.values()])
    assert hours.max() <= 2.0
    # content-defined cuts at probability duration / (cap / 2): about an hour per shard
    # (shorter where the cap cuts the geometric tail)
    assert 0.6 < hours.mean() < 1.1, hours.mean()


def test_ten_new_recordings_change_only_the_shards_they_fall_into():
    """2,000 one-minute recordings, then 10 more between them and after them: every shard
    holding no new recording keeps its name and members; at most one neighbour per new
    recording moves (where a forced cut at the cap shifts)."""
    old = season(4, 500)
    rng = np.random.default_rng(0)
    added = {
        f"site{s:02d}_20240101_{i // 6:02d}{i % 6}500"  # 5 minutes after an existing file
        for s, i in zip(rng.integers(0, 4, 8), rng.integers(0, 500, 8), strict=True)
    } | {"site03_20240105_000000", "site04_20240101_000000"}  # after the last; a new site
    assert len(added) == 10
    new = sorted(old + [(r, 60.0) for r in added])
    before, after = plan_shards(old, 2.0), plan_shards(new, 2.0)
    changed = {name for name, members in after.items() if before.get(name) != members}
    holding_new = {name for name, members in after.items() if set(members) & added}
    assert holding_new <= changed
    assert len(changed) <= 2 * len(holding_new), (len(changed), len(holding_new))
    assert len(after) - len(changed) >= len(before) - 20  # the rest is untouched


def test_durations_from_headers_cached_by_size_and_mtime(tmp_path):
    good = tmp_path / "good.wav"
    sf.write(str(good), np.zeros(8000 * 3, np.float32), 8000)
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "text.wav").write_text("not audio\n")
    (tmp_path / "folder.wav").mkdir()
    paths = [str(tmp_path / n) for n in ("good.wav", "empty.wav", "text.wav", "folder.wav")]
    cache = tmp_path / "cache" / "headers.parquet"
    assert audio_durations(paths, cache) == [3.0, 0.0, 0.0, 0.0]
    # the cache answers while size and mtime are unchanged ...
    table = pd.read_parquet(cache)
    table.loc[table.path == str(good), "seconds"] = 99.0
    table.to_parquet(cache, index=False)
    assert audio_durations(paths, cache)[0] == 99.0
    # ... and a file written again is read again
    sf.write(str(good), np.zeros(8000 * 5, np.float32), 8000)
    os.utime(good, ns=(1, 1))
    assert audio_durations(paths, cache) == [5.0, 0.0, 0.0, 0.0]
    assert audio_durations(paths, None) == [5.0, 0.0, 0.0, 0.0]

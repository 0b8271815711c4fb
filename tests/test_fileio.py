import math
import os
import stat

import numpy as np
import pytest
from workflow_helpers import strict_json

from anuraflow.core.fileio import atomic_path, write_json, write_text


def test_atomic_write_has_umask_mode(tmp_path):
    old = os.umask(0o022)
    try:
        write_text("x", tmp_path / "a.txt")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("killed mid-write")
    assert list(tmp_path.iterdir()) == []


def test_write_json_writes_undefined_metrics_as_null(tmp_path):
    metrics = {
        "macro_f1": {"all": 0.5, "rare": math.nan, "common": np.float32(0.25)},
        "order": math.inf,
        "per_seed": np.array([1.0, -np.inf]),
        "n": np.int64(3),
        "fold": None,
    }
    write_json(metrics, tmp_path / "m.json")
    assert strict_json((tmp_path / "m.json").read_text()) == {
        "macro_f1": {"all": 0.5, "rare": None, "common": 0.25},
        "order": None,
        "per_seed": [1.0, None],
        "n": 3,
        "fold": None,
    }

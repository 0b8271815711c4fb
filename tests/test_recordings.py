from datetime import datetime

import numpy as np
import pytest
import soundfile as sf

from anuraflow.data.discovery import discover_recordings
from anuraflow.data.recordings import parse_recording_name


def _wav(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.zeros(100, dtype=np.float32), 8000)


def test_parse_recording_name():
    assert parse_recording_name("INCT20955_20190904_003000") == (
        "INCT20955",
        datetime(2019, 9, 4, 0, 30, 0),
    )
    assert parse_recording_name("1min") == (None, None)
    assert parse_recording_name("SITE_20191340_000000") == ("SITE", None)  # month 13


def test_discovery_pairs_audio_with_both_label_formats(tmp_path):
    audio, labels = tmp_path / "audio", tmp_path / "labels"
    _wav(audio / "INCT4" / "INCT4_20190101_000000.wav")
    _wav(audio / "MSD-0003_20180427_2minstart00.flac")
    _wav(audio / "unlabelled.wav")
    (audio / "notes.md").write_text("not audio")
    labels.mkdir()
    (labels / "INCT4_20190101_000000.txt").write_text("0\t1\tBOAFAB_M\n")
    (labels / "MSD-0003_20180427_2minstart00.Table.1.selections.txt").write_text("x")
    found = discover_recordings(audio, labels)
    assert sorted(found) == [
        "INCT4_20190101_000000",
        "MSD-0003_20180427_2minstart00",
        "unlabelled",
    ]
    assert found["INCT4_20190101_000000"].annotation.endswith("INCT4_20190101_000000.txt")
    assert found["MSD-0003_20180427_2minstart00"].annotation.endswith(".Table.1.selections.txt")
    assert found["unlabelled"].annotation is None


def test_discovery_rejects_ambiguity(tmp_path):
    _wav(tmp_path / "a" / "rec.wav")
    _wav(tmp_path / "b" / "rec.flac")
    with pytest.raises(ValueError, match="'rec' is used by two audio files"):
        discover_recordings(tmp_path, None)
    other = tmp_path / "other"
    _wav(other / "r2.wav")
    (other / "r2.txt").write_text("")
    (other / "r2.Table.1.selections.txt").write_text("")
    with pytest.raises(ValueError, match="'r2' has several annotation files"):
        discover_recordings(other, other)


def test_missing_audio_dir_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        discover_recordings(tmp_path / "nowhere", None)

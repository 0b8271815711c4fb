"""Every bad-input case of the reliability issue: correct handling or an error naming the file
(and line), per the policies in README "Failure policies"."""

import json
import os
import signal
import struct
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from anuraflow.core.fileio import atomic_path
from anuraflow.data.annotations import normalise_annotation_file, read_annotation_file
from anuraflow.data.audio import AudioError, standardise_recording
from anuraflow.data.discovery import discover
from anuraflow.data.label_rows import AnnotationError
from anuraflow.data.windows import segment_recording
from anuraflow.features.logmel import LogMelConfig, cache_recording_features, read_feature_cache

RATE = 16000


def _tone(seconds, rate=RATE, freq=1000.0, channels=1):
    t = np.arange(int(round(seconds * rate))) / rate
    x = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.repeat(x[:, None], channels, axis=1) if channels > 1 else x


def _ingest(tmp_path, src, **kw):
    kw.setdefault("min_duration_s", 3.0)
    return standardise_recording(
        src, tmp_path / "out.wav", tmp_path / "out.json", RATE, recording_id="r", **kw
    )


def _pcm_wav(path, seconds=4.0):
    sf.write(str(path), _tone(seconds), RATE, subtype="PCM_16")
    return path


def _fail(tmp_path, src, message):
    with pytest.raises(AudioError) as err:
        _ingest(tmp_path, src)
    assert str(err.value).startswith(f"{src}: "), str(err.value)
    assert message in str(err.value), str(err.value)
    assert not (tmp_path / "out.wav").exists() and not (tmp_path / "out.json").exists()


# --- bad recordings ------------------------------------------------------------------------


def test_empty_file(tmp_path):
    src = tmp_path / "empty.wav"
    src.write_bytes(b"")
    _fail(tmp_path, src, "empty file (0 bytes)")


def test_truncated_wav_header(tmp_path):
    src = tmp_path / "cut.wav"
    src.write_bytes(_pcm_wav(tmp_path / "ok.wav").read_bytes()[:30])
    _fail(tmp_path, src, "truncated WAV header: the 'fmt ' chunk has 10 of 16 bytes")


def test_truncated_wav_data_keeps_the_samples_present(tmp_path):
    full = _pcm_wav(tmp_path / "ok.wav", seconds=4.0).read_bytes()
    src = tmp_path / "cut.wav"
    src.write_bytes(full[: 44 + 2 * RATE * 3 + 2 * 8000])  # header + 3.5 s of 16-bit samples
    rec = _ingest(tmp_path, src)
    assert rec["status"] == "ok" and rec["duration_s"] == 3.5


def test_not_audio(tmp_path):
    src = tmp_path / "notes.wav"
    src.write_text("field notes, not audio\n" * 20)
    _fail(tmp_path, src, "cannot be read as audio (libsndfile: ")


def test_unsupported_encoding(tmp_path):
    data = bytearray(_pcm_wav(tmp_path / "ok.wav").read_bytes())
    data[20:22] = struct.pack("<H", 0x0055)  # the fmt chunk's format tag: MPEG Layer 3
    src = tmp_path / "mp3inwav.wav"
    src.write_bytes(bytes(data))
    _fail(tmp_path, src, "unsupported WAV encoding: format tag 0x0055 (MPEG Layer 3)")


def test_zero_length_audio(tmp_path):
    src = tmp_path / "zero.wav"
    sf.write(str(src), np.zeros(0, np.float32), RATE)
    _fail(tmp_path, src, "contains no samples (zero-length audio)")


def test_all_zero_audio(tmp_path):
    src = tmp_path / "silent.wav"
    sf.write(str(src), np.zeros(4 * RATE, np.float32), RATE)
    _fail(tmp_path, src, "every sample is zero")


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_samples(tmp_path, value):
    x = _tone(4.0)
    x[RATE // 2] = value
    src = tmp_path / "float.wav"
    sf.write(str(src), x, RATE, subtype="FLOAT")
    _fail(tmp_path, src, "contains 1 NaN or infinite samples (the first at 0.500 s)")


def test_multichannel_is_averaged_to_mono(tmp_path):
    x = _tone(4.0, channels=4) * np.array([1.0, 0.5, 0.0, -0.5], np.float32)
    src = tmp_path / "four.wav"
    sf.write(str(src), x, RATE, subtype="FLOAT")
    rec = _ingest(tmp_path, src)
    out, _ = sf.read(str(tmp_path / "out.wav"), dtype="float32")
    assert rec["orig_channels"] == 4
    np.testing.assert_allclose(out, x.mean(axis=1), atol=2**-15)


def test_shorter_than_one_window(tmp_path):
    src = tmp_path / "short.wav"
    sf.write(str(src), _tone(2.0), RATE)
    _fail(tmp_path, src, "is 2.000 s long, shorter than one 3 s window")


def test_duration_not_whole_seconds(tmp_path):
    src = tmp_path / "frac.wav"
    sf.write(str(src), _tone(10.5), RATE)
    rec = _ingest(tmp_path, src)
    assert rec["duration_s"] == 10.5
    windows = segment_recording("r", rec["duration_s"], pd.DataFrame(), ["A"])
    assert windows["start_s"].tolist() == [float(s) for s in range(8)]  # last: 7-10 s
    cfg = LogMelConfig(n_mels=32)
    feats = cache_recording_features(tmp_path / "out.wav", tmp_path / "f.parquet", "r", cfg)
    last = cfg.frame_of(7.0) + cfg.frames_per_window(3.0)
    assert feats.shape[0] >= last  # every window's frames exist


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 44100, 48000, 96000, 192000, 384000])
def test_sample_rates_8k_to_384k(tmp_path, rate):
    src = tmp_path / f"r{rate}.wav"
    sf.write(str(src), _tone(3.0, rate=rate, freq=1000.0), rate, subtype="PCM_24")
    rec = _ingest(tmp_path, src)
    out, out_rate = sf.read(str(tmp_path / "out.wav"), dtype="float32")
    assert (rec["orig_sample_rate"], out_rate, rec["duration_s"]) == (rate, RATE, 3.0)
    spectrum = np.abs(np.fft.rfft(out))
    assert np.fft.rfftfreq(len(out), 1 / RATE)[spectrum.argmax()] == pytest.approx(1000, abs=1)
    assert bool(rec["notes"]) == (rate < RATE)  # upsampled: no content above rate / 2


@pytest.mark.parametrize("rate", [4000, 768000])
def test_sample_rate_outside_range(tmp_path, rate):
    src = tmp_path / "odd.wav"
    sf.write(str(src), _tone(3.0, rate=rate, freq=500.0), rate)
    _fail(tmp_path, src, f"sample rate {rate} Hz is outside 8000-384000 Hz")


def test_skip_policy_records_the_problem_and_writes_no_samples(tmp_path):
    src = tmp_path / "empty.wav"
    src.write_bytes(b"")
    rec = _ingest(tmp_path, src, on_bad_recording="skip")
    assert rec["status"] == "skipped" and rec["problem"] == f"{src}: empty file (0 bytes)"
    assert json.loads((tmp_path / "out.json").read_text())["status"] == "skipped"
    assert sf.info(str(tmp_path / "out.wav")).frames == 0
    cache_recording_features(tmp_path / "out.wav", tmp_path / "f.parquet", "r", LogMelConfig())
    assert read_feature_cache(tmp_path / "f.parquet")[0].shape == (0, 128)


# --- bad annotations -----------------------------------------------------------------------


def _labels(tmp_path, text, name="r.txt", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def _normalise(tmp_path, path, duration_s=10.0, **kw):
    return normalise_annotation_file(
        path, "r", tmp_path / "calls.parquet", ["BOAFAB", "SPHSUR"], duration_s=duration_s, **kw
    )


def _fail_at(tmp_path, path, line, message, **kw):
    with pytest.raises(AnnotationError) as err:
        _normalise(tmp_path, path, **kw)
    assert str(err.value).startswith(f"{path}:{line}: "), str(err.value)
    assert message in str(err.value), str(err.value)


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("0\t1\tBOAFAB_M\n1\t2\n", 2, "expected 3 tab-separated fields (start, end, label), got 2"),
        ("0\t1\tBOAFAB_M\t9\n", 1, "expected 3 tab-separated fields (start, end, label), got 4"),
        ("0\tone\tBOAFAB_M\n", 1, "end time 'one' is not a number"),
        ("0\tnan\tBOAFAB_M\n", 1, "end time 'nan' is not finite"),
        ("3\t2\tBOAFAB_M\n", 1, "end time 2.0 is before start time 3.0"),
        ("-0.5\t2\tBOAFAB_M\n", 1, "start time -0.5 is negative"),
        ("0\t1\tBOAFAB_M\n10\t11\tSPHSUR_H\n", 2, "call starts at 10 s, at or after the end"),
        ("0\t1\tBOAFAB_M\n2\t3\tBOAFOB_M\n", 2, "unknown species code 'BOAFOB'"),
        ("\\\t100\t200\n", 1, "frequency line without a label line above"),
        ("0\t1\t \n", 1, "empty label"),
    ],
)
def test_bad_audacity_lines_name_file_and_line(tmp_path, text, line, message):
    _fail_at(tmp_path, _labels(tmp_path, text), line, message)


def test_raven_non_numeric_time_names_line(tmp_path):
    text = (
        "Selection\tView\tBegin Time (s)\tEnd Time (s)\tSpecies\n"
        "1\tSpectrogram 1\t0.5\tx\tBOAFAB_M\n"
    )
    _fail_at(tmp_path, _labels(tmp_path, text), 2, "end time 'x' is not a number")


def test_not_utf8_names_line(tmp_path):
    path = _labels(tmp_path, "0\t1\tBOAFAB_M\n1\t2\tSPHSUR_M caf\xe9\n", encoding="latin-1")
    _fail_at(tmp_path, path, 2, "not UTF-8 text (byte 0xE9)")


def test_call_running_past_the_end_is_clipped_and_reported(tmp_path):
    path = _labels(tmp_path, "0\t1\tBOAFAB_M\n8.5\t10.75\tSPHSUR_H\n")
    record = _normalise(tmp_path, path)
    calls = pd.read_parquet(tmp_path / "calls.parquet")
    assert calls["end_s"].tolist() == [1.0, 10.0]
    assert record["notes"] == [
        f"{path}:2: ends at 10.75 s, after the recording's end (10 s); clipped"
    ]


def test_missing_quality_suffix_keeps_the_code(tmp_path):
    _normalise(tmp_path, _labels(tmp_path, "0\t1\tBOAFAB\n"))
    calls = pd.read_parquet(tmp_path / "calls.parquet")
    assert calls[["species", "quality"]].values.tolist() == [["BOAFAB", None]]


def test_duplicate_rows_are_dropped_and_reported(tmp_path):
    path = _labels(tmp_path, "0\t1\tBOAFAB_M\n2\t3\tSPHSUR_H\n0\t1\tBOAFAB_M\n0\t1\tBOAFAB_L\n")
    record = _normalise(tmp_path, path)
    calls = pd.read_parquet(tmp_path / "calls.parquet")
    assert calls["source_line"].tolist() == [1, 2]  # line 4 repeats line 1 with another quality
    assert record["notes"] == [
        f"{path}:3: repeats line 1, dropped",
        f"{path}:4: repeats line 1, dropped",
    ]


def test_frequency_lines_bom_and_crlf(tmp_path):
    path = _labels(tmp_path, "\ufeff0.5\t2\tBOAFAB_M\r\n\\\t400\t1800\r\n3\t4\tSPHSUR_H\r\n")
    record = _normalise(tmp_path, path)
    calls = pd.read_parquet(tmp_path / "calls.parquet")
    assert record["n_calls"] == 2 and calls["species"].tolist() == ["BOAFAB", "SPHSUR"]
    assert calls[["low_freq_hz", "high_freq_hz"]].iloc[0].tolist() == [400.0, 1800.0]
    assert calls["source_line"].tolist() == [1, 3]


def test_raven_with_extra_and_reordered_columns(tmp_path):
    text = (
        "Species\tNotes\tEnd Time (s)\tHigh Freq (Hz)\tBegin Time (s)\tView\tLow Freq (Hz)\n"
        "BOAFAB_M\tfaint\t2.5\t3000\t1.0\tSpectrogram 1\t500\n"
        "BOAFAB_M\tfaint\t2.5\t3000\t1.0\tWaveform 1\t500\n"
        "SPHSUR_H\t\t6\t4000\t4.25\tSpectrogram 1\t900\n"
    )
    df, _ = read_annotation_file(_labels(tmp_path, text, "r.Table.1.selections.txt"), "r")
    assert df[["start_s", "end_s", "species", "quality"]].values.tolist() == [
        [1.0, 2.5, "BOAFAB", "M"],
        [4.25, 6.0, "SPHSUR", "H"],
    ]
    assert df["low_freq_hz"].tolist() == [500.0, 900.0] and df["source_line"].tolist() == [2, 4]


def test_recording_without_annotation_file(tmp_path):
    record = _normalise(tmp_path, None)
    assert record["status"] == "no_file" and record["n_calls"] == 0
    assert len(pd.read_parquet(tmp_path / "calls.parquet")) == 0


def test_annotation_file_without_recording(tmp_path):
    for name in ("a.wav", "b.wav", "a.txt", "b.Table.1.selections.txt"):
        (tmp_path / name).write_text("")
    (tmp_path / "orphan.txt").write_text("0.5\t1.5\tBOAFAB_M\n")
    (tmp_path / "orphan.Table.1.selections.txt").write_text("Begin Time (s)\tEnd Time (s)\n")
    (tmp_path / "README.txt").write_text("Recorded at the pond, 2019.\n")
    found = discover(tmp_path, tmp_path)
    assert found.orphans == [
        str(tmp_path / "orphan.Table.1.selections.txt"),
        str(tmp_path / "orphan.txt"),
    ]
    assert found.sources["b"].annotation == str(tmp_path / "b.Table.1.selections.txt")
    assert found.ignored == [
        f"{tmp_path / 'README.txt'}: neither named after a recording nor a label table, ignored"
    ]


def test_skip_policy_for_a_bad_label_file(tmp_path):
    path = _labels(tmp_path, "0\t1\tBOAFAB_M\n2\t3\tBOAFOB_M\n")
    record = _normalise(tmp_path, path, on_bad_annotation="skip")
    assert record["status"] == "skipped"
    assert record["problem"].startswith(f"{path}:2: unknown species code 'BOAFOB'")
    assert len(pd.read_parquet(tmp_path / "calls.parquet")) == 0


# --- a job killed while writing ------------------------------------------------------------


def test_killed_writer_leaves_the_old_file_and_no_new_one(tmp_path):
    target = tmp_path / "windows.parquet"
    target.write_text("previous complete version")
    code = (
        "import os, signal, sys\n"
        "from anuraflow.core.fileio import atomic_path\n"
        "with atomic_path(sys.argv[1]) as tmp:\n"
        "    tmp.write_text('half written')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(target)], cwd=os.getcwd())
    assert proc.returncode == -signal.SIGKILL
    assert target.read_text() == "previous complete version"
    leftovers = [p.name for p in tmp_path.iterdir() if p != target]
    assert all(n.startswith(".windows.parquet.") and n.endswith(".tmp") for n in leftovers)


def test_atomic_path_removes_its_temporary_file_on_error(tmp_path):
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "x.json") as tmp:
        tmp.write_text("partial")
        raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []

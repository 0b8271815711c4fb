"""The WAV header read without decoding, against Python's own `wave` module and libsndfile,
and a recording cut short named where it is used (ingest's notes)."""

import wave

import numpy as np
import soundfile as sf

from anuraflow.data.wav_header import read_wav_header, truncation_note


def write(path, seconds, rate=8000, channels=1, subtype="PCM_16"):
    data = np.random.default_rng(0).uniform(-0.1, 0.1, (int(seconds * rate), channels))
    sf.write(path, data, rate, subtype=subtype)
    return path


def test_the_header_matches_wave_and_libsndfile(tmp_path):
    for rate, channels, subtype in [(8000, 1, "PCM_16"), (48000, 2, "PCM_24"),
                                    (22050, 1, "FLOAT")]:  # fmt: skip
        path = write(tmp_path / f"{rate}.wav", 2.5, rate, channels, subtype)
        header = read_wav_header(path)
        info = sf.info(path)
        assert header.sample_rate == info.samplerate == rate
        assert header.promised_frames == info.frames
        assert header.present_frames(path.stat().st_size) == info.frames
        if subtype != "FLOAT":  # wave reads PCM only
            with wave.open(str(path)) as w:
                assert header.promised_frames == w.getnframes()
        assert truncation_note(path, info.frames) is None


def test_a_file_cut_short_is_named_and_other_formats_are_left_to_libsndfile(tmp_path):
    full = write(tmp_path / "full.wav", 60)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[: 44 + 30 * 8000 * 2])  # a card pulled at 30 s
    info = sf.info(cut)
    assert info.frames == 30 * 8000  # libsndfile: 30 s, without a word
    with wave.open(str(cut)) as w:
        assert w.getnframes() == 60 * 8000  # what the header promises
    header = read_wav_header(cut)
    assert header.promised_frames == 60 * 8000
    assert header.present_frames(cut.stat().st_size) == 30 * 8000
    note = truncation_note(cut, info.frames)
    assert note.startswith("cut short: its header promises 60.0 s, the file holds 30.0 s")
    flac = tmp_path / "x.flac"
    sf.write(flac, np.zeros(800), 8000)
    assert read_wav_header(flac) is None and truncation_note(flac, 800) is None
    (tmp_path / "text.wav").write_text("not audio")
    assert read_wav_header(tmp_path / "text.wav") is None


def test_ingest_notes_a_recording_cut_short(tmp_path):
    from anuraflow.data.audio import standardise_recording

    full = write(tmp_path / "full.wav", 8)
    cut = tmp_path / "site_20240301_190000.wav"
    cut.write_bytes(full.read_bytes()[: 44 + 5 * 8000 * 2])
    record = standardise_recording(cut, tmp_path / "out.wav", tmp_path / "out.json", 16000,
                                   min_duration_s=3.0)  # fmt: skip
    assert record["status"] == "ok" and abs(record["duration_s"] - 5.0) < 1e-6
    assert any("cut short: its header promises 8.0 s, the file holds 5.0 s" in n
               for n in record["notes"])  # fmt: skip


def test_planning_reads_a_wavs_duration_from_our_header_as_libsndfile_would(tmp_path):
    """The archive plan's durations (`header_seconds`): a WAV's from our header reader, equal to
    libsndfile's for whole and cut-short files; another format's from libsndfile."""
    from anuraflow.data.headers import audio_durations, header_seconds

    paths = [write(tmp_path / "a.wav", 2.5), write(tmp_path / "b.WAV", 1.0, 48000, 2, "PCM_24"),
             write(tmp_path / "c.wav", 3.0, 22050, 1, "FLOAT")]  # fmt: skip
    cut = tmp_path / "cut.wav"
    cut.write_bytes(paths[0].read_bytes()[: 44 + 8000 * 2])  # 1 s of the 2.5
    flac = tmp_path / "d.flac"
    sf.write(flac, np.zeros(4000), 8000)
    for path in [*paths, cut, flac]:
        assert header_seconds(str(path)) == sf.info(path).duration
    assert header_seconds(str(cut)) == 1.0
    assert audio_durations([str(p) for p in [*paths, cut, flac]]) == [2.5, 1.0, 3.0, 1.0, 0.5]
    (tmp_path / "text.wav").write_text("not audio")
    assert header_seconds(str(tmp_path / "text.wav")) == 0.0

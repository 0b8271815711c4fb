"""Recordings and labels laid out as field recorders and annotators write them: AudioMoth
trees with the same names in every site folder, symlinked folders, Raven multi-file selection
tables, point calls, macOS's AppleDouble files and decomposed (NFD) names."""

import os
import unicodedata
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml
from workflow_helpers import snakemake, tiny_directory_config

from anuraflow.data.annotation_table import native_raven_table, parse_annotation_table
from anuraflow.data.annotations import normalise_annotation_file
from anuraflow.data.discovery import discover, recording_id, table_owners
from anuraflow.data.folders import list_files
from anuraflow.data.label_rows import AnnotationError
from anuraflow.data.raven import parse_raven_table
from anuraflow.data.recordings import parse_recording_name
from anuraflow.data.windows import window_labels, window_starts

CODES = ["SPHSUR", "BOABIS", "BOAFAB", "LEPPOD"]
RATE = 16000
# three recordings Raven played end to end: (folder, file, length in s)
MOTH = [("siteA", "20191113_190000.WAV", 10.0), ("siteA", "20191113_200000.WAV", 7.5)]
MOTH += [("siteB", "20191113_190000.WAV", 12.0)]
RAVEN_HEADER = [
    "Selection",
    "View",
    "Channel",
    "Begin Time (s)",
    "End Time (s)",
    "Low Freq (Hz)",
    "High Freq (Hz)",
    "Begin Path",
    "File Offset (s)",
    "Begin File",
    "Species",
]
# (file index, begin, end on the concatenated timeline, species); the files start at 0, 10, 17.5
CALLS = [(0, 2.0, 3.5, "BOAFAB"), (1, 11.0, 12.0, "SPHSUR"), (1, 15.0, 15.0, "BOAFAB")]
CALLS += [(2, 20.5, 22.5, "LEPPOD")]
FILE_STARTS = [0.0, 10.0, 17.5]
NFD_NAME = unicodedata.normalize("NFD", "Poço_20200101_000000")
NFC_NAME = unicodedata.normalize("NFC", "Poço_20200101_000000")


def _wav(path: Path, seconds: float, rate: int = RATE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    noise = np.random.default_rng(len(str(path))).normal(0, 0.05, int(seconds * rate))
    sf.write(str(path), noise.astype(np.float32), rate, subtype="PCM_16")
    return path


def _raven_multi_file(path: Path, with_path: bool = True) -> Path:
    """A Raven Pro multi-file table over MOTH, written by hand: Begin/End Time on the
    concatenated timeline, each row's file and its File Offset (s)."""
    lines = ["\t".join(RAVEN_HEADER)]
    for n, (k, begin, end, code) in enumerate(CALLS, start=1):
        folder, name, _ = MOTH[k]
        begin_path = f"D:\\moth\\{folder}\\{name}" if with_path else ""
        offset = begin - FILE_STARTS[k]
        for view in ("Spectrogram 1", "Waveform 1"):  # Raven writes each selection per view
            row = [str(n), view, "1", f"{begin:g}", f"{end:g}", "500", "4000", begin_path]
            lines.append("\t".join(row + [f"{offset:g}", name, code]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def _moth_tree(root: Path, outside: Path) -> None:
    """siteA as a folder, siteB a symlink to a folder elsewhere (as on a cluster), macOS's
    AppleDouble twin and .DS_Store beside the WAVs, a link back up the tree."""
    for folder, name, seconds in MOTH:
        base = root if folder == "siteA" else outside
        _wav(base / folder / name, seconds)
    os.symlink(outside / "siteB", root / "siteB")
    (root / "siteA" / "._20191113_190000.WAV").write_bytes(b"\x00\x05\x16\x07AppleDouble")
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / "siteA" / "Thumbs.db").write_bytes(b"\xd0\xcf")
    os.symlink(root, root / "siteA" / "back_up")  # a cycle: walked once


# --- unit tests: names, folders, tables, point calls -------------------------------------


@pytest.mark.parametrize(
    "name, site, start",
    [
        ("INCT20955_20190904_003000", "INCT20955", datetime(2019, 9, 4, 0, 30)),
        ("20191113_190000", None, datetime(2019, 11, 13, 19, 0)),  # AudioMoth
        ("S4A01234_20190904_003000+0100", "S4A01234", datetime(2019, 9, 4, 0, 30)),
        ("SMM07_20200301_053000-0300", "SMM07", datetime(2020, 3, 1, 5, 30)),
        ("20191113_190000Z", None, datetime(2019, 11, 13, 19, 0)),
        ("siteA_20191113_190000", "siteA", datetime(2019, 11, 13, 19, 0)),
        ("pond recording 3", None, None),
        ("X_20191399_190000", "X", None),  # month 13: no time, the site still read
    ],
)
def test_recorder_names_give_site_and_clock_time(name, site, start):
    assert parse_recording_name(name) == (site, start)


def test_time_only_names_take_their_folders_and_other_names_keep_theirs():
    assert recording_id(("siteA",), "20191113_190000") == "siteA_20191113_190000"
    assert recording_id(("a", "SD1"), "20191113_190000Z") == "a_SD1_20191113_190000Z"
    assert recording_id((), "20191113_190000") == "20191113_190000"
    assert recording_id(("INCT4",), "INCT4_20190101_000000") == "INCT4_20190101_000000"
    assert recording_id(("pond",), "take 1", "folder_and_name") == "pond_take 1"
    assert recording_id(("pond",), unicodedata.normalize("NFD", "Poço")) == "Poço"


def test_a_folder_walk_follows_symlinks_once_and_ignores_system_files(tmp_path):
    root, outside = tmp_path / "raw", tmp_path / "elsewhere"
    _moth_tree(root, outside)
    listing = list_files(root, (".wav",))
    assert [p.relative_to(root).as_posix() for p in listing.files] == [
        "siteA/20191113_190000.WAV",
        "siteA/20191113_200000.WAV",
        "siteB/20191113_190000.WAV",
    ]
    assert f"{root / 'siteA' / '._20191113_190000.WAV'}: hidden or system file, ignored" in (
        listing.ignored
    )
    assert any("back_up: the same folder as" in note for note in listing.ignored)


def test_audiomoth_tree_gives_one_id_per_file_stable_when_a_folder_is_added(tmp_path):
    root = tmp_path / "raw"
    _moth_tree(root, tmp_path / "elsewhere")
    before = discover(root, None).sources
    assert sorted(before) == [
        "siteA_20191113_190000",
        "siteA_20191113_200000",
        "siteB_20191113_190000",
    ]
    assert before["siteB_20191113_190000"].audio == str(root / "siteB/20191113_190000.WAV")
    _wav(root / "siteC" / "20191113_190000.WAV", 4.0)
    after = discover(root, None).sources
    assert set(after) - set(before) == {"siteC_20191113_190000"}
    assert all(after[r] == before[r] for r in before)


def test_a_raven_multi_file_table_times_each_call_within_its_own_file(tmp_path):
    table = _raven_multi_file(tmp_path / "all.txt")
    df, _ = parse_raven_table(
        table, "siteA_20191113_200000", files=("D:\\moth\\siteA\\20191113_200000.WAV",)
    )
    assert df["start_s"].tolist() == [1.0, 5.0] and df["end_s"].tolist() == [2.0, 5.0]
    assert df["species"].tolist() == ["SPHSUR", "BOAFAB"]
    assert df["source_line"].tolist() == [4, 6]  # the spectrogram rows, lines of the table
    audio = {
        f"{folder}_{Path(name).stem}": Path("/data") / folder / name for folder, name, _ in MOTH
    }
    owned, orphans = table_owners(table, audio)
    assert (
        owned == {f"{f}_{Path(n).stem}": [f"D:\\moth\\{f}\\{n}"] for f, n, _ in MOTH}
        and orphans == []
    )
    # without Begin Path, a name shared by two site folders cannot be placed: an error
    bare = _raven_multi_file(tmp_path / "bare.txt", with_path=False)
    with pytest.raises(ValueError, match=r"bare.txt:2: '20191113_190000.WAV' could be any of"):
        table_owners(bare, audio)


def test_a_multi_file_table_under_a_recording_name_or_any_name_is_read_natively(tmp_path):
    audio, labels = tmp_path / "raw", tmp_path / "labels"
    _moth_tree(audio, tmp_path / "elsewhere")
    # Raven names a saved table after the first file it opened
    table = _raven_multi_file(labels / "siteA" / "20191113_190000.Table.1.selections.txt")
    (labels / "README.txt").write_text("Annotated by J. Doe, 2020.\n")
    found = discover(audio, labels)
    assert {r: s.annotation for r, s in found.sources.items()} == {
        r: str(table) for r in found.sources
    }
    assert found.sources["siteB_20191113_190000"].table_files == (
        "D:\\moth\\siteB\\20191113_190000.WAV",
    )
    assert f"{labels / 'README.txt'}: neither named after a recording nor a label table, " in (
        "".join(found.ignored)
    )


def test_annotation_table_refuses_the_concatenated_times_and_names_the_right_columns(tmp_path):
    table = _raven_multi_file(tmp_path / "all.txt")
    assert native_raven_table(table, {"start": "start", "end": "end"})  # the defaults: native
    columns = {"recording": "Begin File", "start": "Begin Time (s)", "end": "End Time (s)"}
    columns["label"] = "Species"
    with pytest.raises(AnnotationError, match=r"all.txt:1: a Raven multi-file .*File Offset \(s\)"):
        native_raven_table(table, columns)
    with pytest.raises(AnnotationError, match="File Offset"):
        parse_annotation_table(table, "20191113_200000", columns)


@pytest.mark.parametrize("rule", ["overlap", "anuraset"])
def test_a_point_call_marks_the_windows_containing_its_time_edges_included(rule):
    starts = window_starts(10.0, 3.0, 1.0)  # 0 .. 7
    for t, expected in [(3.0, [0, 1, 2, 3]), (0.0, [0]), (10.0, [7]), (5.0, [2, 3, 4, 5])]:
        calls = pd.DataFrame({"start_s": [t], "end_s": [t], "species": ["BOAFAB"]})
        labels = window_labels(starts, 3.0, calls, CODES, min_overlap_s=0.5, rule=rule)
        assert np.flatnonzero(labels[:, 2]).tolist() == expected, (t, rule)
    # the overlap rule on a point between whole seconds: the windows whose span holds it
    calls = pd.DataFrame({"start_s": [4.5], "end_s": [4.5], "species": ["BOAFAB"]})
    labels = window_labels(starts, 3.0, calls, CODES)
    assert np.flatnonzero(labels[:, 2]).tolist() == [2, 3, 4]


def test_a_point_call_is_kept_with_a_note(tmp_path):
    path = tmp_path / "r.txt"
    path.write_text("4.5\t4.5\tBOAFAB_M\n6\t7\tSPHSUR_M\n")
    record = normalise_annotation_file(path, "r", tmp_path / "r.parquet", CODES)
    assert record["n_calls"] == 2
    assert record["notes"] == [
        f"{path}:1: a point call at 4.5 s (start = end); it marks every window containing that time"
    ]


def test_decomposed_and_composed_names_pair(tmp_path):
    _wav(tmp_path / f"{NFD_NAME}.wav", 4.0)
    (tmp_path / f"{NFC_NAME}.txt").write_text("0.5\t1.5\tSPHSUR_M\n")
    found = discover(tmp_path, tmp_path)
    assert list(found.sources) == [NFC_NAME]
    assert found.sources[NFC_NAME].annotation == str(tmp_path / f"{NFC_NAME}.txt")
    assert found.orphans == []


# --- the workflow on such a tree -----------------------------------------------------------


def _expected_windows() -> dict[str, dict[str, list[int]]]:
    """Window starts per recording and species, worked by hand from CALLS (overlap rule;
    the point call at 5.0 s of siteA/200000 marks [2,5], [3,6] and [4,7])."""
    return {
        "siteA_20191113_190000": {"BOAFAB": [0, 1, 2, 3]},
        "siteA_20191113_200000": {"SPHSUR": [0, 1], "BOAFAB": [2, 3, 4]},
        "siteB_20191113_190000": {"LEPPOD": [1, 2, 3, 4]},
        NFC_NAME: {"SPHSUR": [0, 1]},
    }


def _layout_workdir(base: Path, data: dict) -> Path:
    work = base
    _moth_tree(work / "data" / "raw", base / "elsewhere")
    _wav(work / "data" / "raw" / f"{NFD_NAME}.wav", 4.0)
    labels = work / "data" / "labels"
    _raven_multi_file(labels / "moth selections.txt")
    (labels / f"{NFC_NAME}.txt").write_text("0.5\t1.5\tSPHSUR_M\n")
    (labels / "README.txt").write_text("Labels by the field team.\n")
    (labels / "._moth selections.txt").write_bytes(b"\x00\x05\x16\x07")
    config = tiny_directory_config(CODES, data=data)
    (work / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    (work / "experiments").mkdir()
    tiny = {"name": "tiny", "model": "small_cnn", "seeds": [0], "epochs": 1, "batch_size": 16}
    (work / "experiments" / "tiny.yaml").write_text(yaml.safe_dump(tiny))
    return work


@pytest.mark.workflow
@pytest.mark.parametrize("route", ["label_folder", "annotation_table"])
def test_workflow_windows_of_an_audiomoth_tree_with_a_multi_file_table(tmp_path, route):
    data = {"source": "directory", "audio_dir": "data/raw", "annotation_dir": "data/labels"}
    if route == "annotation_table":
        data = {
            "source": "directory",
            "audio_dir": "data/raw",
            "annotation_table": {"path": "data/labels/moth selections.txt"},
            "require_annotations": False,
        }
    work = _layout_workdir(tmp_path, data)
    snakemake(work, "results/windows.parquet", "results/recordings.parquet")
    windows = pd.read_parquet(work / "results" / "windows.parquet")
    expected = _expected_windows()
    if route == "annotation_table":
        expected[NFC_NAME] = {}  # the table does not name it: no calls
    assert sorted(windows["recording_id"].unique()) == sorted(expected)
    for rec, by_species in expected.items():
        mine = windows[windows["recording_id"] == rec]
        for code in CODES:
            got = mine.loc[mine[code] == 1, "start_s"].astype(int).tolist()
            assert got == by_species.get(code, []), (rec, code)
    manifest = pd.read_parquet(work / "results" / "recordings.parquet").set_index("recording_id")
    assert manifest.loc["siteB_20191113_190000", "site"] == "siteB"
    assert manifest.loc["siteA_20191113_200000", "start_datetime"] == datetime(2019, 11, 13, 20)
    assert manifest.loc[NFC_NAME, "site"] == "Poço"
    notes = "\n".join(manifest.loc["siteA_20191113_200000", "notes"])
    assert "a point call at 5 s (start = end)" in notes


def test_the_report_names_untimed_recordings_once_and_lists_ignored_files():
    from anuraflow.report.data_tables import input_checks

    manifest = pd.DataFrame(
        {
            "recording_id": ["siteA_20191113_190000", "pond take 1", "pond take 2"],
            "status": "ok",
            "annotation_status": "ok",
            "notes": [[], [], []],
            "start_datetime": pd.to_datetime([datetime(2019, 11, 13, 19), None, None]),
        }
    )
    checks = input_checks(manifest, [], ["raw/._a.wav: hidden or system file, ignored"])
    assert checks["remarks"] == [
        "2 of 3 recordings have no start date and time in their name (e.g. pond take 1, "
        "pond take 2), so no hour of day; a name ending YYYYMMDD_HHMMSS gives one "
        "(docs/real-data.md)."
    ]
    assert (
        "Files ignored by name (system files, other text)",
        ["raw/._a.wav: hidden or system file, ignored"],
    ) in checks["lists"]
    timed = manifest.iloc[:1]
    assert input_checks(timed, [], [])["remarks"] == []


def test_a_latin1_readme_in_the_label_folder_is_ignored_not_fatal(tmp_path):
    _wav(tmp_path / "a.wav", 4.0)
    (tmp_path / "a.txt").write_text("0.5\t1.5\tSPHSUR_M\n")
    (tmp_path / "LEIAME.txt").write_bytes("Gravações da lagoa\n".encode("latin-1"))
    found = discover(tmp_path, tmp_path)
    assert found.sources["a"].annotation == str(tmp_path / "a.txt")
    assert found.ignored == [
        f"{tmp_path / 'LEIAME.txt'}: neither named after a recording nor a label table, ignored"
    ]


def test_a_begin_path_from_another_machine_still_places_a_unique_name(tmp_path):
    table = _raven_multi_file(tmp_path / "all.txt")
    text = table.read_text().replace("D:\\moth\\siteA\\20191113_200000", "E:\\x\\20191113_200000")
    table.write_text(text)
    audio = {f"{f}_{Path(n).stem}": Path("/data") / f / n for f, n, _ in MOTH}
    owned, orphans = table_owners(table, audio)
    assert owned["siteA_20191113_200000"] == ["E:\\x\\20191113_200000.WAV"] and not orphans
    # a shared name whose folder matches no recording's cannot be placed: an error
    table.write_text(text.replace("D:\\moth\\siteB\\", "E:\\moved\\"))
    with pytest.raises(ValueError, match=r"all.txt:8: 'E:\\\\moved\\\\20191113_190000.WAV'"):
        table_owners(table, audio)


def test_one_raven_table_beside_each_audiomoth_file_is_placed_by_its_folder(tmp_path):
    """Raven's Begin File and File Offset (s) measurements in a table per recording, saved
    next to it: the same file name in two site folders, told apart by the table's folder."""
    root = tmp_path / "raw"
    _moth_tree(root, tmp_path / "elsewhere")
    for folder, name, _ in MOTH:
        table = root / folder / f"{Path(name).stem}.Table.1.selections.txt"
        row = ["1", "Spectrogram 1", "1", "2", "3", "500", "4000", "", "2", name, "BOAFAB"]
        table.write_text("\t".join(RAVEN_HEADER) + "\n" + "\t".join(row) + "\n")
    found = discover(root, root)
    for folder, name, _ in MOTH:
        rec = f"{folder}_{Path(name).stem}"
        assert found.sources[rec].annotation == str(
            root / folder / f"{Path(name).stem}.Table.1.selections.txt"
        )
        assert found.sources[rec].table_files == (name,)
    assert found.orphans == []


def test_a_raven_table_over_several_files_without_file_offsets_is_refused(tmp_path):
    header = ["Selection", "View", "Channel", "Begin Time (s)", "End Time (s)", "Begin File"]
    rows = [
        ["1", "Spectrogram 1", "1", "2", "3", "a.wav"],
        ["2", "Spectrogram 1", "1", "12", "13", "b.wav"],
    ]
    path = tmp_path / "a.Table.1.selections.txt"
    path.write_text(
        "\n".join(["\t".join(header + ["Species"])] + ["\t".join(r + ["BOAFAB"]) for r in rows])
    )
    with pytest.raises(AnnotationError, match=r"selections.txt:3: a Raven table over 2 files"):
        parse_raven_table(path, "a")


def test_labels_beside_the_audio_note_each_ignored_file_once(tmp_path):
    root = tmp_path / "raw"
    _moth_tree(root, tmp_path / "elsewhere")
    found = discover(root, root)  # annotation_dir defaults to audio_dir: one folder, two walks
    assert len(found.ignored) == len(set(found.ignored))
    assert sum("back_up: the same folder as" in note for note in found.ignored) == 1


def test_the_report_counts_the_rows_of_ignored_codes():
    from anuraflow.report.data_tables import input_checks

    notes = [["a.txt:2: 'UNK' is in data.ignore_codes; dropped",
              "a.txt:3: BOAFAB_FALSE marks a call to ignore; dropped"],
             ["b.txt:5: 'UNK' is in data.ignore_codes; dropped",
              "b.txt:6: '?' is in data.ignore_codes; dropped"], []]  # fmt: skip
    manifest = pd.DataFrame({"recording_id": ["a_20240301_190000", "b_20240301_190100", "c"],
                             "status": "ok", "annotation_status": "ok", "notes": notes,
                             "start_datetime": pd.to_datetime([datetime(2024, 3, 1, 19),
                                                               datetime(2024, 3, 1, 19, 1),
                                                               None])})  # fmt: skip
    remarks = input_checks(manifest, [])["remarks"]
    assert remarks[-1] == "Label rows of data.ignore_codes dropped: ? 1, UNK 2 (listed below)."
    lists = dict(input_checks(manifest, [])["lists"])
    listed = lists["Adjusted or dropped annotation rows and other notes"]
    assert len(listed) == 4  # every row still listed with its file and line

import pandas as pd
import pytest

from anuraflow.data.annotations import (
    check_species,
    normalise_annotation_file,
    read_annotation_file,
)
from anuraflow.data.audacity import parse_audacity_labels
from anuraflow.data.label_rows import AnnotationError, LabelCodes, split_code_quality
from anuraflow.data.raven import parse_raven_table

RAVEN = "MSD-0003_20180427_2minstart00.Table.1.selections.txt"


def test_real_raven_table_blank_label_fails_with_line(real_data):
    with pytest.raises(AnnotationError) as err:
        parse_raven_table(real_data / RAVEN, "MSD-0003")
    assert err.value.line == 11
    assert f"{RAVEN}:11: blank species label" in str(err.value)


def test_real_raven_table_skip_blank(real_data):
    df, skipped = parse_raven_table(real_data / RAVEN, "MSD-0003", on_blank_label="skip")
    assert len(df) == 9
    assert df["species"].tolist() == [
        "WOTH",
        "EATO",
        "WOTH",
        "WOTH",
        "EATO",
        "EATO",
        "WOTH",
        "LOWA",
        "EATO",
    ]
    assert df["source_line"].tolist() == list(range(2, 11))
    first = df.iloc[0]
    assert first["start_s"] == 1.897648165999982
    assert first["end_s"] == 4.110570810999974
    assert first["low_freq_hz"] == 1326.3 and first["high_freq_hz"] == 3266.5
    assert first["quality"] is None
    assert skipped == [f"{real_data / RAVEN}:11: blank species label, row skipped"]


def test_real_raven_annotation_column(real_data):
    df, skipped = read_annotation_file(real_data / "raven_with_Annotation_col.txt", "x")
    assert skipped == []
    assert df["species"].tolist() == ["CSWA"]
    assert df["start_s"].tolist() == [1.897648165999982]
    assert df["high_freq_hz"].tolist() == [3266.5]


def test_real_empty_raven_table(real_data):
    df, _ = read_annotation_file(real_data / "EmptyExample.Table.1.selections.txt", "x")
    assert len(df) == 0
    assert list(df.columns)[:4] == ["recording_id", "start_s", "end_s", "species"]


def test_audacity_labels_with_bom_crlf_and_frequency_line(tmp_path):
    path = tmp_path / "INCT4_20190101_000000.txt"
    path.write_bytes(
        "\ufeff0.5\t2.25\tBOAFAB_M\r\n\\\t400.0\t1800.5\r\n3\t4\tSPHSUR_h\r\n\r\n5\t6\tLEPLAT".encode()
    )
    df = parse_audacity_labels(path, "INCT4_20190101_000000")
    assert df["species"].tolist() == ["BOAFAB", "SPHSUR", "LEPLAT"]
    assert df["quality"].tolist() == ["M", "H", None]
    assert df["start_s"].tolist() == [0.5, 3.0, 5.0]
    assert df["low_freq_hz"].iloc[0] == 400.0 and df["high_freq_hz"].iloc[0] == 1800.5
    assert df["source_line"].tolist() == [1, 3, 5]
    assert (df["source_file"] == str(path)).all()


def test_unknown_species_named_with_line(tmp_path):
    path = tmp_path / "r.txt"
    path.write_text("0\t1\tBOAFAB_M\n1\t2\tBOAFOB_M\n")
    df = parse_audacity_labels(path, "r")
    with pytest.raises(AnnotationError, match=r"r.txt:2: unknown species code 'BOAFOB'"):
        check_species(df, ["BOAFAB"])


def test_normalise_writes_parquet(tmp_path):
    path = tmp_path / "r.txt"
    path.write_text("0\t1\tBOAFAB_M\n")
    out = tmp_path / "out.parquet"
    record = normalise_annotation_file(path, "r", out, ["BOAFAB"])
    assert record["status"] == "ok" and record["notes"] == [] and record["n_calls"] == 1
    assert len(record["annotation_sha256"]) == 64
    df = pd.read_parquet(out)
    assert df[["recording_id", "species", "quality", "source_line"]].values.tolist() == [
        ["r", "BOAFAB", "M", 1]
    ]


def test_split_code_quality():
    assert split_code_quality("BOAFAB_M") == ("BOAFAB", "M")
    assert split_code_quality("BOAFAB") == ("BOAFAB", None)
    assert split_code_quality("BOAFAB_FALSE") == ("BOAFAB", "FALSE")
    assert split_code_quality("BOAFAB_m") == ("BOAFAB", "M")
    # only a suffix that is a quality is split off: the user's codes stay as written
    assert split_code_quality("SOME_CODE") == ("SOME_CODE", None)
    assert split_code_quality("Rana_catesbeiana") == ("Rana_catesbeiana", None)
    assert split_code_quality("LITH_CAT") == ("LITH_CAT", None)
    assert split_code_quality("Rana_catesbeiana_M") == ("Rana_catesbeiana", "M")
    assert split_code_quality("A_B_C") == ("A_B_C", None)
    assert split_code_quality("BOAFAB_M2") == ("BOAFAB_M2", None)
    assert split_code_quality("_M") == ("_M", None)  # nothing left for a code
    # the config's own qualities
    assert split_code_quality("LITH_CAT", frozenset({"CAT"})) == ("LITH", "CAT")
    assert split_code_quality("BOAFAB_M", frozenset()) == ("BOAFAB_M", None)


def test_false_calls_are_dropped_with_a_note(tmp_path):
    path = tmp_path / "r.txt"
    path.write_text("0\t1\tBOAFAB_M\n1\t2\tBOAFAB_FALSE\n2\t3\tLEPPOD_LALSE\n3\t4\tLEPPOD_MH\n")
    out = tmp_path / "out.parquet"
    # MH is no quality by default: LEPPOD_MH is a code as written, unknown here
    with pytest.raises(AnnotationError, match=r"r.txt:4: unknown species code 'LEPPOD_MH'"):
        normalise_annotation_file(path, "r", out, ["BOAFAB", "LEPPOD"])
    # named as a quality in the config (data.qualities), it is split off
    codes = LabelCodes(frozenset({"M", "MH", "FALSE", "LALSE"}))
    record = normalise_annotation_file(path, "r", out, ["BOAFAB", "LEPPOD"], codes=codes)
    assert record["status"] == "ok" and record["n_calls"] == 2
    assert record["notes"] == [
        f"{path}:2: BOAFAB_FALSE marks a call to ignore; dropped",
        f"{path}:3: LEPPOD_LALSE marks a call to ignore; dropped",
    ]
    df = pd.read_parquet(out)
    assert df[["species", "quality", "source_line"]].values.tolist() == [
        ["BOAFAB", "M", 1],
        ["LEPPOD", "MH", 4],
    ]


def test_codes_stay_as_written_and_ignored_codes_are_dropped_and_counted(tmp_path):
    """A field team's Raven table: codes with underscores, an UNK row and a '?' row."""
    path = tmp_path / "r.Table.1.selections.txt"
    header = "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\t" \
             "High Freq (Hz)\tSpecies"
    rows = ["1\tSpectrogram 1\t1\t0.5\t2.0\t100\t2000\tRana_catesbeiana",
            "2\tSpectrogram 1\t1\t3.0\t4.0\t100\t2000\tLITH_CAT",
            "3\tSpectrogram 1\t1\t5.0\t6.0\t100\t2000\tLITH_SYL_M",
            "4\tSpectrogram 1\t1\t7.0\t8.0\t100\t2000\tUNK",
            "5\tSpectrogram 1\t1\t9.0\t9.5\t100\t2000\t?"]  # fmt: skip
    path.write_text("\n".join([header, *rows]) + "\n")
    out = tmp_path / "out.parquet"
    known = ["Rana_catesbeiana", "LITH_CAT", "LITH_SYL"]
    with pytest.raises(AnnotationError, match=r":5: unknown species code 'UNK'"):
        normalise_annotation_file(path, "r", out, known)
    codes = LabelCodes(ignore_codes=frozenset({"UNK", "?"}))
    record = normalise_annotation_file(path, "r", out, known, codes=codes)
    df = pd.read_parquet(out)
    assert df[["species", "quality"]].values.tolist() == [
        ["Rana_catesbeiana", None], ["LITH_CAT", None], ["LITH_SYL", "M"]]  # fmt: skip
    assert record["notes"] == [f"{path}:5: 'UNK' is in data.ignore_codes; dropped",
                               f"{path}:6: '?' is in data.ignore_codes; dropped"]  # fmt: skip


def test_species_from_labels_keep_codes_count_ignored_rows_and_name_look_alikes(tmp_path):
    from anuraflow.data.species import look_alike_codes, species_in_labels

    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("0\t1\tLITH_CAT\n1\t2\tUNK\n2\t3\tUNK\n3\t4\tRana_catesbeiana_H\n")
    b.write_text("0\t1\tlith_cat\n1\t2\tLITH_SYL\n2\t3\tnoise\n")
    codes = LabelCodes(ignore_codes=frozenset({"UNK", "noise"}))
    counts, unreadable, dropped = species_in_labels({"a": str(a), "b": str(b)}, codes=codes)
    assert counts == {"LITH_CAT": 1, "LITH_SYL": 1, "Rana_catesbeiana": 1, "lith_cat": 1}
    assert dropped == {"UNK": 2, "noise": 1} and unreadable == []
    assert look_alike_codes(list(counts)) == [["LITH_CAT", "lith_cat"]]
    assert look_alike_codes(["A B", "AB", "ab ", "C"]) == [["A B", "AB", "ab "]]
    assert look_alike_codes(["LITH_CAT", "LITH_SYL"]) == []


def test_annotation_table_rows_of_one_recording(tmp_path):
    from anuraflow.data.annotation_table import parse_annotation_table, table_recordings

    path = tmp_path / "labels.csv"
    path.write_text(
        "file,begin,stop,tag\n"
        "INCT4_20190101_000000.wav,0.5,1.5,BOAFAB_M\n"
        "INCT4_20190102_000000.wav,2,3,LEPPOD_M\n"
        "INCT4_20190101_000000.wav,4,5.25,LEPPOD_FALSE\n"
    )
    columns = {"recording": "file", "start": "begin", "end": "stop", "label": "tag"}
    assert table_recordings(path, columns) == {"INCT4_20190101_000000", "INCT4_20190102_000000"}
    df = parse_annotation_table(path, "INCT4_20190101_000000", columns)
    assert df[["start_s", "end_s", "species", "quality", "source_line"]].values.tolist() == [
        [0.5, 1.5, "BOAFAB", "M", 2],
        [4.0, 5.25, "LEPPOD", "FALSE", 4],
    ]
    assert parse_annotation_table(path, "INCT4_20190109_000000", columns).empty
    out = tmp_path / "out.parquet"
    record = normalise_annotation_file(
        path, "INCT4_20190101_000000", out, ["BOAFAB", "LEPPOD"], table_columns=columns
    )
    assert record["n_calls"] == 1 and record["notes"] == [
        f"{path}:4: LEPPOD_FALSE marks a call to ignore; dropped"
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("file,begin,stop,tag\nINCT4_20190101_000000.wav,one,2,BOAFAB_M\n")
    with pytest.raises(AnnotationError, match=r"bad.csv:2: start time 'one' is not a number"):
        parse_annotation_table(bad, "INCT4_20190101_000000", columns)
    with pytest.raises(AnnotationError, match=r"bad.csv:1: no column 'fname'"):
        parse_annotation_table(bad, "INCT4_20190101_000000", {})

"""A recording's site and start time as recorders write them: dated folders are not sites, the
config's site rules (a folder depth, a regular expression), the names' time zone, and the
errors that name the file or the key."""

from datetime import datetime

import pytest

from anuraflow.data.recorder_names import RecorderNames
from anuraflow.data.recordings import recording_site

MOTH = "data/raw/moth01/20240301/20240301_190000.WAV"


def test_a_recorders_dated_folders_are_not_its_site():
    # AudioMoth: the id takes the folders as a prefix, the site drops the dates
    assert recording_site("moth01_20240301_20240301_190000", MOTH) == "moth01"
    assert recording_site("moth01_20240301_190000", "raw/moth01/20240301_190000.WAV") == "moth01"
    # nothing but a date names it: the nearest folder above that is not a date
    assert recording_site("20240301_20240301_190000",
                          "season/moth02/20240301/20240301_190000.WAV") == "moth02"  # fmt: skip
    # AnuraSet and Song Meter names keep their prefix; a name without a time, its folder
    assert recording_site("INCT20955_20190904_003000", "x/INCT20955_20190904_003000.wav") == (
        "INCT20955"
    )
    assert recording_site("pond take 3", "data/pond/pond take 3.wav") == "pond"


def test_site_rules_from_the_config():
    assert RecorderNames("folder:2").site_of("x", MOTH) == "moth01"
    assert RecorderNames("folder:1").site_of("x", MOTH) == "20240301"
    assert RecorderNames(r"raw/(?P<site>[^/]+)/").site_of("x", MOTH) == "moth01"
    with pytest.raises(ValueError, match=r"20240301_190000.WAV: data.site .* matches nothing"):
        RecorderNames(r"season/(?P<site>[^/]+)/").site_of("x", MOTH)
    with pytest.raises(ValueError, match="no folder 9 above it"):
        RecorderNames("folder:9").site_of("x", MOTH)
    with pytest.raises(ValueError, match="has no group named site"):
        RecorderNames(r"raw/([^/]+)/")
    with pytest.raises(ValueError, match="is not a regular expression"):
        RecorderNames(r"raw/(?P<site>[^/]+/")
    with pytest.raises(ValueError, match="folder:N, N a number"):
        RecorderNames("folder:two")


def test_the_names_clock_is_converted_once():
    """AudioMoth writes UTC: 01:00 UTC on 2 March is 22:00 on 1 March in Sao Paulo (UTC-3), so
    the recording belongs to the night of 1 March."""
    names = RecorderNames.from_config({"time_zone": {"names": "UTC",
                                                     "local": "America/Sao_Paulo"}})  # fmt: skip
    assert names.start_of("moth01_20240302_010000") == datetime(2024, 3, 1, 22, 0)
    assert RecorderNames().start_of("moth01_20240302_010000") == datetime(2024, 3, 2, 1, 0)
    assert names.start_of("pond take 3") is None
    with pytest.raises(ValueError, match=r"data.time_zone.local: 'Mars/Olympus' is not a time"):
        RecorderNames(names_tz="UTC", local_tz="Mars/Olympus")
    with pytest.raises(ValueError, match="give both names"):
        RecorderNames(names_tz="UTC")

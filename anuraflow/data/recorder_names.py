"""Where and when a recording was made, as the config says to read its path: the site rule
(`data.site`) and the time zone its name's clock is in (`data.time_zone`). Ingest and
predict read a recording's site and start time through one `RecorderNames`, so the manifest,
detections.csv and the activity tables agree."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from anuraflow.data.folders import nfc
from anuraflow.data.recordings import parse_recording_name, recording_site


@dataclass(frozen=True)
class RecorderNames:
    """`site`: "auto" (the name's site, a dated folder's date dropped, else the folder;
    `recording_site`), "folder:N" (the N-th folder above the file: 1 its own, 2 the one above),
    or a regular expression with a group `site`, searched in the file's path. `names_tz`: the
    zone the names' clock is in (AudioMoth writes UTC), `local_tz` the zone every table reports;
    both None: times as written."""

    site: str = "auto"
    names_tz: str | None = None
    local_tz: str | None = None

    def __post_init__(self):
        if self.site != "auto" and not self.site.startswith("folder:"):
            try:
                pattern = re.compile(self.site)
            except re.error as err:
                raise ValueError(f"data.site: {self.site!r} is not a regular expression "
                                 f"({err})") from None  # fmt: skip
            if "site" not in pattern.groupindex:
                raise ValueError(f"data.site: {self.site!r} has no group named site, e.g. "
                                 "(?P<site>[^/]+)/\\d{8}/")  # fmt: skip
        if self.site.startswith("folder:") and not self.site[7:].isdigit():
            raise ValueError(f"data.site: {self.site!r}: folder:N, N a number (1: the file's "
                             "own folder)")  # fmt: skip
        for key, zone in (("names", self.names_tz), ("local", self.local_tz)):
            if zone is not None:
                try:
                    ZoneInfo(zone)
                except (ZoneInfoNotFoundError, ValueError):
                    raise ValueError(f"data.time_zone.{key}: {zone!r} is not a time zone "
                                     "(e.g. UTC, America/Sao_Paulo)") from None  # fmt: skip
        if (self.names_tz is None) != (self.local_tz is None):
            raise ValueError("data.time_zone: give both names (the zone of the file names' "
                             "clock) and local (the zone to report in), or neither")  # fmt: skip

    @classmethod
    def from_config(cls, data: dict) -> RecorderNames:
        zone = data.get("time_zone") or {}
        return cls(data.get("site", "auto"), zone.get("names"), zone.get("local"))

    def site_of(self, recording_id: str, path: str | Path) -> str:
        """The recording's site; ValueError naming the file where the rule finds none."""
        if self.site == "auto":
            return recording_site(recording_id, path)
        if self.site.startswith("folder:"):
            depth = int(self.site[7:])
            folders = Path(path).parents
            if depth < 1 or depth > len(folders) or not folders[depth - 1].name:
                raise ValueError(f"{path}: data.site {self.site!r}: no folder {depth} above it")
            return nfc(folders[depth - 1].name)
        found = re.search(self.site, Path(path).as_posix())
        if not found or not found["site"]:
            raise ValueError(f"{path}: data.site {self.site!r} matches nothing in its path")
        return nfc(found["site"])

    def start_of(self, recording_id: str) -> datetime | None:
        """The start time the name gives, in `local_tz` where the names are in `names_tz`
        (as a wall-clock time without zone), else as written."""
        _, start = parse_recording_name(recording_id)
        if start is None or self.names_tz is None:
            return start
        moment = start.replace(tzinfo=ZoneInfo(self.names_tz))
        return moment.astimezone(ZoneInfo(self.local_tz)).replace(tzinfo=None)


DEFAULT_NAMES = RecorderNames()

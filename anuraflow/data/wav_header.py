"""What a WAV file's header promises, read without decoding: its sample rate and the frames its
data chunk declares. libsndfile clamps a file cut short (a card pulled mid-write, a copy
stopped) to the frames present and says nothing; comparing the two tells a truncated
recording from a short one. Also the cheapest way to a WAV's duration when planning an
archive of 100,000 files."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

STREAMING_SIZE = 0xFFFFFFFF  # a data chunk written while recording, its size never filled in


@dataclass(frozen=True)
class WavHeader:
    sample_rate: int
    block_align: int  # bytes per frame
    data_offset: int  # where the samples start
    data_bytes: int  # what the data chunk declares

    @property
    def promised_frames(self) -> int:
        return self.data_bytes // self.block_align

    def present_frames(self, file_size: int) -> int:
        """The frames the file holds: the declared ones, or fewer where it ends first."""
        return max(0, min(self.data_bytes, file_size - self.data_offset)) // self.block_align


def read_wav_header(path: str | Path, limit: int = 1 << 16) -> WavHeader | None:
    """The header of a RIFF/WAVE file (PCM, float or extensible), walking its chunks within the
    first `limit` bytes; None for anything else (another format, RF64, a streaming size, a
    header cut off), which the caller then leaves to libsndfile."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(limit)
    except OSError:
        return None
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, rate, align = 12, None, None
    while pos + 8 <= len(head):
        chunk, size = head[pos : pos + 4], struct.unpack_from("<I", head, pos + 4)[0]
        if chunk == b"fmt " and pos + 8 + 14 <= len(head):
            _, _, rate, _, align = struct.unpack_from("<HHIIH", head, pos + 8)
        elif chunk == b"data":
            if rate is None or not align or size == STREAMING_SIZE:
                return None
            return WavHeader(rate, align, pos + 8, size)
        pos += 8 + size + (size & 1)  # chunks are padded to an even size
    return None


def truncation_note(path: str | Path, frames_read: int) -> str | None:
    """A note where `path` is a WAV whose header promises more frames than `frames_read` (what
    libsndfile gave): the file was cut short. None otherwise."""
    header = read_wav_header(path)
    if header is None or header.promised_frames <= frames_read:
        return None
    promised = header.promised_frames / header.sample_rate
    held = frames_read / header.sample_rate
    return (f"cut short: its header promises {promised:.1f} s, the file holds {held:.1f} s "
            f"({os.path.getsize(path):,} bytes); what is there is used")  # fmt: skip

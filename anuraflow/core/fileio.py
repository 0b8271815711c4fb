"""Atomic file writing: a job killed mid-write must never leave a file a later run trusts."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp makes the file owner-only (0600); give it the mode a plain open() would
        os.chmod(tmp_path, 0o666 & ~UMASK)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# read once: os.umask can only be read by setting it, which would race with other threads
UMASK = _umask()


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks (recordings can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def write_parquet(df: pd.DataFrame, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def json_safe(obj: Any) -> Any:
    """`obj` in plain JSON values: NaN and infinities (an undefined metric, e.g. macro F1 of a
    group with no species) become null, which every JSON reader takes (jq, JavaScript, R
    reject Python's bare NaN); numpy scalars and arrays become Python numbers and lists."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def json_text(obj: Any, **kwargs: Any) -> str:
    """Strict JSON of `obj` (see `json_safe`), indented."""
    return json.dumps(json_safe(obj), indent=2, allow_nan=False, default=str, **kwargs) + "\n"


def write_json(obj: Any, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json_text(obj, sort_keys=True))


def write_text(text: str, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


@contextlib.contextmanager
def redirect_output(log_path: str | os.PathLike | None) -> Iterator[None]:
    """Send stdout and stderr (progress bars, warnings) to a job's log file."""
    if log_path is None:
        yield
        return
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", buffering=1) as log:
        old_out, old_err = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = log
        try:
            yield
        except BaseException:
            traceback.print_exc(file=log)  # the log names the failure; Snakemake re-raises it
            raise
        finally:
            sys.stdout, sys.stderr = old_out, old_err


@contextlib.contextmanager
def job_log(log_path: str | os.PathLike) -> Iterator[Callable[[str], None]]:
    """A job's log for jobs that share their process with other jobs' threads.

    Yields a function that writes one line; an exception is written with its traceback and
    re-raised. Unlike `redirect_output` it leaves sys.stdout alone, which the threads share.
    """
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", buffering=1) as log:
        try:
            yield lambda line: print(line, file=log)
        except BaseException:
            traceback.print_exc(file=log)
            raise


def index_cache_files(
    paths: list[str | os.PathLike],
    out_path: str | os.PathLike,
    describe: Callable[[str], dict],
    threads: int = 1,
) -> pd.DataFrame:
    """One row per per-recording cache, in path order: what `describe(path)` says of it
    (recording_id first), its path, size and sha256 (hashed on `threads` threads)."""
    from concurrent.futures import ThreadPoolExecutor

    paths = sorted(map(str, paths))
    with ThreadPoolExecutor(max(1, threads)) as pool:  # hashlib releases the GIL
        digests = list(pool.map(file_sha256, paths))
    rows = [
        {**describe(path), "path": path, "bytes": Path(path).stat().st_size, "sha256": digest}
        for path, digest in zip(paths, digests, strict=True)
    ]
    index = pd.DataFrame(rows)
    if rows:
        first = ["recording_id", "path"]
        index = index[first + [c for c in index.columns if c not in first]]
    write_parquet(index, out_path)
    return index


VECTOR_META_KEY = b"anuraflow"  # the schema metadata key of a per-recording cache


def write_vector_table(
    path: str | os.PathLike, key: tuple[str, Any], vectors: tuple[str, np.ndarray], meta: dict
) -> None:
    """A per-recording cache: one row per vector, a `key` column (name, values: int32 frame
    or float64 start) and a fixed-size float32 list column (name, [n, dim]), with `meta` as
    JSON under the schema key b"anuraflow"; written atomically. No dictionary (floats never
    repeat) and byte-stream-split floats before zstd: 3.5x faster to write and 26 % smaller
    than pyarrow's defaults (a log-mel cache: 2.9 MB per minute)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (key_name, keys), (name, values) = key, vectors
    flat = pa.array(np.ascontiguousarray(values, dtype=np.float32).reshape(-1))
    table = pa.table(
        {key_name: pa.array(keys), name: pa.FixedSizeListArray.from_arrays(flat, values.shape[1])}
    )
    table = table.replace_schema_metadata({VECTOR_META_KEY: json.dumps(meta).encode()})
    with atomic_path(path) as tmp:
        pq.write_table(
            table,
            tmp,
            compression="zstd",
            use_dictionary=False,
            column_encoding={key_name: "PLAIN", f"{name}.list.element": "BYTE_STREAM_SPLIT"},
        )


def read_vector_table(
    path: str | os.PathLike, name: str, dim_key: str
) -> tuple[Any, np.ndarray, dict]:
    """(the table, its `name` column as [n, meta[dim_key]] float32, the metadata) of a cache
    `write_vector_table` wrote."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[VECTOR_META_KEY])
    values = table.column(name).combine_chunks().values.to_numpy(zero_copy_only=False)
    return table, values.reshape(-1, meta[dim_key]), meta


def read_vector_meta(path: str | os.PathLike) -> dict:
    """The metadata of a cache `write_vector_table` wrote, from its footer alone."""
    import pyarrow.parquet as pq

    return json.loads(pq.read_schema(path).metadata[VECTOR_META_KEY])

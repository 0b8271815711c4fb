"""A warm interpreter for the workflow tests' Snakemake jobs.

Every `snakemake` the tests start, and every `script:` job it runs, would start a fresh
Python and import Snakemake, or torch, pandas and anuraflow, again: about 2 s of CPU for each
Snakemake and 4 s for a training job whose tiny epoch takes one, hundreds of times per suite
(docs/development.md). This server imports them once, then forks a copy of itself for each
process that `sitecustomize.py` (its client) hands over: the copy takes the client's working
directory, environment, arguments and standard streams and runs `python -m snakemake ...` or
`python script.py` as the interpreter would, `__main__` and exit status included. Each is its
own process in its own process group, so its seeds, threads and memory are its own; when its
client dies (killed by a test, or cancelled by Snakemake), the group is killed.

Run as `python tests/warm_jobs/server.py SOCKET` (tests/conftest.py starts one per pytest
process and sets ANURAFLOW_WARM_JOBS=SOCKET); ANURAFLOW_WARM_JOBS=0 before pytest leaves
every job to a fresh interpreter.
"""

from __future__ import annotations

import atexit
import importlib
import io
import json
import os
import random
import re
import runpy
import select
import signal
import socket
import sys
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# what the jobs import beyond anuraflow (torch._dynamo: every optimiser's first step;
# threadpoolctl: each job's thread limits, set_threads)
THIRD_PARTY = (
    "numpy", "pandas", "pyarrow.parquet", "soundfile", "yaml", "jinja2", "torch",
    "torch._dynamo", "torchaudio", "matplotlib.pyplot", "snakemake.script", "snakemake.cli",
    "snakemake.api", "snakemake.dag", "snakemake.persistence", "snakemake.executors.local",
    "snakemake.executors.dryrun", "snakemake.executors.touch",
    "snakemake_executor_plugin_slurm", "snakemake_executor_plugin_slurm_jobstep", "threadpoolctl",
)  # fmt: skip


def job_modules() -> list[str]:
    """The anuraflow modules the workflow's scripts import (read from their source)."""
    found = set()
    for script in sorted((REPO / "workflow" / "scripts").glob("*.py")):
        found |= set(re.findall(r"^\s*from (anuraflow[\w.]*) import", script.read_text(), re.M))
    return sorted(found)


def preload() -> dict[str, str]:
    """Import what the jobs will; returns the modules that failed to import, each with its
    error (left to the jobs, which then fail or fall back as they would in a fresh
    interpreter), and says each on stderr, which the pytest process shows."""
    failed = {}
    for name in (*THIRD_PARTY, *job_modules()):
        try:
            importlib.import_module(name)
        except Exception as err:  # an optional package missing: the job meets it itself
            failed[name] = f"{type(err).__name__}: {err}"
            print(f"warm job server: {name} not preloaded ({failed[name]}): every job that "
                  "imports it pays its import", file=sys.stderr, flush=True)  # fmt: skip
    return failed


def ready_file(address: str) -> Path:
    """Where the server says it is ready and which modules it could not preload, why."""
    return Path(f"{address}.ready.json")


def receive(conn: socket.socket) -> tuple[dict, list[int]]:
    """The client's request (8-byte length, JSON) and its three standard streams."""
    data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
    size = int.from_bytes(data[:8], "big")
    body = data[8:]
    while len(body) < size:
        chunk = conn.recv(size - len(body))
        if not chunk:
            raise ConnectionError("the client went away mid-request")
        body += chunk
    return json.loads(body), fds


def set_threads(env: dict) -> None:
    """The thread counts a fresh interpreter would take from the job's environment
    (Snakemake sets OMP_NUM_THREADS and the BLAS variables to the rule's threads)."""
    threads = env.get("OMP_NUM_THREADS")
    if not (threads and threads.isdigit() and int(threads) > 0):
        return
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(threads))
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(int(threads))
    except ImportError:
        pass


def standard_streams(env: dict) -> None:
    """sys.stdout and sys.stderr as a fresh interpreter would open them on the client's
    streams: unbuffered with PYTHONUNBUFFERED, else line-buffered on a terminal (stderr
    always)."""
    unbuffered = bool(env.get("PYTHONUNBUFFERED"))
    for name, fd in (("stdout", 1), ("stderr", 2)):
        old = getattr(sys, name)
        raw = open(fd, "wb", buffering=0, closefd=False)
        stream = io.TextIOWrapper(
            raw if unbuffered else io.BufferedWriter(raw), encoding=old.encoding,
            errors=old.errors,
            line_buffering=not unbuffered and (name == "stderr" or os.isatty(fd)),
            write_through=unbuffered,
        )  # fmt: skip
        setattr(sys, name, stream)


def run_main(request: dict) -> None:
    """What `python -m module ...` or `python script ...` runs, sys.path[0] included."""
    orig = request["orig_argv"]
    if orig[1] == "-m":
        sys.path[0] = request["cwd"]
        sys.argv = orig[2:]  # runpy puts the module's file in argv[0]
        runpy.run_module(orig[2], run_name="__main__", alter_sys=True)
    else:
        sys.argv = request["argv"]
        sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))
        runpy.run_path(sys.argv[0], run_name="__main__")


def run_job(request: dict, fds: list[int]) -> None:
    """In the forked job process: become the client's `python -m module` or `python script`."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    for sig in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    os.setsid()  # its own group, which the monitor kills when the client goes
    random.seed()  # a fresh interpreter's entropy, not the server's state
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
    set_threads(request["env"])
    standard_streams(request["env"])
    code = 0
    try:
        run_main(request)
    except SystemExit as stop:
        if stop.code is None:
            code = 0
        elif isinstance(stop.code, int):
            code = stop.code
        else:
            print(stop.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def client_gone(conn: socket.socket) -> bool:
    try:
        return not conn.recv(1)  # the client never writes again: readable means closed
    except OSError:
        return True


def kill_group(pid: int) -> None:
    """SIGKILL the job's process group, or the job if it has not made its group yet."""
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
            return
        except ProcessLookupError:
            continue


def watch(conn: socket.socket) -> None:
    """In the forked monitor: start the job, kill it if the client goes, report its status."""
    request, fds = receive(conn)
    pid = os.fork()
    if pid == 0:
        conn.close()
        run_job(request, fds)
    for fd in fds:
        os.close(fd)
    try:
        job = [os.pidfd_open(pid)]  # readable when the job ends (Linux 5.3 and later)
    except (AttributeError, OSError):
        job = []  # older kernels: look every 50 ms
    status = None
    while status is None:
        ready, _, _ = select.select([conn, *job], [], [], None if job else 0.05)
        if conn in ready and client_gone(conn):  # so is the job, with what it started
            kill_group(pid)
            status = os.waitpid(pid, 0)[1]
        elif job and job[0] in ready:
            status = os.waitpid(pid, 0)[1]
        elif not job:
            done, found = os.waitpid(pid, os.WNOHANG)
            status = found if done else None
    try:
        conn.sendall(str(os.waitstatus_to_exitcode(status)).encode())
    except OSError:
        pass
    os._exit(0)


def serve(address: str) -> None:
    failed = preload()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # monitors are reaped as they end
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(address)
    server.listen(128)
    said = json.dumps({"ready": True, "not_preloaded": failed})
    ready_file(address).write_text(said)  # read by tests/test_warm_jobs.py
    print(said, flush=True)
    while True:
        conn, _ = server.accept()
        if os.fork() == 0:
            server.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                watch(conn)
            finally:
                os._exit(1)
        conn.close()


if __name__ == "__main__":
    serve(sys.argv[1])

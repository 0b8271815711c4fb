"""The client half of tests/warm_jobs/server.py, loaded by every Python the tests start
(PYTHONPATH). Snakemake itself (`python -m snakemake`, `.venv/bin/snakemake`) and its
`script:` jobs (`python .snakemake/scripts/tmp*.py`) hand their arguments, working
directory, environment and standard streams to the warm server, which runs them in a fork of
an interpreter that has imported Snakemake, torch, pandas and anuraflow already; this process
waits and exits with their status. Anything else, or no server, starts as usual."""

import os
import sys


def _run_warm(address: str) -> None:
    import json
    import signal
    import socket

    request = json.dumps(
        {"argv": sys.argv, "orig_argv": sys.orig_argv, "cwd": os.getcwd(), "env": dict(os.environ)}
    )
    data = request.encode()
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(address)
        socket.send_fds(client, [len(data).to_bytes(8, "big") + data], [0, 1, 2])
    except OSError:  # no server, or a standard stream closed: this interpreter runs it
        client.close()
        return
    reply = b""
    while chunk := client.recv(64):  # blocks while the job runs
        reply += chunk
    code = int(reply) if reply else 1  # no reply: the server went away
    if code < 0:  # the job died of a signal: so does this process, as Snakemake expects
        try:
            signal.signal(-code, signal.SIG_DFL)
        except (OSError, ValueError):  # SIGKILL and SIGSTOP keep theirs
            pass
        os.kill(os.getpid(), -code)
    os._exit(code)


def _served() -> bool:
    """Snakemake or one of its script jobs, started plainly (no interpreter options)."""
    if sys.orig_argv[1:3] == ["-m", "snakemake"]:
        return True
    first = sys.orig_argv[1] if len(sys.orig_argv) > 1 else ""
    return first == sys.argv[0] and (
        "/.snakemake/scripts/tmp" in first or os.path.basename(first) == "snakemake"
    )


_address = os.environ.get("ANURAFLOW_WARM_JOBS")
if _address and _address != "0" and _served():
    _run_warm(_address)

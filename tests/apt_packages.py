"""Debian packages the tests install as root (SLURM, Chromium), one apt-get at a time.

With pytest-xdist two workers may need packages at once; apt and dpkg hold locks and a second
apt-get would fail at once, so every install here waits on one file lock first."""

import fcntl
import os
import shutil
import subprocess

LOCK = "/tmp/anuraflow-tests-apt.lock"


def apt_install(packages: list[str]) -> str | None:
    """Install `packages` with apt-get (an `apt-get update` and a retry when the first try
    fails); None on success, else why not."""
    if os.geteuid() != 0:
        return f"installing {' '.join(packages)} needs root"
    if shutil.which("apt-get") is None:
        return "there is no apt-get"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if subprocess.run(install, env=env, capture_output=True).returncode == 0:
            return None
        subprocess.run(["apt-get", "update"], env=env, capture_output=True)
        proc = subprocess.run(install, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        return f"apt-get install {' '.join(packages)} failed: {proc.stderr[-500:]}"
    return None

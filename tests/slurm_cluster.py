"""A real one-node SLURM cluster on localhost for the tests: munged, slurmctld and slurmd from
Debian's packages, configured and run from a temporary directory, stopped by pid."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from apt_packages import apt_install

PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]
DAEMONS = ["munged", "slurmctld", "slurmd", "sbatch", "squeue"]


def slurm_installed() -> bool:
    return all(shutil.which(d) or Path(f"/usr/sbin/{d}").exists() for d in DAEMONS)


def install_slurm() -> str | None:
    """Install Debian's SLURM packages when missing; None on success, else why not."""
    if slurm_installed():
        return None
    why_not = apt_install(PACKAGES)
    if why_not:
        return f"SLURM is not installed: {why_not}"
    return None if slurm_installed() else "SLURM packages installed but daemons not found"


def _sbin(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


@dataclass
class SlurmCluster:
    """One node (this machine) in one partition; `env` points the clients at it."""

    root: Path
    cpus: int = field(default_factory=lambda: os.cpu_count() or 1)
    pids: dict[str, int] = field(default_factory=dict)

    @property
    def conf(self) -> Path:
        return self.root / "slurm.conf"

    @property
    def env(self) -> dict[str, str]:
        path = f"{self.root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
        return {**os.environ, "SLURM_CONF": str(self.conf), "PATH": path}

    def _srun_shim(self) -> None:
        """snakemake-executor-plugin-slurm-jobstep (0.6.1) strips every SLURM_* variable but
        the job's ids from the environment of its inner `srun`, SLURM_CONF included. A real
        cluster keeps slurm.conf at /etc/slurm, where srun finds it anyway; this test's
        cluster keeps it in a temporary directory, so a shim first on PATH puts it back."""
        shim = self.root / "bin" / "srun"
        shim.parent.mkdir(parents=True, exist_ok=True)
        srun = shutil.which("srun") or "/usr/bin/srun"
        shim.write_text(f'#!/bin/sh\nSLURM_CONF="{self.conf}" exec "{srun}" "$@"\n')
        shim.chmod(0o755)

    def write_config(self) -> None:
        for sub in ("munge", "state", "spool", "log", "run"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root / "munge", 0o700)
        key = self.root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o400)
        host = socket.gethostname()
        mem_mb = int(int(Path("/proc/meminfo").read_text().split()[1]) / 1024 * 0.9)
        r = self.root
        self.conf.write_text(
            f"""ClusterName=anuraflowtest
SlurmctldHost={host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={r}/munge/munge.socket
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/run/slurmctld.pid
SlurmdPidFile={r}/run/slurmd.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=86400
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
Waittime=0
NodeName={host} CPUs={self.cpus} RealMemory={mem_mb} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""
        )

    def start(self) -> None:
        self.write_config()
        self._srun_shim()
        r = self.root
        subprocess.run(
            [
                _sbin("munged"), "--force",
                f"--key-file={r}/munge/munge.key", f"--socket={r}/munge/munge.socket",
                f"--pid-file={r}/run/munged.pid", f"--log-file={r}/log/munged.log",
                f"--seed-file={r}/munge/munged.seed",
            ],
            check=True, env=self.env,
        )  # fmt: skip
        self.pids["munged"] = self._wait_pid(r / "run" / "munged.pid")
        subprocess.run([_sbin("slurmctld"), "-f", str(self.conf)], check=True, env=self.env)
        self.pids["slurmctld"] = self._wait_pid(r / "run" / "slurmctld.pid")
        subprocess.run([_sbin("slurmd"), "-f", str(self.conf)], check=True, env=self.env)
        self.pids["slurmd"] = self._wait_pid(r / "run" / "slurmd.pid")
        self._wait_idle()

    def _wait_pid(self, path: Path, timeout: float = 30) -> int:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if path.exists() and path.read_text().strip():
                return int(path.read_text().split()[0])
            time.sleep(0.1)
        raise RuntimeError(f"{path} did not appear; see the logs in {self.root / 'log'}")

    def _wait_idle(self, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        out = ""
        while time.time() < deadline:
            out = subprocess.run(
                ["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, env=self.env
            ).stdout.strip()
            if out in ("idle", "mixed", "allocated"):
                return
            time.sleep(0.5)
        raise RuntimeError(f"the node did not come up (sinfo: {out!r}); see {self.root / 'log'}")

    def jobs(self) -> list[dict[str, str]]:
        """Every job slurmctld remembers (MinJobAge is a day): id, state, exit code, comment."""
        out = subprocess.run(
            ["squeue", "-h", "-t", "all", "-o", "%i|%T|%k"],
            capture_output=True, text=True, env=self.env, check=True,
        ).stdout  # fmt: skip
        rows = [line.split("|", 2) for line in out.splitlines() if line.strip()]
        return [{"id": i, "state": s, "comment": c} for i, s, c in rows]

    def stop(self) -> None:
        """SIGTERM the daemons this cluster started, by pid, and wait for them to go."""
        for name in ("slurmd", "slurmctld", "munged"):
            pid = self.pids.pop(name, None)
            if pid is None:
                continue
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            else:
                os.kill(pid, signal.SIGKILL)

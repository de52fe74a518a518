"""A real single-node Slurm for the tests: munged, slurmctld and slurmd started directly, stopped by their PIDs.

    node = start_slurm(folder)   # writes folder/slurm.conf, starts the daemons; SlurmUnavailable says why not
    ...                          # sbatch, squeue, scancel with SLURM_CONF=node.conf
    node.stop()

Needs root and Debian's slurm-wlm and munge (`make slurm` installs them where root and apt-get exist). The
cgroup plugins fail in containers ("cgroup namespace 'freezer' not mounted", the node drains), so processes are
tracked through /proc and tasks are not confined. Ports are picked free, files stay under folder.
"""

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

PROGRAMS = ("munged", "munge", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo")
MUNGE_DIR = Path("/run/munge")
START_TIMEOUT = 30  # seconds for the node to come up idle


class SlurmUnavailable(RuntimeError):
    """Slurm cannot be started on this machine; the message is one line saying why."""


@dataclass
class SlurmNode:
    """A running single-node Slurm: its config (SLURM_CONF), node name and the daemons this process started."""

    folder: Path
    conf: Path
    node: str
    daemons: list = field(default_factory=list)
    munged_pid: int | None = None

    def run(self, *command: str, timeout: float = 30) -> str:
        """A Slurm client command's stdout (sinfo, squeue, scancel ...) against this node."""
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env={**os.environ, "SLURM_CONF": str(self.conf)}
        )
        if done.returncode:
            raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()}")
        return done.stdout

    def stop(self) -> None:
        """Stop the daemons this process started, by PID: slurmd, slurmctld, then munged."""
        for process in reversed(self.daemons):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if self.munged_pid:
            try:
                os.kill(self.munged_pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            self.munged_pid = None


def free_ports(count: int) -> list[int]:
    """count distinct TCP ports nothing listens on now."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def check_machine() -> None:
    """Raise SlurmUnavailable unless this process is root and the Slurm and munge programs are installed."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        raise SlurmUnavailable("starting slurmd and munged needs root")
    missing = [name for name in PROGRAMS if not shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin")]
    if missing:
        raise SlurmUnavailable(
            f"{', '.join(missing)} not installed: `make slurm` (root + apt-get: slurm-wlm munge) installs them"
        )


def munge_answers() -> bool:
    """Whether a munged answers on its default socket."""
    done = subprocess.run(["munge", "-n"], capture_output=True, timeout=10)
    return done.returncode == 0


def start_munged() -> int | None:
    """Start munged unless one answers already; its PID (None when it was running before)."""
    if munge_answers():
        return None
    MUNGE_DIR.mkdir(mode=0o755, exist_ok=True)
    shutil.chown(MUNGE_DIR, "munge", "munge")
    done = subprocess.run(["runuser", "-u", "munge", "--", "/usr/sbin/munged"], capture_output=True, text=True)
    if done.returncode:
        raise SlurmUnavailable(f"munged did not start: {done.stderr.strip().splitlines()[-1:]}")
    pid = int((MUNGE_DIR / "munged.pid").read_text())
    if not munge_answers():
        os.kill(pid, signal.SIGTERM)
        raise SlurmUnavailable("munged started but `munge -n` fails")
    return pid


def memory_mb() -> int:
    """Most of this machine's memory in MB, for the node's RealMemory."""
    total_kb = int(next(line for line in open("/proc/meminfo") if line.startswith("MemTotal")).split()[1])
    return total_kb * 9 // 10 // 1024


def write_conf(folder: Path, node: str) -> Path:
    """slurm.conf for one node with every core, partitions `debug` (default) and `down` (queues, never runs)."""
    conf = folder / "slurm.conf"
    controller_port, node_port = free_ports(2)
    for name in ("state", "spool"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    conf.write_text(
        f"""ClusterName=s5test
SlurmctldHost={node}
SlurmctldPort={controller_port}
SlurmdPort={node_port}
SlurmUser=root
AuthType=auth/munge
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
KillWait=5
InactiveLimit=0
NodeName={node} CPUs={os.cpu_count() or 1} RealMemory={memory_mb()} State=UNKNOWN
PartitionName=debug Nodes={node} Default=YES MaxTime=INFINITE State=UP
PartitionName=down Nodes={node} MaxTime=INFINITE State=DOWN
"""
    )
    return conf


def start_slurm(folder: Path) -> SlurmNode:
    """Start munged (unless running), slurmctld and slurmd on this machine; the node is idle when this returns."""
    check_machine()
    folder = Path(folder).resolve()
    node = socket.gethostname().split(".")[0]
    slurm = SlurmNode(folder, write_conf(folder, node), node)
    slurm.munged_pid = start_munged()
    try:
        for daemon in ("slurmctld", "slurmd"):
            log = open(folder / f"{daemon}.out", "wb")
            slurm.daemons.append(
                subprocess.Popen(
                    [f"/usr/sbin/{daemon}", "-D", "-f", str(slurm.conf)], stdout=log, stderr=subprocess.STDOUT
                )
            )
        deadline = time.monotonic() + START_TIMEOUT
        state = ""
        while time.monotonic() < deadline:
            if any(process.poll() is not None for process in slurm.daemons):
                break
            try:
                state = slurm.run("sinfo", "-h", "-N", "-p", "debug", "-o", "%t").strip()
            except (RuntimeError, subprocess.TimeoutExpired):
                state = ""
            if state == "idle":
                return slurm
            time.sleep(0.5)
        logs = " | ".join(
            (folder / f"{d}.log").read_text().strip().splitlines()[-1]
            for d in ("slurmctld", "slurmd")
            if (folder / f"{d}.log").is_file() and (folder / f"{d}.log").read_text().strip()
        )
        raise SlurmUnavailable(f"the node is not idle after {START_TIMEOUT} s (state {state or '?'}): {logs}")
    except BaseException:
        slurm.stop()
        raise

"""What an unclean stop of bin/run leaves behind, found and stopped at the next start.

Each process bin/run starts (the launcher, supervisord, web, worker, beat) is recorded in RUN_DIR/NAME.proc
with its pid and start time. The pid alone could name an unrelated process after the pid was reused; the pair
cannot. Normally the processes die with their parents (devrun.child), so a record that still names a running
process means a stop went wrong, or (for the launcher) that bin/run is still running on this data folder.
A port taken by anything else is named, with its command line, rather than failing later in runserver.
"""

import os
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path

# How long a process gets to stop on SIGTERM before it is killed.
STOP_SECONDS = 15


@dataclass(frozen=True)
class Process:
    name: str
    pid: int
    started: str

    @property
    def command(self) -> str:
        return command_line(self.pid)


def start_time(pid: int) -> str | None:
    """Clock ticks from boot to the process' start (/proc/PID/stat field 22); None once it is gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None if fields[0] == "Z" else fields[19]


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def record(run_dir: Path, name: str, pid: int | None = None) -> Process:
    pid = pid or os.getpid()
    process = Process(name, pid, start_time(pid) or "")
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / f"{name}.proc").write_text(f"{process.pid} {process.started}\n")
    return process


def forget(run_dir: Path, name: str) -> None:
    (run_dir / f"{name}.proc").unlink(missing_ok=True)


def clear(run_dir: Path) -> None:
    """Forget every record (once what they name has stopped)."""
    for path in run_dir.glob("*.proc"):
        path.unlink(missing_ok=True)


def running(run_dir: Path) -> list[Process]:
    """The recorded processes that still run. Only reads: a program restarted meanwhile records itself again."""
    found = []
    for path in sorted(run_dir.glob("*.proc")):
        try:
            pid, started = path.read_text().split()
        except (ValueError, FileNotFoundError):  # cut short by a crash while writing, or just forgotten
            continue
        process = Process(path.stem, int(pid), started)
        if is_running(process):
            found.append(process)
    return found


def is_running(process: Process) -> bool:
    return start_time(process.pid) == process.started


def stop(process: Process) -> None:
    """SIGTERM, then SIGKILL after STOP_SECONDS; the whole process group when it leads one (a Celery worker and
    its pool children)."""

    def send(signum: int) -> None:
        if not is_running(process):
            return
        if os.getpgid(process.pid) == process.pid:
            os.killpg(process.pid, signum)
        else:
            os.kill(process.pid, signum)

    try:
        send(signal.SIGTERM)
        send(signal.SIGCONT)  # a stopped process (Ctrl-Z, a debugger) acts on SIGTERM only once continued
        deadline = time.monotonic() + STOP_SECONDS
        while is_running(process) and time.monotonic() < deadline:
            time.sleep(0.2)
        send(signal.SIGKILL)
    except ProcessLookupError:
        pass


def port_owner(port: int) -> str | None:
    """None when 127.0.0.1:PORT can be listened on; else who has it, as far as /proc tells (other users' processes
    are not readable)."""
    with socket.socket() as probe:
        # As runserver does: a port in TIME_WAIT from a previous run counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            return None
        except OSError:
            pass
    pids = _listening_pids(port)
    return f"pid {pids[0]} ({command_line(pids[0])})" if pids else "another program"


def _listening_pids(port: int) -> list[int]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            # local address "HEX_IP:HEX_PORT", state 0A = LISTEN, inode.
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                inodes.add(f"socket:[{fields[9]}]")
    pids = []
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            if any(os.readlink(fd) in inodes for fd in fd_dir.iterdir()):
                pids.append(int(fd_dir.parent.name))
        except (PermissionError, FileNotFoundError, ProcessLookupError):
            continue
    return pids

"""Waiting on real processes, for the tests that start and kill them (workers, bin/run's launcher)."""

import time
from contextlib import suppress
from pathlib import Path

import pytest

# Generous: a loaded CI machine may take many seconds to start Django, a worker or beat.
WAIT = 90


def wait_for(condition, what: str, *, timeout: float = WAIT, interval: float = 0.2):
    """condition()'s first true value, polled until `timeout` seconds have passed; then the test fails naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for its parent to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def children(pid: int) -> list[int]:
    """Live child processes of `pid`, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(FileNotFoundError, ProcessLookupError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(stat.parent.name))
    return found

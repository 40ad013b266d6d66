"""Starts one supervised program so that it dies with its supervisor and the next start can find it.

supervisord runs `python -m devrun.child RUN_DIR NAME COMMAND...` for web, worker and beat. This asks the
kernel to SIGKILL the process when its parent dies (supervisord killed, or the OOM killer), records it in
RUN_DIR/NAME.proc (devrun.leftovers) and then becomes COMMAND by exec: the same process, no extra layer.
SIGKILL, not SIGTERM: once the supervisor is gone nothing would escalate a graceful stop that hangs (a Celery
worker's warm shutdown can wait minutes).
"""

import ctypes
import os
import signal
import sys
from pathlib import Path

from devrun import leftovers

# From <linux/prctl.h>.
_PR_SET_PDEATHSIG = 1


def die_with_parent(signum: int = signal.SIGKILL) -> None:
    """The kernel sends `signum` to this process when the thread that started it exits (Linux; a no-op elsewhere).

    The setting survives exec, so a subprocess' preexec_fn may call it for the program it runs.
    """
    if not sys.platform.startswith("linux"):
        return  # elsewhere (macOS) a launcher killed outright leaves its processes running (no /proc to find them)
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    # A parent that died while the request was being made sends nothing: die now instead. (One that died before
    # `parent` was read goes unnoticed; the next start finds the process by its record, devrun.leftovers.)
    if os.getppid() != parent:
        os.kill(os.getpid(), signum)


def main(argv: list[str]) -> None:
    run_dir, name, command = Path(argv[0]), argv[1], argv[2:]
    die_with_parent()
    leftovers.record(run_dir, name)
    os.execvp(command[0], command)  # noqa: S606 - the supervisor's own fixed command line


if __name__ == "__main__":
    main(sys.argv[1:])

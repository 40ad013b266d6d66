"""web, worker and beat under supervisord: each restarted when it dies, all stopped together.

Why supervisord (the `supervisor` package): it restarts a process that exits, with a growing delay while it
keeps dying at start, stops a program's whole process group and kills what does not stop in time, and gives
`supervisorctl` to look and restart by hand. It is pure Python without dependencies, runs on 3.11 and is
maintained. honcho starts and stops a set but never restarts; circus would also do, at the cost of pyzmq and
tornado.

The launcher starts supervisord with the configuration written here and stops it with SIGTERM. supervisord
gets SIGTERM when the launcher dies (PR_SET_PDEATHSIG), and each program gets SIGKILL when supervisord dies
(devrun.child), so no process outlives the launcher for long, however it ends.
"""

import hashlib
import os
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path

from devrun import child

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CONFIG_NAME = "supervisord.conf"
# A program that dies within this many seconds of its start did not start: supervisord retries it after 1 s,
# then 2 s, 3 s... and gives up (FATAL, in the log) after this many tries, about five minutes.
START_SECONDS = 5
START_RETRIES = 20
# supervisord's own stop: it stops the programs one after the other, so their graces added up, and a little.
STOP_TIMEOUT = 35


def programs(port: str) -> dict[str, tuple[list[str], int]]:
    """Each program's command line, and how long it may take to stop before it is killed."""
    celery = [PYTHON, "-m", "celery", "-A", "factory"]
    return {
        "web": ([PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"], 5),
        # The pool comes from the settings (threads on the embedded broker: factory/settings.py says why).
        "worker": ([*celery, "worker", "--loglevel", "INFO", "--concurrency", "2"], 20),
        "beat": ([*celery, "beat", "--loglevel", "INFO"], 5),
    }


def _quoted(argv: list[str]) -> str:
    # supervisord splits commands like a shell and expands %(name)s in them.
    return shlex.join(argv).replace("%", "%%")


def _socket_path(run_dir: Path) -> Path:
    """supervisorctl's socket, in the run folder unless that path is too long for a Unix socket (108 bytes on
    Linux, where supervisord would not start): then in the temporary folder, named after the run folder.
    supervisorctl finds it either way, in the configuration."""
    path = run_dir / "supervisor.sock"
    if len(os.fsencode(path)) < 100:
        return path
    digest = hashlib.sha256(os.fsencode(run_dir)).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"factory-supervisor-{digest}.sock"


def config(run_dir: Path, port: str) -> str:
    socket = _socket_path(run_dir)
    password = secrets.token_hex(16)
    sections = [
        "[supervisord]",
        "nodaemon = true",
        f"logfile = {run_dir / 'supervisord.log'}",
        "logfile_maxbytes = 1MB",
        "logfile_backups = 1",
        f"pidfile = {run_dir / 'supervisord.pid'}",
        f"childlogdir = {run_dir}",
        "",
        # For supervisorctl (status, restart worker, tail -f web); only this user may use the socket. The
        # password, new at each start and read by supervisorctl from this file, only spares supervisord's
        # warning about a server without one.
        "[unix_http_server]",
        f"file = {socket}",
        "chmod = 0700",
        "username = factory",
        f"password = {password}",
        "",
        "[supervisorctl]",
        f"serverurl = unix://{socket}",
        "username = factory",
        f"password = {password}",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
    ]
    for name, (argv, stop_seconds) in programs(port).items():
        sections += [
            "",
            f"[program:{name}]",
            f"command = {_quoted([PYTHON, '-m', 'devrun.child', str(run_dir), name, *argv])}",
            f"directory = {BASE_DIR}",
            "autorestart = true",
            f"startsecs = {START_SECONDS}",
            f"startretries = {START_RETRIES}",
            # The worker's pool children (prefork with a real broker) stop and are killed with it.
            "stopasgroup = true",
            "killasgroup = true",
            f"stopwaitsecs = {stop_seconds}",
            # Everything on the launcher's console, as before.
            "redirect_stderr = true",
            "stdout_logfile = /dev/stdout",
            "stdout_logfile_maxbytes = 0",
        ]
    return "\n".join(sections) + "\n"


def start(run_dir: Path, port: str) -> subprocess.Popen:
    """supervisord in the foreground with web, worker and beat, in a session of its own: Ctrl-C reaches only
    the launcher, which stops supervisord, which stops the programs."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / CONFIG_NAME
    path.touch(mode=0o600)
    path.chmod(0o600)  # also when an earlier run left it
    path.write_text(config(run_dir, port))
    return subprocess.Popen(  # noqa: S603 - a fixed command line
        [PYTHON, "-m", "supervisor.supervisord", "--configuration", str(path)],
        cwd=BASE_DIR,
        start_new_session=True,
        preexec_fn=partial(child.die_with_parent, signal.SIGTERM),
    )


def stop(supervisor: subprocess.Popen) -> None:
    if supervisor.poll() is None:
        supervisor.terminate()
    try:
        supervisor.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        # Its programs then die with it (devrun.child).
        supervisor.kill()
        supervisor.wait()

"""Waiting on real processes, for the tests that start and kill them (workers, bin/run's launcher)."""

import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import suppress
from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg2
import pytest
from django.conf import settings

# Generous: a loaded CI machine may take many seconds to start Django, a worker or beat.
WAIT = 90


def database_url(name: str | None = None, **options: str) -> str:
    """A DATABASE_URL for a process the test starts: pytest's test database, or `name` on its server, with the
    connection's options and `options` (e.g. application_name) over them."""
    db = settings.DATABASES["default"]
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    options = {**db.get("OPTIONS", {}), **options}
    host = db.get("HOST") or ""
    if host.startswith("/"):  # a Unix socket folder (the embedded development server)
        options["host"], host = host, ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{quote(name or db['NAME'])}?{urlencode(options, quote_via=quote)}"


def database_connection():
    """A connection of the test's own to pytest's test database, outside Django's."""
    db = settings.DATABASES["default"]
    return psycopg2.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db.get("PASSWORD") or None,
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
    )


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


def start_worker(*, name: str, env: dict, log: Path, options: list[str], until_ready: bool = True) -> subprocess.Popen:
    """A real `celery -A factory worker` (`options`: its pool, queues, `--include` of the test's tasks) in its own
    process group, so that kill_group ends it and its pool children at once; output appended to `log`. With
    `until_ready`, returns once the worker says it is ready, and fails the test with the log if it exits first."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "factory", "worker", "--loglevel=INFO",
                # The tests' workers talk to no other worker: nothing to wait for at start or on the way.
                "--without-gossip", "--without-mingle", "--without-heartbeat",
                f"--hostname={name}-{uuid.uuid4().hex[:8]}@%h",
                *options,
            ],
            cwd=settings.BASE_DIR, env={**env, "PYTHONUNBUFFERED": "1"}, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    if until_ready:
        text = lambda: log.read_text(errors="replace")  # noqa: E731
        wait_for(lambda: " ready." in text() or process.poll() is not None, "the worker to start")
        assert process.poll() is None, f"the worker did not start:\n{text()}"
    return process


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the process and everything in its process group (a stopped one too), and reap it."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGCONT)
        os.killpg(process.pid, signal.SIGKILL)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)

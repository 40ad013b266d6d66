"""The README's run command: the start-up steps, then supervisord with everything a demo needs.

Finds what a previous run left behind (devrun.leftovers), starts the embedded Postgres when DATABASE_URL is not
set, migrates, resumes the factory clock from the database, creates the demo data (in demo mode), then hands
the web server, a Celery worker and Celery beat to supervisord (devrun.supervision), which restarts any of them
that dies. Ctrl-C (or SIGTERM) stops supervisord, which stops the three, then the embedded Postgres. The factory
clock resumes from the latest instant the database holds.

Killed outright (SIGKILL, the OOM killer), the launcher takes supervisord and the three with it (a parent-death
signal); the embedded Postgres is left running and the next start uses it again.
"""

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import environ

from devrun import child, leftovers, supervision

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def _data_dir() -> Path:
    path = Path(os.environ.get("FACTORY_DATA_DIR", BASE_DIR / ".data"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _resume_clock() -> None:
    """Simulated time continues from the latest instant the database holds (the last tick, the latest event), not
    from the real date, and never from a file a crash could leave stale: the clock never runs backwards."""
    speed = float(os.environ.get("FACTORY_CLOCK_SPEED", "1"))
    if speed == 1 or os.environ.get("FACTORY_CLOCK_ANCHOR"):
        return
    real_now = datetime.now(UTC).isoformat()
    # Asked at real speed: a manage.py at another speed needs the anchor this sets.
    latest = subprocess.run(
        [PYTHON, "manage.py", "factory_time"],
        cwd=BASE_DIR,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "FACTORY_CLOCK_SPEED": "1"},
        preexec_fn=partial(child.die_with_parent, signal.SIGTERM),
    ).stdout.strip()
    os.environ["FACTORY_CLOCK_ANCHOR"] = real_now
    os.environ["FACTORY_CLOCK_ORIGIN"] = latest or real_now
    print("Factory clock resumes at", os.environ["FACTORY_CLOCK_ORIGIN"], flush=True)


def _manage(*args: str, env: dict | None = None) -> None:
    subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=BASE_DIR,
        check=True,
        env={**os.environ, **(env or {})},
        # A launcher killed mid-migration takes the step with it.
        preexec_fn=partial(child.die_with_parent, signal.SIGTERM),
    )


def _clear_the_way(run_dir: Path, port: str) -> bool:
    """Stops what an unclean stop of an earlier run left running; False (with the reason printed) when this run
    must not start: bin/run already runs on this data folder, or something else has the port."""
    left = {process.name: process for process in leftovers.running(run_dir)}
    if "launcher" in left:
        launcher = left["launcher"]
        print(
            f"bin/run already runs with the data in {run_dir.parent} (pid {launcher.pid}: {launcher.command}).\n"
            f"Stop it first: Ctrl-C where it runs, or kill {launcher.pid}.",
            file=sys.stderr,
        )
        return False
    # supervisord first: it would restart a program stopped before it, and it stops its programs itself.
    for process in sorted(left.values(), key=lambda process: process.name != "supervisord"):
        if leftovers.is_running(process):  # else it stopped with the supervisord before it
            print(f"Stopping the {process.name} (pid {process.pid}) a previous run left behind.", flush=True)
            leftovers.stop(process)
    leftovers.clear(run_dir)
    owner = leftovers.port_owner(int(port))
    if owner:
        print(f"Port {port} is taken by {owner}.\nStop it, or choose another port: PORT=8080 bin/run", file=sys.stderr)
        return False
    return True


def _stop_requested(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    # Also when started in the background (where SIGINT arrives ignored), Ctrl-C and SIGTERM stop cleanly.
    signal.signal(signal.SIGINT, _stop_requested)
    signal.signal(signal.SIGTERM, _stop_requested)
    data_dir = _data_dir()
    run_dir = data_dir / "run"
    port = os.environ.get("PORT", "8000")
    if not _clear_the_way(run_dir, port):
        return 1
    leftovers.record(run_dir, "launcher")
    started_database = False
    supervisor = None
    try:
        if not os.environ.get("DATABASE_URL"):
            from devrun import embedded

            print("Starting the embedded Postgres in", data_dir / "postgres", flush=True)
            os.environ["DATABASE_URL"] = embedded.database_url(data_dir)
            started_database = True
        _manage("migrate", "--noinput", env={"FACTORY_CLOCK_SPEED": "1"})
        _resume_clock()
        if environ.Env().bool("DEMO_MODE", default=False):
            _manage("demo_data")
        supervisor = supervision.start(run_dir, port)
        leftovers.record(run_dir, "supervisord", supervisor.pid)
        print(f"\n  AI Factory Control Center: http://127.0.0.1:{port}/   (Ctrl-C stops everything)\n", flush=True)
        supervisor.wait()
        print("supervisord stopped unexpectedly; stopping.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
        return 0
    except subprocess.CalledProcessError as error:
        print(f"Start-up step failed: {' '.join(error.cmd)}", file=sys.stderr)
        return 1
    finally:
        if supervisor is not None:
            supervision.stop(supervisor)
        if started_database:
            from devrun import embedded

            embedded.stop_database(data_dir)
        for name in ("supervisord", "launcher"):
            leftovers.forget(run_dir, name)
        print("Stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())

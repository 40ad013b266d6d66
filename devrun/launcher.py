"""The README's run command: everything a demo needs, in one process tree.

Starts the embedded Postgres when DATABASE_URL is not set, migrates, creates the demo data,
then runs the web server, a Celery worker and Celery beat together. Ctrl-C (or SIGTERM) stops
the three, then the embedded Postgres. The factory clock resumes from the latest instant the database holds.
"""

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

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
    ).stdout.strip()
    os.environ["FACTORY_CLOCK_ANCHOR"] = real_now
    os.environ["FACTORY_CLOCK_ORIGIN"] = latest or real_now
    print("Factory clock resumes at", os.environ["FACTORY_CLOCK_ORIGIN"], flush=True)


def _manage(*args: str, env: dict | None = None) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=BASE_DIR, check=True, env={**os.environ, **(env or {})})


def _stop_requested(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    # Also when started in the background (where SIGINT arrives ignored), Ctrl-C and SIGTERM stop cleanly.
    signal.signal(signal.SIGINT, _stop_requested)
    signal.signal(signal.SIGTERM, _stop_requested)
    data_dir = _data_dir()
    started_database = False
    if not os.environ.get("DATABASE_URL"):
        from devrun import embedded

        print("Starting the embedded Postgres in", data_dir / "postgres", flush=True)
        os.environ["DATABASE_URL"] = embedded.database_url(data_dir)
        started_database = True
    port = os.environ.get("PORT", "8000")
    children: list[subprocess.Popen] = []
    try:
        _manage("migrate", "--noinput", env={"FACTORY_CLOCK_SPEED": "1"})
        _resume_clock()
        _manage("demo_data")
        commands = {
            "web": [PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            "worker": [PYTHON, "-m", "celery", "-A", "factory", "worker", "--loglevel", "INFO", "--concurrency", "2"],
            "beat": [PYTHON, "-m", "celery", "-A", "factory", "beat", "--loglevel", "INFO"],
        }
        for command in commands.values():
            # Own session: Ctrl-C reaches only this launcher, which then stops the children in order.
            children.append(subprocess.Popen(command, cwd=BASE_DIR, start_new_session=True))
        print(f"\n  AI Factory Control Center: http://127.0.0.1:{port}/   (Ctrl-C stops everything)\n", flush=True)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("A process stopped unexpectedly; stopping the others.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
        return 0
    except subprocess.CalledProcessError as error:
        print(f"Start-up step failed: {' '.join(error.cmd)}", file=sys.stderr)
        return 1
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        if started_database:
            from devrun import embedded

            embedded.stop_database(data_dir)
        print("Stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())

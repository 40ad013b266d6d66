"""The README's run command: everything a demo needs, in one process tree.

Starts the embedded Postgres when DATABASE_URL is not set, migrates, creates the demo data,
then runs the web server, a Celery worker and Celery beat together. Ctrl-C (or SIGTERM) stops
the three, then the embedded Postgres. The factory clock resumes where the last run stopped.
"""

import json
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


def _resume_clock(clock_file: Path) -> None:
    """Simulated time continues from where the previous run left it, not from the real date."""
    speed = float(os.environ.get("FACTORY_CLOCK_SPEED", "1"))
    if speed == 1 or os.environ.get("FACTORY_CLOCK_ANCHOR"):
        return
    real_now = datetime.now(UTC).isoformat()
    origin = real_now
    if clock_file.exists():
        origin = json.loads(clock_file.read_text())["simulated"]
    os.environ["FACTORY_CLOCK_ANCHOR"] = real_now
    os.environ["FACTORY_CLOCK_ORIGIN"] = origin


def _save_clock(clock_file: Path) -> None:
    if not os.environ.get("FACTORY_CLOCK_ANCHOR"):
        return
    anchor = datetime.fromisoformat(os.environ["FACTORY_CLOCK_ANCHOR"])
    origin = datetime.fromisoformat(os.environ["FACTORY_CLOCK_ORIGIN"])
    speed = float(os.environ["FACTORY_CLOCK_SPEED"])
    simulated = origin + (datetime.now(UTC) - anchor) * speed
    clock_file.write_text(json.dumps({"simulated": simulated.isoformat()}))


def _manage(*args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=BASE_DIR, check=True)


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
    clock_file = data_dir / "clock.json"
    _resume_clock(clock_file)

    port = os.environ.get("PORT", "8000")
    children: list[subprocess.Popen] = []
    try:
        _manage("migrate", "--noinput")
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
        _save_clock(clock_file)
        if started_database:
            from devrun import embedded

            embedded.stop_database(data_dir)
        print("Stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())

"""bin/run keeps the factory running: a process that dies comes back, and nothing outlives the run.

The slow tests start the real launcher (`python -m devrun.launcher`, what bin/run execs) with a data folder of
their own, the embedded filesystem broker and a throwaway database on the test's Postgres server, and kill
its processes with SIGKILL as a crash or the OOM killer would. Demo mode is off (no demo data to build) and the
dispatch tick runs every second, so "the worker works" is seen within seconds on /healthz: the tick's last run
moves on. Two more runs check what a user of the factory would notice: /healthz names the dispatch tick once
the worker stalls, and after a SIGKILL the next run's clock resumes from the database, so its ticks move jobs and
its events come after the old ones. The fast tests check the pieces: a program dies with its supervisor, and a
start stops what an unclean stop left running but never a process that is not ours.
"""

import configparser
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg2
import pytest

from devrun import launcher, leftovers, supervision
from factory import heartbeats
from tests.processes import WAIT, children, database_connection, database_url, wait_for

BASE_DIR = Path(__file__).resolve().parents[2]
PROGRAMS = ("web", "worker", "beat")
TICK = "dispatch.tasks.dispatch_tick"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def _new_database():
    """An empty database on the test's server, dropped at the end: the launcher migrates it as bin/run migrates
    .data's."""
    name = f"supervision_{uuid.uuid4().hex[:12]}"
    admin = database_connection()
    admin.autocommit = True  # CREATE and DROP DATABASE refuse to run in a transaction
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield database_url(name)
        with admin.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        admin.close()


@pytest.fixture(scope="module")
def throwaway_database(django_db_setup):
    """An empty database shared by this module's runs (one migration for all of them)."""
    with _new_database() as url:
        yield url


@pytest.fixture
def own_database(django_db_setup):
    """An empty database for one test, for a run whose fast clock must not leave the others' behind."""
    with _new_database() as url:
        yield url


class Run:
    """One `python -m devrun.launcher` on a data folder and port, its console in a file."""

    def __init__(self, data_dir: Path, port: int, database_url: str):
        self.data_dir, self.port, self.log = data_dir, port, data_dir / f"launcher-{uuid.uuid4().hex[:6]}.log"
        self.env = {
            name: value
            for name, value in os.environ.items()
            # The embedded broker and each process' own cache, whatever the machine offers.
            if name not in ("CELERY_BROKER_URL", "CACHE_URL") and not name.startswith("FACTORY_CLOCK_")
        } | {
            "DEBUG": "true",
            "DEMO_MODE": "false",
            "FACTORY_DATA_DIR": str(data_dir),
            "DATABASE_URL": database_url,
            "PORT": str(port),
            "DISPATCH_TICK_SECONDS": "1",
            "PYTHONUNBUFFERED": "1",
        }
        self.process = None

    def start(self) -> "Run":
        # Append mode: supervisord opens the console again for its programs' output; nothing is overwritten.
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "devrun.launcher"],
                cwd=BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        # Its own supervisord, not one an earlier run left: this run is past its start-up steps, and the port is its.
        wait_for(
            lambda: (
                self.process.poll() is not None
                or (self.recorded("supervisord") and self.recorded("supervisord").pid in children(self.process.pid))
            ),
            "the launcher to start supervisord",
        )
        assert self.process.poll() is None, f"the launcher stopped:\n{self.output()}"
        wait_for(self.healthz, "the web server to answer /healthz")
        self.wait_for_a_tick()
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def healthz(self) -> dict | None:
        """/healthz's answer (also a 503's), or None while nothing answers."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            return json.load(error)
        except OSError:
            assert self.process.poll() is None, f"the launcher stopped:\n{self.output()}"
            return None

    def last_tick(self) -> str | None:
        answer = self.healthz() or {}
        return answer.get("periodic", {}).get(TICK, {}).get("last_run")

    def wait_for_a_tick(self) -> None:
        """A dispatch tick that finished after this call: beat sends, the worker runs, the web answers."""
        before = self.last_tick()
        wait_for(lambda: self.last_tick() not in (None, before), "a dispatch tick to run")

    def recorded(self, name: str) -> leftovers.Process | None:
        return next((p for p in leftovers.running(self.data_dir / "run") if p.name == name), None)

    def processes(self) -> list[leftovers.Process]:
        return leftovers.running(self.data_dir / "run")

    def stop(self) -> int:
        """SIGTERM, as Ctrl-C would stop it; the launcher's exit status."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=WAIT)

    def kill_everything(self) -> None:
        """Whatever happened in the test: no process of this run is left behind."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for process in self.processes():
            leftovers.stop(process)


@pytest.fixture
def runs(tmp_path, throwaway_database):
    """start() starts the launcher on this test's data folder and port, with `env` over the run's environment;
    every run is killed at the end."""
    port = _free_port()
    started: list[Run] = []

    def start(**env: str) -> Run:
        run = Run(tmp_path, port, throwaway_database)
        run.env.update(env)
        started.append(run)
        return run.start()

    try:
        yield start
    finally:
        for run in started:
            run.kill_everything()
            print(f"--- {run.log.name}\n{run.output()}")  # shown by pytest when the test failed


def _gone(processes: list[leftovers.Process]) -> bool:
    return not any(leftovers.is_running(process) for process in processes)


# --- The whole run ------------------------------------------------------------------------------------------------


@pytest.mark.supervision
def test_a_killed_worker_or_web_server_comes_back_and_the_factory_works_on(runs):
    run = runs()
    worker = run.recorded("worker")
    # Threads on the embedded broker: no pool child whose death could wedge the others (factory/settings.py).
    assert children(worker.pid) == []

    os.kill(worker.pid, signal.SIGKILL)
    wait_for(lambda: (run.recorded("worker") or worker).pid != worker.pid, "supervisord to start a new worker")
    run.wait_for_a_tick()

    web = run.recorded("web")
    os.kill(web.pid, signal.SIGKILL)
    wait_for(lambda: (run.recorded("web") or web).pid != web.pid, "supervisord to start a new web server")
    assert wait_for(run.healthz, "the new web server to answer")["database"] == "ok"
    run.wait_for_a_tick()

    everything = run.processes()
    assert {p.name for p in everything} == {"launcher", "supervisord", *PROGRAMS}
    assert run.stop() == 0
    assert _gone(everything)
    assert "exited: worker (terminated by SIGKILL; not expected)" in run.output()


@pytest.mark.supervision
def test_a_killed_launcher_takes_every_process_along_and_the_next_start_serves(runs):
    first = runs()
    everything = first.processes()
    assert {p.name for p in everything} == {"launcher", "supervisord", *PROGRAMS}

    os.kill(first.process.pid, signal.SIGKILL)
    first.process.wait()
    wait_for(lambda: _gone(everything), "supervisord, web, worker and beat to stop with the launcher")

    second = runs()
    assert "That port is already in use" not in second.output()
    assert {p.pid for p in second.processes()}.isdisjoint(p.pid for p in everything)
    assert second.stop() == 0


@pytest.mark.supervision
def test_a_start_stops_the_processes_a_previous_run_left_running_and_serves(runs):
    first = runs()
    left = [p for p in first.processes() if p.name != "launcher"]
    supervisord = first.recorded("supervisord")
    # Stopped, it cannot act on its launcher's death: it and its programs are left running.
    os.kill(supervisord.pid, signal.SIGSTOP)
    os.kill(first.process.pid, signal.SIGKILL)
    first.process.wait()
    assert all(leftovers.is_running(process) for process in left)

    second = runs()
    assert f"Stopping the supervisord (pid {supervisord.pid}) a previous run left behind." in second.output()
    assert _gone(left)
    assert second.stop() == 0


# --- Health with a real worker ------------------------------------------------------------------------------------


def _tick_periods_behind(answer: dict, asked_at: float) -> float:
    """How many tick periods before `asked_at` (time.time(), taken before asking) /healthz's last tick finished:
    a lower bound of what /healthz itself counted when it answered."""
    tick = answer["periodic"][TICK]
    return (asked_at - datetime.fromisoformat(tick["last_run"]).timestamp()) / tick["period_seconds"]


def _first_answer_naming_the_tick(run: Run) -> dict:
    """Asks /healthz until it names the dispatch tick as late, checking on the way that no answer given more
    than three periods after the last tick still calls the tick on time (the load of the machine only delays
    the moment this returns, never what it checks)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        asked_at = time.time()
        answer = run.healthz()
        if answer is not None:
            if TICK in answer["late"]:
                return answer
            # A hundredth of a period for rounding: /healthz counted from its own, later, instant.
            assert _tick_periods_behind(answer, asked_at) <= heartbeats.LATE_PERIODS + 0.01, (
                f"/healthz still says the tick is on time over {heartbeats.LATE_PERIODS} periods after it: {answer}"
            )
        time.sleep(0.2)
    pytest.fail(f"/healthz never named the dispatch tick as late within {WAIT} s: {run.healthz()}")


@pytest.mark.supervision
def test_healthz_names_the_dispatch_tick_once_the_worker_stalls_and_says_ok_once_it_runs_again(runs):
    # Two-second ticks: three periods late is six seconds, ten (503) is twenty, far apart on a loaded machine.
    run = runs(DISPATCH_TICK_SECONDS="2")
    wait_for(lambda: (run.healthz() or {}).get("status") == "ok", "/healthz to say ok")
    worker = run.recorded("worker")
    # Stopped, not killed: a wedged worker (issue 16, finding 3) is alive to supervisord, which restarts only
    # what exits. Only /healthz can tell.
    os.kill(worker.pid, signal.SIGSTOP)
    try:
        last_tick = run.last_tick()
        late = _first_answer_naming_the_tick(run)
        assert late["status"] == "degraded"
        assert late["late"] == [TICK]
        assert late["periodic"][TICK]["last_run"] == last_tick  # nothing ran while the worker stood still
    finally:
        os.kill(worker.pid, signal.SIGCONT)

    recovered = wait_for(
        lambda: (answer := run.healthz()) and answer["status"] == "ok" and answer,
        "/healthz to say ok again once the worker runs",
    )
    assert recovered["late"] == []
    assert recovered["periodic"][TICK]["last_run"] != last_tick
    assert run.recorded("worker").pid == worker.pid  # the same worker, never restarted: it only stalled


# --- A clock that never runs backwards ----------------------------------------------------------------------------


def _environment_of(process: leftovers.Process) -> dict[str, str]:
    """The environment a run's program started with, the factory clock bin/run resumed among it."""
    raw = Path(f"/proc/{process.pid}/environ").read_bytes().decode()
    return dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)


def _manage_shell_in(run: Run, code: str) -> None:
    """Runs `code` in manage.py shell on the run's database and factory clock, as one of its processes would."""
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=BASE_DIR,
        env=_environment_of(run.recorded("web")),
        capture_output=True,
        text=True,
        timeout=WAIT * 2,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# Through the services, as staff would: orders in production whose steps the ticks turn into running jobs.
_ORDERS_IN_PRODUCTION = """
from django.contrib.auth import get_user_model
from dispatch.models import ComputePool
from factory import roles
from orders.models import ClientOrganization, OrderStatus
from tests.factories import ClientOrganizationFactory, UserFactory, compute_pool, order_at
# Each shell starts the factories' sequences at 0 again: go on after the names the last one used.
ClientOrganizationFactory.reset_sequence(ClientOrganization.objects.count())
UserFactory.reset_sequence(get_user_model().objects.count())
staff = UserFactory(username="ops-user", roles=[roles.OPERATIONS])
if not ComputePool.objects.exists():
    for kind in ("data_processing", "training", "inference"):
        compute_pool(kind=kind, capacity=1000)
for _ in range(2):
    order_at(OrderStatus.IN_PRODUCTION, staff=staff)
"""


def _query(database_url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with closing(psycopg2.connect(database_url)) as connection, connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _progress(database_url: str) -> dict[int, Decimal]:
    """Each job's compute done so far."""
    return dict(_query(database_url, "SELECT id, done_pflops_hours FROM dispatch_job"))


@pytest.mark.supervision
def test_after_a_killed_launcher_the_clock_resumes_where_the_database_stands_and_jobs_move_on(own_database, runs):
    # A demo clock at 60x that already ran a day ahead of real time (a long demo): a restart at real time, or at
    # any instant a crash left stale, would stand hours behind the last tick, and no job would advance for as
    # long as the clock needs to catch up (issue 16, finding 6). The first run is given that clock; the second
    # must find it in the database.
    fast = {"DATABASE_URL": own_database, "FACTORY_CLOCK_SPEED": "60", "DISPATCH_BACKGROUND_LOAD": "false"}
    real_now = datetime.now(UTC)
    a_day_ahead = {
        "FACTORY_CLOCK_ANCHOR": real_now.isoformat(),
        "FACTORY_CLOCK_ORIGIN": (real_now + timedelta(days=1)).isoformat(),
    }
    first = runs(**fast, **a_day_ahead)
    _manage_shell_in(first, _ORDERS_IN_PRODUCTION)
    wait_for(lambda: any(done > 0 for done in _progress(own_database).values()), "the ticks to advance a job")
    everything = first.processes()

    os.kill(first.process.pid, signal.SIGKILL)  # as a crash or the OOM killer would end it
    first.process.wait()
    wait_for(lambda: _gone(everything), "every process of the first run to stop with its launcher")
    progress = _progress(own_database)
    [(last_event_at, last_event_id)] = _query(own_database, "SELECT max(at), max(id) FROM orders_orderevent")

    second = runs(**fast)  # serves /healthz and has ticked once
    assert {p.pid for p in second.processes()}.isdisjoint(p.pid for p in everything)
    wait_for(
        lambda: any(done > progress.get(job, 0) for job, done in _progress(own_database).items()),
        "a tick of the second run to advance a job",
    )
    _manage_shell_in(second, _ORDERS_IN_PRODUCTION)  # new order events, stamped by the resumed clock
    [(first_new_at, new_events)] = _query(
        own_database, "SELECT min(at), count(*) FROM orders_orderevent WHERE id > %s", (last_event_id,)
    )
    assert new_events > 0
    assert first_new_at > last_event_at
    assert second.healthz()["late"] == []


# --- The pieces ---------------------------------------------------------------------------------------------------


def test_a_supervised_program_dies_with_its_supervisor_and_is_recorded(tmp_path):
    run_dir = tmp_path / "run"
    # Stands for supervisord: starts one program through devrun.child, says its pid, waits.
    supervisor = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys;"
            f"p = subprocess.Popen([sys.executable, '-m', 'devrun.child', {str(run_dir)!r}, 'worker', 'sleep', '600']);"
            "print(p.pid, flush=True); p.wait()",
        ],
        cwd=BASE_DIR,
        stdout=subprocess.PIPE,
        text=True,
    )
    pid = int(supervisor.stdout.readline())
    program = wait_for(lambda: next(iter(leftovers.running(run_dir)), None), "the program's record")
    # The record names the program itself: devrun.child became `sleep` in the same process.
    assert (program.name, program.pid) == ("worker", pid)
    wait_for(lambda: leftovers.command_line(pid) == "sleep 600", "the program to run its command")

    supervisor.kill()
    supervisor.wait()
    wait_for(lambda: not leftovers.is_running(program), "the program to die with its supervisor", timeout=10)


def test_a_start_stops_what_an_unclean_stop_left_and_names_what_is_not_its_own(tmp_path, capsys):
    run_dir = tmp_path / "run"
    # A program whose supervisor died without taking it along (an older bin/run, or one that escaped).
    left = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
    try:
        leftovers.record(run_dir, "worker", left.pid)
        # A record whose pid now belongs to an unrelated process (this one): left alone.
        (run_dir / "beat.proc").write_text(f"{os.getpid()} 1\n")
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            assert not launcher._clear_the_way(run_dir, str(port))
        assert left.wait(timeout=leftovers.STOP_SECONDS + 5) == -signal.SIGTERM
    finally:
        left.kill()
    out, err = capsys.readouterr()
    assert f"Stopping the worker (pid {left.pid}) a previous run left behind." in out
    assert "beat" not in out
    assert f"Port {port} is taken by pid {os.getpid()} (" in err
    assert not list(run_dir.glob("*.proc"))

    assert launcher._clear_the_way(run_dir, str(port))


def test_a_start_refuses_while_bin_run_still_runs_on_the_same_data(tmp_path, capsys):
    run_dir = tmp_path / "run"
    leftovers.record(run_dir, "launcher")  # this process stands for the running launcher
    leftovers.record(run_dir, "web")  # ...and for its web server, which must not be stopped

    assert not launcher._clear_the_way(run_dir, str(_free_port()))

    out, err = capsys.readouterr()
    assert f"bin/run already runs with the data in {tmp_path} (pid {os.getpid()}: " in err
    assert out == ""
    assert {p.name for p in leftovers.running(run_dir)} == {"launcher", "web"}


@pytest.mark.parametrize(
    ("broker", "pool"),
    [
        # The embedded broker: threads (factory/settings.py says why prefork wedges there).
        ("", "threads"),
        # A real broker keeps Celery's default, prefork: production is unchanged.
        ("redis://127.0.0.1:1/0", "prefork"),
    ],
)
def test_the_worker_runs_threads_only_on_the_embedded_broker(tmp_path, broker, pool):
    env = {
        **os.environ,
        "DEBUG": "true",
        "FACTORY_DATA_DIR": str(tmp_path),
        "CELERY_BROKER_URL": broker,
        # Reading the settings connects to nothing; set, it keeps the embedded Postgres from starting.
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
    }
    chosen = subprocess.run(
        [sys.executable, "-c", "from factory.celery import app; print(app.conf.worker_pool)"],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert chosen == pool


def test_supervisorctl_finds_supervisord_also_under_a_deep_data_folder(tmp_path):
    """A Unix socket's path has at most 107 bytes: a deep data folder's goes to the temporary folder."""
    for run_dir in (tmp_path / "run", tmp_path / ("deep" * 30) / "run"):
        parsed = configparser.RawConfigParser()
        parsed.read_string(supervision.config(run_dir, "8000"))
        socket_path = parsed["unix_http_server"]["file"]
        assert len(os.fsencode(socket_path)) < 108
        assert parsed["supervisorctl"]["serverurl"] == f"unix://{socket_path}"
    assert parsed["supervisord"]["pidfile"] == str(run_dir / "supervisord.pid")
    assert supervision.config(tmp_path / "run", "8000").count(str(tmp_path / "run" / "supervisor.sock")) == 2

"""The production recipe on several hosts: one worker host dies mid-tick, the other takes over.

    sudo .venv/bin/python bench/multihost.py      # as root: it makes network namespaces; about 2.5 min

Four hosts, each a network namespace with an address of its own on a bridge (10.77.0.0/24): web1 and web2 run
factory-web's command (gunicorn, deploy/gunicorn.conf.py), wk1 and wk2 run factory-worker's and factory-beat's
(Celery worker and beat with RedBeat's lock), each command taken from its unit in deploy/ with the production
environment of deploy/production.env.example. They reach this machine's Postgres and Redis, which listen on
127.0.0.1 only, at the bridge's address 10.77.0.1, through two socat forwarders in the root namespace (so
neither server's configuration changes). The database is `<name>_multihost` (the name from DATABASE_URL, or
`deploy`), rebuilt with the demo data; Redis databases 5 (broker, beat's lock) and 6 (cache) are emptied.

The run: wk1 starts first (its beat takes the lock), then a tick is held inside its transaction by a lock on the
DispatchState row; wk2 starts; every process of wk1 is killed with SIGKILL. The script then checks that the tick
wk1 was running counted nothing, that wk2's beat takes the lock and wk2's worker counts that interval exactly
once (every running job advanced by demand x elapsed factory time, as dispatch.services' own arithmetic), that
ticks keep coming, and that both web hosts' /healthz answers no 503 that the takeover caused. /healthz counts
from the last committed tick, which came before the run's own hold of the DispatchState row; the takeover is
counted from the kill: wk2's first tick must come within /healthz's 503 threshold (DOWN_PERIODS ticks) of it, and
no 503 may follow that tick. It prints how long the takeover took.
Everything it made (namespaces, bridge, forwarders, processes) is removed at the end; the database and the
logs (.data/multihost/) are kept.
"""

import configparser
import http.client
import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
import time
from contextlib import contextmanager, suppress
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "factory.settings")
os.environ.setdefault("DEBUG", "true")

PRODUCTION_ROOT = "/srv/factory"  # the units' WorkingDirectory, here this checkout
BRIDGE = "fmh0"
SERVER_ADDRESS = "10.77.0.1"  # the bridge's address in the root namespace: "the database and Redis machine"
HOSTS = {"web1": "10.77.0.11", "web2": "10.77.0.12", "wk1": "10.77.0.21", "wk2": "10.77.0.22"}
UNITS = {"web": "factory-web.service", "worker": "factory-worker.service", "beat": "factory-beat.service"}
FORWARDED_PORTS = (5432, 6379)
BROKER_DB, CACHE_DB = 5, 6
WEB_PORT = 8000
TICK_SECONDS = 5.0
BEAT_LOCK_KEY = "factory:beat::lock"  # RedBeat's lock (factory/settings.py: CELERY_REDBEAT_KEY_PREFIX)
SECRET_KEY = secrets.token_urlsafe(64)  # the same on every host, as production needs
LOGS = ROOT / ".data" / "multihost"  # each process's log and each host's FACTORY_DATA_DIR (git-ignored)


def _run(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout  # noqa: S603


def _wait_for(condition, what: str, timeout: float = 90.0, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(every)
    raise SystemExit(f"FAILED: {what} did not happen within {timeout:.0f} s")


# --- The network ---------------------------------------------------------------------------------------------------


def _namespace(host: str) -> str:
    return f"fmh-{host}"


def _veth(host: str) -> str:
    """The root namespace's end of the host's veth pair (the other end is the host's eth0)."""
    return f"fmh-{host}"


def _build_network(forwarders: list) -> None:
    _run("ip", "link", "add", BRIDGE, "type", "bridge")
    _run("ip", "addr", "add", f"{SERVER_ADDRESS}/24", "dev", BRIDGE)
    _run("ip", "link", "set", BRIDGE, "up")
    for host, address in HOSTS.items():
        namespace, veth = _namespace(host), _veth(host)
        _run("ip", "netns", "add", namespace)
        _run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", namespace)
        _run("ip", "link", "set", veth, "master", BRIDGE, "up")
        _run("ip", "-n", namespace, "addr", "add", f"{address}/24", "dev", "eth0")
        _run("ip", "-n", namespace, "link", "set", "eth0", "up")
        _run("ip", "-n", namespace, "link", "set", "lo", "up")
    # Postgres and Redis listen on 127.0.0.1 only: forward the bridge's address to them rather than reconfigure them.
    for port in FORWARDED_PORTS:
        forwarders.append(
            subprocess.Popen(  # noqa: S603
                ["socat", f"TCP-LISTEN:{port},bind={SERVER_ADDRESS},reuseaddr,fork", f"TCP:127.0.0.1:{port}"],  # noqa: S607
                start_new_session=True,
            )
        )
    for port in FORWARDED_PORTS:
        _wait_for(lambda port=port: f"{SERVER_ADDRESS}:{port}" in _run("ss", "-ltn"), f"socat on port {port}")


def _tear_down_network(forwarders: list) -> None:
    """Remove what _build_network made, also what a previous run left (a no-op for what is not there)."""
    for host in HOSTS:
        _kill_host(host)
        # The veth first: a namespace outlives its processes while their orphaned TCP sockets retransmit, and
        # with it the veth, whose name the next run needs.
        for command in (("ip", "link", "delete", _veth(host)), ("ip", "netns", "delete", _namespace(host))):
            with suppress(subprocess.CalledProcessError):
                _run(*command)
    for forwarder in forwarders:
        with suppress(ProcessLookupError):
            os.killpg(forwarder.pid, signal.SIGTERM)
        forwarder.wait()
    with suppress(subprocess.CalledProcessError):
        _run("ip", "link", "delete", BRIDGE)


def _host_pids(host: str) -> list[int]:
    try:
        return [int(pid) for pid in _run("ip", "netns", "pids", _namespace(host)).split()]
    except subprocess.CalledProcessError:
        return []


def _kill_host(host: str) -> None:
    """SIGKILL every process in the host's namespace, as a host that loses power (its sockets close, though)."""
    while pids := _host_pids(host):
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


# --- The hosts -----------------------------------------------------------------------------------------------------


def _unit_command(unit: str, host: str) -> list[str]:
    """The unit's ExecStart, with this checkout for /srv/factory and the host's name for %H."""
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read(ROOT / "deploy" / unit)
    command = parser["Service"]["ExecStart"].replace(PRODUCTION_ROOT, str(ROOT)).replace("%H", host)
    return shlex.split(command)


def _production_environment() -> dict[str, str]:
    values = {}
    for line in (ROOT / "deploy" / "production.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith(("#", ";")):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def _host_environment(host: str, database: str) -> dict[str, str]:
    server = SERVER_ADDRESS
    return {
        "PATH": os.environ["PATH"],
        **_production_environment(),
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": ",".join(HOSTS.values()),
        # The session's application_name tells the hosts apart in pg_stat_activity (all come through socat).
        "DATABASE_URL": f"postgres://postgres@{server}:5432/{database}?application_name=factory-{host}",
        "CELERY_BROKER_URL": f"redis://{server}:6379/{BROKER_DB}",
        "CACHE_URL": f"redis://{server}:6379/{CACHE_DB}",
        "SECURE_SSL_REDIRECT": "false",  # plain http between the bench and the web hosts: no proxy here
        "FACTORY_DATA_DIR": str(LOGS / host),
        "GUNICORN_BIND": f"{HOSTS[host]}:{WEB_PORT}",
        "GUNICORN_WORKERS": "1",
        "DISPATCH_TICK_SECONDS": str(TICK_SECONDS),
    }


def _start(host: str, role: str, database: str) -> Path:
    log = LOGS / f"{host}-{role}.log"
    (LOGS / host).mkdir(parents=True, exist_ok=True)
    with log.open("w") as output:
        subprocess.Popen(  # noqa: S603
            ["ip", "netns", "exec", _namespace(host), *_unit_command(UNITS[role], host)],  # noqa: S607
            cwd=ROOT, env=_host_environment(host, database), stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    return log


def _healthz(host: str) -> tuple[int, str]:
    """/healthz's status code and status ("ok", "degraded", "unavailable"); 0 when the host does not answer."""
    connection = http.client.HTTPConnection(HOSTS[host], WEB_PORT, timeout=3)
    try:
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        return response.status, json.loads(response.read())["status"]
    except OSError:
        return 0, "no answer"
    finally:
        connection.close()


# --- The database --------------------------------------------------------------------------------------------------


def _rebuild_database(database: str) -> None:
    env = {**os.environ, "DEBUG": "true", "DEMO_MODE": "true", "DATABASE_URL": _local_url(database)}
    _run("dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", database)
    _run("createdb", "-h", "127.0.0.1", "-U", "postgres", database)
    for command in (["migrate", "--noinput"], ["demo_data"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True)  # noqa: S603


def _local_url(database: str) -> str:
    return f"postgres://postgres@127.0.0.1:5432/{database}"


@contextmanager
def _dispatch_state_locked(database: str):
    """Hold the DispatchState row from a connection of our own: a tick then waits inside its transaction."""
    import psycopg2

    holder = psycopg2.connect(_local_url(database))
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT 1 FROM dispatch_dispatchstate WHERE id = 1 FOR UPDATE")
        yield
    finally:
        holder.rollback()
        holder.close()


def _sessions(host: str, waiting: bool = False) -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND (NOT %s OR wait_event_type = 'Lock')",
            [f"factory-{host}", waiting],
        )
        return [row[0] for row in cursor.fetchall()]


def _snapshot():
    """DispatchState and every job, read in one snapshot (a tick commits both at once)."""
    from django.db import connection, transaction

    from dispatch.models import DispatchState, Job

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        state = DispatchState.objects.get()
        return state, {job.pk: job for job in Job.objects.select_related("pool")}


def _round(value: Decimal, places: str) -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def _check_counted_once(before, after) -> int:
    """One tick committed between the snapshots and it advanced every running job by demand x elapsed time."""
    from dispatch.models import JobState

    (state_before, jobs_before), (state, jobs) = before, after
    elapsed = state.last_tick_at - state_before.last_tick_at
    hours = Decimal(elapsed.total_seconds()) / Decimal(3600)
    running = [job for job in jobs_before.values() if job.state == JobState.RUNNING]
    if not running or elapsed.total_seconds() <= 0:
        raise SystemExit("FAILED to check: no running job, or no factory time elapsed")
    for old in running:
        # dispatch.services._ADVANCE_SQL's arithmetic, once.
        done = min(old.work_pflops_hours, old.done_pflops_hours + _round(old.demand_pflops * hours, "0.001"))
        charged = _round((done - old.done_pflops_hours) * old.pool.price_per_pflops_hour, "0.01")
        new = jobs[old.pk]
        if (new.done_pflops_hours, new.cost) != (done, old.cost + charged):
            raise SystemExit(
                f"FAILED: job {old.pk} moved {new.done_pflops_hours - old.done_pflops_hours} PFLOPS-h over {elapsed},"
                f" not {done - old.done_pflops_hours} (demand x elapsed once)"
            )
    return len(running)


# --- The run -------------------------------------------------------------------------------------------------------


def _seconds_since(start: float) -> float:
    return time.monotonic() - start


def run(database: str) -> None:
    import django

    os.environ["DATABASE_URL"] = _local_url(database)
    django.setup()
    import redis

    from dispatch.models import DispatchState
    from factory.heartbeats import DOWN_PERIODS

    print(f"Database {database}: migrate and demo data (about a minute)...", flush=True)
    _rebuild_database(database)
    for db in (BROKER_DB, CACHE_DB):
        redis.Redis(db=db).flushdb()

    for host in ("web1", "web2"):
        _start(host, "web", database)
    for host in ("web1", "web2"):
        _wait_for(lambda host=host: _healthz(host)[0], f"{host} to answer", timeout=60)

    # wk1 first: its beat takes the lock, its worker runs the ticks.
    _start("wk1", "worker", database)
    wk1_beat = _start("wk1", "beat", database)
    _wait_for(lambda: "Acquired lock" in wk1_beat.read_text(), "wk1's beat to take the lock")
    ticks_at_start = DispatchState.objects.get().ticks
    _wait_for(lambda: DispatchState.objects.get().ticks >= ticks_at_start + 2, "two ticks from wk1", timeout=30)
    print("wk1 (worker + beat holding the lock) ticks; /healthz:", _healthz("web1"), _healthz("web2"), flush=True)

    with _dispatch_state_locked(database):
        held_at = time.monotonic()
        blocked = _wait_for(lambda: _sessions("wk1", waiting=True), "a tick of wk1 to wait inside its transaction")
        wk2_beat = _start("wk2", "beat", database)
        _start("wk2", "worker", database)
        _wait_for(lambda: "beat: Starting" in wk2_beat.read_text(), "wk2's beat to wait for the lock", timeout=60)
        _wait_for(lambda: _sessions("wk2"), "wk2's worker to connect", timeout=60)
        time.sleep(2 * TICK_SECONDS)  # wk2's worker takes ticks too: they skip, the dispatch lock is wk1's tick's
        before = _snapshot()
        print(f"wk2 (worker + standby beat) up; a tick of wk1 waits in Postgres session {blocked[0]}", flush=True)

        wk1_lock = redis.Redis(db=BROKER_DB).get(BEAT_LOCK_KEY)
        killed_at = time.monotonic()
        _kill_host("wk1")
        print(
            f"wk1 killed (SIGKILL, every process in its namespace) at +0.0 s,"
            f" {killed_at - held_at:.1f} s into the hold",
            flush=True,
        )
        _wait_for(lambda: not _sessions("wk1"), "Postgres to end wk1's sessions", timeout=30)
        sessions_gone = _seconds_since(killed_at)
        if _snapshot()[0].ticks != before[0].ticks:
            raise SystemExit("FAILED: the killed tick committed")

    # From here on wk2 alone: its beat must take the lock, its worker redo the interval wk1's tick did not count.
    beat_lock = redis.Redis(db=BROKER_DB)
    health = {host: [] for host in ("web1", "web2")}  # (seconds since the kill, status code, status)
    taken = {}

    def ask_health():
        for host in health:
            health[host].append((_seconds_since(killed_at), *_healthz(host)))

    def takeover_done():
        ask_health()
        if "beat" not in taken and beat_lock.get(BEAT_LOCK_KEY) not in (None, wk1_lock):
            taken["beat"] = _seconds_since(killed_at)
        snapshot = _snapshot()
        if "tick" not in taken and snapshot[0].ticks > before[0].ticks:
            taken["tick"], taken["after"] = _seconds_since(killed_at), snapshot
        return len(taken) == 3

    _wait_for(takeover_done, "wk2's beat to take the lock and its worker to tick", timeout=120, every=0.2)
    after = taken["after"]
    if after[0].ticks != before[0].ticks + 1:
        raise SystemExit(f"FAILED to check: {after[0].ticks - before[0].ticks} ticks committed between two reads")
    jobs = _check_counted_once(before, after)
    elapsed = after[0].last_tick_at - before[0].last_tick_at

    ticks_then = DispatchState.objects.get().ticks  # wk2's beat holds the lock: every tick from here is its
    watch_until = time.monotonic() + 4 * TICK_SECONDS
    while time.monotonic() < watch_until:
        ask_health()
        time.sleep(0.5)
    ticks_later = DispatchState.objects.get().ticks
    if ticks_later < ticks_then + 2:
        raise SystemExit(f"FAILED: beat stopped ticking ({ticks_later - ticks_then} ticks in {4 * TICK_SECONDS:.0f} s)")
    down_after = DOWN_PERIODS * TICK_SECONDS
    if taken["tick"] > down_after:
        raise SystemExit(
            f"FAILED: wk2's first tick came {taken['tick']:.1f} s after the kill,"
            f" past /healthz's 503 threshold ({down_after:.0f} s)"
        )
    late_503 = [
        (host, seconds)
        for host, answers in health.items()
        for seconds, code, _ in answers
        if code == 503 and seconds > taken["tick"]
    ]
    if late_503:
        raise SystemExit(f"FAILED: /healthz answered 503 after wk2's first tick: {late_503}")

    print(f"Postgres ended wk1's sessions (its tick rolled back, the dispatch lock freed): +{sessions_gone:.1f} s")
    print(f"wk2's beat took the lock:                                                  +{taken['beat']:.1f} s")
    # The first tick may be one wk1's beat sent just before it died, still on the queue: wk2's worker takes it.
    print(f"wk2's worker committed the next tick:                                      +{taken['tick']:.1f} s")
    print(f"  it counted the {elapsed} wk1's tick had not, once: {jobs} running jobs, each by demand x elapsed")
    print(f"ticks go on, sent by wk2's beat: {ticks_later - ticks_then} in {4 * TICK_SECONDS:.0f} s")
    for host, answers in health.items():
        before_tick = sorted({(code, status) for seconds, code, status in answers if seconds <= taken["tick"]})
        after_tick = sorted({(code, status) for seconds, code, status in answers if seconds > taken["tick"]})
        print(f"{host} /healthz until wk2's first tick: {before_tick}; after it: {after_tick}")
    if any(code == 503 for answers in health.values() for _, code, _ in answers):
        print("  (a 503 before wk2's first tick counts the run's own hold of the tick, not the takeover)")
    print("OK: one worker host died mid-tick; the other finished its work exactly once and beat kept ticking.")


def main() -> None:
    if os.geteuid() != 0:
        raise SystemExit("Needs root: it makes network namespaces and a bridge.")
    base = os.environ.get("DATABASE_URL", "").rsplit("/", 1)[-1] or "deploy"
    database = f"{base}_multihost"
    LOGS.mkdir(parents=True, exist_ok=True)
    for old in LOGS.glob("**/*.log"):
        old.unlink()
    forwarders: list = []
    _tear_down_network(forwarders)
    try:
        _build_network(forwarders)
        run(database)
    finally:
        _tear_down_network(forwarders)
        print(f"Logs: {LOGS}/", flush=True)


if __name__ == "__main__":
    main()

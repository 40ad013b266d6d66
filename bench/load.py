"""Requests per second under load: gunicorn with several workers and a load generator, both on loopback.

    .venv/bin/python bench/load.py [--size 10000] [--workers 4] [--clients 8] [--processes 2] \
        [--seconds 30] [--rounds 6] [--warmup 3] [--cache-seconds 60] [--debug] [--rebuild]

Serves the scale data set of `--size` orders (the database of bench/pages.py, `<name>_scale<size>`, built
there or here the first time) with gunicorn, `--workers` sync workers on 127.0.0.1, in production settings
(DEBUG off, static files collected by `collectstatic` into the git-ignored staticfiles/, persistent database
connections, the cache in a Redis database of its own, BENCH_CACHE_URL, emptied first); `--debug` serves with
DEBUG on instead. The load generator runs `--clients` threads over `--processes` processes (a new connection
per request: sync workers close each one), each target for `--warmup` seconds unmeasured and then `--seconds`
seconds, in `--rounds` turns (the targets alternate, so that other load on the machine weighs on all alike),
and prints requests per second, errors and the median and p95 latency of:

- `/livez`: the trivial view (the web process answers; no database, no cache), the reference;
- `GET /track/<token>/`: the public tracking page, over the tracking links of 200 orders;
- `GET /api/v1/orders/<id>/`: one order through the API, with an operations user's token, over 200 orders.

The two pages are served from kept copies (orders.read_cache, factory.authentication) for
`--cache-seconds` (ORDER_READ_CACHE_SECONDS and API_TOKEN_CACHE_SECONDS); 0 builds every answer from the
database.

Target: each measured page at least half the trivial view's rate. The generator shares the machine's cores
with the server (on loopback there is no other way), so it takes the most from the fastest target.
"""

import argparse
import http.client
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from multiprocessing import get_context
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
TRIVIAL = "/livez"
TARGET_SHARE = 0.5
SAMPLE_ORDERS = 200
# The server's cache: a Redis database of its own, emptied before each run (its keys name orders of the
# bench's database, which a development server's cache would mistake for its own).
BENCH_CACHE_URL = "redis://127.0.0.1:6379/2"


# --- The load generator -----------------------------------------------------------------------------------


def _hammer(port: int, paths: list[str], headers: dict, until: float, threads: int) -> dict:
    """`threads` clients asking for `paths` in turn until `until` (time.time()); their counts and latencies."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def client(offset: int):
        mine, failed, index = [], 0, offset
        while time.time() < until:
            path = paths[index % len(paths)]
            index += 1
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            started = time.perf_counter()
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    failed += 1
            except (OSError, http.client.HTTPException):
                failed += 1
            finally:
                connection.close()
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    workers = [threading.Thread(target=client, args=(n * 7,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return {"latencies": latencies, "errors": errors[0]}


def load(port: int, paths: list[str], headers: dict, *, seconds: float, clients: int, processes: int) -> dict:
    until = time.time() + seconds
    per_process = [clients // processes + (1 if n < clients % processes else 0) for n in range(processes)]
    with get_context("fork").Pool(processes) as pool:
        parts = pool.starmap(
            _hammer,
            [(port, paths[n::processes] or paths, headers, until, threads) for n, threads in enumerate(per_process)],
        )
    latencies = [latency for part in parts for latency in part["latencies"]]
    return {"rate": len(latencies) / seconds, "errors": sum(part["errors"] for part in parts), "latencies": latencies}


def _combined(parts: list[dict], seconds: float) -> dict:
    latencies = sorted(latency for part in parts for latency in part["latencies"])
    return {
        "rate": len(latencies) / seconds,
        "errors": sum(part["errors"] for part in parts),
        "median_ms": statistics.median(latencies) * 1000 if latencies else 0.0,
        "p95_ms": latencies[max(0, round(0.95 * len(latencies)) - 1)] * 1000 if latencies else 0.0,
        "rounds": [round(part["rate"], 1) for part in parts],
    }


# --- Setting up -------------------------------------------------------------------------------------------


def _targets(size: int, rebuild: bool) -> tuple[list[str], list[str], str, str]:
    """Build or reuse the data set; tracking paths, API paths, an operations token, the database name."""
    from _setup import django_on_bench_database

    database = django_on_bench_database(f"scale{size}")
    from pages import _build

    print(f"database {database}: {_build(size, rebuild)}", flush=True)
    from django.contrib.auth import get_user_model
    from django.db import connections
    from rest_framework.authtoken.models import Token

    from demo.scale.build import OPERATIONS_USER
    from orders.models import Order, OrderStatus

    active = Order.objects.filter(status=OrderStatus.IN_PRODUCTION, tracking_token__isnull=False)
    others = Order.objects.filter(tracking_token__isnull=False).order_by("-created_at")
    tokens = list(active.values_list("tracking_token", flat=True)[:SAMPLE_ORDERS])
    tokens += list(others.values_list("tracking_token", flat=True)[: SAMPLE_ORDERS - len(tokens)])
    ids = list(Order.objects.order_by("-created_at").values_list("pk", flat=True)[:SAMPLE_ORDERS])
    operations = get_user_model().objects.get(username=OPERATIONS_USER)
    token, _created = Token.objects.get_or_create(user=operations)
    connections.close_all()
    return [f"/track/{t}/" for t in tokens], [f"/api/v1/orders/{pk}/" for pk in ids], token.key, database


def _server_environment(database: str, debug: bool, conn_max_age: int, cache_seconds: int) -> dict:
    from django.conf import settings

    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    environment = dict(os.environ)
    environment.update(
        DATABASE_URL=f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{database}",
        CONN_MAX_AGE=str(conn_max_age),
        DEBUG="true" if debug else "false",
        DJANGO_SETTINGS_MODULE="factory.settings",
        LOG_LEVEL="WARNING",
    )
    environment.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    environment["CACHE_URL"] = BENCH_CACHE_URL
    environment["ORDER_READ_CACHE_SECONDS"] = environment["API_TOKEN_CACHE_SECONDS"] = str(cache_seconds)
    # One token for every load client: what a call costs, counting it against the limit included, is measured with
    # the limit out of reach (a window of a second keeps its count as short as production's minute at 600).
    environment["API_RATE_USER"] = "100000/second"
    if not debug:
        environment.update(
            SECRET_KEY=secrets.token_urlsafe(50),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            # Plain HTTP on loopback: no redirect to HTTPS.
            SECURE_SSL_REDIRECT="false",
        )
    return environment


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(port: int, path: str, headers: dict | None = None) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        connection.close()


def _start_server(environment: dict, port: int, workers: int) -> subprocess.Popen:
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "factory.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--log-level",
        "warning",
    ]
    # Its own session: stopped as one process group (the arbiter and its workers), by its id.
    server = subprocess.Popen(command, cwd=ROOT, env=environment, start_new_session=True)  # noqa: S603
    deadline = time.time() + 60
    while time.time() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn exited at start")
        if _get(port, TRIVIAL) == 200:
            return server
        time.sleep(0.5)
    _stop_server(server)
    raise SystemExit("gunicorn did not answer within a minute")


def _stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=10000, help="orders of the scale data set")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (threads)")
    parser.add_argument("--processes", type=int, default=2, help="load generator processes")
    parser.add_argument("--seconds", type=float, default=30, help="measured seconds per target")
    parser.add_argument("--rounds", type=int, default=6, help="turns the targets take (seconds split among them)")
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--conn-max-age", type=int, default=60, help="CONN_MAX_AGE of the server")
    parser.add_argument(
        "--cache-seconds",
        type=int,
        default=60,
        help="ORDER_READ_CACHE_SECONDS and API_TOKEN_CACHE_SECONDS of the server (0: built from the database)",
    )
    parser.add_argument("--debug", action="store_true", help="serve with DEBUG on (no collectstatic)")
    parser.add_argument("--rebuild", action="store_true", help="build the data set anew")
    args = parser.parse_args()

    tracking, api, token, database = _targets(args.size, args.rebuild)
    environment = _server_environment(database, args.debug, args.conn_max_age, args.cache_seconds)
    redis.Redis.from_url(BENCH_CACHE_URL).flushdb()
    if not args.debug:
        manage = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"]
        subprocess.run(manage, cwd=ROOT, env=environment, check=True)  # noqa: S603 - our own command
    port = _free_port()
    server = _start_server(environment, port, args.workers)
    try:
        targets = [
            ("/livez", [TRIVIAL], {}),
            ("GET /track/<token>/", tracking, {}),
            ("GET /api/v1/orders/<id>/", api, {"Authorization": f"Token {token}"}),
        ]
        for label, paths, headers in targets:
            status = _get(port, paths[0], headers)
            if status != 200:
                raise SystemExit(f"{label}: {paths[0]} answered {status}")
        common = {"clients": args.clients, "processes": args.processes}
        for _label, paths, headers in targets:
            load(port, paths, headers, seconds=args.warmup, **common)
        # Targets take turns, a slice of their time each round, so that a change in the machine's load
        # (other processes) weighs on all of them alike.
        rounds = {label: [] for label, _paths, _headers in targets}
        for round_number in range(args.rounds):
            for label, paths, headers in targets:
                rounds[label].append(load(port, paths, headers, seconds=args.seconds / args.rounds, **common))
            print(f"round {round_number + 1} of {args.rounds} measured", flush=True)
        results = {label: _combined(parts, args.seconds) for label, parts in rounds.items()}
    finally:
        _stop_server(server)

    reference = "/livez"
    mode = "DEBUG on" if args.debug else "production settings"
    print(
        f"\ngunicorn {args.workers} sync workers ({mode}); {args.clients} clients in {args.processes} processes; "
        f"{args.seconds:g} s per target in {args.rounds} rounds after {args.warmup:g} s warm-up; "
        f"answers kept {args.cache_seconds} s; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(
        f"{'target':<28} {'req/s':>8} {'errors':>7} {'median':>9} {'p95':>9} {'vs ' + reference:>30}  req/s per round"
    )
    ok = True
    for label, _paths, _headers in targets:
        result = results[label]
        share = result["rate"] / results[reference]["rate"] if results[reference]["rate"] else 0.0
        measured = label.startswith("GET ")
        ok &= not measured or (share >= TARGET_SHARE and result["errors"] == 0)
        print(
            f"{label:<28} {result['rate']:>8.1f} {result['errors']:>7} {result['median_ms']:>7.1f}ms "
            f"{result['p95_ms']:>7.1f}ms {share:>29.0%}  {' / '.join(map(str, result['rounds']))}"
        )
    print(
        f"\nTarget (tracking page and API at least {TARGET_SHARE:.0%} of the {reference}'s rate, no errors): "
        + ("met" if ok else "NOT met")
    )


if __name__ == "__main__":
    main()

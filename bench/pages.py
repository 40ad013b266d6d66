"""Server time and query count of the main pages on the scale data set, at 1,000 and at 10,000 orders.

    .venv/bin/python bench/pages.py [--sizes 1000 10000] [--requests 30] [--warmup 3] [--rebuild]

Each size has its own database, `<name>_scale<size>` (created and migrated by bench/_setup.py), filled once
by `demo.scale.build` with `<size>` orders and `<10 x size>` jobs (as `manage.py scale_data` builds it) and
reused by later runs (`--rebuild` builds it anew). Each page is requested in-process through Django's test
client (the whole middleware stack, no network), `--warmup` times, then `--requests` times; prints the median
and p95 of those times and the queries one request makes. Targets: median under 150 ms for every page; the
same query count at every size.

Pages: `/`, `/plan/` and `/orders/` as operations, `/dispatch/` as dispatch, `/orders/<id>/` for the order with the
longest timeline, `/portal/` as a client user of the organization with the most orders, `/api/v1/orders/`
as operations with a token.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_MEDIAN_MS = 150
JOBS_PER_ORDER = 10


def _build(size: int, rebuild: bool) -> str:
    from demo.scale.build import Options, scale_data_build, scale_data_summary

    built = scale_data_build(Options(orders=size, jobs=size * JOBS_PER_ORDER), reset=rebuild) is not None
    return f"scale data set {'built' if built else 'reused'}: {scale_data_summary()}"


def _pages() -> list[tuple[str, str, dict]]:
    """(label, url, request headers) of each page, with the user it is asked as signed in or named by a token."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count
    from rest_framework.authtoken.models import Token

    from demo.scale.build import DISPATCH_USER, OPERATIONS_USER
    from orders.models import Order

    users = get_user_model().objects
    operations = users.get(username=OPERATIONS_USER)
    dispatcher = users.get(username=DISPATCH_USER)
    biggest = Order.objects.values("client").annotate(n=Count("id")).order_by("-n").first()["client"]
    client_user = users.get(client_membership__organization=biggest)
    longest = Order.objects.annotate(n=Count("events")).order_by("-n").values_list("pk", flat=True).first()
    token, _created = Token.objects.get_or_create(user=operations)
    return [
        ("/", "/", {"user": operations}),
        ("/dispatch/", "/dispatch/", {"user": dispatcher}),
        ("/plan/", "/plan/", {"user": operations}),
        ("/orders/", "/orders/", {"user": operations}),
        ("/orders/<id>/", f"/orders/{longest}/", {"user": operations}),
        ("/portal/", "/portal/", {"user": client_user}),
        ("/api/v1/orders/", "/api/v1/orders/", {"headers": {"Authorization": f"Token {token.key}"}}),
    ]


def _measure(url: str, how: dict, *, requests: int, warmup: int) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    if "user" in how:
        client.force_login(how["user"])
    headers = how.get("headers", {})
    for _ in range(warmup):
        response = client.get(url, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
    counts = set()
    for _ in range(2):
        with CaptureQueriesContext(connection) as captured:
            client.get(url, headers=headers)
        counts.add(len(captured.captured_queries))
    times.sort()
    return {
        "median_ms": statistics.median(times),
        "p95_ms": times[max(0, round(0.95 * len(times)) - 1)],
        "queries": sorted(counts),
    }


def child(size: int, *, requests: int, warmup: int, rebuild: bool) -> dict:
    """Runs in its own process (Django set up on that size's database): builds or reuses, then measures."""
    from _setup import django_on_bench_database

    database = django_on_bench_database(f"scale{size}")
    started = time.perf_counter()
    summary = _build(size, rebuild)
    built_s = time.perf_counter() - started
    results = {}
    for label, url, how in _pages():
        results[label] = _measure(url, how, requests=requests, warmup=warmup)
    return {"database": database, "summary": summary, "built_s": built_s, "pages": results}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true", help="build the data sets anew")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = child(args.child, requests=args.requests, warmup=args.warmup, rebuild=args.rebuild)
        print(json.dumps(result))
        return
    os.environ.setdefault("DEBUG", "true")
    results = {}
    for size in args.sizes:
        # One process per size: Django is set up once per process, on that size's own database.
        command = [sys.executable, str(Path(__file__)), "--child", str(size)]
        command += ["--requests", str(args.requests), "--warmup", str(args.warmup)]
        command += ["--rebuild"] if args.rebuild else []
        run = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - our own script
        if run.returncode != 0:
            print(run.stdout, run.stderr, sep="\n")
            raise SystemExit(f"measuring {size} orders failed")
        results[size] = json.loads(run.stdout.strip().splitlines()[-1])
        print(f"{size:,} orders: database {results[size]['database']}, {results[size]['summary']}")
    load = os.getloadavg()[0]
    print(
        f"\n{args.requests} requests per page after {args.warmup} warm-up; "
        f"load average {load:.1f} on {os.cpu_count()} cores"
    )
    header = f"{'page':<18}" + "".join(f" | {f'{size:,} orders':^30}" for size in args.sizes)
    print(header)
    print(f"{'':<18}" + "".join(f" | {'median':>8} {'p95':>8} {'queries':>10}" for _ in args.sizes))
    print("-" * len(header))
    ok = True
    for label in next(iter(results.values()))["pages"]:
        cells, counts = [], set()
        for size in args.sizes:
            page = results[size]["pages"][label]
            queries = "/".join(map(str, page["queries"]))
            cells.append(f" | {page['median_ms']:>6.0f}ms {page['p95_ms']:>6.0f}ms {queries:>10}")
            counts.add(tuple(page["queries"]))
            ok &= page["median_ms"] < TARGET_MEDIAN_MS
        ok &= len(counts) == 1
        print(f"{label:<18}" + "".join(cells))
    print(
        f"\nTargets (median under {TARGET_MEDIAN_MS} ms on every page, the same query count at every size): "
        + ("met" if ok else "NOT met")
    )


if __name__ == "__main__":
    main()

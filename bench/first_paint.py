"""What a chart page costs in the browser: first contentful paint and load event, first and repeat visit.

    export DEBUG=true DATABASE_URL=postgres://postgres@127.0.0.1:5432/factory
    .venv/bin/python bench/first_paint.py [--runs 5] [--port 8765]

Runs on its own database, `<name>_firstpaint` (created and migrated by bench/_setup.py), filled once with the demo
data (`manage.py demo_data`: 109 orders, 11 pools, 30 days of samples) and reused by later runs. Starts the web
server as bin/run does (`manage.py runserver --noreload`, static files by WhiteNoise) and drives the system
Chromium through Playwright, signed in as the demo's `ops`. For each of `/`, `/dispatch/` and `/orders/<id>/` (the
order in production with the longest timeline), `--runs` times: a new browser context (empty HTTP cache) signs in,
visits the page (first visit), then visits it again (repeat visit, warm HTTP cache). Reads the page's own
`performance` timing: first contentful paint, DOMContentLoaded, load event, and the bytes that came over the
network, and when the last chart is drawn. Prints the medians. Target: a repeat visit's load event within 1 s.
"""

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager

from _setup import ROOT, django_on_bench_database

TARGET_REPEAT_LOAD_MS = 1000
USERNAME, PASSWORD = "ops", "factory-demo"
# Read in the page once it has loaded: navigation timing is relative to the start of the navigation.
TIMING = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const paint = performance.getEntriesByName("first-contentful-paint")[0];
  const resources = performance.getEntriesByType("resource");
  return {
    fcp: paint ? paint.startTime : null,
    dcl: nav.domContentLoadedEventEnd,
    load: nav.loadEventEnd,
    bytes: nav.transferSize + resources.reduce((sum, entry) => sum + entry.transferSize, 0),
  };
}"""

# Every chart of the page drawn (plotly's SVG is in it), or shown as its empty state.
CHARTS_DRAWN = """() => [...document.querySelectorAll("[data-chart]")].every(
  (chart) => chart.hidden || chart.querySelector(".main-svg"))"""


def _demo_database() -> tuple[str, int]:
    """The bench database's name (with the demo data in it) and the order whose page is measured."""
    name = django_on_bench_database("firstpaint")
    from django.core.management import call_command
    from django.db.models import Count
    from django.test import override_settings

    from orders.models import Order, OrderStatus

    if not Order.objects.exists():
        with override_settings(DEMO_MODE=True, DEMO_PASSWORD=PASSWORD):
            call_command("demo_data")
    order = (
        Order.objects.filter(status=OrderStatus.IN_PRODUCTION)
        .annotate(n=Count("events"))
        .order_by("-n")
        .values_list("pk", flat=True)
        .first()
    )
    return name, order


def _free_port(preferred: int) -> int:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
        except OSError:
            probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def _web_server(database: str, port: int):
    """`manage.py runserver` on the bench database, as bin/run's supervisord starts the web process."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": f"postgres://{credentials}@{db['HOST']}:{db['PORT']}/{database}",
    }
    server = subprocess.Popen(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                probe.request("GET", "/livez")
                probe.getresponse().read()
                probe.close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the web server did not start:\n{server.stderr.read()}") from None
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _visit(page, url: str) -> dict:
    page.goto(url, wait_until="load")
    timing = page.evaluate(TIMING)
    page.wait_for_function(CHARTS_DRAWN, polling="raf")
    timing["charts"] = page.evaluate("() => performance.now()")
    return timing


def _measure(base_url: str, paths: list[str], runs: int) -> dict:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
    results = {path: {"first": [], "repeat": []} for path in paths}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        # Signed in once; each visit then starts in a new context with that session and an empty cache.
        signing_in = browser.new_context(base_url=base_url)
        page = signing_in.new_page()
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(USERNAME)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        session = signing_in.storage_state()
        signing_in.close()
        for _ in range(runs):
            for path in paths:
                context = browser.new_context(
                    base_url=base_url, storage_state=session, viewport={"width": 1440, "height": 900}
                )
                page = context.new_page()
                results[path]["first"].append(_visit(page, path))
                page.goto("/orders/")  # away to a page without charts, then back
                results[path]["repeat"].append(_visit(page, path))
                context.close()
        browser.close()
    return results


def _median(samples: list[dict], key: str) -> float:
    values = [sample[key] for sample in samples if sample[key] is not None]
    return statistics.median(values) if values else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    database, order = _demo_database()
    paths = ["/", "/dispatch/", f"/orders/{order}/"]
    with _web_server(database, _free_port(args.port)) as base_url:
        results = _measure(base_url, paths, args.runs)

    load = os.getloadavg()[0]
    print(
        f"database {database}; {args.runs} runs per page (medians); load average {load:.1f} on {os.cpu_count()} cores"
    )
    header = (
        f"{'page':<14} | {'visit':<6} | {'first paint':>11} | {'DOM ready':>9} | {'load event':>10}"
        f" | {'charts drawn':>12} | {'transferred':>11}"
    )
    print(header)
    print("-" * len(header))
    ok = True
    for path in paths:
        label = "/orders/<id>/" if path.startswith("/orders/") else path
        for visit in ("first", "repeat"):
            samples = results[path][visit]
            loaded = _median(samples, "load")
            if visit == "repeat":
                ok &= loaded <= TARGET_REPEAT_LOAD_MS
            figures = [_median(samples, key) for key in ("fcp", "dcl", "load", "charts")]
            cells = " | ".join(
                f"{figure:>{width - 3}.0f} ms" for figure, width in zip(figures, (11, 9, 10, 12), strict=True)
            )
            print(f"{label:<14} | {visit:<6} | {cells} | {_median(samples, 'bytes') / 1024:>8.0f} KB")
    print(f"\nTarget (a repeat visit's load event within {TARGET_REPEAT_LOAD_MS} ms): " + ("met" if ok else "NOT met"))


if __name__ == "__main__":
    main()

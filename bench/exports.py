"""Time and memory of exporting 100,000 rows from a list: the jobs' list of the scale data set, as CSV and XLSX.

    .venv/bin/python bench/exports.py [--orders 10000] [--rebuild]

Uses the scale data set's database `<name>_scale<orders>` (as bench/pages.py builds it: 10 jobs per order, so
100,000 jobs at 10,000 orders). Asks `/dispatch/jobs/?export=csv` and `?export=xlsx` as the dispatch role through
Django's test client and reads the whole answer as a browser would. Prints the wall time (untraced), the peak of
Python's allocations during a second, traced export (tracemalloc) and the size of the file. The target: a peak far
below the file's size, for CSV and XLSX alike (the rows stream; they never sit in memory together).
"""

import argparse
import time
import tracemalloc

from _setup import django_on_bench_database

JOBS_PER_ORDER = 10


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=10000)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    database = django_on_bench_database(f"scale{args.orders}")

    from django.contrib.auth import get_user_model
    from django.test import Client

    from demo.scale.build import DISPATCH_USER, Options, scale_data_build, scale_data_summary
    from dispatch.models import Job

    scale_data_build(Options(orders=args.orders, jobs=args.orders * JOBS_PER_ORDER), reset=args.rebuild)
    print(f"database {database}: {scale_data_summary()}")
    client = Client()
    client.force_login(get_user_model().objects.get(username=DISPATCH_USER))
    rows = Job.objects.count()
    print(f"\n{'format':<6} {'rows':>8} {'seconds':>8} {'peak MB':>8} {'file MB':>8}")
    for fmt in ("csv", "xlsx"):
        # Timed without tracing (tracemalloc slows every allocation), then traced for the peak.
        started = time.perf_counter()
        size = sum(len(chunk) for chunk in client.get("/dispatch/jobs/", {"export": fmt}).streaming_content)
        seconds = time.perf_counter() - started
        tracemalloc.start()
        for _chunk in client.get("/dispatch/jobs/", {"export": fmt}).streaming_content:
            pass
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"{fmt:<6} {rows:>8,} {seconds:>8.1f} {peak / 2**20:>8.1f} {size / 2**20:>8.1f}")


if __name__ == "__main__":
    main()

"""Time of the header search on the scale data set at 10,000 orders (target: under 100 ms).

    .venv/bin/python bench/search.py [--orders 10000] [--requests 30] [--rebuild]

Uses the scale data set's database `<name>_scale<orders>` (as bench/pages.py builds it, reused if there). A few
hundred orders are given Chinese titles inside a transaction that is rolled back at the end, so that a Chinese
fragment has something to find. For each search text prints the median and p95 of the search itself
(dashboard.search, as the dispatch role: every kind) and of the whole page through Django's test client, the rows
found, and how Postgres read the orders (EXPLAIN): for the whole rule (reference, title or client name), and for
the title alone, which shows the trigram index serving a fragment.
"""

import argparse
import statistics
import time

from _setup import django_on_bench_database

TARGET_MS = 100
JOBS_PER_ORDER = 10
CHINESE_TITLES = ("胸部影像辅助诊断模型", "电子病历出院小结助手", "农村信贷风险评估模型", "政务热线智能问答代理")


def _timed(call, requests: int) -> tuple[float, float]:
    call()
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, round(0.95 * len(times)) - 1)]


def _plan(queryset) -> str:
    """How Postgres reads the orders for `queryset`: by a trigram index, or the whole table."""
    from django.db import connection

    sql, params = queryset.values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return "index" if "_search" in plan else "table"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=10000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    database = django_on_bench_database(f"scale{args.orders}")

    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.test import Client

    from dashboard.search import search
    from demo.scale.build import DISPATCH_USER, OPERATIONS_USER, Options, scale_data_build, scale_data_summary
    from orders.models import Order
    from orders.selectors import order_text_matches

    scale_data_build(Options(orders=args.orders, jobs=args.orders * JOBS_PER_ORDER), reset=args.rebuild)
    print(f"database {database}: {scale_data_summary()}")
    users = get_user_model().objects
    dispatcher = users.get(username=DISPATCH_USER)
    operations = users.get(username=OPERATIONS_USER)
    with transaction.atomic():
        ids = list(Order.objects.order_by("?").values_list("pk", flat=True)[:400])
        for number, pk in enumerate(ids):
            Order.objects.filter(pk=pk).update(title=CHINESE_TITLES[number % len(CHINESE_TITLES)])
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE orders_order")
        sample = Order.objects.order_by("pk").values_list("reference", "title", "client__name")[args.orders // 2]
        texts = [
            ("reference fragment", sample[0][-6:]),
            ("English title word", sample[1].split()[0].lower()),
            ("client name word", sample[2].split()[0]),
            ("Chinese fragment", "影像辅助"),
            ("no match", "zzqx"),
        ]
        client = Client()
        client.force_login(operations)
        print(f"\n{args.requests} searches each, as the dispatch role (search) and as operations (page)")
        print(
            f"{'text':<34} {'search median':>14} {'p95':>7} {'page median':>12} {'p95':>7} {'found':>6} "
            "orders read by (rule / title alone)"
        )
        worst = 0.0
        for label, text in texts:
            median, p95 = _timed(lambda text=text: search(user=dispatcher, text=text), args.requests)
            page_median, page_p95 = _timed(lambda text=text: client.get("/search/", {"q": text}), args.requests)
            found = sum(len(kind.rows) for kind in search(user=dispatcher, text=text))
            worst = max(worst, page_median)
            print(
                f"{label + ' ' + repr(text):<34} {median:>12.1f}ms {p95:>5.1f}ms {page_median:>10.1f}ms "
                f"{page_p95:>5.1f}ms {found:>6} {_plan(Order.objects.filter(order_text_matches(text)))} / "
                f"{_plan(Order.objects.filter(title__icontains=text))}"
            )
        transaction.set_rollback(True)
    print(f"\nTarget (every page median under {TARGET_MS} ms): {'met' if worst < TARGET_MS else 'NOT met'}")


if __name__ == "__main__":
    main()

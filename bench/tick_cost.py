"""Cost of one dispatch tick with 5,000 queued jobs, 1,000 running and 50 pools, on Postgres.

    .venv/bin/python bench/tick_cost.py [--queued 5000] [--running 1000] [--pools 50] [--ticks 15]

Prints the median and p95 wall time of a tick and its query count, for the size asked and for half
of it (the query count must not grow with the number of jobs). Uses its own database (<name>_bench).
"""

import argparse
import statistics
import time
from datetime import timedelta
from decimal import Decimal

from _setup import django_on_bench_database


def build(*, queued: int, running: int, pools: int):
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from dispatch.models import (
        ComputePool,
        ComputeSite,
        DispatchState,
        Job,
        PoolStateChange,
        Preemption,
        UtilizationSample,
    )
    from factory import clock
    from orders.models import ClientOrganization, Order, OrderStage, OrderStep

    with transaction.atomic():
        # TRUNCATE, not DELETE: orders keep their history and refuse row deletes (factory/history.py).
        tables = [
            model._meta.db_table
            for model in (UtilizationSample, Preemption, PoolStateChange, Job, OrderStep, OrderStage, Order)
        ]
        tables += [ComputePool._meta.db_table, ComputeSite._meta.db_table, DispatchState._meta.db_table]
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")  # nosec B608 - table names from the models
        now = clock.now()
        user, _ = get_user_model().objects.get_or_create(username="bench")
        clients = [
            ClientOrganization.objects.get_or_create(name=f"Bench client {n}", defaults={"sector": "finance"})[0]
            for n in range(20)
        ]
        kinds = ["data_processing", "training", "inference"]
        site = ComputeSite.objects.create(name="Bench site", city="Xinghe", in_province=True, monitored_pflops=9000)
        pool_rows = ComputePool.objects.bulk_create(
            ComputePool(
                site=site,
                name=f"bench-pool-{n}",
                kind=kinds[n % 3],
                trusted=n % 2 == 0,
                capacity_pflops=Decimal(400),
                price_per_pflops_hour=Decimal(30),
                background_seed=n,
            )
            for n in range(pools)
        )
        total = queued + running
        orders = Order.objects.bulk_create(
            Order(
                reference=f"AF-2026-B{n:06d}",
                client=clients[n % len(clients)],
                title=f"Bench order {n}",
                product_type="dataset",
                sector="finance",
                data_sensitivity="sensitive" if n % 7 == 0 else "internal",
                size="medium",
                priority=["low", "normal", "high", "urgent"][n % 4 if n % 4 != 3 or n % 40 == 3 else 1],
                requested_delivery=(now + timedelta(days=30 + n % 60)).date(),
                status="in_production",
                placed_by=user,
                created_at=now,
                current_workshop="data",
                tracking_token=f"bench-{n}",
            )
            for n in range(total)
        )
        stages = OrderStage.objects.bulk_create(
            OrderStage(order=order, workshop="data", position=1, status="in_progress", steps_total=1)
            for order in orders
        )
        steps = OrderStep.objects.bulk_create(
            OrderStep(
                stage=stage,
                code="bench-step",
                name="Bench step",
                name_zh="基准工序",
                position=1,
                pool_kind=kinds[n % 3],
                demand_pflops=Decimal(4 + n % 30),
                work_pflops_hours=Decimal(500 + n % 2000),
                nominal_hours=Decimal(10),
                status="running" if n < running else "ready",
            )
            for n, stage in enumerate(stages)
        )
        # Running jobs fill the pools of their kind up to their capacity, as in a busy factory.
        room = {pool.pk: Decimal(360) for pool in pool_rows}
        by_kind = {kind: [pool for pool in pool_rows if pool.kind == kind] for kind in kinds}
        jobs = []
        for n, (order, step) in enumerate(zip(orders, steps, strict=True)):
            pool = None
            if n < running:
                pool = next((p for p in by_kind[step.pool_kind] if room[p.pk] >= step.demand_pflops), None)
                if pool is not None:
                    room[pool.pk] -= step.demand_pflops
            jobs.append(
                Job(
                    order=order,
                    step=step,
                    pool=pool,
                    state="running" if pool else "queued",
                    priority=order.priority,
                    kind=step.pool_kind,
                    sensitive=order.data_sensitivity == "sensitive",
                    demand_pflops=step.demand_pflops,
                    work_pflops_hours=step.work_pflops_hours,
                    deadline=now + timedelta(days=30 + n % 60),
                    queued_at=now - timedelta(minutes=n % 600),
                    started_at=now if pool else None,
                )
            )
        Job.objects.bulk_create(jobs, batch_size=2000)
        for pool in pool_rows:
            pool.used_pflops = Decimal(360) - room[pool.pk]
        ComputePool.objects.bulk_update(pool_rows, ["used_pflops"])
        DispatchState.objects.create(pk=1, last_tick_at=now)
        return now


def measure(*, queued: int, running: int, pools: int, ticks: int) -> dict:
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dispatch.models import Job
    from dispatch.services import dispatch_tick

    settings.DISPATCH_BACKGROUND_LOAD = True
    now = build(queued=queued, running=running, pools=pools)
    times, queries = [], []
    for n in range(1, ticks + 1):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            dispatch_tick(now=now + timedelta(seconds=5 * n))
            times.append((time.perf_counter() - started) * 1000)
        queries.append(len(captured.captured_queries))
    waiting = Job.objects.filter(state__in=["queued", "preempted"]).count()
    running_now = Job.objects.filter(state="running").count()
    times.sort()
    return {
        "median_ms": statistics.median(times),
        "p95_ms": times[max(0, round(0.95 * len(times)) - 1)],
        "queries": sorted(set(queries)),
        "waiting": waiting,
        "running": running_now,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queued", type=int, default=5000)
    parser.add_argument("--running", type=int, default=1000)
    parser.add_argument("--pools", type=int, default=50)
    parser.add_argument("--ticks", type=int, default=15)
    args = parser.parse_args()
    name = django_on_bench_database()
    print(f"database {name}")
    for scale in (0.5, 1.0):
        queued, running = int(args.queued * scale), int(args.running * scale)
        result = measure(queued=queued, running=running, pools=args.pools, ticks=args.ticks)
        print(
            f"{queued:>6} queued {running:>5} running {args.pools} pools: "
            f"tick median {result['median_ms']:.0f} ms, p95 {result['p95_ms']:.0f} ms, "
            f"queries per tick {result['queries']} (after: {result['running']} running, {result['waiting']} waiting)"
        )


if __name__ == "__main__":
    main()

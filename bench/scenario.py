"""How long a what-if scenario takes to run over the demo factory, as the task runs it.

    .venv/bin/python bench/scenario.py [--days 90] [--repeats 3]

On its own database (`<name>_scenario`, created and migrated by bench/_setup.py; the demo factory is made there
once, as `bin/run` makes it), one scenario of every kind of change — the largest training pool offline for
three days, a pool grown, a new pool, extra background load, ten large urgent orders, arrivals doubled for a
month, a longer preemption threshold — runs `--repeats` times over `--days` days with
`dispatch.services.scenario_run_execute`, the Celery task's body: the baseline and the scenario, each a forward
simulation of the whole factory. Printed: the median and worst wall time, what the factory held, and what the
run found. Target (issue 19): a 90-day scenario over the demo factory in under 10 s.
"""

import argparse
import os
import statistics
import time
from datetime import timedelta

os.environ.setdefault("DEMO_MODE", "true")

from _setup import django_on_bench_database  # after DEMO_MODE: the settings read it


def _changes(now) -> list[dict]:
    from dispatch.models import ComputePool, ComputeSite
    from orders.models import ClientOrganization

    training = ComputePool.objects.filter(kind="training").order_by("-capacity_pflops").first()
    inference = ComputePool.objects.filter(kind="inference").order_by("-capacity_pflops").first()
    site = ComputeSite.objects.order_by("pk").first()
    client = ClientOrganization.objects.order_by("pk").first()

    def at(**delta) -> str:
        return (now + timedelta(**delta)).isoformat()

    return [
        {"kind": "pool_offline", "pool": training.pk, "start": at(days=2), "end": at(days=5)},
        {"kind": "pool_capacity", "pool": inference.pk, "capacity": float(inference.capacity_pflops) * 1.5},
        {"kind": "new_pool", "site": site.pk, "pool_kind": "training", "capacity": 200, "start": at(days=10)},
        {"kind": "background", "pool": inference.pk, "pflops": 20, "start": at(days=1), "end": at(days=8)},
        {
            "kind": "orders",
            "product_type": "model",
            "size": "large",
            "priority": "urgent",
            "data_sensitivity": "sensitive",
            "client": client.pk,
            "due": (now + timedelta(days=45)).date().isoformat(),
            "count": 10,
        },
        {"kind": "arrival_rate", "factor": 2, "start": at(days=7), "end": at(days=37)},
        {"kind": "policy", "parameter": "preemption_threshold", "hours": 2},
    ]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    name = django_on_bench_database("scenario")

    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from dispatch import services, tasks
    from dispatch.models import ComputePool, Job
    from factory import clock, roles
    from orders.models import IN_FLIGHT_STATUSES, Order

    if not Order.objects.exists():
        call_command("demo_data")
    tasks.run_scenario.delay = lambda run_id: None  # this process runs each run itself, as the worker would
    planner = get_user_model().objects.filter(groups__name=roles.DISPATCH).first()
    now = clock.now()
    scenario = services.scenario_create(
        actor=planner, name="Bench: every kind of change", horizon_days=args.days, changes=_changes(now)
    )
    times, run = [], None
    for _repeat in range(args.repeats):
        run = services.scenario_run_start(scenario=scenario, actor=planner)
        started = time.perf_counter()
        run = services.scenario_run_execute(run_id=run.pk)
        times.append(time.perf_counter() - started)
        assert run.state == "done", run.error
    result = run.result
    print(
        f"database {name}: {Order.objects.filter(status__in=IN_FLIGHT_STATUSES).count()} orders in flight, "
        f"{Job.objects.count()} jobs, {ComputePool.objects.count()} pools; {len(scenario.changes)} changes, "
        f"{args.days}-day horizon"
    )
    print(f"scenario run: median {statistics.median(times):.2f} s, worst {max(times):.2f} s ({args.repeats} runs)")
    print(
        f"found: {len(result['orders'])} orders watched, {result['slipped']} slipped, {result['gained']} gained, "
        f"{result['broken']} promises broken; on time {result['baseline']['on_time_rate']} -> "
        f"{result['scenario']['on_time_rate']}"
    )


if __name__ == "__main__":
    main()

"""Ticks running at the same time (beat firing twice, two workers) never double-count or lose compute."""

import random
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from dispatch import services
from dispatch.models import ComputePool, DispatchState, Job, JobState
from factory import clock
from orders.models import OrderStatus
from tests.factories import compute_pool, order_at

pytestmark = pytest.mark.django_db(transaction=True)


def _tick_in_thread(now, barrier, reports):
    try:
        barrier.wait()
        reports.append((now, services.dispatch_tick(now=now)))
    finally:
        connection.close()


def test_concurrent_ticks_keep_pools_within_capacity_and_lose_no_progress(settings, ops_user):
    settings.DISPATCH_BACKGROUND_LOAD = False
    for kind in ("data_processing", "training", "inference"):
        compute_pool(kind=kind, capacity=Decimal("400"))
    for _ in range(4):
        order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, size="large")
    t0 = clock.now()
    services.dispatch_tick(now=t0)
    started = {job.pk: job.demand_pflops for job in Job.objects.filter(state=JobState.RUNNING)}
    assert started

    reports = []
    for round_start in range(3):
        moments = [t0 + timedelta(minutes=10 * round_start + minute) for minute in range(1, 9)]
        random.Random(round_start).shuffle(moments)
        barrier = threading.Barrier(len(moments))
        threads = [threading.Thread(target=_tick_in_thread, args=(now, barrier, reports)) for now in moments]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    last = DispatchState.objects.get().last_tick_at
    processed = [now for now, report in reports if not report.skipped]
    assert processed
    assert last == max(processed)
    for pool in ComputePool.objects.all():
        on_pool = Job.objects.filter(pool=pool, state=JobState.RUNNING).aggregate(total=Sum("demand_pflops"))
        assert 0 <= pool.used_pflops <= pool.capacity_pflops
        assert pool.used_pflops == (on_pool["total"] or 0)
    hours = Decimal((last - t0).total_seconds()) / 3600
    for job in Job.objects.filter(pk__in=started):
        # Every elapsed minute counted once: no double counting by two ticks, nothing lost by a skipped one.
        assert job.done_pflops_hours == pytest.approx(
            min(job.demand_pflops * hours, job.work_pflops_hours), abs=Decimal("0.01")
        )
        assert (job.state == JobState.RUNNING) == (job.pool_id is not None)

"""One lock order: pool drains, offline/activate, priority changes (pages and API) and ticks from four threads at
once end with no deadlock and no answer of 5xx (dispatch.services, "One lock order")."""

import random
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client

from dispatch import services
from dispatch.models import ComputePool
from factory import clock
from orders.models import Order, OrderStatus, Priority
from tests.factories import compute_pool, order_at

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 4
OPERATIONS_PER_THREAD = 60


def _deadlocks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


class _Clock:
    """Tick moments that only move forward, shared by the threads."""

    def __init__(self, start):
        self.at = start
        self.lock = threading.Lock()

    def next(self):
        with self.lock:
            self.at += timedelta(minutes=5)
            return self.at


def _work(seed, user, pools, orders, ticks, answers, errors):
    rng = random.Random(seed)
    browser = Client()
    browser.force_login(user)
    try:
        for number in range(OPERATIONS_PER_THREAD):
            operation = rng.choice(("tick", "tick", "pool", "pool", "priority", "priority"))
            if operation == "tick":
                services.dispatch_tick(now=ticks.next())
                answers.append(("tick", 200))
            elif operation == "pool":
                pool = rng.choice(pools)
                action = rng.choice(("drain", "offline", "activate"))
                reason = {"reason": f"load test {seed}-{number}"}
                if rng.random() < 0.5:
                    response = browser.post(f"/dispatch/pools/{pool}/{action}/", reason)
                else:
                    response = browser.post(f"/api/v1/pools/{pool}/{action}/", reason, content_type="application/json")
                answers.append((f"pool {action}", response.status_code))
            else:
                order = rng.choice(orders)
                change = {"priority": rng.choice(Priority.values), "reason": f"load test {seed}-{number}"}
                if rng.random() < 0.5:
                    response = browser.post(f"/dispatch/orders/{order}/priority/", change)
                else:
                    response = browser.post(
                        f"/api/v1/orders/{order}/priority/", change, content_type="application/json"
                    )
                answers.append(("priority", response.status_code))
    except Exception as error:  # a 5xx raised in the test client, or a deadlock in a tick
        errors.append(repr(error))
    finally:
        connection.close()


def test_pool_changes_priority_changes_and_ticks_at_once_never_deadlock(settings, ops_user, dispatcher):
    settings.DISPATCH_BACKGROUND_LOAD = False
    pools = [
        compute_pool(kind=kind, capacity=capacity).pk
        for kind, capacity in (("data_processing", 60), ("data_processing", 40), ("training", 400), ("inference", 200))
    ]
    orders = [
        order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, priority=priority, product_type="agent").pk
        for priority in ("low", "normal", "normal", "high", "low", "normal")
    ]
    ticks = _Clock(clock.now())
    services.dispatch_tick(now=ticks.next())
    before = _deadlocks()

    answers, errors = [], []
    threads = [
        threading.Thread(target=_work, args=(seed, dispatcher, pools, orders, ticks, answers, errors))
        for seed in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    time.sleep(0.5)  # the threads' statistics reach the server as their connections close

    assert not errors
    assert len(answers) == THREADS * OPERATIONS_PER_THREAD >= 200
    assert [answer for answer in answers if answer[1] >= 500] == []
    assert {status for _, status in answers} <= {200, 201, 302, 400, 409}
    assert _deadlocks() == before
    # Every change landed or was refused whole: the pools stay within capacity, each order has one priority.
    for pool in ComputePool.objects.all():
        assert 0 <= pool.used_pflops <= pool.capacity_pflops
    for order in Order.objects.filter(pk__in=orders):
        assert set(order.jobs.exclude(state="done").values_list("priority", flat=True)) <= {order.priority}

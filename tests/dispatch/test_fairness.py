"""Fair share by entitlement: clients that both saturate a pool kind get it in proportion to their entitlements, a
client alone may use all of it, and the tick, the forecast and the simulation weigh clients alike."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from dispatch import forecast, services
from dispatch.engine.planner import NORMAL, PoolState
from dispatch.engine.plans import OrderPlan, StepSpec
from dispatch.engine.policy import DEFAULT_ENTITLEMENT, entitlement_of, fair_share_usage
from dispatch.engine.simulation import simulate
from dispatch.errors import DispatchInvalid
from dispatch.models import ClientEntitlement, ComputePool, Job, JobState
from factory import clock
from orders.models import OrderStatus
from tests.factories import compute_pool, order_at

NOW = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
BIG, SMALL = 1, 2  # clients entitled 2:1 to training
ENTITLEMENTS = {(BIG, "training"): 2.0, (SMALL, "training"): 1.0}


def _saturating_orders(client: int, first_id: int, count: int, rng: random.Random, *, arrival=NOW) -> list[OrderPlan]:
    """``count`` one-step training orders of equal priority, 10 PFLOPS for 2-6 h each, due in four to five weeks:
    far more than a week of the pool, with time to spare."""
    orders = []
    for i in range(count):
        hours = rng.uniform(2, 6)
        orders.append(
            OrderPlan(
                order_id=first_id + i,
                client_id=client,
                priority=NORMAL,
                deadline=arrival + timedelta(days=rng.uniform(28, 35)),
                sensitive=False,
                stages=[[StepSpec(kind="training", demand=10.0, work=10.0 * hours)]],
                gate_hours=0.0,
                arrival=arrival,
            )
        )
    return orders


def _pflops_hours_in(result, orders: list[OrderPlan], start: datetime, end: datetime) -> float:
    """PFLOPS·h the orders' jobs ran between ``start`` and ``end`` (one step each, never preempted: equal priority)."""
    total = 0.0
    for plan in orders:
        began, finished = result.orders[plan.order_id].steps[0][0]
        if began is None:
            continue
        finished = finished or end
        overlap = (min(finished, end) - max(began, start)).total_seconds() / 3600
        total += plan.stages[0][0].demand * max(0.0, overlap)
    return total


def _pool() -> PoolState:
    return PoolState(id=1, kind="training", capacity=100.0, background=0.0, trusted_in_province=True)


def test_two_clients_entitled_two_to_one_and_both_saturating_get_the_pool_two_to_one_over_a_week():
    rng = random.Random(19)
    big = _saturating_orders(BIG, 1, 600, rng)
    small = _saturating_orders(SMALL, 1001, 600, rng)

    result = simulate(
        pools=[_pool()], orders=big + small, now=NOW, horizon=WEEK, background=False, entitlements=ENTITLEMENTS
    )

    got_big = _pflops_hours_in(result, big, NOW, NOW + WEEK)
    got_small = _pflops_hours_in(result, small, NOW, NOW + WEEK)
    assert got_big + got_small == pytest.approx(100 * 24 * 7, rel=0.01)  # the pool was full all week
    assert got_big / got_small == pytest.approx(2.0, rel=0.10)


def test_without_entitlements_both_saturating_clients_get_the_pool_alike():
    rng = random.Random(19)
    first = _saturating_orders(BIG, 1, 600, rng)
    second = _saturating_orders(SMALL, 1001, 600, rng)

    result = simulate(pools=[_pool()], orders=first + second, now=NOW, horizon=WEEK, background=False)

    ratio = _pflops_hours_in(result, first, NOW, NOW + WEEK) / _pflops_hours_in(result, second, NOW, NOW + WEEK)
    assert ratio == pytest.approx(1.0, rel=0.10)


def test_a_client_alone_uses_the_whole_pool_beyond_its_entitlement_until_the_other_comes():
    rng = random.Random(5)
    small = _saturating_orders(SMALL, 1, 600, rng)
    big = _saturating_orders(BIG, 1001, 600, rng, arrival=NOW + timedelta(days=3))

    result = simulate(
        pools=[_pool()], orders=small + big, now=NOW, horizon=WEEK, background=False, entitlements=ENTITLEMENTS
    )

    # Entitled to a third, the small client runs on all of the idle pool for three days...
    alone = _pflops_hours_in(result, small, NOW, NOW + timedelta(days=3))
    assert alone == pytest.approx(100 * 24 * 3, rel=0.01)
    # ...and once the big client comes, the big one gets more than the small one: it has the larger entitlement
    # and has used none of it yet.
    later = NOW + timedelta(days=3)
    assert _pflops_hours_in(result, big, later, NOW + WEEK) > _pflops_hours_in(result, small, later, NOW + WEEK)


def test_fair_share_is_usage_per_unit_of_entitlement_and_a_client_without_one_weighs_the_default():
    assert fair_share_usage(600.0, 2.0) == fair_share_usage(300.0, 1.0)
    assert entitlement_of(ENTITLEMENTS, BIG, "training") == 2.0
    assert entitlement_of(ENTITLEMENTS, BIG, "inference") == DEFAULT_ENTITLEMENT == 1.0


# --- Through the database -------------------------------------------------------------------------------------


@pytest.fixture
def _no_background_load(settings):
    settings.DISPATCH_BACKGROUND_LOAD = False


@pytest.mark.django_db
def test_setting_an_entitlement_stores_one_weight_per_client_and_kind(org_a):
    services.client_entitlement_set(client=org_a, kind="training", weight=Decimal("2"))
    services.client_entitlement_set(client=org_a, kind="training", weight="3.5")
    services.client_entitlement_set(client=org_a, kind="inference", weight=1)

    assert dict(ClientEntitlement.objects.values_list("kind", "weight")) == {
        "training": Decimal("3.50"),
        "inference": Decimal("1.00"),
    }
    assert services.client_entitlements() == {(org_a.pk, "training"): 3.5, (org_a.pk, "inference"): 1.0}


@pytest.mark.django_db
@pytest.mark.parametrize("weight", [0, -1, "0.001", "many", None, "NaN", "1e9"])
def test_an_entitlement_must_be_a_positive_number(org_a, weight):
    with pytest.raises(DispatchInvalid) as refused:
        services.client_entitlement_set(client=org_a, kind="training", weight=weight)

    assert refused.value.field == "weight"
    assert not ClientEntitlement.objects.exists()


@pytest.mark.django_db
def test_an_entitlement_names_a_pool_kind(org_a):
    with pytest.raises(DispatchInvalid) as refused:
        services.client_entitlement_set(client=org_a, kind="quantum", weight=2)

    assert refused.value.field == "kind"


@pytest.mark.django_db
def test_the_database_refuses_an_entitlement_that_is_not_positive(org_a):
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        ClientEntitlement.objects.create(client=org_a, kind="training", weight=0)


def _finished_work(order, pflops_hours: float, at):
    """Record that the order's first step ran ``pflops_hours`` on data processing, finished at ``at``: recent usage."""
    step = order.stages.order_by("position").first().steps.order_by("position").first()
    Job.objects.create(
        order=order,
        step=step,
        state=JobState.DONE,
        priority=order.priority,
        kind="data_processing",
        demand_pflops=Decimal(10),
        work_pflops_hours=Decimal(pflops_hours),
        done_pflops_hours=Decimal(pflops_hours),
        deadline=at,
        queued_at=at,
        started_at=at,
        finished_at=at,
    )


@pytest.mark.django_db
@pytest.mark.usefixtures("_no_background_load")
@pytest.mark.parametrize(("entitled_b", "first"), [(None, "a"), (3, "b")])
def test_the_tick_starts_the_client_that_used_least_per_unit_of_its_entitlement(
    ops_user, dispatcher, org_a, org_b, entitled_b, first
):
    now = clock.now()
    a = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, actor=ops_user)
    b = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_b, actor=ops_user)
    # B used twice what A did; entitled to three times as much, it is the further below its share.
    _finished_work(a, 100, now - timedelta(hours=1))
    _finished_work(b, 200, now - timedelta(hours=1))
    if entitled_b is not None:
        services.client_entitlement_set(client=org_b, kind="data_processing", weight=entitled_b)
    pool = compute_pool(kind="data_processing", capacity=1000)
    services.dispatch_tick(now=now)  # the jobs of both orders' ready steps, made and started
    demand = Job.objects.filter(state=JobState.RUNNING).first().demand_pflops
    services.pool_change_state(pool=pool, action="offline", actor=dispatcher, reason="Cooling check")
    ComputePool.objects.filter(pk=pool.pk).update(capacity_pflops=demand * Decimal("1.5"))  # room for one job
    services.pool_change_state(pool=pool, action="activate", actor=dispatcher, reason="Cooling checked")

    services.dispatch_tick(now=now + timedelta(minutes=1))

    running = Job.objects.get(state=JobState.RUNNING)
    assert running.order == {"a": a, "b": b}[first]
    assert forecast.engine_inputs(now)["entitlements"] == (
        {} if entitled_b is None else {(org_b.pk, "data_processing"): 3.0}
    )

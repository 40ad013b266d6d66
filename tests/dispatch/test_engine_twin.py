"""The twin test: the live dispatch tick and the forward simulation are one engine.

From one database state, the live tick runs over factory hours with the clock stepped one tick at a time
(gates released as soon as their expected review time has passed, no new orders), and the simulation,
built from the same state by the forecast's own code, runs in tick mode. Both must start the same order's
work on the same pool at the same tick, and preempt the same orders at the same tick. The test fails on
the first difference and names it.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Max

from dispatch import forecast, services
from dispatch.engine import simulation
from dispatch.models import ComputePool, Job, JobState, Preemption
from factory import clock
from orders.models import OrderStage, OrderStatus, OrderStep, StageStatus
from orders.services import stage_release_gate
from tests.factories import ClientOrganizationFactory, compute_pool, gate_reviewer, order_at

pytestmark = pytest.mark.django_db

TICK = timedelta(minutes=15)
HOURS = 96


@pytest.fixture
def frozen_clock(monkeypatch):
    """The factory clock, stopped; `frozen_clock.at = …` moves it."""

    class Frozen:
        at = clock.now().replace(minute=0, second=0, microsecond=0)

    monkeypatch.setattr(clock, "now", lambda: Frozen.at)
    return Frozen


def _factory(ops_user, frozen_clock):
    """Contended pools of every kind with background load, and orders of every priority, two sensitive,
    one client on a small enforced budget. Returns the instant after the tick that starts the twins."""
    clients = [ClientOrganizationFactory() for _ in range(4)]
    orders = []
    specs = [
        ("low", "dataset", "small", "internal"),
        ("low", "model", "small", "internal"),
        ("normal", "model", "small", "sensitive"),
        ("normal", "agent", "small", "internal"),
        ("normal", "dataset", "medium", "public"),
        ("low", "agent", "small", "sensitive"),
        ("normal", "model", "small", "public"),
    ]
    for index, (priority, product_type, size, sensitivity) in enumerate(specs):
        orders.append(
            order_at(
                OrderStatus.IN_PRODUCTION,
                staff=ops_user,
                client=clients[index % len(clients)],
                priority=priority,
                product_type=product_type,
                size=size,
                data_sensitivity=sensitivity,
                requested_delivery=frozen_clock.at.date() + timedelta(days=10 + 3 * index),
            )
        )
    # Pools sized from the catalog's demands: about two data jobs at a time, one training job, one inference job.
    demand = {
        row["pool_kind"]: row["largest"]
        for row in OrderStep.objects.values("pool_kind").annotate(largest=Max("demand_pflops"))
    }
    for seed, (kind, share, trusted, in_province) in enumerate(
        [
            ("data_processing", Decimal("2.6"), True, True),
            ("data_processing", Decimal("1.8"), False, True),
            ("training", Decimal("1.9"), True, True),
            ("training", Decimal("1.7"), False, False),
            ("inference", Decimal("2.2"), True, True),
        ],
        start=1,
    ):
        compute_pool(
            kind=kind,
            capacity=(demand[kind] * share).quantize(Decimal("1")),
            trusted=trusted,
            in_province=in_province,
            background_seed=seed,
        )
    services.client_budget_set(client=clients[1], monthly_pflops_hours=Decimal("40"))
    services.dispatch_tick(now=frozen_clock.at)
    # Urgent and high work arrives once the pools are busy: it waits, then preempts.
    frozen_clock.at += TICK
    for priority in ("urgent", "high"):
        order_at(
            OrderStatus.IN_PRODUCTION,
            staff=ops_user,
            client=clients[2],
            actor=ops_user,
            priority=priority,
            product_type="dataset",
            size="small",
            requested_delivery=frozen_clock.at.date() + timedelta(days=5),
        )
    services.dispatch_tick(now=frozen_clock.at)
    return frozen_clock.at


def _running():
    return {job.pk: (job.order_id, job.pool_id) for job in Job.objects.filter(state=JobState.RUNNING)}


def _release_due_gates(now, gate_hours, staff):
    for stage in OrderStage.objects.filter(status=StageStatus.AWAITING_REVIEW).select_related("order"):
        if stage.finished_at + timedelta(hours=gate_hours) <= now:
            stage_release_gate(stage=stage, actor=gate_reviewer())


def _first_difference(live, twin, what):
    for index, (ours, theirs) in enumerate(zip(live, twin, strict=False)):
        if ours != theirs:
            return f"{what} #{index}: live tick {ours}, simulation {theirs}"
    if len(live) != len(twin):
        longer, name = (live, "live tick") if len(live) > len(twin) else (twin, "simulation")
        return f"{what} #{min(len(live), len(twin))}: only the {name} has {longer[min(len(live), len(twin))]}"
    return None


def test_the_live_tick_and_the_simulation_make_the_same_decisions(settings, ops_user, frozen_clock):
    settings.DISPATCH_BACKGROUND_LOAD = True
    start = _factory(ops_user, frozen_clock)
    gate_hours = services.expected_gate_hours()

    pools, background = forecast.present_pools(start)
    plans, _hours = forecast.present_orders(start)
    twin = simulation.simulate(
        pools=pools,
        orders=plans,
        now=start,
        horizon=timedelta(hours=HOURS),
        background=background,
        tick=TICK,
        **forecast.engine_inputs(start),
    )

    starts, running, held = [], _running(), 0
    preempted_before = set(Preemption.objects.values_list("pk", flat=True))
    for tick in range(1, int(HOURS * 3600 / TICK.total_seconds()) + 1):
        now = start + TICK * tick
        frozen_clock.at = now
        _release_due_gates(now, gate_hours, ops_user)
        held += services.dispatch_tick(now=now).reasons.get(services.BUDGET_EXCEEDED, 0)
        now_running = _running()
        starts.extend(
            (now, order_id, pool_id)
            for job_id, (order_id, pool_id) in sorted(now_running.items(), key=lambda item: item[1])
            if running.get(job_id) != (order_id, pool_id)
        )
        running = now_running
    preemptions = sorted(
        (p.at, p.preempted.order_id, p.preempted_by.order_id)
        for p in Preemption.objects.exclude(pk__in=preempted_before).select_related("preempted", "preempted_by")
    )

    assert len(starts) > 20, "the twins should have work to decide on"
    assert preemptions, "the twins should preempt"
    assert held, "the twins should hold a client over its budget"
    print(f"twins agree on {len(starts)} starts and {len(preemptions)} preemptions; {held} job-ticks on hold")
    assert ComputePool.objects.count() == len(pools)
    difference = _first_difference(sorted(starts), sorted(twin.start_log), "start") or _first_difference(
        preemptions, sorted(twin.preemption_log), "preemption"
    )
    assert difference is None, difference

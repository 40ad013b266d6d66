"""Queue-aware forecasts: each order's ETA, and the promised date and cost of an order not yet placed.

Both run the same event-driven forward simulation (dispatch.engine.simulation) over the present state of the
factory: the pools with their simulated background load, the jobs running and waiting, every order
still in the factory with its remaining steps and gates. Gates are expected to take as long as they
have recently taken (GATE_REVIEW_HOURS until there is history).

The factory does not stop taking orders, and newer work overtakes waiting work (a higher priority, or less
slack). So besides what is in the factory, both simulate the demand to expect: the orders accepted over the
last four weeks arrive again, twice in a row (`dispatch.engine.simulation.expected_arrivals`), for their load only.
Assuming no new order would come promised low and normal work too early: in bench/eta_quality.py (300 orders
of a simulated year) the ETA at acceptance erred by a median 21 % (p90 33 %) of the lead time for low-priority
orders and 6 % (p90 19 %) for normal ones, nearly always early; with the expected demand 5 % (p90 22 %) and
3 % (p90 12 %), as often late as early. It costs: a forecast simulates about three times as many orders, so
above `FORECAST_EXPECTED_DEMAND_UP_TO` orders in flight (300) it is left out. The simulation stops once every
order whose date is wanted is delivered.

A quote simulates the new order exactly as the forecast will right after its acceptance: due on the date
about to be promised, newer than every order in the factory, and part of the recent demand expected to come
again. So the date promised is the first ETA the order is given (tests/dispatch/test_forecast.py).
"""

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Avg

from catalog.models import SIZE_FACTORS
from catalog.selectors import routing_for, steps_by_workshop
from dispatch.engine import simulation
from dispatch.engine.plans import OrderPlan, StepSpec
from dispatch.engine.policy import PRIORITY_RANK
from dispatch.models import ACTIVE_STATES, ComputePool, Job, Preemption
from dispatch.services import (
    booked_holds,
    bookings_in_force,
    client_entitlements,
    client_recent_usage,
    client_usage_this_month,
    enforced_budgets,
    expected_gate_hours,
    hold_dispatch_lock,
    maintenance_windows,
    month_start,
    order_due,
    pool_background,
    pool_changes_pending,
    pool_snapshot,
    scheduled_pool_changes,
)
from factory import clock
from factory.db import atomic_with_retry
from orders import selectors as order_selectors
from orders import services as order_services
from orders.models import DataSensitivity, StageStatus, StepStatus
from orders.quotes import Quote, nominal_quote, promise_due

HORIZON = timedelta(days=400)


@dataclass
class ForecastReport:
    orders: int
    updated: int
    seconds: float


def present_pools(now):
    """The pools as the tick sees them, in the tick's order, and their background over time (a pool the database
    does not hold, a scenario's new one, has none). A pool closed or drained by a maintenance window under way is
    given in the state it had before: the simulation closes it again for the rest of the window and reopens it as
    that."""
    pools = {pool.pk: pool for pool in ComputePool.objects.select_related("site").order_by("pk")}
    states = [pool_snapshot(pool, now) for pool in pools.values()]
    reopening = {b.pool_id: b for b in bookings_in_force(now) if b.began_at is not None}
    for state in states:
        if (window := reopening.get(state.id)) is not None and state.state == window.closes_to:
            state.state = window.state_before
    return states, lambda state, at: pool_background(pools[state.id], at) if state.id in pools else 0.0


def engine_inputs(now) -> dict:
    """What the simulation needs besides pools and orders, built as the tick builds it (dispatch.engine.policy)."""
    bookings = bookings_in_force(now)
    return {
        "client_usage": client_recent_usage(now),
        "entitlements": client_entitlements(),
        "budgets": enforced_budgets(),
        "month_usage": client_usage_this_month(now, in_progress=False),  # the simulation counts active jobs
        "month_start": month_start,
        "holds": booked_holds(bookings, now),
        "maintenance": maintenance_windows(bookings, now),
        "pool_changes": scheduled_pool_changes(pool_changes_pending()),
    }


def _spec(step) -> StepSpec:
    return StepSpec(kind=step.pool_kind, demand=float(step.demand_pflops), work=float(step.work_pflops_hours))


def _order_fields(order) -> dict:
    """What a simulated order takes from the order itself, wherever it stands."""
    return {
        "order_id": order.pk,
        "client_id": order.client_id,
        "priority": PRIORITY_RANK.get(order.priority, 1),
        "deadline": order_due(order),
        "sensitive": order.data_sensitivity == DataSensitivity.SENSITIVE,
    }


def _plan_of(order, jobs_by_step, review_hours: float, now: datetime) -> OrderPlan:
    """The remaining work of an order: the not-done steps of its current stage, then the later stages."""
    stages = [stage for stage in order.stages.all() if stage.status != StageStatus.APPROVED]
    current, later = stages[0], stages[1:]
    remaining = [step for step in current.steps.all() if step.status != StepStatus.DONE]
    progress, running_pool, queued_at, deadline, started_at = 0.0, None, None, None, None
    if remaining and (job := jobs_by_step.get(remaining[0].pk)) is not None:
        progress, queued_at = float(job.done_pflops_hours), job.queued_at
        running_pool, deadline, started_at = job.pool_id, job.deadline, job.started_at
    gate_left = None
    if not remaining and current.finished_at is not None:
        gate_left = max(0.0, review_hours - (now - current.finished_at).total_seconds() / 3600)
    return OrderPlan(
        **_order_fields(order),
        stages=[[_spec(step) for step in remaining]] + [[_spec(step) for step in stage.steps.all()] for stage in later],
        gate_hours=review_hours,
        arrival=min(order.accepted_at or now, now),
        current_job_progress=progress,
        running_pool_id=running_pool,
        gate_remaining_hours=gate_left,
        queued_at=queued_at,
        current_step_deadline=deadline,
        current_started_at=started_at,
    )


def present_orders(now):
    review_hours = expected_gate_hours()
    jobs_by_step = {job.step_id: job for job in Job.objects.filter(state__in=ACTIVE_STATES)}
    orders = order_selectors.orders_in_flight()
    plans = [_plan_of(order, jobs_by_step, review_hours, now) for order in orders if order.stages.all()]
    return plans, review_hours


def recent_orders(now, review_hours: float, in_flight: int) -> list[OrderPlan] | None:
    """The orders accepted over the lookback, whole, which the demand to expect replays (the module docstring);
    None above FORECAST_EXPECTED_DEMAND_UP_TO orders in flight, where no demand is expected."""
    if in_flight > settings.FORECAST_EXPECTED_DEMAND_UP_TO:
        return None
    return [
        OrderPlan(
            **_order_fields(order),
            stages=[[_spec(step) for step in stage.steps.all()] for stage in order.stages.all()],
            gate_hours=review_hours,
            arrival=order.accepted_at,
        )
        for order in order_selectors.orders_accepted_between(start=now - simulation.EXPECTED_LOOKBACK, end=now)
        if order.stages.all()
    ]


def _expected(recent: list[OrderPlan] | None, *, now: datetime, first_id: int) -> list[OrderPlan]:
    return [] if recent is None else simulation.expected_arrivals(recent, now=now, first_id=first_id)


def forecast_etas(*, now: datetime | None = None) -> ForecastReport:
    """Predict every in-flight order's delivery and write the ETAs through orders' services."""
    started = time.perf_counter()
    now = now or clock.now()
    pools, background = present_pools(now)
    plans, review_hours = present_orders(now)
    in_flight = {plan.order_id for plan in plans}
    result = simulation.simulate(
        pools=pools,
        orders=plans + _expected(recent_orders(now, review_hours, len(plans)), now=now, first_id=-1),
        now=now,
        horizon=HORIZON,
        background=background,
        until_done=in_flight,
        **engine_inputs(now),
    )
    etas = {
        order_id: outcome.finished_at
        for order_id, outcome in result.orders.items()
        if order_id in in_flight and outcome.finished_at is not None
    }
    updated = _write_etas(etas)
    return ForecastReport(orders=len(plans), updated=updated, seconds=time.perf_counter() - started)


@atomic_with_retry
def _write_etas(etas: dict) -> int:
    """Write the predicted ETAs, and the slips they show for new preemptions, under the dispatch lock."""
    hold_dispatch_lock()
    previous = dict(order_selectors.orders_eta(ids=list(etas)))
    updated = order_services.orders_set_eta(etas=etas)
    _record_eta_slips(previous, etas)
    return updated


def _record_eta_slips(previous: dict, etas: dict) -> None:
    """Preemptions not yet assessed learn how far they pushed the ETAs of the orders they hit."""
    for preemption in Preemption.objects.filter(eta_slips={}).select_related("preempted"):
        order_id = preemption.preempted.order_id
        before, after = previous.get(order_id), etas.get(order_id)
        if before and after:
            preemption.eta_slips = {str(order_id): round((after - before).total_seconds() / 3600, 2)}
            preemption.save(update_fields=["eta_slips"])


def catalog_stages(*, product_type: str, size: str) -> list[list[StepSpec]]:
    """The work of a new order of this product and size, stage by stage, as its acceptance will lay it out."""
    workshops = routing_for(product_type)
    catalog = steps_by_workshop(workshops, size)
    factor = SIZE_FACTORS[size]
    return [
        [
            StepSpec(kind=step.pool_kind, demand=float(step.demand_pflops), work=float(step.work_pflops_hours * factor))
            for step in catalog[workshop]
        ]
        for workshop in workshops
    ]


# A quote simulates its candidate due on the date it is about to promise, as the placed order will be: a candidate
# with no due date would never be at risk and would queue behind all the work that is, so its promise would run
# days late (bench/live_eta.py: small datasets promised 20 days ahead were delivered in 9). The promise depends
# on the due date it is simulated with, so the quote iterates from the catalog's nominal promise; a later due
# date never makes the finish earlier, so the passes settle within a day or two.
QUOTE_PASSES = 3


def queue_aware_quote(*, product_type: str, size: str, priority: str, data_sensitivity: str, start: datetime) -> Quote:
    """Where a new order would finish if placed now, given everything already in the factory."""
    stages = catalog_stages(product_type=product_type, size=size)
    nominal = nominal_quote(
        product_type=product_type, size=size, priority=priority, data_sensitivity=data_sensitivity, start=start
    )
    pools, background = present_pools(start)
    plans, review_hours = present_orders(start)
    recent = recent_orders(start, review_hours, len(plans) + 1)
    # Ties between equal jobs go to the older order: the candidate is newer than every order in the factory, as
    # the placed order will be (its id comes next), and its expected replays count down from -1 as in a forecast.
    candidate_id = max((plan.order_id for plan in plans), default=0) + 1
    inputs = engine_inputs(start)
    promised = nominal.promised_delivery
    for _ in range(QUOTE_PASSES):
        candidate = OrderPlan(
            order_id=candidate_id,
            client_id=-1,  # a quote is for no client yet: no usage to share fairly
            priority=PRIORITY_RANK[priority],
            deadline=promise_due(promised),
            sensitive=data_sensitivity == DataSensitivity.SENSITIVE,
            stages=stages,
            gate_hours=review_hours,
            arrival=start,
        )
        result = simulation.simulate(
            pools=pools,
            # Once accepted, the order is part of the recent demand that the forecast expects to come again.
            orders=[
                *plans,
                candidate,
                *_expected(None if recent is None else [*recent, candidate], now=start, first_id=-1),
            ],
            now=start,
            horizon=HORIZON,
            background=background,
            until_done={candidate_id},
            **inputs,
        )
        finish = result.orders[candidate_id].finished_at
        if finish is None:
            # No pool can run some of its steps (none of that kind yet): the catalog's nominal figures still answer.
            return nominal
        simulated_with, promised = promised, (finish + timedelta(days=1)).date()
        if promised == simulated_with:
            break
    work = sum(spec.work for stage in stages for spec in stage)
    price = _expected_price(data_sensitivity)
    return Quote(
        promised_delivery=promised,
        estimated_compute_pflops_hours=Decimal(work).quantize(Decimal("0.01")),
        estimated_cost=(Decimal(work) * price).quantize(Decimal("0.01")),
    )


def _expected_price(data_sensitivity: str) -> Decimal:
    """Average price of the pools the order may use (trusted in-province ones for sensitive data)."""
    pools = ComputePool.objects.all()
    if data_sensitivity == DataSensitivity.SENSITIVE:
        pools = pools.filter(trusted=True, site__in_province=True)
    average = pools.aggregate(price=Avg("price_per_pflops_hour"))["price"]
    return Decimal(average) if average is not None else Decimal(settings.NOMINAL_PRICE_PER_PFLOPS_HOUR)

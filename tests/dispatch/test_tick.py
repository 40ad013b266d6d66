"""The dispatch tick: compute flows from orders' steps onto pools and finished work moves orders on."""

from datetime import timedelta
from decimal import Decimal

import pytest

from dispatch import services
from dispatch.models import ComputePool, Job, JobState, Preemption, UtilizationSample
from factory import clock
from factory.errors import NotPermitted
from orders.models import OrderStatus, StepStatus
from tests.factories import compute_pool, order_at

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_background_load(settings):
    settings.DISPATCH_BACKGROUND_LOAD = False


@pytest.fixture
def t0():
    return clock.now()


def _pools():
    return {kind: compute_pool(kind=kind, capacity=1000) for kind in ("data_processing", "training", "inference")}


def _running_step(order):
    return order.stages.get(workshop=order.current_workshop).steps.get(
        status__in=[StepStatus.READY, StepStatus.RUNNING]
    )


def test_a_ready_step_becomes_a_job_running_on_a_pool_of_its_kind(ops_user, t0):
    pools = _pools()
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)

    report = services.dispatch_tick(now=t0)

    step = _running_step(order)
    job = Job.objects.get(step=step)
    assert report.created == 1
    assert job.state == JobState.RUNNING
    assert job.pool == pools[step.pool_kind]
    assert step.status == StepStatus.RUNNING
    assert ComputePool.objects.get(pk=job.pool_id).used_pflops == job.demand_pflops


def test_finished_work_moves_the_order_on_and_is_accounted(ops_user, t0):
    _pools()
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    services.dispatch_tick(now=t0)
    job = Job.objects.get()
    hours = job.work_pflops_hours / job.demand_pflops

    services.dispatch_tick(now=t0 + timedelta(hours=float(hours) + 0.01))

    job.refresh_from_db()
    order.refresh_from_db()
    assert job.state == JobState.DONE
    assert job.step.status == StepStatus.DONE
    assert order.stages.get(workshop="data").steps.get(position=2).status in (StepStatus.READY, StepStatus.RUNNING)
    assert order.compute_pflops_hours == job.work_pflops_hours.quantize(Decimal("0.01"))
    assert order.compute_cost == (job.work_pflops_hours * Decimal("30.00")).quantize(Decimal("0.01"))
    # The workshop that ran it is charged with it, and the others with nothing yet: the order's figures are theirs.
    charged = dict(order.stages.values_list("workshop", "compute_cost"))
    assert charged.pop("data") == order.compute_cost
    assert set(charged.values()) == {Decimal(0)}
    assert ComputePool.objects.get(pk=job.pool_id or ComputePool.objects.first().pk).used_pflops >= 0


def test_a_whole_stage_runs_to_its_gate_on_compute_alone(ops_user, t0):
    _pools()
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, product_type="dataset")
    now = t0
    for _ in range(200):
        services.dispatch_tick(now=now)
        now += timedelta(hours=6)
        order.refresh_from_db()
        if order.status == OrderStatus.AWAITING_REVIEW:
            break

    assert order.status == OrderStatus.AWAITING_REVIEW
    assert order.progress == 100 or order.stages.get().progress == 100
    assert not Job.objects.exclude(state=JobState.DONE).exists()


def test_sensitive_work_only_runs_on_trusted_in_province_pools(ops_user, t0):
    compute_pool(kind="data_processing", capacity=1000, trusted=False)
    compute_pool(kind="data_processing", capacity=1000, trusted=True, in_province=False)
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, data_sensitivity="sensitive")

    services.dispatch_tick(now=t0)

    job = Job.objects.get(order=order)
    assert job.state == JobState.QUEUED
    assert job.pending_reason == "residency"
    trusted = compute_pool(kind="data_processing", capacity=1000, trusted=True, in_province=True)
    services.dispatch_tick(now=t0 + timedelta(minutes=5))
    job.refresh_from_db()
    assert job.pool == trusted


def test_an_offline_pool_sends_its_jobs_back_to_the_queue_with_their_progress(ops_user, dispatcher, t0):
    pool = compute_pool(kind="data_processing", capacity=1000)
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    services.dispatch_tick(now=t0)
    services.dispatch_tick(now=t0 + timedelta(minutes=1))
    progress = Job.objects.get().done_pflops_hours

    services.pool_change_state(pool=pool, action="offline", actor=dispatcher, reason="Cooling maintenance")

    job = Job.objects.get()
    pool.refresh_from_db()
    assert progress > 0
    assert job.state == JobState.PREEMPTED
    assert job.done_pflops_hours == progress
    assert job.step.status == StepStatus.READY
    assert pool.used_pflops == 0
    services.dispatch_tick(now=t0 + timedelta(minutes=2))
    job.refresh_from_db()
    assert job.state == JobState.PREEMPTED
    assert job.pending_reason == "pools_unavailable"


def test_pool_state_changes_need_a_reason_and_a_legal_move(dispatcher):
    pool = compute_pool()

    with pytest.raises(services.DispatchInvalid):
        services.pool_change_state(pool=pool, action="drain", actor=dispatcher, reason="")
    with pytest.raises(services.PoolTransitionNotAllowed):
        services.pool_change_state(pool=pool, action="activate", actor=dispatcher, reason="Back")
    pool.refresh_from_db()
    assert pool.state == "active"
    assert not pool.state_changes.exists()


def test_a_client_past_its_budget_waits_unless_urgent(ops_user, org_a, t0):
    _pools()
    services.client_budget_set(client=org_a, monthly_pflops_hours=Decimal("0.01"))
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, actor=ops_user)
    urgent = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, actor=ops_user, priority="urgent")
    services.dispatch_tick(now=t0)
    services.dispatch_tick(now=t0 + timedelta(hours=1))
    # The urgent order has used compute now, so the client is past its budget for everything else.
    Job.objects.filter(order=order).update(state=JobState.QUEUED, pool=None)

    services.dispatch_tick(now=t0 + timedelta(hours=1, minutes=1))

    assert Job.objects.get(order=order, state__in=[JobState.QUEUED, JobState.PREEMPTED]).pending_reason == (
        "budget_exceeded"
    )
    assert Job.objects.filter(order=urgent).exclude(pending_reason="budget_exceeded").exists()


def test_reprioritizing_an_order_is_logged_and_reaches_its_jobs(ops_user, dispatcher, t0):
    _pools()
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    services.dispatch_tick(now=t0)

    services.order_reprioritize(order=order, actor=dispatcher, priority="high", reason="Ministry deadline")

    assert Job.objects.get(order=order).priority == "high"
    assert order.events.filter(kind="priority_changed", actor=dispatcher).exists()


def test_each_tick_records_a_utilization_sample_per_pool(ops_user, t0):
    _pools()
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)

    services.dispatch_tick(now=t0)
    services.dispatch_tick(now=t0 + timedelta(minutes=1))

    assert UtilizationSample.objects.count() == 6
    assert UtilizationSample.objects.filter(used_pflops__gt=0).count() == 2


def test_a_tick_with_an_older_clock_changes_nothing(ops_user, t0):
    _pools()
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    services.dispatch_tick(now=t0)

    assert services.dispatch_tick(now=t0 - timedelta(minutes=5)).skipped


def test_a_clock_far_behind_the_last_tick_fails_the_tick_task_loudly(ops_user):
    # A failed task records no heartbeat (factory.tasks.FactoryTask.on_success): /healthz then names the tick late.
    from dispatch.tasks import FactoryClockBehind, dispatch_tick

    _pools()
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    services.dispatch_tick(now=clock.now() + timedelta(hours=6))  # a run before a crash got this far

    with pytest.raises(FactoryClockBehind, match="behind the last tick"):
        dispatch_tick.apply(throw=True).get()


def test_a_tick_that_merely_raced_another_passes_quietly(ops_user):
    from dispatch.tasks import dispatch_tick

    services.dispatch_tick(now=clock.now() + timedelta(seconds=2))  # the other tick took its lock first

    dispatch_tick.apply(throw=True).get()


def test_only_a_tick_that_did_the_work_records_the_heartbeat(ops_user, monkeypatch):
    # A tick stuck holding the lock (a stalled worker, here or on another host) must not be covered by the ticks
    # that skip behind it: /healthz would say ok while no job moves.
    from dispatch.tasks import dispatch_tick
    from factory.models import PeriodicRun

    def run_the_tick_task():
        dispatch_tick.on_success(dispatch_tick.run(), "task-id", (), {})  # as the worker calls it
        return PeriodicRun.objects.filter(task=dispatch_tick.name).first()

    with monkeypatch.context() as held_elsewhere:
        held_elsewhere.setattr(services, "_try_tick_lock", lambda: False)
        assert run_the_tick_task() is None

    assert run_the_tick_task() is not None


def test_urgent_work_preempts_lower_priority_work_after_waiting(ops_user, t0):
    low = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, priority="low", size="large")
    # Room for exactly one first step: the urgent order's identical step cannot start beside it.
    compute_pool(kind="data_processing", capacity=_running_step(low).demand_pflops)
    services.dispatch_tick(now=t0)
    urgent = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, actor=ops_user, priority="urgent", size="large")
    services.dispatch_tick(now=t0 + timedelta(minutes=1))
    assert Job.objects.get(order=urgent).state == JobState.QUEUED

    services.dispatch_tick(now=t0 + timedelta(hours=1))

    preemption = Preemption.objects.get()
    assert preemption.preempted.order == low
    assert preemption.preempted_by.order == urgent
    assert Job.objects.get(order=urgent, state=JobState.RUNNING)


@pytest.mark.parametrize("orders", [2, 4])
def test_a_tick_takes_a_fixed_number_of_queries(ops_user, t0, django_assert_max_num_queries, orders):
    _pools()
    for _ in range(orders):
        order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    services.dispatch_tick(now=t0)

    # No job finishes in a minute here: the count is that of the bookkeeping, whatever the number of jobs.
    with django_assert_max_num_queries(25):
        services.dispatch_tick(now=t0 + timedelta(minutes=1))


# A tick that starts new work: the sites on real clusters (1, before the transaction); the savepoint and its release
# (2); the dispatch lock (1); the dispatch state (1);
# pools (1); advancing running jobs and ending those done (1); jobs no longer needed (1); reservations and
# maintenance windows in force (1); scheduled pool changes to come (1); ready steps (1); their deadlines: gate
# reviews, later steps (2); new jobs (1); recent usage, entitlements, budgets, active jobs (4); placements (1);
# steps running: their orders locked, the steps (2); pools, waiting jobs, utilization samples, the day's cost,
# waits by priority, queue samples (6); compute rolled up: read, its stages and its orders written (3); the
# dispatch state saved (1).
TICK_QUERIES = 31
# Once any job finishes, orders hears of all of them at once (orders.services.steps_finish): their orders, stages
# and steps locked (3); finished steps, next steps made ready, timeline events (3); step counts, stages, orders (3).
FINISH_QUERIES = 9


@pytest.mark.parametrize("finishing", [0, 6, 60])
def test_a_tick_reports_finished_jobs_to_orders_in_a_fixed_number_of_queries(
    ops_user, t0, django_assert_num_queries, finishing
):
    for kind in ("data_processing", "training", "inference"):
        compute_pool(kind=kind, capacity=100_000)
    for _ in range(max(finishing, 6)):
        order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    services.dispatch_tick(now=t0)
    if finishing:
        # Every order runs the same first step: the next tick ends all their jobs, and their next steps start.
        hours = max(job.work_pflops_hours / job.demand_pflops for job in Job.objects.all())
        later = t0 + timedelta(hours=float(hours))
    else:
        # Nothing ends within a minute; six orders enter production, so the tick starts as much new work.
        later = t0 + timedelta(minutes=1)
        for _ in range(6):
            order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)

    with django_assert_num_queries(TICK_QUERIES + (FINISH_QUERIES if finishing else 0)):
        report = services.dispatch_tick(now=later)

    assert report.finished == finishing
    assert report.created == report.placed == max(finishing, 6)


def test_only_operations_and_dispatch_staff_may_change_a_priority_whoever_calls_the_service(ops_user, reviewer, t0):
    _pools()
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    services.dispatch_tick(now=t0)

    with pytest.raises(NotPermitted):
        services.order_reprioritize(order=order, actor=reviewer, priority="high", reason="Looks urgent to me")

    assert Job.objects.get(order=order).priority == "normal"
    order.refresh_from_db()
    assert order.priority == "normal"

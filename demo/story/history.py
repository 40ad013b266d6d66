"""The compute history behind the story: the jobs that ran its steps, the pools' load now, utilization and
queue samples of the last 30 days, and a present built to show the dispatch center's rules at work.
"""

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings

from demo.bulk import copy_rows
from demo.story.play import Run, Story
from demo.story.specs import SHOWCASE_BACKFILL, SHOWCASE_HEAD, SHOWCASE_PREEMPTOR
from dispatch import services as dispatch_services
from dispatch.engine import background, policy
from dispatch.engine.policy import HIGH, PRIORITY_RANK
from dispatch.models import ComputePool, Job, JobState, PoolState, QueueSample, UtilizationSample
from factory.db import bulk_update_rows
from orders import services as order_services
from orders.models import OrderStep

SAMPLE_EVERY = timedelta(minutes=15)
SAMPLE_DAYS = 30


def write_history(story: Story, now: datetime) -> None:
    """The jobs behind the story's steps, the pools' load now, and 30 days of utilization and queue samples."""
    pools = list(ComputePool.objects.select_related("site").filter(state=PoolState.ACTIVE))
    runs = story.finished_runs + story.current
    steps = {
        step.pk: step
        for step in OrderStep.objects.filter(pk__in=[run.step_id for run in runs]).select_related("stage__order")
    }
    placed = _place_runs([run for run in runs if run.started is not None], steps, pools, now)
    roles = {story.orders[key].pk: key for key in (SHOWCASE_PREEMPTOR, SHOWCASE_HEAD, SHOWCASE_BACKFILL)}
    placed.update(_present(story.current, steps, pools, placed, roles, now))
    deadlines = dispatch_services.step_deadlines(list(steps.values()))
    used_now: dict[int, Decimal] = defaultdict(Decimal)
    jobs, totals, history = [], defaultdict(lambda: [Decimal(0), Decimal(0)]), []
    for run in runs:
        step = steps[run.step_id]
        order = step.stage.order
        pool = placed.get(id(run))
        job = dispatch_services.new_job(step, queued_at=run.queued, deadline=deadlines[step.pk])
        work = job.work_pflops_hours
        if run.finished is None and pool is not None:
            used_now[pool.pk] += step.demand_pflops
        if pool is None:
            run.started = None
        else:
            end = run.finished or now
            done = min(step.demand_pflops * Decimal((end - run.started).total_seconds() / 3600), work)
            if run.finished is None:
                done = min(done, work - Decimal("0.01"))
            job.done_pflops_hours = done.quantize(Decimal("0.001"))
            job.cost = (job.done_pflops_hours * pool.price_per_pflops_hour).quantize(Decimal("0.01"))
            job.last_pool, job.started_at = pool, run.started
            if run.finished is None:
                job.state, job.pool = JobState.RUNNING, pool
            else:
                job.state, job.finished_at = JobState.DONE, run.finished
            totals[order.pk, step.stage_id][0] += job.done_pflops_hours
            totals[order.pk, step.stage_id][1] += job.cost
        jobs.append(job)
        history.append((run, pool, step))
    Job.objects.bulk_create(jobs, batch_size=1000)
    # Finished steps started when their last run did (step_finish, called without a start, stamped its own time).
    current = {run.step_id for run in story.current}
    started = {run.step_id: run.started for run in sorted(story.finished_runs, key=lambda run: run.started or now)}
    bulk_update_rows(OrderStep, ["started_at"], [(pk, at) for pk, at in started.items() if pk not in current])
    for run in story.current:
        if run.started is not None:
            order_services.steps_mark_running(step_ids=[run.step_id], at=run.started)
    for pool in pools:
        if used_now[pool.pk]:
            ComputePool.objects.filter(pk=pool.pk).update(used_pflops=used_now[pool.pk])
    order_services.orders_set_compute(totals={key: tuple(values) for key, values in totals.items()})
    _samples(history, pools, now)


# How long the showcase of _present holds: longer than building the demo takes on bin/run's clock (a real second is
# a factory minute) and the first ticks after it.
SHOWCASE_WINDOW = timedelta(hours=3)


@dataclass
class _Slot:
    """A step worked on now, as _present places it."""

    run: Run
    kind: str
    demand: float
    hours: float  # at full demand, from start to finish
    rank: int
    sensitive: bool
    role: str = ""
    pool: ComputePool | None = None


def _present(
    current: list[Run], steps: dict, pools: list[ComputePool], history: dict, roles: dict, now: datetime
) -> dict[int, ComputePool | None]:
    """Where the steps worked on now run (None: they wait for compute), keyed by id(run).

    Built so that the dispatch center shows its rules at work in its first minutes, whatever the other tenants'
    load (dispatch.engine.background) at the moment the demo is built:

    1. High and urgent work runs (a dispatcher would have preempted for it by now), then what the story left
       running stays on its pool (running work is never evicted for the other tenants' load), or on another one
       when the pools SHOWCASE_HEAD waits for must keep their hole (3.); only what has no room at all waits.
    2. SHOWCASE_PREEMPTOR (high priority, waiting for 20 minutes) finds every pool it may use full for the next
       SHOWCASE_WINDOW: lower-priority work that runs longer than that takes their room, even at the lowest load of
       the other tenants in that window. Once it has waited Policy.preempt_after, a tick preempts for it, and the
       next forecast measures what that preemption did to the ETA of the order it hit.
    3. SHOWCASE_HEAD (a large high-priority step) fits on no pool of its kind, and each of those pools that 2. does
       not fill keeps a hole at least as large as SHOWCASE_BACKFILL's step: the first tick starts lower-priority
       work in those holes while the head waits for its reservation, which is backfill.
    """
    slots = []
    for run in current:
        step = steps[run.step_id]
        order = step.stage.order
        demand = float(step.demand_pflops)
        slots.append(
            _Slot(
                run=run,
                kind=step.pool_kind,
                demand=demand,
                hours=float(step.work_pflops_hours) / demand,
                rank=PRIORITY_RANK[order.priority],
                sensitive=order.is_sensitive,
                role=roles.get(order.pk, ""),
            )
        )
    window = SHOWCASE_WINDOW.total_seconds() / 3600
    background_now = {pool.pk: dispatch_services.pool_background(pool, now) for pool in pools}
    moments = [now + policy.BACKGROUND_STEP * k for k in range(int(SHOWCASE_WINDOW / policy.BACKGROUND_STEP) + 1)]
    background_low = {pool.pk: min(dispatch_services.pool_background(pool, at) for at in moments) for pool in pools}
    used: dict[int, float] = defaultdict(float)
    showcase = {slot.role: slot for slot in slots if slot.role}
    preemptor, head, backfill = (showcase[role] for role in (SHOWCASE_PREEMPTOR, SHOWCASE_HEAD, SHOWCASE_BACKFILL))

    def free(pool) -> float:
        return float(pool.capacity_pflops) - background_now[pool.pk] - used[pool.pk]

    def may_run(slot, pool) -> bool:
        return pool.kind == slot.kind and (not slot.sensitive or (pool.trusted and pool.site.in_province))

    full = [pool for pool in pools if may_run(preemptor, pool)]
    holes = [pool for pool in pools if may_run(head, pool) and pool not in full]

    def takes(pool, slot) -> bool:
        """Whether ``pool`` can hold ``slot`` now: within its capacity for work already running (other tenants' load
        aside), next to the other tenants' load for work starting; in both cases keeping the holes of 3."""
        if pool in holes and slot.rank < HIGH:
            return free(pool) - slot.demand >= backfill.demand
        if slot.run.started is not None:
            return used[pool.pk] + slot.demand <= float(pool.capacity_pflops)
        return free(pool) >= slot.demand

    def remaining(slot, started=None) -> float:
        started = started or slot.run.started
        return slot.hours - (now - started).total_seconds() / 3600

    def start(slot, pool) -> None:
        if slot.run.started is None:
            # It waited for compute since its step became ready, and started halfway to now.
            slot.run.started = slot.run.queued + (now - slot.run.queued) / 2
        slot.pool = pool
        used[pool.pk] += slot.demand

    # 1. What runs now.
    for slot in sorted(slots, key=lambda slot: (-slot.rank, slot.run.started or slot.run.queued)):
        if slot.role or (slot.run.started is None and slot.rank < HIGH):
            continue
        own = history.get(id(slot.run))
        fitting = [pool for pool in pools if may_run(slot, pool) and takes(pool, slot)]
        if own in fitting:
            start(slot, own)
        elif fitting:
            start(slot, min(fitting, key=lambda pool: (pool.trusted and pool.site.in_province, free(pool))))
        else:
            slot.run.started = None

    def waiting(kind, rank):
        found = [
            slot for slot in slots if slot.pool is None and not slot.role and slot.kind == kind and slot.rank < rank
        ]
        return sorted(found, key=lambda slot: (-slot.demand, slot.run.queued))

    def room_in_window(pool) -> float:
        """The most room the pool may have in the window: other tenants at their lowest, short work finished."""
        lasting = sum(slot.demand for slot in slots if slot.pool == pool and remaining(slot) > window)
        return float(pool.capacity_pflops) - background_low[pool.pk] - lasting

    # 2. The preemptor's pools stay full.
    for pool in full:
        while room_in_window(pool) >= preemptor.demand:
            fits = float(pool.capacity_pflops) - used[pool.pk]
            queue = [
                slot
                for slot in waiting(preemptor.kind, preemptor.rank)
                if may_run(slot, pool)
                and slot.demand <= fits
                and remaining(slot, slot.run.queued + (now - slot.run.queued) / 2) > window
            ]
            elsewhere = [
                slot
                for slot in slots
                if slot.pool in holes
                and slot.rank < preemptor.rank
                and not slot.role
                and may_run(slot, pool)
                and slot.demand <= fits
                and remaining(slot) > window
            ]
            if queue:
                start(queue[0], pool)
            elif elsewhere:
                moved = max(elsewhere, key=lambda slot: (slot.demand, slot.run.started))
                used[moved.pool.pk] -= moved.demand
                moved.pool = pool
                used[pool.pk] += moved.demand
            else:
                break

    # 3. The head fits nowhere; the other pools it waits for keep a hole for smaller work behind it.
    for pool in full + holes:
        hole = backfill.demand if pool in holes else 0.0
        while free(pool) >= head.demand:
            queue = [
                slot for slot in waiting(head.kind, HIGH) if may_run(slot, pool) and slot.demand <= free(pool) - hole
            ]
            if not queue:
                break
            start(queue[0], pool)
    return {id(slot.run): slot.pool for slot in slots}


def _place_runs(runs: list[Run], steps: dict, pools: list[ComputePool], now: datetime) -> dict[int, ComputePool]:
    """Put each run on a pool that may run it (sensitive data: trusted in-province pools only), the one with
    most room when it started, as the planner would. Keyed by id(run)."""
    running: dict[int, list[tuple[datetime, float]]] = defaultdict(list)  # pool → (finish, demand)
    placed = {}
    for run in sorted(runs, key=lambda run: run.started):
        step = steps[run.step_id]
        sensitive = step.stage.order.is_sensitive
        allowed = [
            pool
            for pool in pools
            if pool.kind == step.pool_kind and (not sensitive or (pool.trusted and pool.site.in_province))
        ]
        if not allowed:
            continue

        def room(pool, at=run.started):
            running[pool.pk] = [(end, demand) for end, demand in running[pool.pk] if end > at]
            used = sum(demand for _end, demand in running[pool.pk])
            capacity = float(pool.capacity_pflops)
            return capacity - used - background.background_pflops(pool.background_seed, capacity, at)

        pool = max(allowed, key=room)
        running[pool.pk].append((run.finished or now + timedelta(days=365), float(step.demand_pflops)))
        placed[id(run)] = pool
    return placed


def _samples(history: list, pools: list[ComputePool], now: datetime) -> None:
    """Every pool's load and every priority's queue at each sample time of the last 30 days, from the runs."""
    end = now - timedelta(minutes=now.minute % 15)
    count = int(timedelta(days=SAMPLE_DAYS) / SAMPLE_EVERY)
    times = [end - SAMPLE_EVERY * (count - index) for index in range(count)]
    first = times[0]
    used = defaultdict(lambda: [0.0] * count)
    cost = defaultdict(lambda: [0.0] * count)
    queued_by_kind = defaultdict(lambda: [0] * count)
    waits = defaultdict(lambda: [[] for _ in range(count)])  # priority → per time, hours waited so far

    def index_range(start: datetime, stop: datetime) -> range:
        """Sample indexes whose time falls in [start, stop)."""
        low = max(0, math.ceil((start - first) / SAMPLE_EVERY))
        high = min(count, math.ceil((stop - first) / SAMPLE_EVERY))
        return range(low, high)

    step_hours = SAMPLE_EVERY.total_seconds() / 3600
    for run, pool, step in history:
        demand = float(step.demand_pflops)
        started, finished = run.started or now, run.finished or now
        if pool is not None:
            price = float(pool.price_per_pflops_hour)
            for index in index_range(started, finished):
                used[pool.pk][index] += demand
            # A sample charges what ran since the previous one: the part of the run inside (t - 15 min, t].
            for index in index_range(started, finished + SAMPLE_EVERY):
                moment = times[index]
                overlap = (min(finished, moment) - max(started, moment - SAMPLE_EVERY)).total_seconds() / 3600
                if overlap > 0:
                    cost[pool.pk][index] += demand * min(overlap, step_hours) * price
        for index in index_range(run.queued, started):
            queued_by_kind[step.pool_kind][index] += 1
            waits[step.stage.order.priority][index].append((times[index] - run.queued).total_seconds() / 3600)
    samples = []
    for pool in pools:
        capacity = float(pool.capacity_pflops)
        for index, moment in enumerate(times):
            ours = min(used[pool.pk][index], capacity)
            others = background.background_pflops(pool.background_seed, capacity, moment)
            if not settings.DISPATCH_BACKGROUND_LOAD:
                others = 0.0
            samples.append(
                (
                    pool.pk,
                    moment,
                    _decimal(ours),
                    _decimal(min(others, capacity - ours)),
                    pool.capacity_pflops,
                    queued_by_kind[pool.kind][index],
                    _decimal(cost[pool.pk][index]),
                )
            )
    # Tens of thousands of rows: COPY, as the scale data set writes them.
    fields = ["pool", "at", "used_pflops", "background_pflops", "capacity_pflops", "queued_jobs", "cost"]
    copy_rows(UtilizationSample, fields, samples)
    dispatch_services.daily_costs_rebuild()
    copy_rows(
        QueueSample,
        ["at", "priority", "waiting_jobs", "mean_wait_hours", "longest_wait_hours"],
        (
            (
                moment,
                priority,
                len(waits[priority][index]),
                sum(waits[priority][index]) / len(waits[priority][index]) if waits[priority][index] else 0.0,
                max(waits[priority][index], default=0.0),
            )
            for index, moment in enumerate(times)
            for priority in PRIORITY_RANK
        ),
    )


def _decimal(value: float) -> Decimal:
    return Decimal(str(round(max(value, 0.0), 2)))

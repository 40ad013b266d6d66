"""Compute of the scale data set: jobs for the latest step runs, each on a pool as the dispatcher would have
placed it, and the utilization and queue samples derived from them (`Compute`, a part of
demo.scale.build.ScaleBuild).
"""

import heapq
import math
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.conf import settings

from demo.scale.lives import Run
from dispatch.engine import background, planner
from dispatch.engine.policy import PRIORITY_RANK
from dispatch.models import ComputePool, JobState
from orders.models import StepStatus
from orders.quotes import promise_due


class Compute:
    """Jobs on pools and samples (state and the other parts: demo.scale.build.ScaleBuild)."""

    def compatible(self, run: Run) -> list[ComputePool]:
        kind = run.step.catalog.pool_kind
        return [
            pool for pool in self.pools if pool.kind == kind and (pool.in_trusted_province or not run.order.sensitive)
        ]

    def dispatch(self) -> list[tuple]:
        """Jobs for the runs of now and the latest finished ones; each run on a pool, as the dispatcher would."""
        runs = [run for order in self.orders for run in order.runs]
        current = [run for run in runs if run.finished is None]
        finished = sorted((run for run in runs if run.finished is not None), key=lambda run: run.finished)
        wanted = max(self.options.jobs - len(current), 0)
        history = finished[max(len(finished) - wanted, 0) :] if wanted else []
        self.era = history[0].started if history else self.now
        self.place_current(current)
        self.place_history(history, current)
        self.job_runs = history + current
        return [self.job_row(run) for run in self.job_runs]

    def place_current(self, current: list[Run]) -> None:
        """Running jobs hold room on a compatible pool (what other tenants leave); the rest wait."""
        self.room = {}
        for pool in self.pools:
            capacity = float(pool.capacity_pflops)
            wanted = background.background_pflops(pool.background_seed, capacity, self.now)
            self.room[pool.pk] = capacity - (wanted if settings.DISPATCH_BACKGROUND_LOAD else 0.0)
        used = defaultdict(Decimal)
        rank = PRIORITY_RANK
        running = sorted(
            (run for run in current if run.started is not None),
            key=lambda run: (-rank[run.order.priority], run.started),
        )
        for run in running:
            demand = float(run.step.catalog.demand)
            pool = max(self.compatible(run), key=lambda pool: self.room[pool.pk], default=None)
            if pool is None or self.room[pool.pk] < demand:
                # No room now: it waits for compute after all.
                run.started, run.step.status, run.step.started = None, StepStatus.READY, None
                continue
            run.pool = pool
            self.room[pool.pk] -= demand
            used[pool.pk] += run.step.catalog.demand
        for pool in self.pools:
            pool.used_pflops = used[pool.pk]
            capacity = float(pool.capacity_pflops)
            wanted = background.background_pflops(pool.background_seed, capacity, self.now)
            if not settings.DISPATCH_BACKGROUND_LOAD:
                wanted = 0.0
            room = capacity - float(pool.used_pflops)
            pool.background_pflops = Decimal(max(0.0, min(wanted, room))).quantize(Decimal("0.01"), ROUND_DOWN)
        ComputePool.objects.bulk_update(self.pools, ["used_pflops", "background_pflops"])
        waiting = sorted(
            (run for run in current if run.started is None), key=lambda run: (-rank[run.order.priority], run.queued)
        )
        self.reasons = {}
        top = {}
        for run in waiting:
            kind = run.step.catalog.pool_kind
            demand = float(run.step.catalog.demand)
            fits = [pool for pool in self.compatible(run) if self.room[pool.pk] >= demand]
            if fits:
                reason = planner.RESERVED
            elif run.order.sensitive and any(pool.kind == kind and self.room[pool.pk] >= demand for pool in self.pools):
                reason = planner.TRUSTED_POOLS_FULL
            elif top.get(kind, -1) > rank[run.order.priority]:
                reason = planner.HIGHER_PRIORITY_AHEAD
            else:
                reason = planner.NO_ROOM
            top.setdefault(kind, rank[run.order.priority])
            self.reasons[id(run)] = reason

    def place_history(self, history: list[Run], current: list[Run]) -> None:
        """Each finished run on the compatible pool with most room when it started (running ones included)."""
        ending = defaultdict(list)  # pool → heap of (finish, demand) of runs on it
        used = defaultdict(float)
        far = self.now + timedelta(days=36500)
        runs = sorted([*history, *(run for run in current if run.pool is not None)], key=lambda run: run.started)
        candidates = {}
        for run in runs:
            if run.pool is None:
                key = (run.step.catalog.pool_kind, run.order.sensitive)
                if key not in candidates:
                    candidates[key] = self.compatible(run)
                best, best_room = None, -math.inf
                for pool in candidates[key]:
                    heap = ending[pool.pk]
                    while heap and heap[0][0] <= run.started:
                        used[pool.pk] -= heapq.heappop(heap)[1]
                    room = float(pool.capacity_pflops) - used[pool.pk]
                    if room > best_room:
                        best, best_room = pool, room
                if best is None:
                    continue
                run.pool = best
            demand = float(run.step.catalog.demand)
            heapq.heappush(ending[run.pool.pk], (run.finished or far, demand))
            used[run.pool.pk] += demand

    def job_row(self, run: Run) -> tuple:
        order, step = run.order, run.step
        work = max(step.catalog.work, Decimal("0.01"))
        deadline = promise_due(order.due)
        if run.finished is not None:
            state, pool, last_pool = JobState.DONE, None, run.pool
            done = work
        elif run.started is not None:
            state, pool, last_pool = JobState.RUNNING, run.pool, run.pool
            elapsed = (self.now - run.started).total_seconds() / 3600
            done = min(Decimal(str(round(float(step.catalog.demand) * elapsed, 3))), work)
        else:
            state, pool, last_pool, done = JobState.QUEUED, None, None, Decimal(0)
        price = last_pool.price_per_pflops_hour if last_pool else Decimal(0)
        cost = (done * price).quantize(Decimal("0.01"))
        order.compute += done
        order.cost += cost
        return (
            order.id,
            step.id,
            pool.pk if pool else None,
            last_pool.pk if last_pool else None,
            state,
            order.priority,
            step.catalog.pool_kind,
            order.sensitive,
            step.catalog.demand,
            work,
            done,
            cost,
            deadline,
            run.queued,
            run.started,
            run.finished,
            self.reasons.get(id(run), "") if state == JobState.QUEUED else "",
            None,
        )

    # --- Samples ----------------------------------------------------------------------------------------

    def samples(self) -> tuple[Iterator[tuple], Iterator[tuple]]:
        """Every pool's load and every priority's queue at each sample time of the last `--days` days."""
        step = timedelta(minutes=self.options.sample_minutes)
        count = int(timedelta(days=self.options.days) / step)
        seconds = step.total_seconds()
        end = datetime.fromtimestamp(self.now.timestamp() // seconds * seconds, tz=UTC)
        times = [end - step * (count - 1 - index) for index in range(count)]
        first = times[0]
        step_hours = seconds / 3600

        def indexes(start: datetime, stop: datetime | None) -> range:
            """Sample indexes whose time falls in [start, stop)."""
            low = max(0, math.ceil((start - first) / step))
            high = count if stop is None else min(count, math.ceil((stop - first) / step))
            return range(low, high)

        used = defaultdict(lambda: [0.0] * count)
        cost = defaultdict(lambda: [0.0] * count)
        queued = defaultdict(lambda: [0] * count)
        waits = defaultdict(lambda: [[0, 0.0, 0.0] for _ in range(count)])  # priority → [n, sum, max] per time
        for run in self.job_runs:
            if run.pool is not None and run.started is not None:
                demand = float(run.step.catalog.demand)
                price = float(run.pool.price_per_pflops_hour)
                pool_used, pool_cost = used[run.pool.pk], cost[run.pool.pk]
                for index in indexes(run.started, run.finished):
                    pool_used[index] += demand
                # A sample charges what ran since the previous one: the part of the run inside (t - step, t].
                for index in indexes(run.started, run.finished + step if run.finished else None):
                    moment = times[index]
                    stop = min(run.finished, moment) if run.finished else moment
                    overlap = (stop - max(run.started, moment - step)).total_seconds() / 3600
                    if overlap > 0:
                        pool_cost[index] += demand * min(overlap, step_hours) * price
            kind_queued, priority_waits = queued[run.step.catalog.pool_kind], waits[run.order.priority]
            for index in indexes(run.queued, run.started):
                kind_queued[index] += 1
                waited = (times[index] - run.queued).total_seconds() / 3600
                cell = priority_waits[index]
                cell[0] += 1
                cell[1] += waited
                cell[2] = max(cell[2], waited)
        self.sample_count = count

        def pool_rows():
            for pool in self.pools:
                capacity = float(pool.capacity_pflops)
                capacity_text = f"{capacity:.2f}"
                pool_used, pool_cost, kind_queued = used[pool.pk], cost[pool.pk], queued[pool.kind]
                for index, moment in enumerate(times):
                    ours = min(pool_used[index], capacity)
                    others = 0.0
                    if settings.DISPATCH_BACKGROUND_LOAD:
                        others = background.background_pflops(pool.background_seed, capacity, moment)
                    yield (
                        pool.pk,
                        moment,
                        f"{ours:.2f}",
                        f"{max(min(others, capacity - ours), 0.0):.2f}",
                        capacity_text,
                        kind_queued[index],
                        f"{pool_cost[index]:.2f}",
                    )

        def queue_rows():
            for index, moment in enumerate(times):
                for priority in PRIORITY_RANK:
                    n, total, longest = waits[priority][index]
                    yield (moment, priority, n, total / n if n else 0.0, longest)

        return pool_rows(), queue_rows()

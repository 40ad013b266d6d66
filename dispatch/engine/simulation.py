"""Event-driven forward simulation of the factory's compute, reusing the planner.

Pure Python (no Django, no database). Two uses:

* **ETA**: continue the present state (orders in progress, jobs running on their pools, gates under
  review) until every order is delivered, and read each order's predicted finish; adding a not yet
  placed order with ``arrival=now`` gives the date to promise it.
* **Benchmarks**: replay a year of order arrivals under a policy (ours, or `FIFO_POLICY`) and compare
  on-time rate, lead time and utilization.

Model. An order goes through its stages (workshops) in order; the steps of a stage run one after
another, each as one job (demand in PFLOPS, work in PFLOPS·h, so ``work / demand`` hours at full
demand); when a stage's last step is done its gate review takes ``gate_hours``, then the next stage
starts (after the last gate, the order is finished). What the planner is fed is built by
`dispatch.engine.policy`, the same code the dispatch tick uses: per-step deadlines, fair share from finished
work decayed with a 7-day half-life, budget holds that end when the month turns, aging, and background
held constant per 15-minute step.

Time advances event by event with a heap: job finishes, gate ends, order arrivals, a re-plan at least
every ``replan_every`` while jobs wait (so background changes are seen), and a re-plan at the moment a
waiting high/urgent job crosses the preemption threshold. At each event that can change a decision
(a job queued, a pool of a kind with queued jobs freed, a periodic re-plan) the planner is called with
the current state. Running jobs keep a constant demand, so their finishes are known in advance; a
preempted job keeps its progress and is requeued (``queued_at`` = the preemption time). Background
never evicts running work. Jobs that cannot run (no pool of their kind, residency, all pools draining or
offline, larger than every active pool) are set aside until a pool change (``pool_changes``: a pool
drained, taken offline, brought back or added, or its capacity changed at an instant, as in a what-if
scenario) makes a pool that can run them; without one their orders get no finish time. A pool taken
offline stops its running jobs, which are requeued with their progress.

**Maintenance windows** (``maintenance``): a pool closes from a window's start to its end, offline or draining.
Before each planning round every pool's ``closes_at`` is set to the start of its next offline window, so the
planner starts there only work that finishes before it (longer work goes to another pool or waits); at the start
the pool goes offline (through the pool-change machinery: the jobs still running, which started before the window
was known, are stopped and requeued with their progress) or drains (they finish), and at the end it returns to the
state it had. **Holds** (``holds``, the planner's
`Hold`): capacity held for one client or order over a period is passed to every planning round, and the
simulation re-plans at each hold's start and end, so the owner's queued work starts the moment its room is held.

**Tick mode** (``simulate(..., tick=timedelta(minutes=5))``): every event waits for the next tick of a
grid started at ``now``, each tick with waiting jobs re-plans and the planner sees every waiting job, as
the dispatch tick does. The twin test (tests/dispatch/test_engine_twin.py) runs the live tick and the
simulation in tick mode from one database state and requires the same decisions. The default, event
mode, is the fast forecast: it re-plans on events and at least hourly, and shows the planner only the
jobs that can matter (see `_Simulator`).

**Snapshots** (``simulate(..., snapshot_at=[...])``): the state of the factory at chosen instants, as
the `OrderPlan` list of the orders then in the factory (position, progress, pool of a running step, time
left in a gate, queue time) plus the clients' recent usage, i.e. exactly what the ETA forecast builds
from the database. Simulating a snapshot from its instant, without the later arrivals, forks the run:
the benchmarks compare the delivery predicted at an order's acceptance with the one that happened.

Speed (one core, CPython 3.11): a year of 1,200 orders (about 52,000 steps) over 50 pools and
2,000 PFLOPS simulates in about 6 s; continuing 1,000 in-flight orders (half a year of backlog) takes
about 5 s.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from dispatch.engine import policy as engine
from dispatch.engine.planner import (
    ACTIVE,
    CLOSED_RANK,
    DEFAULT_POLICY,
    DRAINING,
    EDF,
    MULTIFACTOR,
    OFFLINE,
    Hold,
    JobState,
    Policy,
    PoolState,
    plan,
)
from dispatch.engine.plans import (
    OrderOutcome,
    OrderPlan,
    PoolChange,
    SimulationResult,
    Snapshot,
    StageOutcome,
    UsageSample,
    Window,
)

_FINISH, _GATE, _ARRIVAL, _REPLAN, _THRESHOLD, _MONTH, _POOL, _WINDOW, _HOLD = range(9)
_INF = math.inf
_POOL_STATES = (ACTIVE, DRAINING, OFFLINE)

# The demand a forecast expects (`expected_arrivals`): the last four weeks of arrivals, twice over. Work that
# would arrive later than eight weeks ahead seldom overtakes an order already in the factory: replaying them
# three or four times moved bench/eta_quality.py's errors by under half a point, at twice the cost.
EXPECTED_LOOKBACK = timedelta(days=28)
EXPECTED_REPLAYS = 2


def step_deadlines(order: OrderPlan) -> list[list[datetime]]:
    """Latest finish of every step that still lets the order finish by its deadline at nominal speed."""
    result = engine.step_deadlines(
        due=order.deadline,
        stage_hours=[[step.hours for step in steps] for steps in order.stages],
        gate_hours=order.gate_hours,
    )
    stage, step = order.current_stage_index, order.current_step_index
    if order.current_step_deadline is not None and stage < len(result) and step < len(result[stage]):
        result[stage][step] = order.current_step_deadline
    return result


def _work_of(order: _Order) -> float:
    """PFLOPS·h of the order's current step."""
    return order.spec.stages[order.stage][order.step].work


def _held(job: JobState, held: set) -> bool:
    return engine.is_held(priority=job.priority, client_id=job.client_id, held=held)


class _Run:
    __slots__ = ("job", "order", "pool", "t0", "w0")

    def __init__(self, job: JobState, order: _Order, pool: PoolState, t0: float):
        self.job = job
        self.order = order
        self.pool = pool
        self.t0 = t0
        self.w0 = job.work_remaining


class _Order:
    __slots__ = ("deadlines", "gate_end", "job", "outcome", "spec", "stage", "step")

    def __init__(self, spec: OrderPlan, outcome: OrderOutcome):
        self.spec = spec
        self.outcome = outcome
        self.stage = spec.current_stage_index
        self.step = spec.current_step_index
        self.deadlines = step_deadlines(spec)
        self.job: JobState | None = None  # the job of the current step (for snapshots)
        self.gate_end = 0.0  # when the current gate review ends, while one runs (for snapshots)


class _Simulator:
    """The event loop. Time is kept in hours from ``now``; datetimes are made only for the planner and results.

    Two shortcuts keep a forward simulation of a large backlog fast without changing the decisions:

    * kinds are independent (a pool serves one kind), so a planning round only covers the kinds in which
      something changed (a job queued, a job of that kind finished, a periodic re-plan);
    * the planner is only shown the queued jobs that can matter: those that fit the largest free hole
      of their kind, those that may preempt, and, per queue class, the jobs that may be its head (the
      best-ranked of the rest, by priority and deadline minus duration, within two slack steps). Every
      other job would not fit at its turn, would not preempt, and would not be the head that reserves
      capacity: the planner would only give it a pending reason, which the simulation does not need. A
      kind where nothing fits and nobody may preempt is not planned at all. (The one approximation: a
      preemption that frees more than its preemptor needs does not let a hidden job use the rest before
      the next event.)
    """

    def __init__(
        self,
        *,
        pools,
        orders,
        now,
        policy,
        horizon,
        background,
        seed,
        replan_every,
        client_usage,
        usage_half_life,
        entitlements=None,
        budgets=None,
        month_usage=None,
        month_start=None,
        tick=None,
        snapshot_at=(),
        until_done=None,
        pool_changes=(),
        sample_every=None,
        progress=None,
        holds=(),
        maintenance=(),
    ):
        self.start = now
        self.policy = policy
        # A pool closes for maintenance only in a window of ``maintenance``: a ``closes_at`` given would never pass.
        self.pools = [replace(p, used=0.0, closes_at=None) for p in pools]
        self.pool_by_id = {p.id: p for p in self.pools}
        self.pools_by_kind: dict[str, list[PoolState]] = {}
        for p in self.pools:
            self.pools_by_kind.setdefault(p.kind, []).append(p)
        # Largest active compatible pool per (kind, sensitive): a job larger than that cannot run until a pool
        # change makes one that large; it waits aside, in ``set_aside`` (per (kind, sensitive): job id -> (job, order)).
        self.largest: dict[tuple[str, bool], float] = {}
        for kind in self.pools_by_kind:
            self._find_largest(kind)
        self.set_aside: dict[tuple[str, bool], dict[int, tuple[JobState, _Order]]] = {}
        # The active pools over time, for the room they offered: (from hours, copies of the active pools then).
        active = [replace(p) for p in self.pools if p.state == ACTIVE]
        self.offers: list[tuple[float, list[PoolState]]] = [(0.0, active)]
        if background is True:
            self.background = lambda p, at: engine.background_at(seed * 100_003 + p.id, p.capacity, at)
        elif callable(background):
            self.background = background
        else:
            self.background = None
        self.end = horizon.total_seconds() / 3600.0
        # Tick mode: every event waits for the next tick of the grid started at ``now``, and every tick with
        # waiting jobs re-plans, exactly as the dispatch tick does (the twin test runs the engine so).
        self.tick_hours = tick.total_seconds() / 3600.0 if tick else None
        self.replan_hours = self.tick_hours or replan_every.total_seconds() / 3600.0
        self.half_life = usage_half_life
        self.threshold_hours = (
            policy.preempt_after.total_seconds() / 3600.0 if policy.fair and policy.preempt_after is not None else None
        )
        # Fair share (dispatch.engine.policy): (client, kind) -> (decayed PFLOPS·h, hours at which it held), and
        # (client, kind) -> entitlement.
        self.usage = {key: (value, 0.0) for key, value in (client_usage or {}).items()}
        self.entitlements = dict(entitlements or {})
        if any(weight <= 0 for weight in self.entitlements.values()):
            raise ValueError("An entitlement is a positive weight.")
        # Budget holds (dispatch.engine.policy): enforced monthly budgets, and the work finished this month.
        self.budgets = dict(budgets or {})
        self.month_start = month_start
        self.month_usage = dict(month_usage or {})
        self.month = month_start(now) if month_start and self.budgets else None
        self.held: set = set()
        self.month_event = None  # the month whose turn is already in the heap
        self.aging = policy.aging_step.total_seconds() / 3600.0 if policy.fair and policy.aging_step else None
        self.at_risk = policy.at_risk_slack.total_seconds() / 3600.0 if policy.fair and policy.at_risk_slack else None
        self.heap: list = []
        self.seq = 0
        # kind -> job id -> (job, order, rank); the rank orders the jobs that do not fit, see _relevant.
        self.queued: dict[str, dict[int, tuple]] = {kind: {} for kind in self.pools_by_kind}
        self.slack_step = policy.slack_granularity.total_seconds() / 3600.0
        self.fair_span = policy.fair_share_span.total_seconds() / 3600.0 if policy.fair_share_span else None
        self.grid_offset = (now - engine.GRID_EPOCH).total_seconds() / 3600.0  # hours from the grid's origin
        self.running: dict[str, dict[int, _Run]] = {kind: {} for kind in self.pools_by_kind}
        self.background_at: dict[str, datetime] = {}  # kind -> the background step its pools' load is of
        self.dirty: set[str] = set()  # kinds to plan at the current time
        self.next_job_id = 1
        self.awaited = set(until_done) if until_done is not None else None  # orders whose finish ends the run
        self.t = 0.0
        self.replan_pending = False
        self.used_pflops_hours = 0.0
        self.preemption_log: list[tuple[datetime, int, int]] = []
        self.start_log: list[tuple[datetime, int, int]] = []
        self.wait_log: list[tuple[datetime, int, float]] = []
        self.passed_over_log: list[tuple[datetime, int, float, float]] = []
        self.at_head: set[tuple[int, datetime]] = set()  # queue spells (job id, queued at) already at the head
        self.plans = 0
        self.outcomes: dict[int, OrderOutcome] = {}
        self.active: dict[int, _Order] = {}  # orders in the factory: arrived, not finished
        self.snapshot_hours = sorted(max(0.0, (at - now).total_seconds() / 3600.0) for at in snapshot_at)
        self.snapshots: list[Snapshot] = []
        self.eviction_log: list[tuple[datetime, int, int]] = []
        if sample_every is not None and sample_every <= timedelta(0):
            raise ValueError("sample_every must be a positive duration.")
        self.sample_every = sample_every
        self.sample_hours = sample_every.total_seconds() / 3600.0 if sample_every else None
        self.samples: list[UsageSample] = []
        self.next_sample = 0.0 if sample_every else _INF  # hours of the next sample; it is the len(samples)-th
        self.progress = progress
        self.awaited_total = len(self.awaited) if self.awaited is not None else 0
        self.reported = 0.0  # the last fraction given to ``progress``
        for spec in orders:
            outcome = OrderOutcome(
                order_id=spec.order_id,
                arrival=spec.arrival,
                deadline=spec.deadline,
                stages=[StageOutcome() for _ in spec.stages],
                steps=[[(None, None)] * len(steps) for steps in spec.stages],
            )
            self.outcomes[spec.order_id] = outcome
            order = _Order(spec, outcome)
            arrival = (spec.arrival - now).total_seconds() / 3600.0
            if arrival > 0:
                self._push(arrival, _ARRIVAL, order)
            else:
                self._resume(order)
        self.changes_pending = 0  # pool changes still in the heap
        for change in sorted(pool_changes, key=lambda c: c.at):
            pool = self.pool_by_id.get(change.pool_id)
            if pool is None:
                raise ValueError(f"A pool change names pool {change.pool_id}, which is not among the pools.")
            if change.state is not None and change.state not in _POOL_STATES:
                raise ValueError(f"A pool change to {change.state!r}: a pool is one of {', '.join(_POOL_STATES)}.")
            if change.capacity is not None and change.capacity < 0:
                raise ValueError(f"A pool change to a capacity of {change.capacity} PFLOPS: it cannot be negative.")
            at = (change.at - now).total_seconds() / 3600.0
            if at > 0:
                self._push(at, _POOL, change)
                self.changes_pending += 1
            else:
                # Applied after the orders came in, so the jobs running on a pool that is offline from the
                # start are requeued and the jobs too large before the change get their turn, as later.
                self._change_pool(change)
        self.window_starts: dict[int, list[float]] = {}  # pool id -> starts of its windows, hours from now, in order
        self.reopen: dict[int, str] = {}  # pool id -> the state it returns to when its current window ends
        for pool_id, start, end, state in _merged_windows(maintenance, self.pool_by_id, now):
            if state == OFFLINE:
                self.window_starts.setdefault(pool_id, []).append(start)
            if start > 0:
                self._push(start, _WINDOW, (pool_id, state))
                self.changes_pending += 1
            else:
                self._window(pool_id, state)
            self._push(end, _WINDOW, (pool_id, None))
            self.changes_pending += 1
        self.holds: list[Hold] = []
        for hold in holds:
            pool = self.pool_by_id.get(hold.pool_id)
            if pool is None:
                raise ValueError(f"A hold names pool {hold.pool_id}, which is not among the pools.")
            if hold.end <= hold.start:
                raise ValueError("A hold ends after it starts.")
            if hold.end <= now:
                continue
            self.holds.append(hold)
            # The owner's work starts the moment its room is held, and others may use the room once it is not.
            for at in (hold.start, hold.end):
                hours = (at - now).total_seconds() / 3600.0
                if hours > 0:
                    self._push(hours, _HOLD, pool.kind)
                    self.changes_pending += 1

    # --- helpers ---

    def _push(self, t: float, kind: int, obj) -> None:
        if self.tick_hours:
            t = math.ceil(t / self.tick_hours - 1e-9) * self.tick_hours
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, obj))

    def _at(self, t: float) -> datetime:
        return self.start + timedelta(hours=t)

    def _usage(self, key, t: float) -> float:
        """``key``'s (client, kind) recent usage at ``t`` hours."""
        value, since = self.usage.get(key, (0.0, t))
        return engine.decay(value, t - since, self.half_life)

    def _fair_share(self, job: JobState, t: float) -> float:
        """The job's fair-share value at ``t``: what the planner ranks it by (dispatch.engine.policy)."""
        usage = self._usage((job.client_id, job.kind), t)
        return engine.fair_share_usage(usage, engine.entitlement_of(self.entitlements, job.client_id, job.kind))

    def _credit(self, client, kind: str, amount: float) -> None:
        """A job finished: its whole work counts for fair share on its kind and against the client's monthly budget."""
        self.usage[client, kind] = (self._usage((client, kind), self.t) + amount, self.t)
        if self.month is not None:
            self._turn_month()
            self.month_usage[client] = self.month_usage.get(client, 0.0) + amount

    def _turn_month(self) -> None:
        """A new month clears the finished work counted against budgets: holds end, plan again."""
        month = self.month_start(self._at(self.t))
        if month != self.month:
            self.month, self.month_usage = month, {}
            self.dirty.update(kind for kind, queue in self.queued.items() if queue)

    def _update_holds(self) -> None:
        """Who is held now: finished work this month plus the progress of active jobs, as the tick counts it."""
        if self.month is None:
            return
        self._turn_month()
        usage = dict(self.month_usage)
        budgets = self.budgets
        for runs in self.running.values():
            for run in runs.values():
                client = run.job.client_id
                if client in budgets:
                    remaining = max(0.0, run.w0 - run.job.demand * (self.t - run.t0))
                    usage[client] = usage.get(client, 0.0) + _work_of(run.order) - remaining
        for queue in self.queued.values():
            for job, order, *_ in queue.values():
                if job.client_id in budgets:
                    usage[job.client_id] = usage.get(job.client_id, 0.0) + _work_of(order) - job.work_remaining
        self.held = engine.held_clients(month_usage=usage, budgets=budgets)
        if self.held and self.month_event != self.month:
            self.month_event = self.month
            next_month = self.month_start(self.month + timedelta(days=32))
            self._push((next_month - self.start).total_seconds() / 3600.0, _MONTH, None)

    def _preempts(self, job: JobState) -> bool:
        return self.threshold_hours is not None and job.priority >= self.policy.preempt_min_priority

    def _new_job(self, order: _Order, queued_at: datetime, progress: float = 0.0, started_at=None) -> JobState:
        spec = order.spec
        step = spec.stages[order.stage][order.step]
        job = JobState(
            id=self.next_job_id,
            order_id=spec.order_id,
            client_id=spec.client_id,
            kind=step.kind,
            demand=step.demand,
            work_remaining=max(0.0, step.work - progress),
            priority=spec.priority,
            deadline=order.deadlines[order.stage][order.step],
            queued_at=queued_at,
            sensitive=spec.sensitive,
            entitlement=engine.entitlement_of(self.entitlements, spec.client_id, step.kind),
        )
        job.started_at = started_at
        self.next_job_id += 1
        order.job = job
        return job

    def _enqueue(self, job: JobState, order: _Order) -> None:
        key = (job.kind, bool(job.sensitive))
        largest = self.largest.get(key)
        if largest is None or job.demand > largest:
            # No active pool of its kind (and residency) is large enough: it waits aside for a pool change, and
            # without one it never runs and its order never ends.
            self.set_aside.setdefault(key, {})[job.id] = (job, order)
            return
        if self.policy.fair:
            rank = (job.deadline - self.start).total_seconds() / 3600.0 - job.hours
        elif self.policy.ordering == EDF:
            rank = (job.deadline, job.queued_at, job.order_id)
        else:
            rank = (job.queued_at, job.order_id)
        # The queue time in hours from the start, for aging in _relevant.
        self.queued[job.kind][job.id] = (job, order, rank, (job.queued_at - self.start).total_seconds() / 3600.0)
        self.dirty.add(job.kind)
        if self._preempts(job):
            crossing = (job.queued_at - self.start).total_seconds() / 3600.0 + self.threshold_hours
            if crossing > self.t:
                self._push(crossing, _THRESHOLD, job.kind)

    def _dequeue(self, job: JobState) -> _Order:
        return self.queued[job.kind].pop(job.id)[1]

    # --- order flow ---

    def _resume(self, order: _Order) -> None:
        """Bring an order that is active at the current time into the flow, from its recorded position."""
        spec = order.spec
        if order.stage >= len(spec.stages):
            order.outcome.finished_at = self._at(self.t)
            return
        self.active[spec.order_id] = order
        if spec.arrival >= self.start:  # a new order enters its first stage now
            order.outcome.stages[order.stage].entered_at = self._at(self.t)
        if order.step >= len(spec.stages[order.stage]):
            gate = spec.gate_remaining_hours if spec.gate_remaining_hours is not None else spec.gate_hours
            order.gate_end = self.t + gate
            self._push(order.gate_end, _GATE, order)
            return
        queued_at = spec.queued_at if spec.queued_at is not None and self.t == 0 else self._at(self.t)
        job = self._new_job(order, queued_at, spec.current_job_progress, spec.current_started_at)
        pool = self.pool_by_id.get(spec.running_pool_id) if spec.running_pool_id is not None else None
        if pool is not None and pool.kind == job.kind:
            job.pool_id = pool.id
            self._start(job, order, pool, resumed=True)
        else:
            self._enqueue(job, order)

    def _start(self, job: JobState, order: _Order, pool: PoolState, resumed: bool = False) -> None:
        """Run the job from now; ``resumed``: it was already running when the simulation started."""
        run = _Run(job, order, pool, self.t)
        self.running[job.kind][job.id] = run
        if not resumed:
            now = self._at(self.t)
            self.start_log.append((now, order.spec.order_id, pool.id))
            self.wait_log.append((now, job.priority, (now - job.queued_at).total_seconds() / 3600.0))
            self._reached_head(job, now)
            # Like the dispatch tick, a job keeps the time it first started through preemptions.
            job.started_at = job.started_at or self._at(self.t)
            steps = order.outcome.steps[order.stage]
            if steps[order.step][0] is None:
                steps[order.step] = (job.started_at, None)
        self._push(self.t + job.hours, _FINISH, run)

    def _step_ready(self, order: _Order) -> None:
        """The order's current position changed: queue its next step or open its gate."""
        spec = order.spec
        if order.step < len(spec.stages[order.stage]):
            self._enqueue(self._new_job(order, self._at(self.t)), order)
        else:
            order.outcome.stages[order.stage].work_done_at = self._at(self.t)
            order.gate_end = self.t + spec.gate_hours
            self._push(order.gate_end, _GATE, order)

    def _finish(self, run: _Run) -> None:
        job, order = run.job, run.order
        del self.running[job.kind][job.id]
        self.used_pflops_hours += run.w0
        self._credit(job.client_id, job.kind, order.spec.stages[order.stage][order.step].work)
        if self.queued[job.kind]:
            self.dirty.add(job.kind)
        steps = order.outcome.steps[order.stage]
        steps[order.step] = (steps[order.step][0], self._at(self.t))
        order.step += 1
        self._step_ready(order)

    def _gate_end(self, order: _Order) -> None:
        now = self._at(self.t)
        order.outcome.stages[order.stage].finished_at = now
        order.stage += 1
        order.step = 0
        if order.stage >= len(order.spec.stages):
            order.outcome.finished_at = now
            del self.active[order.spec.order_id]
            if self.awaited is not None:
                self.awaited.discard(order.spec.order_id)
            return
        order.outcome.stages[order.stage].entered_at = now
        self._step_ready(order)

    # --- pool changes ---

    def _find_largest(self, kind: str) -> None:
        for sensitive in (False, True):
            capacities = [
                p.capacity
                for p in self.pools_by_kind[kind]
                if p.state == ACTIVE and (p.trusted_in_province or not sensitive)
            ]
            if capacities:
                self.largest[kind, sensitive] = max(capacities)
            else:
                self.largest.pop((kind, sensitive), None)

    def _change_pool(self, change: PoolChange) -> None:
        """The pool takes its new state and/or capacity now, as the live factory's pool actions do.

        Draining: its running jobs go on, nothing new starts there. Offline: its running jobs stop now and are
        requeued with their progress (as a preempted job is, but logged in ``eviction_log``). A capacity cut below
        what runs there evicts the least urgent, latest started jobs until the rest fit (`_fit_running`). Queued
        work that no active pool can hold any longer waits aside; work set aside that a pool can now hold is queued
        again (with its queue time: it waited all along).
        """
        pool = self.pool_by_id[change.pool_id]
        kind = pool.kind
        before = {sensitive: self.largest.get((kind, sensitive), -_INF) for sensitive in (False, True)}
        if change.state is not None:
            pool.state = change.state
        if change.capacity is not None:
            pool.capacity = change.capacity
            self.background_at.pop(kind, None)  # a pool's background is a share of its capacity: read it again
        self._find_largest(kind)
        after = {sensitive: self.largest.get((kind, sensitive), -_INF) for sensitive in (False, True)}
        self.offers.append((self.t, [replace(p) for p in self.pools if p.state == ACTIVE]))
        queue = self.queued[kind]
        for job_id, entry in list(queue.items()):
            job = entry[0]
            sensitive = bool(job.sensitive)
            if after[sensitive] < before[sensitive] and job.demand > after[sensitive]:
                del queue[job_id]
                self.set_aside.setdefault((kind, sensitive), {})[job_id] = entry[:2]
        if pool.state == OFFLINE:
            now = self._at(self.t)
            for run in [run for run in self.running[kind].values() if run.pool is pool]:
                self._evict(run, now)
        elif change.capacity is not None:
            self._fit_running(pool)
        for sensitive in (False, True):
            aside = self.set_aside.get((kind, sensitive))
            if aside and after[sensitive] > before[sensitive]:
                for job_id, (job, order) in list(aside.items()):
                    if job.demand <= after[sensitive]:
                        del aside[job_id]
                        self._enqueue(job, order)
        self.dirty.add(kind)

    def _window(self, pool_id: int, closes_to: str | None) -> None:
        """A maintenance window begins, ``closes_to`` the state it holds the pool in (offline: its running jobs are
        evicted with their progress; draining: they finish), never opening it more than it was; or it ends
        (``closes_to`` None: the pool returns to the state it had when the window began, if the window still holds
        it)."""
        pool = self.pool_by_id[pool_id]
        if closes_to is not None:
            self.reopen[pool_id] = (pool.state, closes_to)
            state = max(pool.state, closes_to, key=CLOSED_RANK.get)
        else:
            before, held_in = self.reopen.pop(pool_id, (pool.state, pool.state))
            state = before if pool.state == held_in else pool.state
        self._change_pool(PoolChange(at=self._at(self.t), pool_id=pool_id, state=state))

    def _closes_at(self, pool: PoolState, t: float) -> datetime | None:
        """The start of the pool's next maintenance window after ``t``, as the dispatch tick knows it."""
        starts = self.window_starts.get(pool.id)
        if not starts:
            return None
        i = bisect_right(starts, t)
        return self._at(starts[i]) if i < len(starts) else None

    def _fit_running(self, pool: PoolState) -> None:
        """A capacity cut below what runs: the least urgent, latest started jobs are evicted with their progress
        until the rest fit, as the dispatch tick does (dispatch.services)."""
        runs = [run for run in self.running[pool.kind].values() if run.pool is pool]
        used = sum(run.job.demand for run in runs)
        if used <= pool.capacity + 1e-9:
            return
        now = self._at(self.t)
        for run in sorted(runs, key=lambda run: (run.job.priority, -run.t0, -run.job.id)):
            if used <= pool.capacity + 1e-9:
                break
            used -= run.job.demand
            self._evict(run, now)

    def _evict(self, run: _Run, now: datetime) -> None:
        """Stop a job whose pool went offline and requeue it with its progress, queued again from now."""
        job = run.job
        remaining = max(0.0, run.w0 - job.demand * (self.t - run.t0))
        if remaining <= job.demand * 1e-9:
            self._finish(run)  # its work ends at this very instant: it is done, not stopped
            return
        del self.running[job.kind][job.id]
        job.work_remaining = remaining
        job.pool_id = None
        job.queued_at = now
        self.used_pflops_hours += run.w0 - remaining
        self.eviction_log.append((now, job.order_id, run.pool.id))
        self._enqueue(job, run.order)

    # --- planning ---

    def _reached_head(self, job: JobState, now: datetime) -> None:
        spell = (job.id, job.queued_at)
        if spell not in self.at_head:
            self.at_head.add(spell)
            waited = (now - job.queued_at).total_seconds() / 3600.0
            passed_over = waited
            if self.aging is not None and job.priority == engine.LOW:
                bound = self.aging * (engine.STARVING - job.priority)
                queued = (job.queued_at - self.start).total_seconds() / 3600.0
                # Work of its queue that is older than a job past its bound has waited the bound too.
                if waited > bound and any(
                    e[0].sensitive == job.sensitive and e[3] < queued for e in self.queued[job.kind].values()
                ):
                    passed_over = bound
            self.passed_over_log.append((now, job.priority, waited, passed_over))

    def _refresh_background(self, kind: str, now: datetime) -> None:
        if self.background is None:
            return
        instant = engine.background_instant(now)
        if self.background_at.get(kind) != instant:
            for pool in self.pools_by_kind[kind]:
                pool.background = self.background(pool, now)
            self.background_at[kind] = instant

    def _relevant(self, kind: str) -> list[JobState]:
        """The queued jobs of ``kind`` the planner must see (see the class docstring); [] if none fits.

        Jobs on budget hold are never shown. In tick mode every other job is, as the dispatch tick does.
        """
        queued = self.queued[kind]
        if not queued:
            return []
        held = self.held
        if self.tick_hours or self.policy.ordering == MULTIFACTOR:  # (a multifactor rank moves with time)
            return [entry[0] for entry in queued.values() if not _held(entry[0], held)]
        used: dict[int, float] = {}
        for run in self.running[kind].values():
            used[run.pool.id] = used.get(run.pool.id, 0.0) + run.job.demand
        hole = max(
            (p.capacity - p.background - used.get(p.id, 0.0) for p in self.pools_by_kind[kind] if p.state == ACTIVE),
            default=-1.0,
        )
        hole += 1e-9
        preempt_from = self.policy.preempt_min_priority if self.threshold_hours is not None else 99
        picked: list[JobState] = []
        others: dict[bool, list] = {False: [], True: []}  # per queue class: jobs that do not fit now
        for entry in queued.values():
            job = entry[0]
            if held and _held(job, held):
                continue
            if job.demand <= hole or job.priority >= preempt_from:
                picked.append(job)
            else:
                others[bool(job.sensitive)].append(entry)
        if not picked:
            return []
        t, aging, at_risk = self.t, self.aging, self.at_risk
        for entries in others.values():
            if not entries:
                continue
            if self.policy.fair:
                # The best-ranked, then the least slack, or the oldest among work that waited the aging bound.
                # The rank is dispatch.engine.policy.queue_rank's, inlined: this runs over every waiting job at every
                # planning round. e[2] - t is the slack now, e[3] the queue time.
                cap, high = engine.STARVING, engine.AT_RISK_RANK
                fresh = t - aging if aging is not None else _INF  # queued after ``fresh``: not aged yet
                # e[2] in [t, risk_line): at risk; under t: past saving.
                risk_line = t + at_risk if at_risk is not None else -_INF
                ranks = []
                for e in entries:
                    rank = e[0].priority
                    if rank == engine.LOW and e[3] <= fresh:
                        rank = min(cap, engine.LOW + int((t - e[3]) // aging))
                    if rank < high and t <= e[2] < risk_line:
                        rank = high
                    ranks.append(rank)
                top = max(ranks)
                tops = [e for e, rank in zip(entries, ranks, strict=True) if rank == top]
                if top == cap:
                    oldest = min(e[3] for e in tops) + 1e-6
                    picked.extend(e[0] for e in tops if e[3] <= oldest)
                    continue
                # Within a rank, work at risk or past saving goes first by least slack; the rest by fair share,
                # then least slack (dispatch.engine.planner, ordering).
                pressed = [e for e in tops if e[2] < risk_line]
                if not pressed and self.fair_span is not None:
                    window = {id(e): math.floor((e[2] + self.grid_offset) / self.fair_span) for e in tops}
                    first = min(window.values())
                    tops = [e for e in tops if window[id(e)] == first]
                if not pressed:
                    shares = {}
                    for e in tops:
                        if (key := (e[0].client_id, kind)) not in shares:
                            shares[key] = self._fair_share(e[0], t)
                    least = min(shares.values())
                    least += abs(least) * 1e-9
                    pressed = [e for e in tops if shares[e[0].client_id, kind] <= least]
                near = min(e[2] for e in pressed) + 2 * self.slack_step + 1e-6
                picked.extend(e[0] for e in pressed if e[2] <= near)
            else:
                best = min(e[2] for e in entries)
                picked.extend(e[0] for e in entries if e[2] == best)
        return picked

    def _plan(self) -> None:
        t = self.t
        now = self._at(t)
        kinds, queued = [], []
        self._update_holds()
        for kind in self.dirty:
            self._refresh_background(kind, now)
            relevant = self._relevant(kind)
            if relevant:
                kinds.append(kind)
                queued.extend(relevant)
        self.dirty.clear()
        if not kinds:
            return
        pools, running = [], []
        usage: dict = {}
        for job in queued:
            key = (job.client_id, job.kind)
            if key not in usage:
                usage[key] = self._usage(key, t)
            job.client_recent_usage = usage[key]
        windows = self.window_starts
        for kind in kinds:
            for pool in self.pools_by_kind[kind]:
                pool.used = 0.0
                if windows:
                    pool.closes_at = self._closes_at(pool, t)
                pools.append(pool)
            for run in self.running[kind].values():
                job = run.job
                job.work_remaining = max(0.0, run.w0 - job.demand * (t - run.t0))
                running.append(job)
        self.plans += 1
        holds = [hold for hold in self.holds if hold.end > now] if self.holds else ()
        result = plan(
            pools=pools,
            queued=queued,
            running=running,
            now=now,
            policy=self.policy,
            estimate_starts=False,
            holds=holds,
        )

        for victim_id, preemptor_id in result.preemptions:
            for kind in kinds:
                run = self.running[kind].pop(victim_id, None)
                if run is not None:
                    break
            job = run.job
            self.used_pflops_hours += run.w0 - job.work_remaining
            job.queued_at = now
            run.order.outcome.preempted += 1
            preemptor = self.queued[job.kind][preemptor_id][0]
            self.preemption_log.append((now, job.order_id, preemptor.order_id))
            self._enqueue(job, run.order)
        self.dirty.clear()  # the victims wait for the next event: their room was just taken
        by_id = {job.id: job for job in queued}
        for head_id in result.reservations:
            self._reached_head(by_id[head_id], now)
        for job_id, pool_id in result.placements:
            job = by_id[job_id]
            order = self._dequeue(job)
            self._start(job, order, self.pool_by_id[pool_id])

    # --- snapshots ---

    def _take_snapshots(self, until: float) -> None:
        """Record a snapshot for every requested instant up to ``until`` (the state holds until then)."""
        while self.snapshot_hours and self.snapshot_hours[0] <= until:
            self.snapshots.append(self._snapshot(self.snapshot_hours.pop(0)))

    def _take_samples(self, before: float) -> None:
        """Record a usage sample for every sample instant before ``before``: the state holds from the last event on
        (so a sample shows what was decided at its instant, unlike a snapshot)."""
        while self.next_sample < before:
            at = self.start + self.sample_every * len(self.samples)
            used = dict.fromkeys(self.pools_by_kind, 0.0)
            offered = dict.fromkeys(self.pools_by_kind, 0.0)
            for kind, runs in self.running.items():
                used[kind] = sum(run.job.demand for run in runs.values())
            for pool in self.pools:
                if pool.state == ACTIVE:
                    background = pool.background if self.background is None else self.background(pool, at)
                    offered[pool.kind] += max(0.0, pool.capacity - background)
            self.samples.append(UsageSample(at=at, used=used, offered=offered))
            self.next_sample = len(self.samples) * self.sample_hours

    def _report_progress(self) -> None:
        """Tell ``progress`` how far the run is, each time it moved by a hundredth at least."""
        if self.awaited is not None:
            done = 1.0 - len(self.awaited) / self.awaited_total if self.awaited_total else 1.0
        else:
            done = min(1.0, self.t / self.end) if self.end > 0 else 1.0
        if done >= self.reported + 0.01:
            self.reported = done
            self.progress(done)

    def _snapshot(self, t: float) -> Snapshot:
        plans = []
        for order in self.active.values():
            spec = order.spec
            fields = {
                "current_stage_index": order.stage,
                "current_step_index": order.step,
                "current_job_progress": 0.0,
                "running_pool_id": None,
                "gate_remaining_hours": None,
                "queued_at": None,
            }
            if order.step >= len(spec.stages[order.stage]):
                fields["gate_remaining_hours"] = max(0.0, order.gate_end - t)
            elif order.job is not None:
                job = order.job
                step = spec.stages[order.stage][order.step]
                run = self.running.get(job.kind, {}).get(job.id)
                remaining = max(0.0, run.w0 - job.demand * (t - run.t0)) if run is not None else job.work_remaining
                fields["current_job_progress"] = max(0.0, step.work - remaining)
                fields["running_pool_id"] = run.pool.id if run is not None else None
                fields["queued_at"] = job.queued_at
            plans.append(replace(spec, **fields))
        usage = {key: self._usage(key, t) for key in self.usage}
        return Snapshot(at=self._at(t), orders=plans, client_usage=usage)

    # --- main loop ---

    def run(self) -> SimulationResult:
        heap = self.heap
        stopped = None
        while True:
            if self.dirty:
                self._plan()
                if not self.replan_pending and any(self.queued.values()):
                    self._push(self.t + self.replan_hours, _REPLAN, None)
                    self.replan_pending = True
            if not heap or (self.awaited is not None and not self.awaited):
                break
            if self.changes_pending == len(heap) and not self.active:
                break  # nothing left to run: only pool changes are still to come
            t = heap[0][0]
            if self.snapshot_hours:
                self._take_snapshots(min(t, self.end))
            if self.next_sample < t:
                self._take_samples(min(t, self.end))
            if t > self.end:
                stopped = self.end
                break
            self.t = t
            while heap and heap[0][0] <= t:
                _, _, kind, obj = heapq.heappop(heap)
                if kind == _FINISH:
                    if self.running[obj.job.kind].get(obj.job.id) is obj:
                        self._finish(obj)
                elif kind == _GATE:
                    self._gate_end(obj)
                elif kind == _ARRIVAL:
                    self._resume(obj)
                elif kind == _MONTH:
                    self._turn_month()
                elif kind == _REPLAN:
                    self.replan_pending = False
                    self.dirty.update(k for k, q in self.queued.items() if q)
                elif kind == _POOL:
                    self.changes_pending -= 1
                    self._change_pool(obj)
                elif kind == _WINDOW:
                    self.changes_pending -= 1
                    self._window(*obj)
                elif kind == _HOLD:
                    self.changes_pending -= 1
                    if self.queued[obj]:
                        self.dirty.add(obj)
                elif self.queued[obj]:  # a waiting job crossed the preemption threshold
                    self.dirty.add(obj)
            if self.progress is not None:
                self._report_progress()
        end = self.t if stopped is None else stopped
        self._take_snapshots(self.end)  # the factory is idle (or stuck) from the last event on
        self._take_samples(end + 1e-9)  # the end is a sample instant too (the tolerance absorbs rounding)
        for runs in self.running.values():  # partial work of the jobs still running at the end
            for run in runs.values():
                self.used_pflops_hours += run.job.demand * (end - run.t0)
        result = SimulationResult(
            orders=self.outcomes,
            started_at=self.start,
            ended_at=self._at(end),
            used_pflops_hours=self.used_pflops_hours,
            available_pflops_hours=self._available(end),
            preemptions=len(self.preemption_log),
            plans=self.plans,
            preemption_log=self.preemption_log,
            start_log=self.start_log,
            wait_log=self.wait_log,
            passed_over_log=self.passed_over_log,
            snapshots=self.snapshots,
            eviction_log=self.eviction_log,
            samples=self.samples,
        )
        if self.progress is not None and self.reported < 1.0:
            self.progress(1.0)
        return result

    def _available(self, end: float) -> float:
        """PFLOPS·h the active pools offered over [0, end]: capacity minus background, midpoint rule per hour,
        with the pools active and the capacities in force between pool changes."""
        total = 0.0
        for i, (since, active) in enumerate(self.offers):
            until = min(end, self.offers[i + 1][0]) if i + 1 < len(self.offers) else end
            if self.background is None:
                total += sum(p.capacity - p.background for p in active) * max(0.0, until - since)
                continue
            t = since
            while t < until:
                step = min(1.0, until - t)
                at = self._at(t + step / 2)
                total += sum(p.capacity - self.background(p, at) for p in active) * step
                t += step
        return total


def _merged_windows(
    maintenance: Sequence[Window], pools: dict[int, PoolState], now: datetime
) -> list[tuple[int, float, float, str]]:
    """(pool id, start, end, state) in hours from ``now`` of each window not over by ``now``, overlapping windows of
    a pool merged into one that holds it in the most closed of their states."""
    by_pool: dict[int, list[tuple[float, float, str]]] = {}
    for window in maintenance:
        if window.pool_id not in pools:
            raise ValueError(f"A maintenance window names pool {window.pool_id}, which is not among the pools.")
        if window.end <= window.start:
            raise ValueError("A maintenance window ends after it starts.")
        start = (window.start - now).total_seconds() / 3600.0
        end = (window.end - now).total_seconds() / 3600.0
        if window.state not in (DRAINING, OFFLINE):
            raise ValueError(f"A maintenance window holds its pool {window.state!r}: draining or offline.")
        if end > 0:
            by_pool.setdefault(window.pool_id, []).append((start, end, window.state))
    merged = []
    for pool_id, spans in by_pool.items():
        spans.sort()
        current = list(spans[0])
        for start, end, state in spans[1:]:
            if start <= current[1]:
                current[1] = max(current[1], end)
                current[2] = max(current[2], state, key=CLOSED_RANK.get)
            else:
                merged.append((pool_id, *current))
                current = [start, end]
        merged.append((pool_id, *current))
    return merged


def expected_arrivals(
    recent: Sequence[OrderPlan],
    *,
    now: datetime,
    first_id: int,
    lookback: timedelta = EXPECTED_LOOKBACK,
    replays: int = EXPECTED_REPLAYS,
) -> list[OrderPlan]:
    """The demand to expect after ``now``: the orders that arrived over ``lookback`` before it, replayed.

    ``recent`` are whole orders (from their first step) with their arrival and deadline; each arrival in
    [now - lookback, now] comes again ``lookback`` later, ``replays`` times, with its deadline shifted alike.
    They get ids counting down from ``first_id`` (negative ids, so they never meet a real order's).
    """
    expected = []
    order_id = first_id
    for past in sorted(recent, key=lambda p: (p.arrival, p.order_id)):
        if not now - lookback <= past.arrival <= now:
            continue
        for n in range(1, replays + 1):
            shift = lookback * n
            expected.append(
                OrderPlan(
                    order_id=order_id,
                    client_id=past.client_id,
                    priority=past.priority,
                    deadline=past.deadline + shift,
                    sensitive=past.sensitive,
                    stages=past.stages,
                    gate_hours=past.gate_hours,
                    arrival=past.arrival + shift,
                )
            )
            order_id -= 1
    return expected


def scale_arrivals(
    plans: Sequence[OrderPlan], *, factor: float, start: datetime, end: datetime, first_id: int
) -> list[OrderPlan]:
    """The orders arriving in [start, end) ``factor`` times over (a what-if scenario's demand), the others as given.

    In arrival order (then order id), the ``k`` first orders of the period turn into ``floor(k * factor + 1/2)``
    orders in all, so each order counts ``floor(factor)`` or one more times and the period ``n`` orders
    turns into ``round(n * factor)`` (halves rounded up): factor 0.5 keeps the first order, the third, the
    fifth..., 2.5 makes three of the first, two of the second, three of the third..., 0 none. An order kept
    keeps its id; each further copy gets the next id counting down from ``first_id`` (a negative id below any
    other in the run, so it never meets a real order's), in arrival order. The result lists the orders in
    the order given, each one's copies after it.

    A copy arrives with its original, with the same deadline: the copies keep the demand's calendar (hour of
    day, weekday, a rush) exactly, where spreading them to the next arrival would move work into nights and
    weekends across the gaps, and several orders at one instant are what a rush looks like to the factory
    anyway (the planner orders them by rank, not by arrival).
    """
    if factor < 0:
        raise ValueError("An arrival factor cannot be negative.")
    inside = sorted(
        (i for i, spec in enumerate(plans) if start <= spec.arrival < end),
        key=lambda i: (plans[i].arrival, plans[i].order_id),
    )
    copies: dict[int, list[int] | None] = {}  # index in plans -> ids of its further copies; None: left out
    next_id = first_id
    for k, i in enumerate(inside):
        # The small epsilon keeps k * factor from landing under a half by a rounding error (0.1 * 5 and the like).
        count = math.floor((k + 1) * factor + 0.5 + 1e-9) - math.floor(k * factor + 0.5 + 1e-9)
        copies[i] = list(range(next_id, next_id - (count - 1), -1)) if count > 0 else None
        next_id -= max(0, count - 1)
    scaled = []
    for i, spec in enumerate(plans):
        if i not in copies:
            scaled.append(spec)
        elif copies[i] is not None:
            scaled.append(spec)
            scaled.extend(replace(spec, order_id=order_id) for order_id in copies[i])
    return scaled


def simulate(
    *,
    pools: list[PoolState],
    orders: list[OrderPlan],
    now: datetime,
    policy: Policy = DEFAULT_POLICY,
    horizon: timedelta = timedelta(days=366),
    background: bool | Callable[[PoolState, datetime], float] = True,
    seed: int = 0,
    replan_every: timedelta = timedelta(hours=1),
    client_usage: dict | None = None,
    usage_half_life: timedelta = engine.USAGE_HALF_LIFE,
    entitlements: dict | None = None,
    budgets: dict | None = None,
    month_usage: dict | None = None,
    month_start: Callable[[datetime], datetime] | None = None,
    tick: timedelta | None = None,
    snapshot_at: Sequence[datetime] = (),
    until_done: Collection[int] | None = None,
    pool_changes: Sequence[PoolChange] = (),
    sample_every: timedelta | None = None,
    progress: Callable[[float], None] | None = None,
    holds: Sequence[Hold] = (),
    maintenance: Sequence[Window] = (),
) -> SimulationResult:
    """Simulate ``orders`` on ``pools`` from ``now`` until all are finished or ``horizon`` has passed.

    ``background``: True varies each pool's background with ``background_pflops(seed * 100003 + pool.id,
    ...)`` (seed 0: the pool id as seed); a callable ``(pool, at) -> PFLOPS`` supplies it (e.g. with the
    seed each pool has in the database); False keeps each pool's given ``background``. The pools' ``used``
    is ignored: the simulation counts the jobs it runs, starting with the orders' ``running_pool_id``.
    ``client_usage`` gives the clients' recent PFLOPS·h at ``now`` per pool kind, (client, kind) -> PFLOPS·h, and
    ``entitlements`` their weights, (client, kind) -> weight (``DEFAULT_ENTITLEMENT`` where none is given), for
    fair share (`dispatch.engine.policy`).
    ``budgets`` (client -> enforced PFLOPS·h a month), ``month_usage`` (client -> PFLOPS·h finished this
    month) and ``month_start`` (an instant -> the start of its month in the factory's time zone) model budget
    holds. ``tick``: run in tick mode, exactly as the dispatch tick of that period decides (see `_Simulator`).
    ``snapshot_at``: instants
    at which to record the state as a `Snapshot` in ``result.snapshots`` (in time order; an instant
    before ``now`` is taken at ``now``, one after the horizon is not taken). ``until_done``: order ids; the
    simulation stops as soon as all of them are finished (the others, e.g. expected arrivals, are there for
    their load only).

    ``pool_changes``: pools that change state (ACTIVE, DRAINING, OFFLINE) and/or capacity at an instant, as
    the pool actions of the live factory do (a change at or before ``now`` holds from the start; in tick mode
    a change waits for the next tick, like any event). Draining: the jobs running there go on to their end,
    nothing new starts there. Offline: the jobs running there stop at once and are requeued with their
    progress, queued again from then (their PFLOPS·h count as used; they are logged in
    ``result.eviction_log``, not counted as preemptions). A lower capacity leaves running work alone, as
    background does; nothing new starts beyond it. Work that no active pool is large enough for waits aside
    and is queued again (with its queue time) when a change makes such a pool; only active pools count in
    the room offered (``available_pflops_hours``), with the capacity in force. A pool that does not exist
    yet (a pool to add, in a what-if scenario) is given in ``pools`` as OFFLINE, with any id not used by
    another pool (e.g. negative), and a change to ACTIVE at the instant it comes into service. With a
    ``background`` callable, the callable must know such pools and capacities.

    ``maintenance``: `Window`s in which a pool is closed (module docstring); overlapping windows of a pool count as
    one, and at a window's end the pool returns to the state it had at its start. The pools' own ``closes_at`` is
    ignored: the windows say when pools close. ``holds``: `Hold`s passed to the planner at every round (see
    `dispatch.engine.planner`), with a re-plan at each one's start and end.

    ``sample_every``: record a `UsageSample` (per kind, PFLOPS our jobs use and PFLOPS the active pools
    offer) in ``result.samples`` at ``now``, ``now + sample_every``, ... up to the end of the run, each of
    the state from that instant on (after the events due then and the decisions they led to). ``progress``: called
    with the share of the run done, from 0 to 1, in steps of at least a hundredth (so at most about a
    hundred times), and with 1.0 at the end: the share of ``until_done`` orders finished when it is given,
    else the share of the horizon passed.

    The inputs are not modified.
    """
    return _Simulator(
        pools=pools,
        orders=orders,
        now=now,
        policy=policy,
        horizon=horizon,
        background=background,
        seed=seed,
        replan_every=replan_every,
        client_usage=client_usage,
        usage_half_life=usage_half_life,
        entitlements=entitlements,
        budgets=budgets,
        month_usage=month_usage,
        month_start=month_start,
        tick=tick,
        snapshot_at=snapshot_at,
        until_done=until_done,
        pool_changes=pool_changes,
        sample_every=sample_every,
        progress=progress,
        holds=holds,
        maintenance=maintenance,
    ).run()

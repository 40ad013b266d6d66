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
starts (after the last gate, the order is finished). A job's deadline is the latest time the step may
finish for the order to still meet its due date (the due date minus the nominal duration of every later
step and gate, see `step_deadlines`), so "least slack first" ranks steps by the risk to their order,
not by their own length. Each client's recent usage, for fair share, is the PFLOPS·h of its finished
(or preempted) work decayed with a half-life (``usage_half_life``, 7 days by default).

Time advances event by event with a heap: job finishes, gate ends, order arrivals, a re-plan at least
every ``replan_every`` while jobs wait (so background changes are seen), and a re-plan at the moment a
waiting high/urgent job crosses the preemption threshold. At each event that can change a decision
(a job queued, a pool of a kind with queued jobs freed, a periodic re-plan) the planner is called with
the current state. Running jobs keep a constant demand, so their finishes are known in advance; a
preempted job keeps its progress and is requeued (``queued_at`` = the preemption time). Background is
refreshed at most every ``background_every`` (15 min) of simulated time and held constant in between;
it never evicts running work. Jobs that can never run (no pool of their kind, residency, all pools
draining or offline, larger than every pool; pool states do not change in a simulation) are set aside:
their orders get no finish time.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from dispatch.background import background_pflops
from dispatch.planner import (
    ACTIVE,
    DEFAULT_POLICY,
    NO_POOL_OF_KIND,
    POOLS_UNAVAILABLE,
    RESIDENCY,
    TOO_LARGE,
    JobState,
    Policy,
    PoolState,
    plan,
)

# Reasons a job keeps for the whole simulation (pool states and capacities do not change in it).
_NEVER_RUNS = frozenset({NO_POOL_OF_KIND, RESIDENCY, POOLS_UNAVAILABLE, TOO_LARGE})

_FINISH, _GATE, _ARRIVAL, _REPLAN, _THRESHOLD = range(5)


@dataclass(frozen=True, slots=True)
class StepSpec:
    """One step of an order: pool kind, demand (PFLOPS) and work (PFLOPS·h)."""

    kind: str
    demand: float
    work: float

    @property
    def hours(self) -> float:
        return self.work / self.demand if self.demand > 0 else 0.0


@dataclass
class OrderPlan:
    """An order as the simulation sees it, possibly already in progress.

    ``stages`` lists the steps of each stage. The current position is ``current_stage_index`` /
    ``current_step_index``; earlier steps are done. ``current_job_progress`` is the PFLOPS·h already done
    on the current step (kept after a preemption). ``running_pool_id`` says the current step runs on
    that pool right now (it continues there without being re-planned; its demand must be counted in the
    pool's capacity). A ``current_step_index`` past the last step of the current stage means its gate is
    under review, with ``gate_remaining_hours`` left (default: ``gate_hours``). ``queued_at`` is when the
    current step was queued (default: now, or the arrival). An order with ``arrival`` after ``now``
    enters at that time.
    """

    order_id: int
    client_id: int
    priority: int
    deadline: datetime
    sensitive: bool
    stages: list[list[StepSpec]]
    gate_hours: float
    arrival: datetime
    current_stage_index: int = 0
    current_step_index: int = 0
    current_job_progress: float = 0.0
    running_pool_id: int | None = None
    gate_remaining_hours: float | None = None
    queued_at: datetime | None = None


@dataclass(slots=True)
class StageOutcome:
    """When a stage became current, when its last step finished (gate opens) and when its gate ended.

    None where it happened before the simulation started or after it stopped.
    """

    entered_at: datetime | None = None
    work_done_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass
class OrderOutcome:
    """What the simulation predicts for one order."""

    order_id: int
    arrival: datetime
    deadline: datetime
    stages: list[StageOutcome]
    steps: list[list[tuple[datetime | None, datetime | None]]]  # (first start, finish) of each step
    finished_at: datetime | None = None  # after the last gate; None if beyond the horizon (or never)
    preempted: int = 0  # how many times its jobs were preempted

    @property
    def lead_time(self) -> timedelta | None:
        return None if self.finished_at is None else self.finished_at - self.arrival

    @property
    def on_time(self) -> bool | None:
        return None if self.finished_at is None else self.finished_at <= self.deadline


@dataclass
class SimulationResult:
    """Per-order predictions and the aggregate figures of one simulated period [started_at, ended_at].

    ``utilization`` is our used PFLOPS·h over the PFLOPS·h the active pools offered us (capacity minus
    background) during the period.
    """

    orders: dict[int, OrderOutcome]
    started_at: datetime
    ended_at: datetime
    used_pflops_hours: float
    available_pflops_hours: float
    preemptions: int
    plans: int  # how many times the planner ran
    preemption_log: list[tuple[datetime, int, int]] = field(default_factory=list)  # (at, victim order, by order)

    @property
    def delivered(self) -> int:
        return sum(1 for o in self.orders.values() if o.finished_at is not None)

    @property
    def on_time(self) -> int:
        return sum(1 for o in self.orders.values() if o.on_time)

    @property
    def on_time_rate(self) -> float:
        """Share of all simulated orders finished by their deadline (unfinished ones count as late)."""
        return self.on_time / len(self.orders) if self.orders else 1.0

    @property
    def utilization(self) -> float:
        return self.used_pflops_hours / self.available_pflops_hours if self.available_pflops_hours > 0 else 0.0

    @property
    def mean_lead_time(self) -> timedelta | None:
        leads = [o.lead_time for o in self.orders.values() if o.finished_at is not None]
        return sum(leads, timedelta()) / len(leads) if leads else None


def step_deadlines(order: OrderPlan) -> list[list[datetime]]:
    """Latest finish of every step that still lets the order finish by its deadline at nominal speed."""
    result: list[list[datetime]] = []
    downstream = 0.0  # hours of nominal work and gates after the point being computed
    for steps in reversed(order.stages):
        downstream += order.gate_hours
        latest = []
        for step in reversed(steps):
            latest.append(order.deadline - timedelta(hours=downstream))
            downstream += step.hours
        latest.reverse()
        result.append(latest)
    result.reverse()
    return result


class _Run:
    __slots__ = ("job", "order", "pool", "t0", "w0")

    def __init__(self, job: JobState, order: _Order, pool: PoolState, t0: float):
        self.job = job
        self.order = order
        self.pool = pool
        self.t0 = t0
        self.w0 = job.work_remaining


class _Order:
    __slots__ = ("deadlines", "outcome", "spec", "stage", "step")

    def __init__(self, spec: OrderPlan, outcome: OrderOutcome):
        self.spec = spec
        self.outcome = outcome
        self.stage = spec.current_stage_index
        self.step = spec.current_step_index
        self.deadlines = step_deadlines(spec)


class _Simulator:
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
        background_every,
        client_usage,
        usage_half_life,
    ):
        self.start = now
        self.policy = policy
        self.pools = [replace(p, used=0.0) for p in pools]
        self.pool_by_id = {p.id: p for p in self.pools}
        if background is True:
            self.background = lambda p, at: background_pflops(seed * 100_003 + p.id, p.capacity, at)
        elif callable(background):
            self.background = background
        else:
            self.background = None
        self.end = horizon.total_seconds() / 3600.0
        self.replan_hours = replan_every.total_seconds() / 3600.0
        self.background_hours = background_every.total_seconds() / 3600.0
        self.half_life = usage_half_life.total_seconds() / 3600.0
        self.threshold_hours = (
            policy.preempt_after.total_seconds() / 3600.0 if policy.fair and policy.preempt_after is not None else None
        )
        self.usage = {client: (value, 0.0) for client, value in (client_usage or {}).items()}
        self.heap: list = []
        self.seq = 0
        self.queued: dict[int, tuple[JobState, _Order]] = {}
        self.queued_kinds: dict[str, int] = {}
        self.running: dict[int, _Run] = {}
        self.next_job_id = 1
        self.t = 0.0
        self.need_plan = False
        self.replan_pending = False
        self.last_background = None
        self.used_pflops_hours = 0.0
        self.preemption_log: list[tuple[datetime, int, int]] = []
        self.plans = 0
        self.outcomes: dict[int, OrderOutcome] = {}
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

    # --- helpers ---

    def _push(self, t: float, kind: int, obj) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, obj))

    def _at(self, t: float) -> datetime:
        return self.start + timedelta(hours=t)

    def _usage(self, client, t: float) -> float:
        value, since = self.usage.get(client, (0.0, t))
        return value * 0.5 ** ((t - since) / self.half_life) if self.half_life > 0 and value else value

    def _credit(self, client, amount: float) -> None:
        self.usage[client] = (self._usage(client, self.t) + amount, self.t)

    def _new_job(self, order: _Order, queued_at: datetime, progress: float = 0.0) -> JobState:
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
        )
        self.next_job_id += 1
        return job

    def _enqueue(self, job: JobState, order: _Order) -> None:
        self.queued[job.id] = (job, order)
        self.queued_kinds[job.kind] = self.queued_kinds.get(job.kind, 0) + 1
        self.need_plan = True
        if self.threshold_hours is not None and job.priority >= self.policy.preempt_min_priority:
            crossing = (job.queued_at - self.start).total_seconds() / 3600.0 + self.threshold_hours
            if crossing > self.t:
                self._push(crossing, _THRESHOLD, None)

    def _dequeue(self, job_id: int) -> tuple[JobState, _Order]:
        job, order = self.queued.pop(job_id)
        self.queued_kinds[job.kind] -= 1
        return job, order

    # --- order flow ---

    def _resume(self, order: _Order) -> None:
        """Bring an order that is active at the current time into the flow, from its recorded position."""
        spec = order.spec
        if order.stage >= len(spec.stages):
            order.outcome.finished_at = self._at(self.t)
            return
        if spec.arrival >= self.start:  # a new order enters its first stage now
            order.outcome.stages[order.stage].entered_at = self._at(self.t)
        if order.step >= len(spec.stages[order.stage]):
            gate = spec.gate_remaining_hours if spec.gate_remaining_hours is not None else spec.gate_hours
            self._push(self.t + gate, _GATE, order)
            return
        queued_at = spec.queued_at if spec.queued_at is not None and self.t == 0 else self._at(self.t)
        job = self._new_job(order, queued_at, spec.current_job_progress)
        pool = self.pool_by_id.get(spec.running_pool_id) if spec.running_pool_id is not None else None
        if pool is not None:
            job.pool_id = pool.id
            self._start(job, order, pool)
        else:
            self._enqueue(job, order)

    def _start(self, job: JobState, order: _Order, pool: PoolState) -> None:
        run = _Run(job, order, pool, self.t)
        self.running[job.id] = run
        job.started_at = self._at(self.t)
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
            self._push(self.t + spec.gate_hours, _GATE, order)

    def _finish(self, run: _Run) -> None:
        job, order = run.job, run.order
        del self.running[job.id]
        self.used_pflops_hours += run.w0
        self._credit(job.client_id, run.w0)
        if self.queued_kinds.get(job.kind):
            self.need_plan = True
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
            return
        order.outcome.stages[order.stage].entered_at = now
        self._step_ready(order)

    # --- planning ---

    def _plan(self) -> None:
        t = self.t
        now = self._at(t)
        if self.background is not None and (
            self.last_background is None or t - self.last_background >= self.background_hours
        ):
            for pool in self.pools:
                pool.background = self.background(pool, now)
            self.last_background = t
        for pool in self.pools:
            pool.used = 0.0
        running = []
        for run in self.running.values():
            job = run.job
            job.work_remaining = max(0.0, run.w0 - job.demand * (t - run.t0))
            running.append(job)
        usage: dict = {}
        queued = []
        for job, _ in self.queued.values():
            client = job.client_id
            if client not in usage:
                usage[client] = self._usage(client, t)
            job.client_recent_usage = usage[client]
            queued.append(job)
        self.plans += 1
        result = plan(
            pools=self.pools, queued=queued, running=running, now=now, policy=self.policy, estimate_starts=False
        )

        for victim_id, preemptor_id in result.preemptions:
            run = self.running.pop(victim_id)
            job = run.job
            done = run.w0 - job.work_remaining
            self.used_pflops_hours += done
            self._credit(job.client_id, done)
            job.queued_at = now
            run.order.outcome.preempted += 1
            self.preemption_log.append((now, job.order_id, self.queued[preemptor_id][0].order_id))
            self._enqueue(job, run.order)
        for job_id, pool_id in result.placements:
            job, order = self._dequeue(job_id)
            self._start(job, order, self.pool_by_id[pool_id])
        for job_id, waiting in result.waiting.items():
            if waiting.reason in _NEVER_RUNS and job_id in self.queued:
                self._dequeue(job_id)  # set aside: its order will not finish
        self.need_plan = False

    # --- main loop ---

    def run(self) -> SimulationResult:
        heap = self.heap
        stopped = None
        while True:
            if self.need_plan:
                if self.queued:
                    self._plan()
                    if self.queued and not self.replan_pending:
                        self._push(self.t + self.replan_hours, _REPLAN, None)
                        self.replan_pending = True
                self.need_plan = False
            if not heap:
                break
            t = heap[0][0]
            if t > self.end:
                stopped = self.end
                break
            self.t = t
            while heap and heap[0][0] <= t:
                _, _, kind, obj = heapq.heappop(heap)
                if kind == _FINISH:
                    if self.running.get(obj.job.id) is obj:
                        self._finish(obj)
                elif kind == _GATE:
                    self._gate_end(obj)
                elif kind == _ARRIVAL:
                    self._resume(obj)
                elif kind == _REPLAN:
                    self.replan_pending = False
                    self.need_plan = True
                else:
                    self.need_plan = True
        end = self.t if stopped is None else stopped
        for run in self.running.values():  # partial work of the jobs still running at the end
            self.used_pflops_hours += run.job.demand * (end - run.t0)
        return SimulationResult(
            orders=self.outcomes,
            started_at=self.start,
            ended_at=self._at(end),
            used_pflops_hours=self.used_pflops_hours,
            available_pflops_hours=self._available(end),
            preemptions=len(self.preemption_log),
            plans=self.plans,
            preemption_log=self.preemption_log,
        )

    def _available(self, end: float) -> float:
        """PFLOPS·h the active pools offered over [0, end]: capacity minus background, midpoint rule per hour."""
        total = 0.0
        active = [p for p in self.pools if p.state == ACTIVE]
        if self.background is None:
            return sum(p.capacity - p.background for p in active) * end
        t = 0.0
        while t < end:
            step = min(1.0, end - t)
            at = self._at(t + step / 2)
            total += sum(p.capacity - self.background(p, at) for p in active) * step
            t += step
        return total


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
    background_every: timedelta = timedelta(minutes=15),
    client_usage: dict | None = None,
    usage_half_life: timedelta = timedelta(days=7),
) -> SimulationResult:
    """Simulate ``orders`` on ``pools`` from ``now`` until all are finished or ``horizon`` has passed.

    ``background``: True varies each pool's background with `background_pflops(seed * 100003 + pool.id,
    ...)` (seed 0: the pool id, as the dispatch tick does); a callable ``(pool, at) -> PFLOPS`` supplies
    it; False keeps each pool's given ``background``. ``client_usage`` gives the clients' recent
    PFLOPS·h at ``now`` for fair share. The inputs are not modified.
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
        background_every=background_every,
        client_usage=client_usage,
        usage_half_life=usage_half_life,
    ).run()

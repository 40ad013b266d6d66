"""What a forward simulation reads and returns: order plans (an order as the engine sees it, possibly in
progress), changes to pools over time and maintenance windows, per-order outcomes, snapshots of the factory at an
instant, usage samples, and a run's aggregate figures.

Plain dataclasses, no Django: `dispatch.forecast` builds `OrderPlan`s from the database, the benchmarks
build them from generated arrivals, and `dispatch.engine.simulation` runs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta


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
    enters at that time. ``current_step_deadline`` and ``current_started_at`` are the current step's job's
    deadline and first start where it has a job already (its deadline was fixed when it was queued).
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
    current_step_deadline: datetime | None = None
    current_started_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PoolChange:
    """From ``at`` on, pool ``pool_id`` is in ``state`` (the planner's ACTIVE, DRAINING or OFFLINE) and/or has
    ``capacity`` PFLOPS; None keeps what it had. `dispatch.engine.simulation.simulate` says what each does."""

    at: datetime
    pool_id: int
    state: str | None = None
    capacity: float | None = None


@dataclass(frozen=True, slots=True)
class Window:
    """A maintenance window: pool ``pool_id`` is closed (``state`` OFFLINE) or draining from ``start`` to ``end``.
    `dispatch.engine.simulation.simulate` says what happens to the work around it."""

    pool_id: int
    start: datetime
    end: datetime
    state: str = "offline"


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
class Snapshot:
    """The factory at instant ``at`` as the simulation's input: pass ``orders`` (and ``client_usage``) to
    `simulate` with ``now=at`` to continue from there.

    ``orders`` are the orders that had arrived and were not finished; each keeps its full ``stages``, with
    its position in ``current_stage_index`` / ``current_step_index``, the PFLOPS·h done on its current
    step, the pool that step runs on (or None while it waits), its queue time and, during a gate, the
    hours of review left. Events due exactly at ``at`` have not happened yet. ``client_usage``: (client, pool
    kind) -> recent PFLOPS·h then, as `simulate` takes it.
    """

    at: datetime
    orders: list[OrderPlan]
    client_usage: dict


@dataclass(slots=True)
class UsageSample:
    """The factory's compute at instant ``at``, per pool kind: the PFLOPS our running jobs use (on any pool,
    draining ones included) and the PFLOPS the active pools offer us (capacity minus background, never below 0
    on a pool)."""

    at: datetime
    used: dict[str, float]
    offered: dict[str, float]


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
    start_log: list[tuple[datetime, int, int]] = field(default_factory=list)  # (at, order, pool) of every start
    wait_log: list[tuple[datetime, int, float]] = field(default_factory=list)  # (start, priority, hours queued)
    # (when, priority, hours queued, hours passed over) when a waiting job first started or held its queue's
    # reservation. Passed over: how long newer work could be ordered ahead of it, which the aging bound
    # (dispatch.engine.policy.AGING_BOUND) caps; the wait beyond the bound behind older work that had itself waited
    # the bound is not counted (that work goes first, oldest first).
    passed_over_log: list[tuple[datetime, int, float, float]] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)  # one per ``snapshot_at`` instant within the period
    # (at, order, pool) of every running job stopped because its pool went offline (not counted as preemptions)
    eviction_log: list[tuple[datetime, int, int]] = field(default_factory=list)
    samples: list[UsageSample] = field(default_factory=list)  # every ``sample_every`` from the start to the end

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

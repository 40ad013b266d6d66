"""The dispatch center's placement core: which queued job starts on which pool, now.

Pure Python on purpose (no Django, no database), so the same function serves three callers:

* the dispatch tick, which loads pools and jobs into `PoolState`/`JobState`, calls `plan()` and applies
  the decisions (placements, preemptions) and the pending reasons it returns;
* the ETA forward simulation (`dispatch.engine.simulation`), which calls `plan()` at every event;
* benchmarks that replay a year of orders under our policy and under plain FIFO.

What `plan()` does, in the order it does it:

1. **Ordering.** Fair policy: the queue rank, `dispatch.engine.policy.queue_rank` (priority, urgent first; low
   work aged by the wait, ``Policy.aging_step``; work at risk but not past saving, ``Policy.at_risk_slack``,
   ranks at least high; work that waited the aging bound goes first, oldest first). Within a rank, work whose
   slack is under ``Policy.at_risk_slack`` (at risk, or past saving) goes first, by least slack. The rest, which
   has time to spare, goes by the ``Policy.fair_share_span`` (a week) its latest start falls in, earliest first,
   then by fair share (`dispatch.engine.policy.fair_share_usage`: the client's recent PFLOPS·h of the job's pool
   kind per unit of its entitlement there, the lowest first), then least slack. Then queue time, then the order.
   So clients that saturate a kind with work due in the same weeks get it in proportion to their entitlements
   (tests/dispatch/test_fairness.py: 2:1 over a week), while a date in danger still comes first: work at risk
   is ranked high and ordered by slack, ahead of all normal work with time to spare. Fair share used to come
   after least slack by the hour, and then decided almost nothing (two jobs of different orders seldom have the
   same latest start hour). Fair share before every latest start (no span) cost 2.3 points of on-time
   delivery in bench/year.py's rush (seed 1), the week's span none (bench/README.md). Slack is
   ``deadline - now - work_remaining / demand`` in hours; jobs are compared by their latest start (``deadline -
   work_remaining / demand``) counted in whole ``Policy.slack_granularity`` steps (1 h by default) of absolute
   time, and spans on the same grid: a few minutes of slack do not change a job's risk. On a grid of absolute
   time, not of slack from now, the order of two jobs does not depend on the minute a round runs at, so the tick
   and a forecast started at any instant rank alike.
   FIFO policy: queue time only.
2. **Compatibility.** A job runs on a pool of its own kind; a sensitive job only on a trusted in-province
   pool. Only *active* pools take new work; draining pools keep their running jobs, offline pools run
   nothing new either. **Maintenance windows**: a pool with ``closes_at`` (the start of its next window)
   takes only jobs that finish by then (``now + hours <= closes_at``); longer ones go to another pool or wait
   (reason MAINTENANCE when a pool had room but closes first), and no reservation or preemption puts a job
   there across the window either.
3. **Best fit.** A job that fits starts on the compatible active pool with the least free capacity that
   still holds it, which keeps the large holes for large jobs; a job that is not sensitive prefers the
   pools that are not trusted in-province, keeping those for the sensitive work only they may run.
   Free capacity is ``capacity - background - used``; when other tenants' background alone already
   fills a pool, nothing new goes there (running jobs are never evicted for background):
   ``used + background <= capacity`` holds on every pool that receives a job.
4. **Reservations and EASY backfill.** Jobs form one queue per *class* = (kind, sensitive). The first job
   of a class that cannot start (its *head*) gets a reservation: the earliest time, computed from the
   expected finishes of the running jobs, at which one compatible pool has room for it (background
   assumed constant). Later jobs may still start now if they do not delay any reservation: they end
   before it begins, or they run on another pool, or the reserved pool keeps enough spare capacity at
   that time. Reservations are per pool, so a reservation made by the sensitive queue also protects its
   head against non-sensitive jobs of the same kind (and vice versa). Without backfill (FIFO, or
   ``Policy(backfill=False)``) nothing overtakes the head of its class.
   **Holds** (``plan(..., holds=...)``, `Hold`): capacity a client (or one order) bought on a pool from
   ``start`` to ``end`` is a reservation of the same kind, for the owner: its room (what the owner's running
   jobs do not fill then) is backfilled before ``start`` only by work that ends by ``start`` (reason HELD
   otherwise), and from ``start`` to ``end`` only the owner's jobs use it, whatever the priority of the others.
   The owner's jobs may use free room as anyone's, and the held room as if it were free (a reservation made
   for another head counts it as taken, so the owner never delays that head by using it).
5. **Preemption** (fair policy only). A job of priority >= ``Policy.preempt_min_priority`` (high) that has waited at
   least ``Policy.preempt_after`` and does not fit may evict strictly lower-priority running jobs from one compatible
   active pool, except those at risk that rank as high as it (work at risk, ``Policy.at_risk_slack``, ranks high
   running as waiting: only urgent work evicts it, so a job that started because it was at risk is not thrown out by
   the next high one): lowest priority first, then the most recently started, just enough to fit (unneeded victims
   are given back). Among the pools where that works it takes the one whose victims have the lowest top priority,
   then the least evicted compute. Pools that hold a reservation are left alone (evicting there could
   delay the job the reservation protects, which is ahead of the preemptor in the queue), and so are pools with a
   hold the preemptor does not own and would still run at its start (or in it). Victims get
   ``pool_id = None`` and keep their ``work_remaining``: the caller requeues them with their progress;
   ``Plan.preemptions`` records (victim, preemptor).
6. **Pending reasons and expected starts** for every job that does not start, Slurm style; see the
   reason codes below and `_estimate_starts` for how the expected start is estimated (it ignores maintenance
   windows and holds; the forward simulation accounts for both).

`plan()` mutates its inputs the way the decisions say: a placed job gets its ``pool_id``, a victim loses
it, and each pool's ``used`` is the sum of the demand it runs after the plan. Pass copies if the
originals must stay untouched.

Performance: one sort of the queue, pools indexed by class, the largest free hole of each class cached,
so a job that cannot fit is answered in O(1); the whole plan is O((queued + running) log) plus a few
pool scans per reservation. 5,000 queued + 1,000 running jobs over 50 pools plan in a few tens of ms.
"""

from __future__ import annotations

import heapq
import math
from bisect import insort
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import itemgetter

from dispatch.engine.policy import (
    AGING_STEP,
    AT_RISK_RANK,
    AT_RISK_SLACK,
    DEFAULT_ENTITLEMENT,
    GRID_EPOCH,
    HIGH,
    LOW,
    NORMAL,
    PRIORITY_RANK,
    STARVING,
    URGENT,
    fair_share_usage,
    queue_rank,
)

__all__ = ["HIGH", "LOW", "NORMAL", "PRIORITY_RANK", "URGENT"]  # priorities as ranks, defined in dispatch.engine.policy

# Pool kinds (the catalog's PoolKind values) and pool states.
DATA_PROCESSING, TRAINING, INFERENCE = "data_processing", "training", "inference"
ACTIVE, DRAINING, OFFLINE = "active", "draining", "offline"
# How far each state closes a pool. Where a window, a person and a schedule name states at once, the most closed
# wins: a window never opens a pool more than it was.
CLOSED_RANK = {ACTIVE: 0, DRAINING: 1, OFFLINE: 2}

# Why a job waits: short codes, the caller translates them into words.
NO_POOL_OF_KIND = "no_pool_of_kind"  # no pool of the job's kind exists at all
RESIDENCY = "residency"  # sensitive job, and no trusted in-province pool of its kind exists
TRUSTED_POOLS_FULL = "trusted_pools_full"  # sensitive job: other pools of its kind have room, the trusted ones not
POOLS_UNAVAILABLE = "pools_unavailable"  # every compatible pool is draining or offline
TOO_LARGE = "too_large"  # the job demands more than any compatible active pool's whole capacity
NO_ROOM = "no_room"  # compatible pools are full (Slurm's "Resources")
HIGHER_PRIORITY_AHEAD = "higher_priority_ahead"  # a higher-priority job is ahead of it (Slurm's "Priority")
RESERVED = "reserved"  # it would fit now, but would delay the job ahead of it (or, without backfill, overtake it)
PREEMPTED = "preempted"  # it was just preempted by `Waiting.blocked_by` and waits to run again
MAINTENANCE = "maintenance"  # the pools it fits close for maintenance before it would finish
HELD = "held"  # the room it fits is held for another client or order (a `Hold`) before it would finish
REASONS = (
    NO_POOL_OF_KIND,
    RESIDENCY,
    TRUSTED_POOLS_FULL,
    POOLS_UNAVAILABLE,
    TOO_LARGE,
    NO_ROOM,
    HIGHER_PRIORITY_AHEAD,
    RESERVED,
    PREEMPTED,
    MAINTENANCE,
    HELD,
)

_EPS = 1e-9
_INF = math.inf


@dataclass(slots=True)
class PoolState:
    """A compute pool as the planner sees it. Capacities in PFLOPS.

    ``background`` is what other tenants use right now; ``used`` is what our running jobs hold (on input,
    the planner takes the larger of ``used`` and the demand of the running jobs it is given, so a
    stale value can only make it more careful; on output, it is the allocation after the plan).
    ``closes_at`` is the start of the pool's next maintenance window as the caller knows it (None: none planned):
    no job starts there that would not finish by then.
    """

    id: int
    kind: str
    capacity: float
    background: float
    trusted_in_province: bool
    state: str = ACTIVE
    used: float = 0.0
    closes_at: datetime | None = None

    @property
    def free(self) -> float:
        """Capacity a new job may take now (0 or less when the pool takes no new work)."""
        if self.state != ACTIVE:
            return 0.0
        return self.capacity - self.background - self.used


@dataclass(slots=True)
class JobState:
    """One order step's compute. ``demand`` in PFLOPS, ``work_remaining`` in PFLOPS·h.

    ``pool_id`` is set while the job runs. A running job finishes ``work_remaining / demand`` hours from
    now. ``started_at`` (optional) is when the running job last started; preemption evicts the most
    recently started first and falls back to ``queued_at`` when it is missing. ``client_recent_usage`` and
    ``entitlement`` are the fair-share inputs (`dispatch.engine.policy.fair_share_usage`).
    """

    id: int
    order_id: int
    client_id: int
    kind: str
    demand: float
    work_remaining: float
    priority: int
    deadline: datetime
    queued_at: datetime
    sensitive: bool
    pool_id: int | None = None
    client_recent_usage: float = 0.0  # the client's recent PFLOPS·h of this job's pool kind, decayed
    started_at: datetime | None = None
    entitlement: float = DEFAULT_ENTITLEMENT  # the client's weight on this job's pool kind (fair share)

    @property
    def hours(self) -> float:
        """Hours this job still needs at full demand."""
        return self.work_remaining / self.demand if self.demand > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Hold:
    """``pflops`` of pool ``pool_id`` held from ``start`` to ``end`` for one order (``order_id``) or, without
    one, for every job of one client (``client_id``): a capacity reservation a client bought.

    Before ``start`` other work may use the held room only if it finishes by ``start``; from ``start`` to ``end``
    the room is the owner's alone (the owner's jobs may also use free room like anyone's).
    """

    pool_id: int
    start: datetime
    end: datetime
    pflops: float
    client_id: int | None = None
    order_id: int | None = None

    def owns(self, job: JobState) -> bool:
        if self.order_id is not None:
            return job.order_id == self.order_id
        return self.client_id is not None and job.client_id == self.client_id


# Work with time to spare is ordered by the week its latest start falls in, then by fair share (module docstring).
FAIR_SHARE_SPAN = timedelta(days=7)

# Queue orderings: ours, and the baselines the benchmark compares it with.
FAIR = "fair"  # priority aged by the wait, work at risk by least slack, fair share, queue time (module docstring)
FIFO = "fifo"  # queue time only
EDF = "edf"  # earliest (step) deadline first
MULTIFACTOR = "multifactor"  # Slurm's multifactor priority: age + priority + fair share, weighted

# Slurm-like multifactor weights (PriorityWeightAge / QOS / Fairshare) and the age that counts in full
# (PriorityMaxAge). The fair-share factor is Slurm's classic 2^(-usage / shares), per pool kind, with the clients'
# entitlements as shares.
MULTIFACTOR_WEIGHTS = {"age": 1000.0, "priority": 2000.0, "fair_share": 2000.0}
MULTIFACTOR_MAX_AGE = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Policy:
    """How to place.

    ``ordering`` orders the queue (FAIR, FIFO, EDF or MULTIFACTOR, above). Under FAIR, a job of priority
    >= ``preempt_min_priority`` that has waited at least ``preempt_after`` may preempt strictly
    lower-priority running jobs (``preempt_after=None`` turns preemption off); the baselines never
    preempt. ``backfill`` lets jobs use capacity the head of their queue cannot use, without delaying its
    reservation (EASY backfill); without it nothing overtakes the head of its class. ``fair_share_span``: work
    with time to spare is ordered by the span its latest start falls in, then fair share (None: fair share first).
    """

    ordering: str = FAIR
    backfill: bool = True
    preempt_after: timedelta | None = timedelta(minutes=30)
    preempt_min_priority: int = HIGH
    slack_granularity: timedelta = timedelta(hours=1)
    fair_share_span: timedelta | None = FAIR_SHARE_SPAN
    aging_step: timedelta | None = AGING_STEP
    at_risk_slack: timedelta | None = AT_RISK_SLACK

    @property
    def fair(self) -> bool:
        return self.ordering == FAIR


DEFAULT_POLICY = Policy()
FIFO_POLICY = Policy(ordering=FIFO, backfill=False, preempt_after=None, aging_step=None, at_risk_slack=None)
EDF_BACKFILL_POLICY = Policy(ordering=EDF, preempt_after=None, aging_step=None, at_risk_slack=None)
MULTIFACTOR_POLICY = Policy(ordering=MULTIFACTOR, preempt_after=None, aging_step=None, at_risk_slack=None)


@dataclass(slots=True)
class Waiting:
    """Why a queued job does not start now, and when it is expected to.

    ``blocked_by`` names the job whose reservation or priority holds it back (or, for PREEMPTED, the job
    that preempted it), when there is one. ``expected_start`` is None when no estimate can be made
    (no usable pool, or the pools are too loaded by other tenants for it to fit even when empty).
    """

    reason: str
    expected_start: datetime | None
    blocked_by: int | None = None


@dataclass
class Plan:
    """The decisions of one planning round.

    ``placements``: (job id, pool id) to start now; ``backfilled``: those of them that start while the head
    of their queue class waits (EASY backfill). ``preemptions``: (victim job id, preemptor job id);
    the victims are also in ``waiting`` with reason PREEMPTED. ``waiting``: every queued job that does
    not start. ``reservations``: head job id -> (pool id, expected start) for the head of each queue
    class that waits for room.
    """

    placements: list[tuple[int, int]] = field(default_factory=list)
    backfilled: set[int] = field(default_factory=set)
    preemptions: list[tuple[int, int]] = field(default_factory=list)
    waiting: dict[int, Waiting] = field(default_factory=dict)
    reservations: dict[int, tuple[int, datetime]] = field(default_factory=dict)


# --- internal state ------------------------------------------------------------------------------------


class _Reservation:
    """Capacity promised on one pool to a head job, or held for a `Hold`'s owner, from ``start`` to ``end`` (hours
    from now).

    ``spare`` is the pool's free capacity at ``start`` once every reservation active then is counted:
    a job placed now that still runs at ``start`` must not need more than that. A hold's ``job`` is None.
    """

    __slots__ = ("demand", "end", "hold", "job", "pool", "spare", "start")

    def __init__(self, job, pool, start, end, demand, hold=None):
        self.job = job
        self.pool = pool
        self.start = start
        self.end = end
        self.demand = demand
        self.spare = 0.0
        self.hold = hold


class _Pool:
    __slots__ = (
        "active",
        "classes",
        "closes",
        "eff",
        "extra",
        "free",
        "holds",
        "id",
        "releases",
        "reservations",
        "run_demand",
        "running",
        "src",
        "trusted",
    )

    def __init__(self, src: PoolState):
        self.src = src
        self.id = src.id
        self.active = src.state == ACTIVE
        self.trusted = src.trusted_in_province
        self.eff = src.capacity - src.background  # room for our jobs under the current background
        self.running: list[tuple[JobState, float]] = []  # (job, hours until it finishes)
        self.run_demand = 0.0
        self.extra = 0.0
        self.free = 0.0
        self.releases: list[tuple[float, float, int]] | None = None  # sorted (finish hours, demand, job id)
        self.reservations: list[_Reservation] = []
        self.classes: list[_Class] = []
        self.holds: list[_Reservation] = []  # the holds among ``reservations``
        self.closes = _INF  # hours until the pool closes for maintenance

    def get_releases(self) -> list[tuple[float, float, int]]:
        if self.releases is None:
            self.releases = sorted((hours, job.demand, job.id) for job, hours in self.running)
        return self.releases

    def free_at(self, t: float, job: JobState | None = None) -> float:
        """Free capacity at t hours from now, after the releases due by then and the reservations active then
        (for ``job``, its own holds' room is free)."""
        free = self.free
        for at, demand, _ in self.get_releases():
            if at > t:
                break
            free += demand
        for r in self.reservations:
            if r.start <= t < r.end and (r.hold is None or job is None or not r.hold.owns(job)):
                free -= r.demand
        return free

    def allowance(self, r: _Reservation, job: JobState) -> float:
        """What ``job`` may take of the pool's room at ``r.start`` without delaying ``r``: its spare, plus the room
        the job's own holds keep then (the reservation was made without it); unlimited for the job's own hold."""
        if not self.holds:
            return r.spare
        if r.hold is not None and r.hold.owns(job):
            return _INF
        own = sum(h.demand for h in self.holds if h.start <= r.start < h.end and h.hold.owns(job))
        return r.spare + own

    def refusing(self, job: JobState, end: float) -> _Reservation | None:
        """The reservation (or hold) that ``job`` running until ``end`` would delay, if any."""
        demand = job.demand
        for r in self.reservations:
            if r.start < end and self.allowance(r, job) + _EPS < demand:
                return r
        return None

    def earliest_start(self, job: JobState, hours: float) -> float:
        """Earliest time (hours from now) this pool can run the job without delaying its reservations and before it
        closes for maintenance (infinite when it cannot)."""
        demand = job.demand
        if self.eff + _EPS < demand or hours > self.closes + _EPS:
            return _INF
        latest = self.closes - hours + _EPS
        releases = self.get_releases()
        if not self.reservations:
            free = self.free
            if free + _EPS >= demand:
                return 0.0
            for at, d, _ in releases:
                if at > latest:
                    break
                free += d
                if free + _EPS >= demand:
                    return at
            return _INF
        candidates = sorted({0.0, *(at for at, _, _ in releases), *(r.end for r in self.reservations)})
        for t in candidates:
            if t > latest:
                break
            if self.free_at(t, job) + _EPS < demand:
                continue
            end = t + hours
            if all(not (t < r.start < end) or self.allowance(r, job) + _EPS >= demand for r in self.reservations):
                return t
        return _INF

    def reserve(self, job: JobState, start: float, hours: float) -> _Reservation:
        new = _Reservation(job, self, start, start + hours, job.demand)
        for r in self.reservations:
            if start <= r.start < new.end:
                r.spare -= job.demand
        self.reservations.append(new)
        new.spare = self.free_at(start)
        return new

    def take(self, job: JobState, hours: float) -> None:
        self.free -= job.demand
        self.run_demand += job.demand
        self.running.append((job, hours))
        if self.releases is not None:
            insort(self.releases, (hours, job.demand, job.id))
        for r in self.reservations:
            if r.start < hours:
                r.spare -= job.demand
        for c in self.classes:
            c.dirty = True

    def evict(self, job: JobState, hours: float) -> None:
        self.free += job.demand
        self.run_demand -= job.demand
        self.running.remove((job, hours))
        if self.releases is not None:
            self.releases.remove((hours, job.demand, job.id))
        for c in self.classes:
            c.dirty = True


class _Class:
    """One queue: the jobs of one kind and residency, and the active pools they may use."""

    __slots__ = ("dirty", "head", "max_capacity", "max_free", "pools", "preempt_failed", "reason", "relaxed")

    def __init__(self, pools: list[_Pool], reason: str | None):
        self.pools = pools  # active compatible pools
        self.reason = reason  # static reason when no pool can take the class at all
        self.max_capacity = max((p.src.capacity for p in pools), default=0.0)
        self.max_free = 0.0
        self.dirty = True
        self.head: _Reservation | None = None
        self.relaxed: _Class | None = None  # for a sensitive class: the same kind without residency limits
        self.preempt_failed: dict[int, float] = {}  # priority -> smallest demand a preemption failed for

    def largest_hole(self) -> float:
        if self.dirty:
            self.max_free = max((p.free for p in self.pools), default=-_INF)
            self.dirty = False
        return self.max_free


def _classes(pools: dict[int, _Pool]) -> dict[tuple[str, bool], _Class]:
    by_kind: dict[str, list[_Pool]] = {}
    for p in pools.values():
        by_kind.setdefault(p.src.kind, []).append(p)
    classes: dict[tuple[str, bool], _Class] = {}
    for kind, members in by_kind.items():
        for sensitive in (False, True):
            compatible = [p for p in members if p.src.trusted_in_province] if sensitive else members
            active = [p for p in compatible if p.active]
            reason = None if active else (POOLS_UNAVAILABLE if compatible else RESIDENCY)
            cls = _Class(active, reason)
            for p in active:
                p.classes.append(cls)
            classes[kind, sensitive] = cls
        classes[kind, True].relaxed = classes[kind, False]
    return classes


_NO_KIND = _Class([], NO_POOL_OF_KIND)


def _hours_between(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 3600.0


# --- the planner -----------------------------------------------------------------------------------------


def plan(
    *,
    pools: list[PoolState],
    queued: list[JobState],
    running: list[JobState],
    now: datetime,
    policy: Policy = DEFAULT_POLICY,
    estimate_starts: bool = True,
    holds: Sequence[Hold] = (),
) -> Plan:
    """Decide which queued jobs start now, where, and which running jobs they preempt.

    See the module docstring for the rules. ``estimate_starts=False`` skips the expected-start estimate
    (every ``Waiting.expected_start`` is then None except the heads' reservations), which the forward
    simulation does not need. ``holds``: capacity held for one client or order over a period (`Hold`).
    """
    fair = policy.fair
    backfill = policy.backfill
    preempt_after = policy.preempt_after if fair else None
    granularity = policy.slack_granularity.total_seconds() / 3600.0
    span = _hours(policy.fair_share_span)
    aging = policy.aging_step
    at_risk = _hours(policy.at_risk_slack)
    # Work whose latest start (hours on the grid) is in [now, now + at risk) is at risk; before now, past saving
    # (dispatch.engine.policy.queue_rank).
    now_line = _hours_between(now, GRID_EPOCH)
    risk = (_INF, -_INF) if at_risk is None else (now_line, now_line + at_risk)
    result = Plan()
    waiting = result.waiting

    by_id = {p.id: _Pool(p) for p in pools}
    for job in running:
        pool = by_id.get(job.pool_id)
        if pool is not None:
            pool.running.append((job, job.hours))
            pool.run_demand += job.demand
    for pool in by_id.values():
        pool.extra = max(0.0, pool.src.used - pool.run_demand)  # allocated by something we were not shown
        pool.free = pool.eff - pool.run_demand - pool.extra if pool.active else -_INF
        if pool.src.closes_at is not None:
            pool.closes = _hours_between(pool.src.closes_at, now)
    if holds:
        _hold_room(holds, by_id, now)
    classes = _classes(by_id)

    # 1. Order the queue once.
    if fair:
        entries = []
        for job in queued:
            hours = job.hours
            entries.append((_fair_key(job, hours, job.queued_at, now, granularity, aging, risk, span), job, hours))
    elif policy.ordering == EDF:
        entries = [((job.deadline, job.queued_at, job.order_id, job.id), job, job.hours) for job in queued]
    elif policy.ordering == MULTIFACTOR:
        score = _multifactor_scores(queued, now)
        entries = [((-score(job), job.queued_at, job.order_id, job.id), job, job.hours) for job in queued]
    else:
        entries = [((job.queued_at, job.order_id, job.id), job, job.hours) for job in queued]
    entries.sort(key=itemgetter(0))

    heads: list[_Reservation] = []
    victims: list[tuple[JobState, JobState]] = []
    placed: set[int] = set()
    estimated: list[tuple[tuple, JobState, float, _Reservation | None]] = []  # waiting jobs, in queue order

    # 2.-5. Walk the queue.
    for key, job, hours in entries:
        cls = classes.get((job.kind, job.sensitive), _NO_KIND)
        if cls.reason is not None:
            waiting[job.id] = Waiting(cls.reason, None)
            continue
        demand = job.demand
        if demand > cls.max_capacity + _EPS:
            waiting[job.id] = Waiting(TOO_LARGE, None)
            continue
        head = cls.head
        if head is not None and not backfill:
            # Strict queue order: nobody overtakes the head of its class.
            if fair and head.job.priority > job.priority:
                reason = HIGHER_PRIORITY_AHEAD
            else:
                reason = RESERVED if demand <= cls.largest_hole() + _EPS else NO_ROOM
            waiting[job.id] = Waiting(reason, None, head.job.id)
            estimated.append((key, job, hours, None))
            continue

        refused_by = None
        closing = False  # a pool had room but closes for maintenance before the job would finish
        if demand <= cls.largest_hole() + _EPS:
            best = None
            for pool in cls.pools:
                free = pool.free
                if free + _EPS >= demand and (best is None or (pool.trusted, free) < (best.trusted, best.free)):
                    if hours > pool.closes + _EPS:
                        closing = True
                        continue
                    if pool.reservations:
                        blocker = pool.refusing(job, hours)
                        if blocker is not None:
                            refused_by = refused_by or blocker
                            continue
                    best = pool
            if best is not None:
                best.take(job, hours)
                job.pool_id = best.id
                result.placements.append((job.id, best.id))
                placed.add(job.id)
                if head is not None:
                    result.backfilled.add(job.id)
                continue

        if (
            preempt_after is not None
            and job.priority >= policy.preempt_min_priority
            and now - job.queued_at >= preempt_after
            and _preempt(job, hours, cls, result, victims, placed, now, at_risk)
        ):
            continue

        # The job waits. The first one of its class that waits becomes the head and gets a reservation.
        reservation = None
        if head is None:
            best_start, best_pool = _INF, None
            for pool in cls.pools:
                start = pool.earliest_start(job, hours)
                if start < best_start:
                    best_start, best_pool = start, pool
            if best_pool is not None:
                reservation = best_pool.reserve(job, best_start, hours)
                cls.head = reservation
                heads.append(reservation)
                result.reservations[job.id] = (best_pool.id, now + timedelta(hours=best_start))

        if refused_by is not None and refused_by.hold is not None:
            waiting[job.id] = Waiting(HELD, None)
        elif refused_by is not None:
            blocker = refused_by.job
            reason = HIGHER_PRIORITY_AHEAD if fair and blocker.priority > job.priority else RESERVED
            waiting[job.id] = Waiting(reason, None, blocker.id)
        elif closing:
            waiting[job.id] = Waiting(MAINTENANCE, None)
        elif head is not None and fair and head.job.priority > job.priority:
            waiting[job.id] = Waiting(HIGHER_PRIORITY_AHEAD, None, head.job.id)
        elif cls.relaxed is not None and demand <= cls.relaxed.largest_hole() + _EPS:
            waiting[job.id] = Waiting(TRUSTED_POOLS_FULL, None)
        else:
            waiting[job.id] = Waiting(NO_ROOM, None)
        estimated.append((key, job, hours, reservation))

    if victims:
        # Victims rejoin the queue now, at their place in the queue order.
        for victim, preemptor in victims:
            waiting[victim.id] = Waiting(PREEMPTED, None, preemptor.id)
            hours = victim.hours
            key = _fair_key(victim, hours, now, now, granularity, None, risk, span)
            estimated.append((key, victim, hours, None))
        estimated.sort(key=itemgetter(0))
    if estimate_starts:
        _estimate_starts(estimated, by_id, now, waiting)
    else:
        for reservation in heads:
            waiting[reservation.job.id].expected_start = now + timedelta(hours=reservation.start)
    for pool in by_id.values():
        pool.src.used = pool.run_demand + pool.extra
    return result


def _hold_room(holds: Sequence[Hold], pools: dict[int, _Pool], now: datetime) -> None:
    """Turn the holds into reservations on their active pools: from its start (now at the earliest) to its end, the
    room a hold keeps is what its owner's running jobs do not already fill then."""
    for hold in holds:
        pool = pools.get(hold.pool_id)
        end = _hours_between(hold.end, now)
        if pool is None or not pool.active or end <= 0:
            continue
        start = max(0.0, _hours_between(hold.start, now))
        filled = sum(job.demand for job, hours in pool.running if hours > start and hold.owns(job))
        # Kept when the owner fills it, too: it still keeps others from preempting the owner's work there.
        reservation = _Reservation(None, pool, start, end, max(0.0, hold.pflops - filled), hold)
        pool.reservations.append(reservation)
        pool.holds.append(reservation)
    for pool in pools.values():
        for reservation in pool.holds:
            reservation.spare = pool.free_at(reservation.start)


def _hours(span: timedelta | None) -> float | None:
    return None if span is None else span.total_seconds() / 3600.0


def _fair_key(
    job: JobState,
    hours: float,
    queued_at: datetime,
    now: datetime,
    granularity: float,
    aging: timedelta | None,
    risk: tuple[float, float],
    span: float | None = None,
) -> tuple:
    """``aging``: the aging step (None: off); ``risk``: the latest starts at risk, see `plan`."""
    latest_start = (job.deadline - GRID_EPOCH).total_seconds() / 3600.0 - hours
    # dispatch.engine.policy.queue_rank, inlined: this runs for every waiting job at every planning round
    # (tests/dispatch/test_planner.py checks that both rank alike).
    rank = job.priority
    if aging is not None and rank == LOW:
        waited = now - queued_at
        if waited >= aging:
            rank = min(STARVING, LOW + waited // aging)
    if rank < AT_RISK_RANK and risk[0] <= latest_start < risk[1]:
        rank = AT_RISK_RANK
    if rank == STARVING:
        # Waited the aging bound: no work queued after it goes first, so these go by queue time alone.
        return (-rank, 0, 0.0, 0.0, queued_at, job.order_id, job.id)
    at_risk = latest_start < risk[1]  # at risk or past saving
    if granularity > 0:
        latest_start = math.floor(latest_start / granularity)
    share = fair_share_usage(job.client_recent_usage, job.entitlement)
    # The order breaks the last tie: it names the job alike in the tick and in the simulation (an order has
    # one active job at a time), where job ids differ.
    if at_risk:
        return (-rank, 0, latest_start, share, queued_at, job.order_id, job.id)
    window = 0 if span is None else math.floor(latest_start * granularity / span)
    return (-rank, 1 + window, share, latest_start, queued_at, job.order_id, job.id)


def _multifactor_scores(queued: list[JobState], now: datetime):
    """Slurm's multifactor priority of each job: weighted age, priority and fair-share factors in [0, 1].

    Fair share per pool kind, among the clients with work of that kind queued: 2^(-usage / shares), the client's
    share of their recent usage of the kind over its share of their entitlements there.
    """
    usage: dict[str, dict[int, float]] = {}
    shares: dict[str, dict[int, float]] = {}
    for job in queued:
        usage.setdefault(job.kind, {})[job.client_id] = job.client_recent_usage
        shares.setdefault(job.kind, {})[job.client_id] = job.entitlement
    factor: dict[tuple[str, int], float] = {}
    for kind, used in usage.items():
        total, entitled = sum(used.values()), sum(shares[kind].values())
        for client, value in used.items():
            share = shares[kind][client] / entitled
            factor[kind, client] = 2.0 ** (-(value / total) / share) if total > 0 else 1.0
    max_age = MULTIFACTOR_MAX_AGE.total_seconds()
    weights = MULTIFACTOR_WEIGHTS

    def score(job: JobState) -> float:
        age = min(1.0, max(0.0, (now - job.queued_at).total_seconds()) / max_age)
        fair = factor[job.kind, job.client_id]
        return weights["age"] * age + weights["priority"] * job.priority / URGENT + weights["fair_share"] * fair

    return score


def _preempt(
    job: JobState,
    hours: float,
    cls: _Class,
    result: Plan,
    victims: list,
    placed: set,
    now: datetime,
    at_risk: float | None,
) -> bool:
    """Evict just enough strictly lower-ranked work from one pool for ``job``; place it there."""
    demand, priority = job.demand, job.priority
    failed = cls.preempt_failed.get(priority)
    if failed is not None and demand >= failed:
        return False  # placing and evicting only make it harder: the same answer as before
    best = None
    for pool in cls.pools:
        if pool.eff + _EPS < demand or hours > pool.closes + _EPS:
            continue
        if pool.reservations and any(
            r.hold is None or (r.start < hours and not r.hold.owns(job)) for r in pool.reservations
        ):
            continue  # the head job a reservation protects, or a hold's room, would be delayed
        need = demand - pool.free
        # Jobs placed in this round just had their turn (an aged job can come before its preemptor): never victims.
        # Work at risk ranks high (dispatch.engine.policy.queue_rank) while it runs, too: only urgent work evicts it.
        candidates = [
            (j, h)
            for j, h in pool.running
            if j.priority < priority
            and j.id not in placed
            and queue_rank(j.priority, 0.0, _hours_between(j.deadline, now) - h, None, at_risk) < priority
        ]
        if not candidates or sum(j.demand for j, _ in candidates) + _EPS < need:
            continue
        # Lowest priority first, then the most recently started (then the later order, for a tie that does
        # not depend on the order the jobs were given in).
        candidates.sort(key=lambda c: (c[0].started_at or c[0].queued_at, c[0].order_id), reverse=True)
        candidates.sort(key=lambda c: c[0].priority)
        chosen, freed = [], 0.0
        for candidate in candidates:
            chosen.append(candidate)
            freed += candidate[0].demand
            if freed + _EPS >= need:
                break
        # Give back victims that turned out unnecessary (the last one taken is always needed).
        for candidate in reversed(chosen[:-1]):
            if freed - candidate[0].demand + _EPS >= need:
                chosen.remove(candidate)
                freed -= candidate[0].demand
        score = (max(j.priority for j, _ in chosen), freed, len(chosen))
        if best is None or score < best[0]:
            best = (score, pool, chosen)
    if best is None:
        cls.preempt_failed[priority] = min(demand, failed if failed is not None else _INF)
        return False
    _, pool, chosen = best
    for victim, victim_hours in chosen:
        pool.evict(victim, victim_hours)
        victim.pool_id = None
        result.preemptions.append((victim.id, job.id))
        victims.append((victim, job))
    pool.take(job, hours)
    job.pool_id = pool.id
    result.placements.append((job.id, pool.id))
    placed.add(job.id)
    return True


class _Group:
    """Active pools of one kind and one trust level, pooled into a single capacity for the estimate."""

    __slots__ = ("clock", "first", "free", "largest", "releases")

    def __init__(self, pools: list[_Pool]):
        self.free = sum(p.free for p in pools)
        self.largest = max((p.eff for p in pools), default=-_INF)
        self.releases = [(h, j.demand) for p in pools for j, h in p.running]
        heapq.heapify(self.releases)
        self.first = self.releases[0][0] if self.releases else 0.0  # nothing frees up before this
        self.clock = 0.0


def _estimate_starts(waiting_jobs, pools, now, waiting):
    """Fill in the expected start of every waiting job: a documented, cheap estimate.

    Per kind, the active pools are pooled into two groups, trusted in-province and the others, each
    treated as one capacity: free now, plus the demand of each running job released at its expected
    finish. The waiting jobs (victims of this round included, requeued now) are then started in queue
    order, each in the group that has room first (sensitive jobs only in the trusted group; others try
    the untrusted group first, keeping trusted capacity for sensitive work), at the earliest release
    that makes room, and release their demand when they finish. Within a group, jobs start in queue
    order. A head starts at its reservation; any waiting job starts no earlier than the first release in
    its groups (it does not fit now). Ignored: fragmentation across pools (a job larger than every
    single hole may be estimated early), future backfill and preemption, background changes, maintenance
    windows and holds. The
    forward simulation (``dispatch.engine.simulation``) gives the precise prediction.
    """
    groups: dict[tuple[str, bool], _Group] = {}
    by_kind: dict[str, tuple[list[_Pool], list[_Pool]]] = {}
    for pool in pools.values():
        if pool.active:
            trusted, other = by_kind.setdefault(pool.src.kind, ([], []))
            (trusted if pool.src.trusted_in_province else other).append(pool)
    for kind, (trusted, other) in by_kind.items():
        groups[kind, True] = _Group(trusted)
        groups[kind, False] = _Group(other)

    for _, job, hours, reservation in waiting_jobs:
        demand = job.demand
        trusted = groups.get((job.kind, True))
        if trusted is None:
            continue
        candidates = [trusted] if job.sensitive else [groups[job.kind, False], trusted]
        candidates = [g for g in candidates if g.largest + _EPS >= demand]
        if reservation is not None:
            chosen = groups[job.kind, reservation.pool.src.trusted_in_province]
            start = reservation.start
        elif not candidates:
            continue
        else:
            chosen = None
            while True:
                fitting = [g for g in candidates if g.free + _EPS >= demand]
                if fitting:
                    chosen = min(fitting, key=lambda g: g.clock)
                    break
                source = min(candidates, key=lambda g: g.releases[0][0] if g.releases else _INF)
                if not source.releases:
                    break
                at, released = heapq.heappop(source.releases)
                source.clock = max(source.clock, at)
                source.free += released
            if chosen is None:
                continue
            start = max(chosen.clock, min(g.first for g in candidates))
        chosen.clock = max(chosen.clock, start)
        chosen.free -= demand
        heapq.heappush(chosen.releases, (start + hours, demand))
        waiting[job.id].expected_start = now + timedelta(hours=start)

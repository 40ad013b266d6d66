"""The placement inputs of the one dispatch engine, built by the same code for the live tick and the simulation.

Pure Python (no Django), beside the planner. The dispatch tick (`dispatch.services`) and the forward
simulation (`dispatch.engine.simulation`, behind every ETA, every quote and the benchmarks) must decide alike,
so everything the planner is fed that is not a plain fact of the database is defined here, once:

* **Priorities** as ranks, and **aging** of low-priority work: a waiting low job ranks one higher for every
  ``AGING_STEP`` it has waited, up to ``STARVING``, one above urgent. So low-priority work cannot be passed
  over for ever: after ``AGING_BOUND`` (four steps, 72 h) no work queued after it is ordered ahead of it,
  urgent work included; it heads its queue and holds the reservation that backfill and preemption respect
  (jobs that reached STARVING go among themselves by queue time, oldest first). Aging orders the queue
  only: whether a job may preempt, and which jobs it may evict, go by the priority its order was given (an
  aged job preempts nobody). Normal and high work do not age: their dates rank them (work at risk, below).
  Aging them too made the queue first-come-first-served whenever the factory fell behind, since then all
  of it had waited past the bound: in bench/year.py's rush, 51 % of the year's orders on time, against 88 %
  with low work aged alone.
* **Work at risk** ranks at least ``AT_RISK_RANK`` (high): a waiting job whose slack to its step's
  deadline is under ``AT_RISK_SLACK`` competes with high-priority work by slack instead of waiting behind
  all of it, and while it runs only urgent work may evict it. Priority still decides among work that has
  time to spare. Without this, high-priority work with weeks in hand kept normal and low work from its
  date (bench/year.py, same arrivals: 97.3 % on time before, 99.8 % after; at 900 models a year 81.4 %
  before, 91.6 % after). Like aging, it orders the queue only.
* **Work past saving** (negative slack: at nominal speed its step can no longer finish by its deadline)
  is no longer at risk: it keeps its own rank, and goes first among it by least slack. Ranking late work
  above the work that can still keep its date is the domino effect of deadline-first scheduling: in a rush
  each late order makes the next one late (bench/year.py's rush: 49 % on time with it, 88 % without).
  Orders run late there are visible on the operations center; raising one's priority puts it first.
* **Per-step deadlines**: the latest finish of a step that still lets its order meet its due date at
  nominal speed (the due date minus the hours of every later step and gate), so "least slack first"
  ranks steps by the risk to their order, not by their own length.
* **Fair share**: a client's recent usage of a pool kind is the PFLOPS·h of its finished jobs of that kind,
  each decayed with a half-life of ``USAGE_HALF_LIFE`` from the moment it finished. Each client is entitled to a
  share of each kind (its weight there, ``DEFAULT_ENTITLEMENT`` unless set, as Kueue's nominal quota): fair share
  ranks by usage per unit of entitlement, `fair_share_usage`, so clients that both saturate a kind get it in
  proportion to their entitlements, and a client alone may use all of it.
* **Budget holds**: a client with an enforced monthly budget whose jobs finished this month have used it
  up gets its waiting jobs held until the month turns (urgent work is never held).
* **Background load** of other tenants, held constant for ``BACKGROUND_STEP`` at a time (on a grid of
  absolute time), so the tick and the simulation see the same value at the same instant.

Preemption rules live in `dispatch.engine.planner.Policy`: high or urgent work that has waited ``preempt_after``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from dispatch.engine.background import background_pflops

LOW, NORMAL, HIGH, URGENT = 0, 1, 2, 3
PRIORITY_RANK = {"low": LOW, "normal": NORMAL, "high": HIGH, "urgent": URGENT}

STARVING = URGENT + 1  # the rank of work that has waited the aging bound: ahead of everything queued after it
AGING_STEP = timedelta(hours=18)
# How long at most low-priority work is passed over: four steps take it from low to STARVING.
# bench/year.py prints the longest a low job waited before it started or headed its queue against it.
AGING_BOUND = AGING_STEP * (STARVING - LOW)
AT_RISK_SLACK = timedelta(hours=72)
AT_RISK_RANK = HIGH
USAGE_HALF_LIFE = timedelta(days=7)
# Finished work older than this many half-lives weighs under 0.1 % and is not read at all.
USAGE_HORIZON = USAGE_HALF_LIFE * 10
BACKGROUND_STEP = timedelta(minutes=15)
# The weight of a client on a pool kind for which no entitlement is set: with none set, every client weighs
# alike (the equal shares fair share had before entitlements).
DEFAULT_ENTITLEMENT = 1.0

# The origin of the grids of absolute time: background steps, and the hours latest starts are ranked in.
GRID_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def queue_rank(priority: int, waited: float, slack: float, aging_step: float | None, at_risk: float | None) -> int:
    """The rank a waiting job is ordered by: its priority; for low-priority work one higher for every
    ``aging_step`` waited (at most STARVING); at least AT_RISK_RANK while its slack is under ``at_risk`` and
    not yet negative (work past saving keeps its own rank).

    ``waited``, ``slack`` (hours to the step's deadline beyond the job's own run) and the two policy
    parameters in hours; None turns aging or the at-risk rank off.
    """
    rank = priority
    if aging_step is not None and priority == LOW and waited >= aging_step:
        rank = min(STARVING, LOW + int(waited // aging_step))
    if at_risk is not None and rank < AT_RISK_RANK and 0 <= slack < at_risk:
        return AT_RISK_RANK
    return rank


def step_deadlines(*, due: datetime, stage_hours: Sequence[Sequence[float]], gate_hours: float) -> list[list[datetime]]:
    """Latest finish of every step (``stage_hours``: the hours of each remaining step, per remaining stage)."""
    result: list[list[datetime]] = []
    downstream = 0.0  # hours of steps and gates after the point being computed
    for steps in reversed(stage_hours):
        downstream += gate_hours
        latest = []
        for hours in reversed(steps):
            latest.append(due - timedelta(hours=downstream))
            downstream += hours
        latest.reverse()
        result.append(latest)
    result.reverse()
    return result


def step_deadline(*, due: datetime, later_step_hours: float, gates_left: int, gate_hours: float) -> datetime:
    """One step's latest finish, from the hours of the steps after it and the gates still to pass."""
    return due - timedelta(hours=later_step_hours + gates_left * gate_hours)


def decay(value: float, hours: float, half_life: timedelta = USAGE_HALF_LIFE) -> float:
    """``value`` PFLOPS·h of usage, ``hours`` later."""
    half = half_life.total_seconds() / 3600.0
    return value * 0.5 ** (hours / half) if value and half > 0 else value


def fair_share_usage(usage: float, entitlement: float) -> float:
    """What fair share ranks a client by on a pool kind: its recent ``usage`` of the kind (PFLOPS·h) per unit of its
    ``entitlement`` there (Slurm's usage / shares), the lower first.

    Normalising among the clients competing for the kind (usage over their total usage, entitlement over their
    total entitlement) multiplies every client's value by the same factor, so it orders them alike; the multifactor
    baseline, which needs the normalised value, divides by the totals itself.
    """
    return usage / entitlement


def entitlement_of(entitlements: Mapping[tuple[int, str], float], client_id: int, kind: str) -> float:
    """A client's weight on a pool kind: its entitlement there (``entitlements``: (client, kind) -> weight), else
    ``DEFAULT_ENTITLEMENT``. The tick and the simulation read entitlements through this alone."""
    return entitlements.get((client_id, kind), DEFAULT_ENTITLEMENT)


def held_clients(*, month_usage: Mapping[int, float], budgets: Mapping[int, float]) -> set[int]:
    """Clients whose enforced monthly budget (PFLOPS·h) is used up by the work finished this month."""
    return {client for client, budget in budgets.items() if month_usage.get(client, 0.0) >= budget}


def is_held(*, priority: int, client_id: int, held: set[int]) -> bool:
    """A held client's waiting job does not start; urgent work is never held."""
    return priority < URGENT and client_id in held


def background_instant(at: datetime) -> datetime:
    """The start of the background step ``at`` falls in: the instant whose load holds at ``at``."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    steps = math.floor((at - GRID_EPOCH) / BACKGROUND_STEP)
    return GRID_EPOCH + BACKGROUND_STEP * steps


def background_at(seed: int, capacity: float, at: datetime) -> float:
    """PFLOPS other tenants use on a pool at ``at``, constant within each background step."""
    return background_pflops(seed, capacity, background_instant(at))

"""When it happened: each order's timeline, in hours after it was placed, up to where it stands now; and the
promises the history keeps (one delivery in eight late).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from catalog.models import SIZE_FACTORS
from demo import data, staff
from demo.story.specs import LATE_SHARE, OrderSpec, catalog_for, routing_for_type, stop_index
from orders import quotes


@dataclass
class Plan:
    spec: OrderSpec
    entries: list  # (hours after placing, action tuple), in time order
    cut: float  # hours after placing at which the story reaches now
    # The step being worked on now: (stage index, step index, hours after placing it became ready,
    # hours after placing it started running or None while it waits for compute).
    current: tuple | None = None

    def at(self, offset: float, *action) -> None:
        self.entries.append((offset, action))


def _wait_hours(priority: str, kind: str, rng) -> float:
    mean = (data.TRAINING_WAIT_HOURS if kind == "training" else data.WAIT_HOURS)[priority]
    return min(rng.expovariate(1 / mean), 8 * mean)


def _waits(spec: OrderSpec, steps: dict) -> dict[tuple[int, int], float]:
    """Which step waited ``spec.delay`` longer for compute: the longest of its routing (key: stage and step index)."""
    if not spec.delay:
        return {}
    hours = {(k, j): float(step.nominal_hours) for k, w in enumerate(steps) for j, step in enumerate(steps[w])}
    return {max(hours, key=hours.get): spec.delay}


def _run_hours(step, factor) -> float:
    """A job runs at its full demand until its work is done."""
    return max(float(step.work_pflops_hours * factor) / float(step.demand_pflops), 0.1)


def plan_order(spec: OrderSpec, rng) -> Plan:
    """The order's timeline in hours after it was placed, up to where it stands now (`cut`)."""
    workshops = routing_for_type(spec.product_type)
    catalog = catalog_for(spec.product_type, spec.size)
    factor = SIZE_FACTORS[spec.size]
    extra = _waits(spec, catalog)
    plan = Plan(spec=spec, entries=[], cut=0.0)
    plan.at(0, "place")
    t = 0.0
    if spec.target == "submitted":
        plan.cut = spec.ago
        return plan
    if spec.target == "rejected":
        t += rng.uniform(2, 10)
        plan.at(t, "reject")
        plan.cut = t + spec.ago
        return plan
    if spec.target == "cancelled" and not spec.workshop:
        t += rng.uniform(1, 6)
        plan.at(t, "cancel", "client")
        plan.cut = t + spec.ago
        return plan
    t += rng.uniform(1, 8)
    plan.at(t, "accept")
    if spec.target == "accepted":
        plan.cut = t + rng.uniform(0.3, 1.5)
        return plan
    t += rng.uniform(0.2, 3)
    plan.at(t, "start")
    ready = t
    sensitive = spec.sensitivity == "sensitive"
    for k, workshop in enumerate(workshops):
        steps = catalog[workshop]
        stops_here = spec.target in ("production", "cancelled") and spec.workshop == workshop
        stop_at = stop_index(steps, spec.at_step) if stops_here else None
        for j, step in enumerate(steps):
            if j == stop_at:
                if spec.target == "cancelled":
                    cancelled = ready + rng.uniform(0.1, 1.5)
                    plan.at(cancelled, "cancel", "staff")
                    plan.cut = cancelled + spec.ago
                elif spec.running or (spec.running is None and spec.at_step != "training" and rng.random() < 0.75):
                    # Running now, part of its work done.
                    started = ready + _wait_hours(spec.priority, step.pool_kind, rng)
                    plan.cut = started + _run_hours(step, factor) * rng.uniform(0.15, 0.85)
                    plan.current = (k, j, ready, started)
                else:
                    waited = spec.waited if spec.waited is not None else rng.uniform(0.1, 1.5)
                    plan.cut, plan.current = ready + waited, (k, j, ready, None)
                return plan
            ready = _run_step(plan, k, j, step, factor, ready, spec, rng, extra.get((k, j), 0.0))
        opened = ready + rng.uniform(0.05, 0.2)
        plan.at(opened, "open_review", k)
        if spec.target == "gate" and spec.workshop == workshop:
            plan.cut = opened + (spec.ago or rng.uniform(1, 14))
            if spec.approvals:
                decided = opened + rng.uniform(2, 8)
                plan.at(decided, "approve", k, staff.SIM_REVIEWERS[0])
                plan.cut = decided + rng.uniform(1, 4)
            return plan
        decided = opened + rng.uniform(2, 14)
        if spec.rework_at == workshop or (spec.target == "rework" and spec.workshop == workshop):
            redo = rng.randrange(len(steps))
            plan.at(decided, "reject_review", k, redo, staff.SIM_REVIEWERS[1])
            if spec.target == "rework":
                plan.cut, plan.current = decided + rng.uniform(0.2, 1.5), (k, redo, decided, None)
                return plan
            finished = _run_step(plan, k, redo, steps[redo], factor, decided, spec, rng)
            opened = finished + rng.uniform(0.05, 0.2)
            plan.at(opened, "open_review", k)
            decided = opened + rng.uniform(2, 14)
        if sensitive:
            plan.at(decided, "approve", k, staff.SIM_REVIEWERS[0])
            decided += rng.uniform(1, 6)
            plan.at(decided, "approve", k, staff.SIM_REVIEWERS[1])
        else:
            plan.at(decided, "approve", k, rng.choice(staff.SIM_REVIEWERS))
        ready = decided
    if spec.target == "ready":
        plan.cut = ready + spec.ago
        return plan
    delivered = ready + rng.uniform(1, 10)
    plan.at(delivered, "deliver")
    plan.cut = delivered + spec.ago
    if spec.target == "closed":
        confirmed = delivered + min(rng.uniform(12, 72), spec.ago * 0.5)
        plan.at(confirmed, "confirm")
        if spec.rated:
            plan.at(confirmed + rng.uniform(0, 3), "rate")
    elif spec.rated:
        plan.at(delivered + spec.ago * rng.uniform(0.3, 0.8), "rate")
    return plan


def _run_step(plan: Plan, k: int, j: int, step, factor, ready: float, spec: OrderSpec, rng, extra=0.0) -> float:
    """The step waits for compute, runs at its demand until its work is done; returns when it finished."""
    wait = _wait_hours(spec.priority, step.pool_kind, rng)
    started = ready + (0.0 if spec.calm else wait) + extra
    finished = started + _run_hours(step, factor)
    plan.at(started, "run", k, j, ready)
    plan.at(finished, "finish", k, j)
    return finished


def plan_rng(spec: OrderSpec):
    """Each order's timeline draws from its own seeded generator: planning it again draws the same numbers."""
    return staff.seeded_rng(staff.SEED, "demo-plan", spec.key)


def keep_promises(specs: list[OrderSpec], plans: dict, now: datetime, rng) -> None:
    """Delivered orders meet their promised date, except LATE_SHARE of them, which one long wait made late.

    The promise is the nominal quote at the moment the order was placed (play_story), and the date counts as the
    operations center counts it (delivered on or before the promised day). A delivery moment is fixed (its ``ago``),
    so a longer timeline moves the placing, and the promise, earlier.
    """
    delivered = [spec for spec in specs if spec.target in ("delivered", "closed")]
    late = set(rng.sample([spec.key for spec in delivered], round(len(delivered) * LATE_SHARE)))
    for spec in delivered:
        on_time = _on_time(spec, plans[spec.key], now)
        if spec.key in late and on_time:
            # One step waited for compute until the promise was missed, then a day or two more.
            while _on_time(spec, plans[spec.key], now):
                spec.delay += 12.0
                plans[spec.key] = plan_order(spec, plan_rng(spec))
            spec.delay += rng.uniform(6, 42)
            plans[spec.key] = plan_order(spec, plan_rng(spec))
        elif spec.key not in late and not on_time:
            spec.calm = True
            plans[spec.key] = plan_order(spec, plan_rng(spec))


def _delivered_offset(plan: Plan) -> float:
    return next(offset for offset, action in plan.entries if action[0] == "deliver")


def _on_time(spec: OrderSpec, plan: Plan, now: datetime) -> bool:
    placed = now - timedelta(hours=plan.cut)
    delivered = placed + timedelta(hours=_delivered_offset(plan))
    quote = quotes.nominal_quote(
        product_type=spec.product_type,
        size=spec.size,
        priority=spec.priority,
        data_sensitivity=spec.sensitivity,
        start=placed,
    )
    return timezone.localdate(delivered) <= quote.promised_delivery


def delivery_moment(plan: Plan, placed: datetime) -> datetime | None:
    for offset, action in plan.entries:
        if action[0] == "deliver":
            return placed + timedelta(hours=offset)
    return None

"""What-if scenarios: the one engine forked from now, with and without a scenario's changes.

A run simulates the present factory twice from the same moment, with the forecast's own inputs
(dispatch.forecast: the pools and their background load, every order in flight where it stands, the gates'
expected review time, the clients' usage and budgets): once as it is (the baseline), once with the scenario's
changes (dispatch.scenario_changes). Both run over the scenario's horizon with the demand the forecast expects (the
last four weeks of orders arriving again), carried across the whole horizon so that the factory does not run
empty after eight weeks; so a baseline ETA is the forecast's, give or take the later arrivals it weighs.

The result, kept with the run: per order in flight (and per hypothetical order) the ETA with and without the
changes and the slip, and whether its promise breaks; for each side the on-time rate, utilization per pool kind
over the horizon and the mean queue wait per priority.
"""

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from catalog.models import PoolKind
from dispatch.engine import simulation
from dispatch.engine.planner import ACTIVE, CLOSED_RANK, DEFAULT_POLICY, DRAINING, OFFLINE, Policy
from dispatch.engine.planner import PoolState as EnginePool
from dispatch.engine.plans import OrderPlan, PoolChange, SimulationResult
from dispatch.engine.policy import LOW, PRIORITY_RANK, STARVING
from dispatch.forecast import catalog_stages, engine_inputs, present_orders, present_pools, recent_orders
from dispatch.models import ChangeKind, ComputeSite
from dispatch.scenario_changes import Parameter
from orders.models import ClientOrganization, DataSensitivity, Order
from orders.quotes import promise_due

# Hypothetical orders get ids from here down, far below the expected arrivals' (-1 down): never a real order's.
HYPOTHETICAL_FIRST_ID = -1_000_000
# About this many utilization samples over a horizon, but never more often than hourly.
SAMPLES = 200
# An order's ETA moved by less than this is not counted as slipped or gained: the engine's own rounding.
SLIP_TOLERANCE_HOURS = 1.0
PRIORITY_NAMES = {rank: name for name, rank in PRIORITY_RANK.items()}


def run(*, changes: list[dict], horizon_days: int, now: datetime, progress: Callable[[float], None] | None = None):
    """Simulate the baseline and the scenario from `now`; the result as JSON (the module docstring)."""
    report = progress or (lambda share: None)
    horizon = timedelta(days=horizon_days)
    pools, background = present_pools(now)
    plans, review_hours = present_orders(now)
    recent = recent_orders(now, review_hours, len(plans))
    replays = max(simulation.EXPECTED_REPLAYS, math.ceil(horizon / simulation.EXPECTED_LOOKBACK))
    expected = [] if recent is None else simulation.expected_arrivals(recent, now=now, first_id=-1, replays=replays)
    common = {
        "now": now,
        "horizon": horizon,
        "sample_every": max(timedelta(hours=1), horizon / SAMPLES),
        **engine_inputs(now),
    }
    scheduled = common.pop("pool_changes")  # the real ones, in both; the scenario's come after them

    baseline = simulation.simulate(
        pools=pools,
        orders=plans + expected,
        background=background,
        pool_changes=scheduled,
        progress=lambda share: report(share / 2),
        **common,
    )
    fork = _Fork(changes, now=now, pools=pools, review_hours=review_hours)
    scenario = simulation.simulate(
        pools=pools + fork.new_pools,
        orders=plans + fork.hypothetical + fork.scaled(expected),
        background=fork.background(background),
        pool_changes=[*scheduled, *fork.pool_changes],
        policy=fork.policy,
        progress=lambda share: report(0.5 + share / 2),
        **common,
    )
    report(1.0)
    result = _result(
        now=now,
        horizon=horizon,
        plans=plans,
        hypothetical=fork.hypothetical,
        labels=fork.labels,
        baseline=baseline,
        scenario=scenario,
        notes=fork.notes(recent),
    )
    if fork.only_adds_capacity() and result["slipped"]:
        # Placing greedily, more room can start some work sooner and so put other work behind it (a scheduling
        # anomaly, Graham 1969): the page says so rather than let a later ETA read as an error.
        result["notes"].append("more_capacity_reordered")
    return result


class _Fork:
    """A scenario's changes as the engine takes them."""

    def __init__(self, changes: list[dict], *, now: datetime, pools: list[EnginePool], review_hours: float):
        self.now = now
        self.changes = changes
        self.present = {pool.id: pool for pool in pools}
        self.new_pools: list[EnginePool] = []
        self.pool_changes: list[PoolChange] = []
        self.hypothetical: list[OrderPlan] = []
        self.labels: dict[int, str] = {}
        self.policy: Policy = DEFAULT_POLICY
        self.extra_load: dict[int, list[tuple[datetime, datetime, float]]] = defaultdict(list)
        windows: dict[int, list[tuple[datetime, datetime, str]]] = defaultdict(list)
        sites = {site.pk: site for site in ComputeSite.objects.all()}
        clients = dict(ClientOrganization.objects.values_list("pk", "name"))
        for change in changes:
            kind = change["kind"]
            start = self._at(change.get("start"))
            if kind == ChangeKind.POOL_CAPACITY and change["pool"] in self.present:
                self.pool_changes.append(PoolChange(at=start, pool_id=change["pool"], capacity=change["capacity"]))
            elif kind == ChangeKind.NEW_POOL:
                pool_id = -1 - len(self.new_pools)
                site = sites[change["site"]]
                self.new_pools.append(
                    EnginePool(
                        id=pool_id,
                        kind=change["pool_kind"],
                        capacity=change["capacity"],
                        background=0.0,
                        trusted_in_province=bool(change.get("trusted")) and site.in_province,
                        state=OFFLINE,
                    )
                )
                self.pool_changes.append(PoolChange(at=start, pool_id=pool_id, state=ACTIVE))
            elif kind in (ChangeKind.POOL_OFFLINE, ChangeKind.POOL_DRAINING) and change["pool"] in self.present:
                state = OFFLINE if kind == ChangeKind.POOL_OFFLINE else DRAINING
                windows[change["pool"]].append((start, self._at(change["end"]), state))
            elif kind == ChangeKind.BACKGROUND and change["pool"] in self.present:
                self.extra_load[change["pool"]].append((start, self._at(change["end"]), change["pflops"]))
            elif kind == ChangeKind.ORDERS:
                self._add_orders(change, start=start, review_hours=review_hours, client=clients.get(change["client"]))
            elif kind == ChangeKind.POLICY:
                hours = timedelta(hours=change["hours"])
                if change["parameter"] == Parameter.PREEMPTION_THRESHOLD:
                    self.policy = replace(self.policy, preempt_after=hours)
                else:
                    self.policy = replace(self.policy, aging_step=hours / (STARVING - LOW))
        for pool_id, spans in windows.items():
            self.pool_changes += self._state_changes(pool_id, spans)

    def _at(self, value: str | None) -> datetime:
        """A change's moment; one before now (or none) takes effect from now."""
        return max(self.now, datetime.fromisoformat(value)) if value else self.now

    def _state_changes(self, pool_id: int, spans) -> list[PoolChange]:
        """A pool's state at each edge of its windows: the most restrictive window covering it, else its own."""
        own = self.present[pool_id].state
        edges = sorted({edge for start, end, _state in spans for edge in (start, end)})
        found = []
        for edge in edges:
            covering = [state for start, end, state in spans if start <= edge < end]
            found.append(PoolChange(at=edge, pool_id=pool_id, state=max([own, *covering], key=CLOSED_RANK.get)))
        return found

    def _add_orders(self, change: dict, *, start: datetime, review_hours: float, client: str | None) -> None:
        stages = catalog_stages(product_type=change["product_type"], size=change["size"])
        for _copy in range(change.get("count", 1)):
            order_id = HYPOTHETICAL_FIRST_ID - len(self.hypothetical)
            self.hypothetical.append(
                OrderPlan(
                    order_id=order_id,
                    client_id=change["client"],
                    priority=PRIORITY_RANK[change["priority"]],
                    deadline=promise_due(datetime.fromisoformat(change["due"]).date()),
                    sensitive=change["data_sensitivity"] == DataSensitivity.SENSITIVE,
                    stages=stages,
                    gate_hours=review_hours,
                    arrival=start,
                )
            )
            self.labels[order_id] = client or ""

    def background(self, present: Callable) -> Callable:
        """The present background load, plus the scenario's extra load in its windows, within each pool."""
        if not self.extra_load:
            return present

        def load(pool: EnginePool, at: datetime) -> float:
            extra = sum(pflops for start, end, pflops in self.extra_load.get(pool.id, ()) if start <= at < end)
            return min(pool.capacity, present(pool, at) + extra)

        return load

    def scaled(self, expected: list[OrderPlan]) -> list[OrderPlan]:
        for change in self.changes:
            if change["kind"] == ChangeKind.ARRIVAL_RATE:
                expected = simulation.scale_arrivals(
                    expected,
                    factor=change["factor"],
                    start=self._at(change.get("start")),
                    end=self._at(change["end"]),
                    first_id=min((plan.order_id for plan in expected), default=0) - 1,
                )
        return expected

    def only_adds_capacity(self) -> bool:
        """Whether every change only gives the factory more compute: a new pool, or a pool grown."""
        return all(
            change["kind"] == ChangeKind.NEW_POOL
            or (
                change["kind"] == ChangeKind.POOL_CAPACITY
                and change["pool"] in self.present
                and change["capacity"] >= self.present[change["pool"]].capacity
            )
            for change in self.changes
        )

    def notes(self, recent) -> list[str]:
        """What the run could not take into account, as codes the run's page puts in words."""
        found = []
        if recent is None and any(change["kind"] == ChangeKind.ARRIVAL_RATE for change in self.changes):
            found.append("no_expected_demand")
        return found


def _hours_between(later: datetime | None, earlier: datetime | None) -> float | None:
    return None if later is None or earlier is None else round((later - earlier).total_seconds() / 3600, 2)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _result(*, now, horizon, plans, hypothetical, labels, baseline, scenario, notes) -> dict:
    orders = {
        order.pk: order
        for order in Order.objects.filter(pk__in=[plan.order_id for plan in plans]).select_related("client")
    }
    rows = []
    for plan in [*plans, *hypothetical]:
        before = baseline.orders[plan.order_id].finished_at if plan.order_id in baseline.orders else None
        after = scenario.orders[plan.order_id].finished_at
        order = orders.get(plan.order_id)
        rows.append(
            {
                "order": plan.order_id if order else None,  # None: a hypothetical order
                "reference": order.reference if order else "",
                "title": order.title if order else "",
                "client": order.client.name if order else labels.get(plan.order_id, ""),
                "priority": PRIORITY_NAMES[plan.priority],
                "due": plan.deadline.isoformat(),
                "baseline_eta": _iso(before),
                "eta": _iso(after),
                "slip_hours": _hours_between(after, before),
                "broken": _on_time(before, plan.deadline) is not False and _on_time(after, plan.deadline) is False,
            }
        )
    watched = [*plans, *hypothetical]
    return {
        "simulated_from": now.isoformat(),
        "horizon_end": (now + horizon).isoformat(),
        "orders": rows,
        "baseline": _figures(baseline, watched, include=lambda plan: plan.order_id >= 0),
        "scenario": _figures(scenario, watched, include=lambda plan: True),
        "broken": sum(1 for row in rows if row["broken"]),
        "slipped": sum(1 for row in rows if (row["slip_hours"] or 0) >= SLIP_TOLERANCE_HOURS),
        "gained": sum(1 for row in rows if (row["slip_hours"] or 0) <= -SLIP_TOLERANCE_HOURS),
        "notes": notes,
    }


def _on_time(finished: datetime | None, deadline: datetime) -> bool | None:
    """Whether an order finishes by its due time within the horizon (False if it does not finish within it)."""
    return finished is not None and finished <= deadline


def _figures(result: SimulationResult, watched: list[OrderPlan], *, include) -> dict:
    plans = [plan for plan in watched if include(plan)]
    on_time = sum(1 for plan in plans if _on_time(result.orders[plan.order_id].finished_at, plan.deadline))
    waits: dict[str, list[float]] = defaultdict(list)
    for _at, priority, hours in result.wait_log:
        waits[PRIORITY_NAMES[priority]].append(hours)
    return {
        "on_time_rate": round(on_time / len(plans), 4) if plans else None,
        "late": len(plans) - on_time,
        "queue_wait_hours": {
            name: round(sum(waits[name]) / len(waits[name]), 2) if waits[name] else None for name in PRIORITY_RANK
        },
        "utilization": {
            "at": [sample.at.isoformat() for sample in result.samples],
            **{
                kind: [
                    round(sample.used.get(kind, 0.0) / offered, 4)
                    if (offered := sample.offered.get(kind, 0.0)) > 0
                    else None
                    for sample in result.samples
                ]
                for kind in PoolKind.values
            },
        },
    }


def summary(result: dict) -> dict:
    """A run's result in brief (the API's scenario summary): the on-time rate and each pool kind's mean utilization
    over the horizon, with the scenario's beside the baseline's, and how many promises break. Read from the kept
    result alone, so it says what the run page's figures say."""

    def mean(series: list) -> float | None:
        values = [value for value in series if value is not None]
        return round(sum(values) / len(values), 4) if values else None

    sides = ("baseline", "scenario")
    return {
        "on_time_rate": {side: result[side]["on_time_rate"] for side in sides},
        "utilization": {
            kind: {side: mean(result[side]["utilization"][kind]) for side in sides} for kind in PoolKind.values
        },
        "broken": result["broken"],
        "slipped": result["slipped"],
        "gained": result["gained"],
    }

"""A simulated year of the factory: our placement policy side by side with three baselines, on the same arrivals.

    .venv/bin/python bench/year.py [--days 365] [--seed 1] [--models 800] [--warmup 30] [--cooldown 90] \
        [--rush-start 150] [--rush-weeks 8] [--rush-rate 0.6]

No database and no Django: the demo pools of `demo.data` (11 pools, 2,000 PFLOPS dispatchable, with the seeded
background load of other tenants that the dispatch tick uses), the standard process catalog read from
`catalog.standard_catalog`, and seeded order arrivals of `demo.data`'s mix are fed to
`dispatch.engine.simulation.simulate`, once per policy: ours (`DEFAULT_POLICY`, the one the dispatch tick
runs), plain FIFO, earliest deadline first with EASY backfill, and a Slurm-like multifactor priority (age +
priority + fair share, with backfill); see `dispatch.engine.planner`.

Measured window: the `--days` after a `--warmup` of arrivals (the factory does not start empty);
arrivals go on for `--cooldown` days after the window, where the simulation stops, so that the orders of
the window finish under a realistic load. Printed per policy: orders and vertical models delivered in
the window, on-time rate and mean and p95 lead time by product type of the orders that arrived in the window
(an order still unfinished at the end counts as late), utilization in the window (our PFLOPS·h over
the room the pools left after background), the longest a low-priority job waited in the queue before a
start in the window, and the longest it waited before it started or headed its queue (holding the
reservation that backfill and preemption respect: the time newer work could pass it over, against the aging
bound, `dispatch.engine.policy.AGING_BOUND`; time beyond the bound spent behind older work of its queue, which has
waited the bound too and goes first, is not counted: `SimulationResult.passed_over_log`), preemptions in
the window,
wall time of the simulation.

Two years are run, on the same arrivals: a flat one, and one with a rush. Demand is not flat: budgets are
spent before the year ends, a sector moves at once. The rush adds `--rush-rate` (0.6) x the calibrated
arrivals on top for `--rush-weeks` (8) from `--rush-start` (day 150) of the window (seed + 1000, the same
mix); the factory then runs behind for months, as it would. In the flat year the factory keeps up with its
orders, and ours and EDF+backfill keep all or nearly all of them on time: no policy can be 5 points ahead of
a baseline at 100 %. The rush is where policies differ; the comparison with the baselines is judged there.

A *vertical model* is an order that passes the model workshop: a model, an agent or an application each
deliver one (a dataset does not).

Calibration (printed): the arrival rate is set so that `--models` vertical models arrive per year; the
catalog runs as it is (demand, work and nominal hours of `standard_steps()`, work and hours x the size
factor, as `order_accept` copies them). Printed per pool kind: the room the pools leave after background,
the catalog's mean work per order of the mix, and the share of the room the arrivals offer (the catalog
is calibrated so that 800 vertical models a year offer about 85 % of each kind's room).
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from catalog.sizes import SIZE_FACTORS, SIZE_RANK
from catalog.standard_catalog import ROUTINGS, standard_steps
from demo import data
from demo.data import PRODUCT_MIX, SECTORS, SENSITIVE_SECTORS, SIZE_MIX
from dispatch.engine.planner import (
    DATA_PROCESSING,
    DEFAULT_POLICY,
    EDF_BACKFILL_POLICY,
    FIFO_POLICY,
    HIGH,
    INFERENCE,
    LOW,
    MULTIFACTOR_POLICY,
    NORMAL,
    TRAINING,
    URGENT,
    Policy,
    PoolState,
)
from dispatch.engine.plans import OrderPlan, SimulationResult, Snapshot, StepSpec
from dispatch.engine.policy import AGING_BOUND, PRIORITY_RANK, background_at
from dispatch.engine.simulation import simulate

KINDS = (TRAINING, INFERENCE, DATA_PROCESSING)

# The arrival mix of demo.data, with the planner's priority ranks.
PRIORITY_MIX = {PRIORITY_RANK[name]: share for name, share in data.PRIORITY_MIX.items()}
PRIORITY_NAMES = {rank: name for name, rank in PRIORITY_RANK.items()}
STRETCH = {PRIORITY_RANK[name]: bounds for name, bounds in data.STRETCH.items()}
VERTICAL = ("model", "agent", "application")
GATE_HOURS = 24.0  # settings.GATE_REVIEW_HOURS
WEEKEND_WEIGHT = 0.25  # orders placed on a Saturday or Sunday, relative to a working day
OFFICE_HOURS_UTC = (1.0, 10.0)  # 09:00-18:00 in Beijing
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)


# --- pools -------------------------------------------------------------------------------------------------


def demo_pools() -> tuple[list[PoolState], dict[int, int]]:
    """The demo pools as the planner sees them, and each pool's background seed (by pool id)."""
    pools, seeds = [], {}
    for pool_id, (_site_name, site, pool, seed) in enumerate(data.seeded_pools(), start=1):
        pools.append(
            PoolState(
                id=pool_id,
                kind=pool.kind,
                capacity=float(pool.pflops),
                background=0.0,
                trusted_in_province=pool.trusted and site.in_province,
            )
        )
        seeds[pool_id] = seed
    return pools, seeds


def background_of(seeds: dict[int, int]):
    """Other tenants' load on each pool, as the dispatch tick computes it from the pool's seed."""
    return lambda pool, at: background_at(seeds[pool.id], pool.capacity, at)


def room(pools: list[PoolState], seeds: dict[int, int], start: datetime, end: datetime) -> dict[str, float]:
    """PFLOPS·h per kind the pools leave after background over [start, end] (midpoint rule, hourly)."""
    result = dict.fromkeys(KINDS, 0.0)
    hours = (end - start).total_seconds() / 3600.0
    t = 0.0
    while t < hours:
        step = min(1.0, hours - t)
        at = start + timedelta(hours=t + step / 2)
        for pool in pools:
            result[pool.kind] += (pool.capacity - background_at(seeds[pool.id], pool.capacity, at)) * step
        t += step
    return result


# --- catalog -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    """One product type at one size, from the catalog: its stages (rows of the catalog) and totals."""

    product_type: str
    size: str
    stages: tuple[tuple[dict, ...], ...]
    nominal_hours: float  # steps' nominal hours at this size, plus the gates
    work: dict[str, float]  # catalog PFLOPS·h at this size, per kind


def products() -> dict[tuple[str, str], Product]:
    by_workshop: dict[str, list[dict]] = {}
    for row in standard_steps():
        by_workshop.setdefault(row["workshop"], []).append(row)
    result = {}
    for product_type, workshops in ROUTINGS.items():
        for size, exact in SIZE_FACTORS.items():
            factor = float(exact)
            stages = tuple(
                tuple(row for row in by_workshop[w] if SIZE_RANK[size] >= SIZE_RANK[row["min_size"]]) for w in workshops
            )
            work = dict.fromkeys(KINDS, 0.0)
            hours = GATE_HOURS * len(stages)
            for stage in stages:
                for row in stage:
                    work[row["pool_kind"]] += float(row["work_pflops_hours"]) * factor
                    hours += float(row["nominal_hours"]) * factor
            result[product_type, size] = Product(product_type, size, stages, hours, work)
    return result


@dataclass
class Calibration:
    models_per_year: float
    orders_per_year: float
    room_per_year: dict[str, float]  # PFLOPS·h per kind left by background, per 365 days
    work_per_order: dict[str, float]  # expected catalog PFLOPS·h per order of the mix, per kind

    @property
    def offered(self) -> dict[str, float]:
        """Share of each kind's room (after background) that the arrivals ask for."""
        return {kind: self.orders_per_year * self.work_per_order[kind] / self.room_per_year[kind] for kind in KINDS}

    def lines(self) -> list[str]:
        vertical = sum(PRODUCT_MIX[p] for p in VERTICAL)
        lines = [
            f"arrivals: {self.orders_per_year:.0f} orders/year ({self.orders_per_year / 365:.2f}/day; "
            f"{vertical:.0%} vertical -> {self.models_per_year:.0f} vertical models/year), "
            f"working days x1, weekends x{WEEKEND_WEIGHT}, 09:00-18:00 Beijing",
            "mix: "
            + ", ".join(f"{k} {v:.0%}" for k, v in PRODUCT_MIX.items())
            + " | "
            + ", ".join(f"{k} {v:.0%}" for k, v in SIZE_MIX.items())
            + " | "
            + ", ".join(f"{PRIORITY_NAMES[k]} {v:.0%}" for k, v in PRIORITY_MIX.items())
            + f" | sensitive {sum(SECTORS[s][0] for s in SENSITIVE_SECTORS):.0%} (healthcare, government)",
            f"deadlines: arrival + nominal duration x U{STRETCH[NORMAL]} (normal), U{STRETCH[LOW]} (low), "
            f"U{STRETCH[HIGH]} (high), U{STRETCH[URGENT]} (urgent); gates {GATE_HOURS:.0f} h",
        ]
        for kind in KINDS:
            capacity_models = self.room_per_year[kind] / self.work_per_order[kind] * vertical
            lines.append(
                f"{kind:>15}: room {self.room_per_year[kind] / 1e6:5.2f} M PFLOPS·h/year, catalog work "
                f"{self.work_per_order[kind]:6.0f} PFLOPS·h/order -> offered {self.offered[kind]:.1%} of the room "
                f"(100 % of the room carries {capacity_models:5.0f} vertical models/year)"
            )
        return lines


def calibrate(pools, seeds, *, models_per_year: float) -> Calibration:
    catalog = products()
    vertical = sum(PRODUCT_MIX[p] for p in VERTICAL)
    orders_per_year = models_per_year / vertical
    work = dict.fromkeys(KINDS, 0.0)
    for (product_type, size), product in catalog.items():
        share = PRODUCT_MIX[product_type] * SIZE_MIX[size]
        for kind in KINDS:
            work[kind] += share * product.work[kind]
    room_year = room(pools, seeds, YEAR_START, YEAR_START + timedelta(days=365))
    return Calibration(models_per_year, orders_per_year, room_year, work)


# --- arrivals ----------------------------------------------------------------------------------------------


@dataclass
class Arrival:
    """A generated order: the simulation's plan and what the report groups by."""

    plan: OrderPlan
    product_type: str
    size: str
    work: dict[str, float] = field(default_factory=dict)  # PFLOPS·h per kind

    @property
    def vertical(self) -> bool:
        return self.product_type in VERTICAL


def _pick(rng: random.Random, mix: dict):
    return rng.choices(list(mix), weights=list(mix.values()))[0]


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p < limit:
            return k
        k += 1


def generate_orders(
    *, seed: int, start: datetime, days: float, calibration: Calibration, first_id: int = 1, rate: float = 1.0
) -> list[Arrival]:
    """Seeded arrivals over [start, start + days), at ``rate`` x the calibrated rate."""
    rng = random.Random(seed)  # noqa: S311 (a simulation, not cryptography)
    catalog = products()
    clients, client_id = {}, 0
    for sector, (_share, count) in SECTORS.items():
        clients[sector] = []
        for rank in range(count):
            client_id += 1
            clients[sector].append((client_id, 1.0 / (rank + 1)))  # a few large clients, many small ones
    sector_mix = {sector: share for sector, (share, _count) in SECTORS.items()}
    mean_weight = (5 + 2 * WEEKEND_WEIGHT) / 7
    per_day = calibration.orders_per_year / 365 * rate / mean_weight
    arrivals, order_id = [], first_id
    for day in range(math.ceil(days)):
        midnight = start + timedelta(days=day)
        weight = WEEKEND_WEIGHT if midnight.weekday() >= 5 else 1.0
        times = sorted(rng.uniform(*OFFICE_HOURS_UTC) for _ in range(_poisson(rng, per_day * weight)))
        for hour in times:
            arrival = midnight + timedelta(hours=hour)
            if arrival >= start + timedelta(days=days):
                continue
            product_type, size = _pick(rng, PRODUCT_MIX), _pick(rng, SIZE_MIX)
            priority = _pick(rng, PRIORITY_MIX)
            sector = _pick(rng, sector_mix)
            ids, weights = zip(*clients[sector], strict=True)
            client = rng.choices(ids, weights=weights)[0]
            product = catalog[product_type, size]
            factor = float(SIZE_FACTORS[size])
            stages = [
                [
                    StepSpec(
                        kind=row["pool_kind"],
                        demand=float(row["demand_pflops"]),
                        work=float(row["work_pflops_hours"]) * factor,
                    )
                    for row in stage
                ]
                for stage in product.stages
            ]
            due = arrival + timedelta(hours=product.nominal_hours * rng.uniform(*STRETCH[priority]))
            plan = OrderPlan(
                order_id=order_id,
                client_id=client,
                priority=priority,
                deadline=due,
                sensitive=sector in SENSITIVE_SECTORS,
                stages=stages,
                gate_hours=GATE_HOURS,
                arrival=arrival,
            )
            work = dict.fromkeys(KINDS, 0.0)
            for stage in stages:
                for spec in stage:
                    work[spec.kind] += spec.work
            arrivals.append(Arrival(plan, product_type, size, work))
            order_id += 1
    return arrivals


# --- measuring ---------------------------------------------------------------------------------------------


def work_done(arrivals: list[Arrival], result: SimulationResult, snapshot: Snapshot) -> dict[str, float]:
    """PFLOPS·h per kind done by the instant of ``snapshot`` (work is never lost, even when preempted)."""
    done = dict.fromkeys(KINDS, 0.0)
    in_flight = {plan.order_id: plan for plan in snapshot.orders}
    for arrival in arrivals:
        plan = in_flight.get(arrival.plan.order_id)
        if plan is not None:
            for s, stage in enumerate(plan.stages):
                for i, spec in enumerate(stage):
                    if s < plan.current_stage_index or (s == plan.current_stage_index and i < plan.current_step_index):
                        done[spec.kind] += spec.work
                    elif s == plan.current_stage_index and i == plan.current_step_index:
                        done[spec.kind] += plan.current_job_progress
            continue
        finished = result.orders[arrival.plan.order_id].finished_at
        if finished is not None and finished <= snapshot.at:
            for kind, work in arrival.work.items():
                done[kind] += work
    return done


@dataclass
class YearFigures:
    name: str
    delivered: int
    vertical_delivered: int
    cohort: int
    on_time: int
    unfinished: int
    lead_days: dict[str, float | None]
    lead_p95_days: dict[str, float | None]
    worst_low_wait_hours: float
    worst_low_passed_over_hours: float
    utilization: float
    utilization_by_kind: dict[str, float]
    preemptions: int
    wall_seconds: float
    result: SimulationResult


def run_year(
    name: str,
    policy: Policy,
    arrivals: list[Arrival],
    pools,
    seeds,
    *,
    window: tuple[datetime, datetime],
    start: datetime,
    end: datetime,
    snapshot_at: tuple[datetime, ...] = (),
) -> YearFigures:
    y0, y1 = window
    started = time.perf_counter()
    result = simulate(
        pools=pools,
        orders=[a.plan for a in arrivals],
        now=start,
        policy=policy,
        horizon=end - start,
        background=background_of(seeds),
        snapshot_at=(y0, y1, *snapshot_at),
    )
    wall = time.perf_counter() - started
    at_y0 = next(s for s in result.snapshots if s.at == y0)
    at_y1 = next(s for s in result.snapshots if s.at == y1)
    before, after = work_done(arrivals, result, at_y0), work_done(arrivals, result, at_y1)
    offered = room(pools, seeds, y0, y1)
    used = {kind: after[kind] - before[kind] for kind in KINDS}

    delivered = vertical_delivered = 0
    cohort = on_time = unfinished = 0
    leads: dict[str, list[float]] = {p: [] for p in PRODUCT_MIX}
    for arrival in arrivals:
        outcome = result.orders[arrival.plan.order_id]
        if outcome.finished_at is not None and y0 <= outcome.finished_at < y1:
            delivered += 1
            vertical_delivered += arrival.vertical
        if y0 <= arrival.plan.arrival < y1:
            cohort += 1
            if outcome.finished_at is None:
                unfinished += 1
            else:
                on_time += outcome.finished_at <= outcome.deadline
                leads[arrival.product_type].append(outcome.lead_time.total_seconds() / 86400)
    return YearFigures(
        name=name,
        delivered=delivered,
        vertical_delivered=vertical_delivered,
        cohort=cohort,
        on_time=on_time,
        unfinished=unfinished,
        lead_days={p: statistics.fmean(v) if v else None for p, v in leads.items()},
        lead_p95_days={p: _p95(v) for p, v in leads.items()},
        worst_low_wait_hours=max((h for at, prio, h in result.wait_log if prio == LOW and y0 <= at < y1), default=0),
        worst_low_passed_over_hours=max(
            (h for at, prio, _, h in result.passed_over_log if prio == LOW and y0 <= at < y1), default=0
        ),
        utilization=sum(used.values()) / sum(offered.values()),
        utilization_by_kind={kind: used[kind] / offered[kind] for kind in KINDS},
        preemptions=sum(1 for at, _, _ in result.preemption_log if y0 <= at < y1),
        wall_seconds=wall,
        result=result,
    )


def _p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def table(figures: list[YearFigures]) -> list[str]:
    def row(label, values):
        return f"{label:<38}" + "".join(f"{v:>16}" for v in values)

    def days(value):
        return "-" if value is None else f"{value:.1f}"

    lines = [row("", [f.name for f in figures])]
    lines.append(row("orders delivered", [f.delivered for f in figures]))
    lines.append(row("vertical models delivered", [f.vertical_delivered for f in figures]))
    lines.append(row("on-time rate (orders placed in window)", [f"{f.on_time / f.cohort:.1%}" for f in figures]))
    lines.append(row("  placed / on time / unfinished", [f"{f.cohort}/{f.on_time}/{f.unfinished}" for f in figures]))
    for product_type in PRODUCT_MIX:
        lines.append(
            row(
                f"lead time, {product_type} (d, mean/p95)",
                [f"{days(f.lead_days[product_type])}/{days(f.lead_p95_days[product_type])}" for f in figures],
            )
        )
    lines.append(row("mean utilization", [f"{f.utilization:.1%}" for f in figures]))
    for kind in KINDS:
        lines.append(row(f"  {kind}", [f"{f.utilization_by_kind[kind]:.1%}" for f in figures]))
    lines.append(row("longest wait of a low job (h)", [f"{f.worst_low_wait_hours:.1f}" for f in figures]))
    lines.append(row("  of it passed over (h)", [f"{f.worst_low_passed_over_hours:.1f}" for f in figures]))
    lines.append(row("preemptions", [f.preemptions for f in figures]))
    lines.append(row("wall time of the simulation (s)", [f"{f.wall_seconds:.1f}" for f in figures]))
    return lines


@dataclass
class Setup:
    pools: list[PoolState]
    seeds: dict[int, int]
    calibration: Calibration
    arrivals: list[Arrival]
    start: datetime
    window: tuple[datetime, datetime]
    end: datetime


@dataclass(frozen=True)
class Rush:
    """Extra arrivals on top of the calibrated ones: ``rate`` x the calibrated rate for ``weeks`` from ``start``
    (days into the window)."""

    start: float
    weeks: float
    rate: float


def setup(*, days: float, seed: int, models: float, warmup: float, cooldown: float, rush: Rush | None = None) -> Setup:
    pools, seeds = demo_pools()
    calibration = calibrate(pools, seeds, models_per_year=models)
    start = YEAR_START - timedelta(days=warmup)
    window = (YEAR_START, YEAR_START + timedelta(days=days))
    end = window[1] + timedelta(days=cooldown)
    arrivals = generate_orders(seed=seed, start=start, days=warmup + days + cooldown, calibration=calibration)
    if rush is not None and rush.rate > 0 and rush.weeks > 0:
        extra = generate_orders(
            seed=seed + 1000,
            start=YEAR_START + timedelta(days=rush.start),
            days=rush.weeks * 7,
            calibration=calibration,
            rate=rush.rate,
        )
        # Order ids count in arrival order, as the factory numbers its orders (the last tie-break of the queue).
        arrivals = sorted(arrivals + extra, key=lambda a: a.plan.arrival)
        for order_id, arrival in enumerate(arrivals, start=1):
            arrival.plan = replace(arrival.plan, order_id=order_id)
    return Setup(pools, seeds, calibration, arrivals, start, window, end)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=float, default=365, help="length of the measured window (default 365)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the arrivals (default 1)")
    parser.add_argument("--models", type=float, default=800, help="vertical models arriving per year (default 800)")
    parser.add_argument("--warmup", type=float, default=30, help="days of arrivals before the window (default 30)")
    parser.add_argument("--cooldown", type=float, default=90, help="days simulated after the window (default 90)")


POLICIES = (
    ("ours", DEFAULT_POLICY),
    ("FIFO", FIFO_POLICY),
    ("EDF+backfill", EDF_BACKFILL_POLICY),
    ("multifactor", MULTIFACTOR_POLICY),
)


def describe(s: Setup, seed: int) -> str:
    in_window = [a for a in s.arrivals if s.window[0] <= a.plan.arrival < s.window[1]]
    offered = room(s.pools, s.seeds, *s.window)
    work = {kind: sum(a.work[kind] for a in in_window) for kind in KINDS}
    return (
        f"generated (seed {seed}): {len(s.arrivals)} orders from {s.start:%Y-%m-%d} to {s.end:%Y-%m-%d}, "
        f"{len(in_window)} in the window {s.window[0]:%Y-%m-%d} .. {s.window[1]:%Y-%m-%d} "
        f"({sum(a.vertical for a in in_window)} vertical, {sum(a.plan.sensitive for a in in_window)} sensitive, "
        f"{sum(sum(len(st) for st in a.plan.stages) for a in s.arrivals)} steps in all); offered load in the window: "
        + ", ".join(f"{kind} {work[kind] / offered[kind]:.0%}" for kind in KINDS)
    )


def run_policies(s: Setup) -> list[YearFigures]:
    return [
        run_year(name, policy, s.arrivals, s.pools, s.seeds, window=s.window, start=s.start, end=s.end)
        for name, policy in POLICIES
    ]


def on_time_by_priority(figures: list[YearFigures], s: Setup) -> list[str]:
    """On-time share per priority of the orders placed in the window, per policy."""
    lines = []
    for f in figures:
        placed, kept = dict.fromkeys(PRIORITY_NAMES, 0), dict.fromkeys(PRIORITY_NAMES, 0)
        for arrival in s.arrivals:
            if s.window[0] <= arrival.plan.arrival < s.window[1]:
                outcome = f.result.orders[arrival.plan.order_id]
                placed[arrival.plan.priority] += 1
                finished = outcome.finished_at
                kept[arrival.plan.priority] += finished is not None and finished <= outcome.deadline
        lines.append(
            f"  {f.name:<14}"
            + ", ".join(
                f"{PRIORITY_NAMES[p]} {kept[p] / placed[p]:.0%}" for p in sorted(placed, reverse=True) if placed[p]
            )
        )
    return lines


def beats_baselines(figures: list[YearFigures]) -> tuple[bool, str]:
    """The target: ours 5 points or more above the best baseline's on-time rate, at equal or better utilization."""
    ours, *baselines = figures
    rate = {f.name: f.on_time / f.cohort for f in figures}
    best = max(baselines, key=lambda f: rate[f.name])
    met = rate["ours"] - rate[best.name] >= 0.05 and ours.utilization >= best.utilization - 0.005
    return met, (
        f"ours {rate['ours']:.1%} at {ours.utilization:.1%}; best baseline {best.name} {rate[best.name]:.1%} "
        f"at {best.utilization:.1%}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.add_argument("--rush-start", type=float, default=150, help="day of the window the rush starts (150)")
    parser.add_argument("--rush-weeks", type=float, default=8, help="weeks the rush lasts (default 8)")
    parser.add_argument("--rush-rate", type=float, default=0.6, help="extra arrivals in it, x the calibrated rate")
    args = parser.parse_args()
    total = time.perf_counter()
    common = {"days": args.days, "seed": args.seed, "models": args.models, "warmup": args.warmup}
    flat = setup(**common, cooldown=args.cooldown)
    rushed = setup(**common, cooldown=args.cooldown, rush=Rush(args.rush_start, args.rush_weeks, args.rush_rate))
    capacity = sum(p.capacity for p in flat.pools)
    print(f"pools: {len(flat.pools)} demo pools, {capacity:.0f} PFLOPS dispatchable, seeded background load")
    print("calibration:")
    for line in flat.calibration.lines():
        print(f"  {line}")

    print()
    print("THE FLAT YEAR")
    print(describe(flat, args.seed))
    print()
    flat_figures = run_policies(flat)
    for line in [*table(flat_figures), "on time by priority:", *on_time_by_priority(flat_figures, flat)]:
        print(line)

    print()
    rush_end = args.rush_start + args.rush_weeks * 7
    print(
        f"THE YEAR WITH A RUSH: {len(rushed.arrivals) - len(flat.arrivals)} more orders, x{1 + args.rush_rate:g} "
        f"the arrivals from day {args.rush_start:g} to day {rush_end:g} of the window"
    )
    print(describe(rushed, args.seed))
    print()
    rush_figures = run_policies(rushed)
    for line in [*table(rush_figures), "on time by priority:", *on_time_by_priority(rush_figures, rushed)]:
        print(line)

    print()
    met, figures = beats_baselines(rush_figures)
    print(
        "target 'ours beats the best baseline's on-time rate by 5 points or more at equal or better utilization' "
        f"(equal: within 0.5 points), in the year with a rush: {'met' if met else 'NOT met'} ({figures})"
    )
    met, figures = beats_baselines(flat_figures)
    print(f"  the same in the flat year: {'met' if met else 'not met'} ({figures})")
    bound = AGING_BOUND.total_seconds() / 3600
    for name, ours in (("flat year", flat_figures[0]), ("year with a rush", rush_figures[0])):
        print(
            f"target 'no low-priority job is passed over longer than the aging bound ({bound:.0f} h)', {name}: "
            f"{'met' if ours.worst_low_passed_over_hours <= bound else 'NOT met'} (longest "
            f"{ours.worst_low_passed_over_hours:.1f} h before it started, headed its queue or had only older work "
            f"ahead; longest wait to start {ours.worst_low_wait_hours:.1f} h)"
        )
    ours = flat_figures[0]
    per_year = ours.vertical_delivered * 365 / args.days
    met = 0.85 * args.models <= per_year <= 1.15 * args.models and 0.80 <= ours.utilization <= 0.90
    print(
        f"target 'the catalog as it is carries {args.models:.0f} vertical models a year (+/- 15 %) at 80-90 % "
        f"utilization', flat year: {'met' if met else 'NOT met'} ({per_year:.0f} per 365 days with ours, "
        f"at {ours.utilization:.1%} utilization)"
    )
    print(f"total wall time {time.perf_counter() - total:.1f} s")


if __name__ == "__main__":
    main()

"""ETA quality in the simulated year, and the cost of a forward simulation of 1,000 active orders.

    .venv/bin/python bench/eta_quality.py [--days 365] [--seed 1] [--sample 0] [--active 1000] [--models 800] ...

No database and no Django; the same pools, catalog, calibration and arrivals as bench/year.py (see its
docstring), under our policy (`DEFAULT_POLICY`, the one the forecast uses).

ETA: the year is simulated once, taking a snapshot of the factory at the arrival instant of each sampled
order (`--sample` orders drawn uniformly, seeded, from those placed in the measured window; 0 = all of
them). At that instant the delivery is predicted the way the forecast does it: a forward simulation of
every order then in the factory, with its progress, plus the new order, plus the demand the forecast
expects (the arrivals of the four weeks before, replayed: `dispatch.engine.simulation.expected_arrivals`), until
every order in the factory is delivered. Step durations and gates are deterministic and the background is
the seeded one both runs see, so the error measured is how far the real later arrivals differ from the
expected ones in what they do to an order's place in the queue. The prediction is compared with
the delivery in the full run: printed are the median and p90 of |predicted - actual| / actual lead time
(overall, per priority and per product type), the median signed error, and the time each forecast took.

Forward simulation of 1,000 active orders: orders arrive at several times the calibrated rate until at
least 1,000 are in the factory (some running, some waiting, some at a gate, with their progress); the
state is snapshotted and 1,000 of its orders are simulated to their last delivery, with the demand the
forecast expects (the arrivals of the four weeks before, twice over), timed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import timedelta

from year import (
    PRIORITY_NAMES,
    add_arguments,
    background_of,
    generate_orders,
    setup,
)

from dispatch.engine.planner import DEFAULT_POLICY
from dispatch.engine.simulation import expected_arrivals, simulate

FORK_HORIZON = timedelta(days=400)  # dispatch.forecast.HORIZON
TARGET_MEDIAN = 0.10
OVERLOAD = 5.0  # arrival rate, relative to the calibrated one, that builds the state of 1,000 active orders


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


def eta_quality(s, *, sample: int, seed: int) -> dict:
    y0, y1 = s.window
    cohort = [a for a in s.arrivals if y0 <= a.plan.arrival < y1]
    rng = random.Random(seed * 7919 + 1)  # noqa: S311 (a simulation, not cryptography)
    chosen = cohort if sample <= 0 or sample >= len(cohort) else rng.sample(cohort, sample)
    chosen.sort(key=lambda a: a.plan.arrival)
    background = background_of(s.seeds)

    started = time.perf_counter()
    full = simulate(
        pools=s.pools,
        orders=[a.plan for a in s.arrivals],
        now=s.start,
        policy=DEFAULT_POLICY,
        horizon=s.end - s.start,
        background=background,
        snapshot_at=[a.plan.arrival for a in chosen],
    )
    full_seconds = time.perf_counter() - started
    snapshots = {snapshot.at: snapshot for snapshot in full.snapshots}
    recent = [a.plan for a in s.arrivals]  # expected_arrivals takes those of the lookback before each instant

    rows, times, sizes = [], [], []
    for arrival in chosen:
        plan = arrival.plan
        snapshot = snapshots[plan.arrival]
        started = time.perf_counter()
        in_flight = [*snapshot.orders, plan]
        fork = simulate(
            pools=s.pools,
            orders=in_flight + expected_arrivals(recent, now=snapshot.at, first_id=-1),
            now=snapshot.at,
            policy=DEFAULT_POLICY,
            horizon=FORK_HORIZON,
            background=background,
            client_usage=snapshot.client_usage,
            until_done={p.order_id for p in in_flight},
        )
        times.append(time.perf_counter() - started)
        sizes.append(len(snapshot.orders))
        predicted = fork.orders[plan.order_id].finished_at
        actual = full.orders[plan.order_id].finished_at
        if predicted is None or actual is None:
            rows.append((arrival, None, None))
            continue
        lead = (actual - plan.arrival).total_seconds()
        signed = (predicted - actual).total_seconds() / lead
        rows.append((arrival, abs(signed), signed))
    return {"rows": rows, "times": times, "sizes": sizes, "full_seconds": full_seconds, "cohort": len(cohort)}


def active_orders_state(s, *, count: int, seed: int):
    """A snapshot with at least ``count`` orders in the factory, from arrivals at several times the rate."""
    rate, days = OVERLOAD, 100.0
    while True:
        arrivals = generate_orders(
            seed=seed + 1000, start=s.window[0], days=days, calibration=s.calibration, first_id=1, rate=rate
        )
        at = s.window[0] + timedelta(days=days)
        result = simulate(
            pools=s.pools,
            orders=[a.plan for a in arrivals],
            now=s.window[0],
            policy=DEFAULT_POLICY,
            horizon=at - s.window[0],
            background=background_of(s.seeds),
            snapshot_at=[at],
        )
        snapshot = result.snapshots[0]
        if len(snapshot.orders) >= count:
            return snapshot, arrivals
        days *= 1.5


def steps_left(order) -> int:
    stage, step = order.current_stage_index, order.current_step_index
    return len(order.stages[stage]) - step + sum(len(steps) for steps in order.stages[stage + 1 :])


def forward_cost(s, *, count: int, seed: int) -> None:
    snapshot, arrivals = active_orders_state(s, count=count, seed=seed)
    arrived = len(arrivals)
    orders = snapshot.orders[:count]
    expected = expected_arrivals([a.plan for a in arrivals], now=snapshot.at, first_id=-1)
    running = sum(1 for o in orders if o.running_pool_id is not None)
    gates = sum(1 for o in orders if o.gate_remaining_hours is not None)
    steps = sum(steps_left(o) for o in orders)
    started = time.perf_counter()
    result = simulate(
        pools=s.pools,
        orders=orders + expected,
        now=snapshot.at,
        policy=DEFAULT_POLICY,
        horizon=FORK_HORIZON,
        background=background_of(s.seeds),
        client_usage=snapshot.client_usage,
        until_done={o.order_id for o in orders},
    )
    seconds = time.perf_counter() - started
    last = max(o.finished_at for i, o in result.orders.items() if i > 0 and o.finished_at is not None)
    delivered = sum(1 for i, o in result.orders.items() if i > 0 and o.finished_at is not None)
    print(
        f"forward simulation of {len(orders)} active orders ({running} running, {len(orders) - running - gates} "
        f"waiting, {gates} at a gate; {steps} steps left; state built from {arrived} arrivals at "
        f"{OVERLOAD:.0f}x the rate; {len(expected)} expected arrivals): "
        f"{seconds:.2f} s wall, {result.plans} planning rounds; {delivered} delivered within the forecast's "
        f"{FORK_HORIZON.days}-day horizon, the last {(last - snapshot.at).total_seconds() / 86400:.0f} days later"
    )


def report(figures: dict) -> None:
    rows = figures["rows"]
    measured = [r for r in rows if r[1] is not None]
    errors = [r[1] for r in measured]
    signed = [r[2] for r in measured]
    times = figures["times"]
    chosen = "every one" if len(rows) == figures["cohort"] else f"{len(rows)} sampled uniformly"
    print(
        f"ETA at acceptance vs actual delivery, our policy: {chosen} of the {figures['cohort']} orders placed in "
        f"the window ({len(rows) - len(measured)} without a finish, left out); full run with the snapshots "
        f"{figures['full_seconds']:.1f} s"
    )
    print(
        f"  |predicted - actual| / actual lead time: median {statistics.median(errors):.1%}, "
        f"p90 {percentile(errors, 0.9):.1%}, mean {statistics.fmean(errors):.1%}; "
        f"within 10 %: {sum(e <= 0.10 for e in errors) / len(errors):.0%} of orders"
    )
    print(
        f"  signed (predicted - actual) / lead time: median {statistics.median(signed):+.1%} "
        f"(negative: the forecast was early, i.e. later arrivals overtook the order)"
    )
    for priority, name in sorted(PRIORITY_NAMES.items(), reverse=True):
        subset = [r[1] for r in measured if r[0].plan.priority == priority]
        if subset:
            print(
                f"  {name:>7}: {len(subset):4d} orders, median {statistics.median(subset):6.1%}, "
                f"p90 {percentile(subset, 0.9):6.1%}"
            )
    for product_type in ("dataset", "model", "agent", "application"):
        subset = [r[1] for r in measured if r[0].product_type == product_type]
        if subset:
            print(
                f"  {product_type:>11}: {len(subset):4d} orders, median {statistics.median(subset):6.1%}, "
                f"p90 {percentile(subset, 0.9):6.1%}"
            )
    print(
        f"  forecast time per order: median {statistics.median(times) * 1000:.0f} ms, p90 "
        f"{percentile(times, 0.9) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms, with "
        f"{statistics.median(figures['sizes']):.0f} orders in the factory (median; max {max(figures['sizes'])})"
    )
    median = statistics.median(errors)
    print(
        f"target 'median ETA error under 10 % of lead time': {'met' if median < TARGET_MEDIAN else 'NOT met'} "
        f"({median:.1%})"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.add_argument("--sample", type=int, default=0, help="orders forecast (default 0: every one)")
    parser.add_argument("--active", type=int, default=1000, help="active orders of the timed forward simulation")
    args = parser.parse_args()
    total = time.perf_counter()
    s = setup(days=args.days, seed=args.seed, models=args.models, warmup=args.warmup, cooldown=args.cooldown)
    print(
        f"{len(s.arrivals)} orders (seed {args.seed}), calibrated as bench/year.py: "
        f"{s.calibration.orders_per_year:.0f} orders/year on the catalog as it is, offering "
        + ", ".join(f"{kind} {share:.0%}" for kind, share in s.calibration.offered.items())
        + " of the room left by background"
    )
    report(eta_quality(s, sample=args.sample, seed=args.seed))
    print()
    forward_cost(s, count=args.active, seed=args.seed)
    print(f"total wall time {time.perf_counter() - total:.1f} s")


if __name__ == "__main__":
    main()

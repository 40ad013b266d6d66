"""ETA quality of the live system: the real stack on Postgres, the factory clock stepped fast.

    export DEBUG=true DATABASE_URL=postgres://postgres@127.0.0.1:5432/factory
    .venv/bin/python bench/live_eta.py [--days 60] [--seed 1] [--warmup 30] [--max-cooldown 120] [--models 800] \
        [--tick-minutes 15] [--forecast-minutes 60] [--drain] [--drain-only] [--dump FILE] \
        [--sizes 1000 5000] [--repeats 3] [--skip-live] [--quick]

What runs is the code that runs in production, on a database of its own (`<name>_live_eta`, or
`<name>_live_eta_quick` with `--quick`; created and migrated by bench/_setup.py, emptied at the start of
every run): the dispatch tick (`dispatch.services.dispatch_tick`) and the ETA forecast
(`dispatch.forecast.forecast_etas`) are called directly, as Celery beat calls them, and orders move only
through orders' services. What the harness replaces is the factory clock (held with `factory.clock.held`
at the moment the harness sets) and the people:

* **Time.** The clock jumps from event to event: a dispatch tick every `--tick-minutes` factory minutes
  (15 by default), the forecast every `--forecast-minutes` (60: beat's 60 s at the demo clock's 60x, one
  real minute a factory hour) right after the tick of that instant, from the window's start on (nothing
  reads an ETA back, not the tick nor a quote, so the warm-up needs none); order arrivals and gate releases
  at their own instants between. Why 15 minutes and not the 5 that beat's `DISPATCH_TICK_SECONDS` (5 s)
  makes at 60x: every catalog step runs a whole number of quarter hours at its demand, the background load
  holds per 15 minutes on a grid the ticks share, and gates are released 24 h after a tick, so every
  finish, start, preemption threshold (30 min) and background change falls on a tick as it does with 5;
  only an arriving order's first job waits up to 15 minutes instead of 5. A tick costs 50-200 ms here, so
  that is a third of the run time. (With 5-minute ticks a third of the steps also run one tick longer than
  their work says: the tick rounds each advance to 0.001 PFLOPS·h and demand / 12 is rarely exact.)
* **Pools**: the demo pools (`demo.data.DEMO_SITES`, created by `demo.story.build.create_pools`), background load on.
* **Arrivals**: bench/year.py's seeded generator (imported: the same arrivals as `year.py --seed S
  --warmup W`), product/size/priority mix, 60 clients in 5 sectors, sensitivity by sector, the requested
  date (its deadline), at `--models` (800) vertical models a year, the catalog as it is. Each order is
  placed at its instant with `order_submit` by its client's user (urgent ones by operations, who alone may),
  so it gets the queue-aware quote as its promise; then `order_accept` and `order_start_production` by
  operations, at once.
* **Gates**: released with `orders.services.stage_release_gate` (by a security user) exactly
  `GATE_REVIEW_HOURS` after the stage's work was done (no review is opened: the security app's checklist
  is not what is measured); an order whose last gate is released is ready, and delivered at once.

Measured: the orders accepted in the `--days` window after `--warmup` days of arrivals. Arrivals go on
after the window; the run stops once every order of the window is delivered (or at `--max-cooldown` days
after the window; orders still unfinished then are counted and left out). Each order's ETA (`Order.eta` as
the forecast wrote it) is read after every forecast; its error at a point is |ETA - actual| / lead time,
where actual is the instant its last gate was released and the lead time runs from acceptance:

* the promise at acceptance (the quoted date, due 18:00 that day, as `order_due` counts it);
* the ETA at acceptance: the first forecast after it;
* the ETA at 25 %, 50 % and 75 % of its actual lead time: the last forecast at or before that instant.

Printed per priority: median and p90 of the error at each point. Targets, per priority at acceptance:
median <= 5 %, p90 <= 20 %. Also: utilization in the window (our PFLOPS·h over the room the background
leaves, from the ticks' utilization samples), on-time rate, the wall time of ticks and forecasts.

`--drain` then closes the world: no order arrives any more, one forecast is made, and the factory runs until
every order in it is delivered (`--drain-only` does that alone, on the database the last run left). Nothing
the forecast cannot know happens after it, so its error is the engine's own: how far the forecast's model of
the tick, the gates and the pools is from what they do. Printed per priority: |ETA - actual| as a share of
the time left, median and p90, and the median and worst signed error in hours.

Then the forecast's wall time on larger states: for each of `--sizes` (1,000 and 5,000) active orders, a
process of its own empties `<name>_live_eta_scale` and fills it with the scale data set (`demo.scale`: 50 pools on
eight sites; orders placed over 12 days at a rate that leaves about that many in the factory, their life
played up to now); `forecast_etas(now=...)` runs `--repeats` (3) times, the median printed.

`--quick` checks that the script works (its figures mean little): a 5-day window without warm-up, 12 days at most
after it, a tick every 15 factory minutes, one forecast size of 300 orders; about 5 minutes.
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

os.environ["DISPATCH_BACKGROUND_LOAD"] = "true"
os.environ.setdefault("LOG_LEVEL", "WARNING")

# year.py is pure Python (no Django): the demo pools, the calibration and the arrival generator.
import year
from _setup import django_on_bench_database

PRIORITIES = ("low", "normal", "high", "urgent")
POINTS = ("promise at acceptance", "ETA at acceptance", "ETA at 25 %", "ETA at 50 %", "ETA at 75 %")
TARGET_MEDIAN, TARGET_P90 = 0.05, 0.20
SCALE_POOLS = 50
# The scale data set plays orders placed over SCALE_SPAN_DAYS up to now: short enough that most are still in the
# factory, long enough that they stand at every stage. Placed per wanted active order (rejected, withdrawn,
# cancelled, not yet accepted and already finished ones are not in flight).
SCALE_SPAN_DAYS = 12
SCALE_PLACED_PER_ACTIVE = 1.19
DRAIN_MAX_DAYS = 240


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Tracked:
    """One order placed by the harness, and what happened to it."""

    order_id: int
    priority: str
    product_type: str
    size: str
    accepted_at: datetime
    promised_due: datetime
    in_window: bool
    ready_at: datetime | None = None
    etas: list[tuple[datetime, datetime]] = field(default_factory=list)  # (forecast instant, ETA)

    @property
    def lead_seconds(self) -> float:
        return (self.ready_at - self.accepted_at).total_seconds()

    def eta_after(self, moment: datetime) -> datetime | None:
        """The first forecast's ETA at or after ``moment``."""
        index = bisect.bisect_left(self.etas, (moment,))
        return self.etas[index][1] if index < len(self.etas) else None

    @classmethod
    def of(cls, order, *, product_type: str = "", size: str = "", in_window: bool = True) -> Tracked:
        """An order just accepted (its promise due as `order_due` counts it)."""
        from orders.quotes import promise_due

        due = promise_due(order.promised_delivery)
        return cls(order.pk, order.priority, product_type, size, order.accepted_at, due, in_window)

    def eta_at(self, moment: datetime) -> datetime | None:
        """The ETA the last forecast at or before ``moment`` wrote."""
        index = bisect.bisect_right(self.etas, (moment, datetime.max.replace(tzinfo=moment.tzinfo)))
        return self.etas[index - 1][1] if index else None


# --- Setting up the factory ------------------------------------------------------------------------------


def _user(username: str, role: str = ""):
    """A user of the harness (unusable password), in ``role``'s group if one is given."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user, created = get_user_model().objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def _clients() -> dict[int, tuple]:
    """year.py's client ids -> (organization, its client user): the generator numbers them sector by sector."""
    from orders.models import ClientMembership, ClientOrganization

    result, client_id = {}, 0
    for sector, (_share, count) in year.SECTORS.items():
        for rank in range(count):
            client_id += 1
            organization = ClientOrganization.objects.create(
                name=f"Live ETA {sector} client {rank + 1:02d}", sector=sector
            )
            user = _user(f"live-eta-client-{client_id:02d}")
            ClientMembership.objects.update_or_create(user=user, defaults={"organization": organization})
            result[client_id] = (organization, user)
    return result


# --- The live run ----------------------------------------------------------------------------------------


@dataclass
class LiveRun:
    tracked: dict[int, Tracked]
    placed: int
    window: tuple[datetime, datetime]
    start: datetime
    stopped_at: datetime
    tick_seconds: list[float]
    forecast_seconds: list[tuple[int, float]]  # (orders forecast, seconds)
    quote_seconds: list[float]
    utilization: dict[str, float]
    wall_seconds: float
    setup_lines: list[str]
    interrupted: bool
    drain_lines: list[str]


class Harness:
    def __init__(self, args):
        self.args = args
        self.tick = timedelta(minutes=args.tick_minutes)
        self.forecast_every = timedelta(minutes=args.forecast_minutes)

    @contextmanager
    def _factory(self, at: datetime) -> Iterator[None]:
        """Its people and the services it calls, with no query log (DEBUG keeps every query of a long run) and the
        factory clock held at ``at``: the harness steps it (``self.clock.at``)."""
        from django.test.utils import override_settings

        from dispatch import forecast
        from dispatch import services as dispatch_services
        from factory import clock, roles

        with override_settings(DEBUG=False), clock.held(at) as self.clock:
            self.operations = _user("live-eta-operations", roles.OPERATIONS)
            self.reviewer = _user("live-eta-reviewer", roles.SECURITY)
            self.forecast, self.dispatch = forecast, dispatch_services
            yield

    def run(self) -> LiveRun:
        from demo.scale.build import factory_empty
        from demo.story.build import create_pools

        args = self.args
        wall = time.perf_counter()
        pools, seeds = year.demo_pools()
        calibration = year.calibrate(pools, seeds, models_per_year=args.models)
        self.start = year.YEAR_START - timedelta(days=args.warmup)
        self.window = (year.YEAR_START, year.YEAR_START + timedelta(days=args.days))
        self.cap = self.window[1] + timedelta(days=args.max_cooldown)
        arrivals = year.generate_orders(
            seed=args.seed,
            start=self.start,
            days=args.warmup + args.days + args.max_cooldown,
            calibration=calibration,
        )
        with self._factory(self.start):
            factory_empty(restart_ids=True)
            create_pools()
            self.clients = _clients()
            setup_lines = self._setup_lines(calibration, arrivals)
            for line in setup_lines:
                log(line)
            self._loop(arrivals)
            utilization = self._utilization()
            self.drain_lines = self._drain() if args.drain and not self.interrupted else []
        return LiveRun(
            tracked=self.tracked,
            placed=self.placed,
            window=self.window,
            start=self.start,
            stopped_at=self.clock.at,
            tick_seconds=self.tick_seconds,
            forecast_seconds=self.forecast_seconds,
            quote_seconds=self.quote_seconds,
            utilization=utilization,
            wall_seconds=time.perf_counter() - wall,
            setup_lines=setup_lines,
            interrupted=self.interrupted,
            drain_lines=self.drain_lines,
        )

    def drain_only(self) -> list[str]:
        """The closed-world check alone, on the database a live run left."""
        from dispatch.models import DispatchState

        state = DispatchState.objects.filter(pk=1).first()
        if state is None or state.last_tick_at is None:
            raise SystemExit("--drain-only needs the database a live run left (none has ticked yet)")
        with self._factory(state.last_tick_at):
            return self._drain()

    def _drain(self) -> list[str]:
        """No more arrivals: one forecast now, then the factory runs until every order in it is delivered.

        With nothing arriving later, what the forecast cannot know is gone: the ETA should be what happens,
        and whatever error is left is the engine's (the forecast's model of the tick, the gates, the pools).
        """
        from orders import selectors as order_selectors

        moment = self.clock.at
        wall = time.perf_counter()
        self.tracked = {order.pk: Tracked.of(order) for order in order_selectors.orders_in_flight()}
        log(f"closed world from {moment:%Y-%m-%d %H:%M}: {len(self.tracked)} orders in the factory, no more arrivals")
        self.start, self.window, self.cap = moment, (moment, moment), moment + timedelta(days=DRAIN_MAX_DAYS)
        self.forecast_every = timedelta(days=100 * DRAIN_MAX_DAYS)  # one forecast, at the start
        self.cohort_left = len(self.tracked)
        self.placed, self.tick_seconds, self.forecast_seconds = 0, [], []
        self.wall0 = wall
        self._steps([], set(), moment)
        rows = defaultdict(list)
        for tracked in self.tracked.values():
            eta = tracked.eta_after(moment)
            if tracked.ready_at is None or eta is None:
                continue
            left = (tracked.ready_at - moment).total_seconds()
            error = (eta - tracked.ready_at).total_seconds()
            for key in (tracked.priority, "all"):
                rows[key].append((error / 3600, error / left if left else 0.0))
        delivered = len(rows["all"])
        lines = [
            f"closed world (no arrival after {moment:%Y-%m-%d %H:%M}; one forecast then, the factory run until "
            f"{self.clock.at:%Y-%m-%d %H:%M}, {time.perf_counter() - wall:.0f} s): {len(self.tracked)} orders in "
            f"flight, {delivered} delivered, {len(self.tracked) - delivered} not",
            "  (ETA - actual): median / p90 of |error| as a share of the time left, median signed in hours, worst",
        ]
        for key in (*PRIORITIES, "all"):
            if rows[key]:
                shares = [abs(share) for _hours, share in rows[key]]
                hours = [h for h, _share in rows[key]]
                worst = max(hours, key=abs)
                lines.append(
                    f"  {key:>6}: {len(shares):3d} orders, {statistics.median(shares):5.1%} / "
                    f"{percentile(shares, 0.9):5.1%}, {statistics.median(hours):+7.1f} h, worst {worst:+7.1f} h"
                )
        for line in lines:
            log(line)
        return lines

    def _setup_lines(self, calibration, arrivals) -> list[str]:
        from django.conf import settings

        from dispatch.models import ComputePool

        pools = list(ComputePool.objects.all())
        capacity = sum(float(pool.capacity_pflops) for pool in pools)
        y0, y1 = self.window
        in_window = [a for a in arrivals if y0 <= a.plan.arrival < y1]
        return [
            f"pools: {len(pools)} demo pools, {capacity:,.0f} PFLOPS dispatchable, background load "
            f"{'on' if settings.DISPATCH_BACKGROUND_LOAD else 'OFF'}",
            f"arrivals: bench/year.py's generator, seed {self.args.seed}, {calibration.orders_per_year:.0f} orders a "
            f"year ({self.args.models:.0f} vertical models), offering "
            + ", ".join(f"{kind} {share:.0%}" for kind, share in calibration.offered.items())
            + " of the room left by background",
            f"window: {self.args.warmup:g} days of warm-up from {self.start:%Y-%m-%d}, then {self.args.days:g} days "
            f"{y0:%Y-%m-%d} .. {y1:%Y-%m-%d} ({len(in_window)} orders arrive in it); arrivals go on until every "
            f"one is delivered, at most until {self.cap:%Y-%m-%d}",
            f"clock: a dispatch tick every {self.args.tick_minutes:g} factory minutes, a forecast every "
            f"{self.args.forecast_minutes:g} (beat's {settings.CELERY_BEAT_SCHEDULE['dispatch-tick']['schedule']:g} s "
            f"and {settings.CELERY_BEAT_SCHEDULE['forecast-etas']['schedule']:g} s at the demo clock's 60x); gates "
            f"released {settings.GATE_REVIEW_HOURS} h after their work is done",
        ]

    # The events between ticks: arrivals and gate releases, in time order (kind breaks ties: releases first).
    ARRIVAL, RELEASE = 1, 0

    def _loop(self, arrivals) -> None:
        self.tracked: dict[int, Tracked] = {}
        self.placed = 0
        self.tick_seconds: list[float] = []
        self.forecast_seconds: list[tuple[int, float]] = []
        self.quote_seconds: list[float] = []
        events: list[tuple] = []
        for index, arrival in enumerate(arrivals):
            heapq.heappush(events, (arrival.plan.arrival, self.ARRIVAL, index, arrival))
        scheduled: set[int] = set()
        self.cohort_left = sum(1 for a in arrivals if self.window[0] <= a.plan.arrival < self.window[1])
        self.interrupted = False
        moment = self.start
        try:
            self._steps(events, scheduled, moment)
        except KeyboardInterrupt:
            # Interrupted (Ctrl-C): the figures of the orders delivered so far are still printed, marked as such.
            self.interrupted = True
            log("interrupted: figures of the orders delivered so far")

    def _steps(self, events: list, scheduled: set[int], moment: datetime) -> None:
        from django.conf import settings

        from orders.models import OrderStage, StageStatus

        next_forecast = moment
        next_report = moment + timedelta(days=7)
        while True:
            while events and events[0][0] <= moment:
                at, kind, _index, payload = heapq.heappop(events)
                self.clock.at = at
                if kind == self.ARRIVAL:
                    self._place(payload)
                else:
                    self._release(payload)
            self.clock.at = moment
            started = time.perf_counter()
            self.dispatch.dispatch_tick(now=moment)
            self.tick_seconds.append(time.perf_counter() - started)
            waiting = OrderStage.objects.filter(status=StageStatus.AWAITING_REVIEW).values_list(
                "pk", "finished_at", "order_id"
            )
            for stage_id, finished_at, _order_id in waiting:
                if stage_id not in scheduled:
                    scheduled.add(stage_id)
                    release = finished_at + timedelta(hours=float(settings.GATE_REVIEW_HOURS))
                    heapq.heappush(events, (release, self.RELEASE, stage_id, stage_id))
            if moment >= next_forecast:
                # Nothing reads an ETA back (not the tick, not a quote): before the window, no forecast is needed.
                if moment >= self.window[0]:
                    self._forecast(moment)
                next_forecast += self.forecast_every
            if moment >= next_report:
                self._progress(moment)
                next_report += timedelta(days=7)
            if moment >= self.window[1] and self.cohort_left == 0:
                break
            if moment >= self.cap:
                break
            moment += self.tick

    def _place(self, arrival) -> None:
        from django.utils import timezone

        from orders import services as order_services

        plan = arrival.plan
        organization, client_user = self.clients[plan.client_id]
        priority = year.PRIORITY_NAMES[plan.priority]
        requested = max(timezone.localdate(plan.deadline), timezone.localdate(plan.arrival) + timedelta(days=1))
        started = time.perf_counter()
        order = order_services.order_submit(
            client=organization,
            actor=self.operations if priority == "urgent" else client_user,
            title=f"{arrival.product_type} ({arrival.size}) #{plan.order_id}",
            product_type=arrival.product_type,
            sector=organization.sector,
            requirements="",
            data_sensitivity="sensitive" if plan.sensitive else "internal",
            size=arrival.size,
            priority=priority,
            requested_delivery=requested,
        )
        self.quote_seconds.append(time.perf_counter() - started)
        order = order_services.order_accept(order=order, actor=self.operations)
        order = order_services.order_start_production(order=order, actor=self.operations)
        self.placed += 1
        in_window = self.window[0] <= order.accepted_at < self.window[1]
        self.tracked[order.pk] = Tracked.of(
            order, product_type=arrival.product_type, size=arrival.size, in_window=in_window
        )

    def _release(self, stage_id: int) -> None:
        from orders import services as order_services
        from orders.models import Order, OrderStage, OrderStatus

        stage = OrderStage.objects.select_related("order").get(pk=stage_id)
        order_services.stage_release_gate(stage=stage, actor=self.reviewer, note="Released by the benchmark.")
        order = Order.objects.get(pk=stage.order_id)
        if order.status == OrderStatus.READY:
            order_services.order_deliver(order=order, actor=self.operations)
            tracked = self.tracked.get(order.pk)
            if tracked is not None:
                tracked.ready_at = self.clock.at
                if tracked.in_window:
                    self.cohort_left -= 1

    def _forecast(self, moment: datetime) -> None:
        from orders.models import IN_FLIGHT_STATUSES, Order

        started = time.perf_counter()
        report = self.forecast.forecast_etas(now=moment)
        self.forecast_seconds.append((report.orders, time.perf_counter() - started))
        for order_id, eta in Order.objects.filter(status__in=IN_FLIGHT_STATUSES).values_list("pk", "eta"):
            tracked = self.tracked.get(order_id)
            if tracked is not None and eta is not None:
                tracked.etas.append((moment, eta))

    def _progress(self, moment: datetime) -> None:
        in_flight = sum(1 for t in self.tracked.values() if t.ready_at is None)
        delivered = [t for t in self.tracked.values() if t.in_window and t.ready_at is not None]
        errors = [
            abs((eta - t.ready_at).total_seconds()) / t.lead_seconds
            for t in delivered
            if (eta := t.eta_after(t.accepted_at)) is not None
        ]
        ticks = self.tick_seconds[-int(timedelta(days=7) / self.tick) :]
        forecasts = self.forecast_seconds[-int(timedelta(days=7) / self.forecast_every) :]
        forecast = (
            f"forecast {statistics.fmean(s for _n, s in forecasts) * 1000:.0f} ms ({forecasts[-1][0]} orders)"
            if forecasts
            else "no forecast yet"
        )
        so_far = (
            f"; ETA at acceptance so far: median {statistics.median(errors):.1%}, p90 {percentile(errors, 0.9):.1%}"
            if errors
            else ""
        )
        log(
            f"day {(moment - self.start).total_seconds() / 86400:5.1f} ({moment:%Y-%m-%d}): {self.placed} placed, "
            f"{in_flight} in the factory; window: {len(delivered)} delivered, {self.cohort_left} to go{so_far} | "
            f"this week: tick {statistics.fmean(ticks) * 1000:.0f} ms, {forecast} | "
            f"wall {time.perf_counter() - self.wall0:.0f} s"
        )

    def _utilization(self) -> dict[str, float]:
        """Our PFLOPS·h over the room the background leaves, per kind, from the samples of the window's ticks."""
        from django.db.models import Count, Sum

        from dispatch.models import ComputePool, UtilizationSample

        y0, y1 = self.window
        rows = (
            UtilizationSample.objects.filter(at__gte=y0, at__lt=y1)
            .values("pool_id")
            .annotate(used=Sum("used_pflops"), n=Count("id"))
        )
        used = {row["pool_id"]: float(row["used"] or 0) for row in rows}
        times = sorted(set(UtilizationSample.objects.filter(at__gte=y0, at__lt=y1).values_list("at", flat=True)))
        by_kind_used, by_kind_room = defaultdict(float), defaultdict(float)
        for pool in ComputePool.objects.all():
            capacity = float(pool.capacity_pflops)
            by_kind_used[pool.kind] += used.get(pool.pk, 0.0)
            by_kind_room[pool.kind] += sum(capacity - self.dispatch.pool_background(pool, at) for at in times)
        result = {kind: by_kind_used[kind] / by_kind_room[kind] for kind in by_kind_room if by_kind_room[kind]}
        total_room = sum(by_kind_room.values())
        result["all"] = sum(by_kind_used.values()) / total_room if total_room else 0.0
        return result


# --- Figures ---------------------------------------------------------------------------------------------


def eta_errors(run: LiveRun) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """point -> priority -> [(|error|, signed error)] as shares of the lead time, for the window's delivered orders."""
    result = {point: defaultdict(list) for point in POINTS}
    for tracked in run.tracked.values():
        if not tracked.in_window or tracked.ready_at is None:
            continue
        lead = tracked.lead_seconds
        actual = tracked.ready_at
        moments = {
            POINTS[0]: tracked.promised_due,
            POINTS[1]: tracked.eta_after(tracked.accepted_at),
        }
        for share, point in zip((0.25, 0.5, 0.75), POINTS[2:], strict=True):
            moments[point] = tracked.eta_at(tracked.accepted_at + timedelta(seconds=lead * share))
        for point, eta in moments.items():
            if eta is None:
                continue
            signed = (eta - actual).total_seconds() / lead
            result[point][tracked.priority].append((abs(signed), signed))
            result[point]["all"].append((abs(signed), signed))
    return result


def print_live(run: LiveRun) -> None:
    from django.utils import timezone

    from dispatch.models import Preemption

    for line in run.setup_lines:
        print(line)
    if run.interrupted:
        print("INTERRUPTED: the figures below are those of the orders delivered before the run was stopped")
    window = [t for t in run.tracked.values() if t.in_window]
    delivered = [t for t in window if t.ready_at is not None]
    on_time = sum(1 for t in delivered if timezone.localdate(t.ready_at) <= timezone.localdate(t.promised_due))
    print(
        f"ran {(run.stopped_at - run.start).total_seconds() / 86400:.1f} factory days ({run.start:%Y-%m-%d} .. "
        f"{run.stopped_at:%Y-%m-%d}): {run.placed} orders placed, {len(window)} of them accepted in the window, "
        f"{len(delivered)} delivered, {len(window) - len(delivered)} unfinished when the run stopped (left out); "
        f"{on_time} of the delivered on or before their promised date ({on_time / max(len(delivered), 1):.0%}); "
        f"{Preemption.objects.count()} preemptions"
    )
    util = run.utilization
    print(
        f"utilization in the window (our PFLOPS·h / room left by background): {util.get('all', 0):.1%} ("
        + ", ".join(f"{kind} {share:.1%}" for kind, share in util.items() if kind != "all")
        + ")"
    )
    leads = defaultdict(list)
    for t in delivered:
        leads[t.product_type].append(t.lead_seconds / 86400)
    print(
        "mean lead time (days): "
        + ", ".join(f"{p} {statistics.fmean(v):.1f} ({len(v)})" for p, v in sorted(leads.items()))
    )
    ticks = sorted(run.tick_seconds)
    forecasts = sorted(s for _n, s in run.forecast_seconds)
    sizes = [n for n, _s in run.forecast_seconds]
    print(
        f"wall time of the live run {run.wall_seconds:.0f} s: {len(ticks):,} ticks, median "
        f"{statistics.median(ticks) * 1000:.0f} ms, p95 {percentile(ticks, 0.95) * 1000:.0f} ms"
    )
    if forecasts:
        print(
            f"  {len(forecasts):,} forecasts of {statistics.median(sizes):.0f} orders (median; max {max(sizes)}), "
            f"median {statistics.median(forecasts) * 1000:.0f} ms, p95 {percentile(forecasts, 0.95) * 1000:.0f} ms"
        )
    if run.quote_seconds:
        print(
            f"  {len(run.quote_seconds)} orders placed (order_submit with its queue-aware quote), median "
            f"{statistics.median(run.quote_seconds) * 1000:.0f} ms"
        )
    print()
    errors = eta_errors(run)
    columns = (*PRIORITIES, "all")

    def table(cell) -> None:
        """A row per point, a column per priority: ``cell`` of the (|error|, signed error) pairs, "-" for none."""
        for point in POINTS:
            cells = [cell(errors[point][column]) if errors[point][column] else "-" for column in columns]
            print(f"{point:<24}" + "".join(f"{text:>22}" for text in cells))

    print("|ETA - actual delivery| / actual lead time, median / p90 (orders)")
    print(f"{'':<24}" + "".join(f"{column:>22}" for column in columns))
    table(
        lambda pairs: (
            f"{statistics.median(a for a, _s in pairs):6.1%} / {percentile([a for a, _s in pairs], 0.9):6.1%} "
            f"({len(pairs):3d})"
        )
    )
    print("signed (ETA - actual) / lead time, median (negative: the order was delivered later than told)")
    table(lambda pairs: f"{statistics.median(s for _a, s in pairs):+7.1%}")
    print()
    all_met = True
    for priority in PRIORITIES:
        values = [abs_error for abs_error, _signed in errors[POINTS[1]][priority]]
        if not values:
            print(f"target at acceptance, {priority}: no order delivered (not met)")
            all_met = False
            continue
        median, p90 = statistics.median(values), percentile(values, 0.9)
        met = median <= TARGET_MEDIAN and p90 <= TARGET_P90
        all_met &= met
        print(
            f"target at acceptance, {priority:>6}: median {median:5.1%} <= {TARGET_MEDIAN:.0%} and p90 {p90:5.1%} <= "
            f"{TARGET_P90:.0%}: {'met' if met else 'NOT met'}"
        )
    print(f"targets at acceptance, every priority: {'met' if all_met else 'NOT met'}")
    if run.drain_lines:
        print()
        for line in run.drain_lines:
            print(line)


def dump(run: LiveRun, path: str) -> None:
    import json

    rows = [
        {
            "order": t.order_id,
            "priority": t.priority,
            "product_type": t.product_type,
            "size": t.size,
            "in_window": t.in_window,
            "accepted": t.accepted_at.isoformat(),
            "promised_due": t.promised_due.isoformat(),
            "ready": t.ready_at.isoformat() if t.ready_at else None,
            "etas": [[at.isoformat(), eta.isoformat()] for at, eta in t.etas],
        }
        for t in run.tracked.values()
    ]
    with open(path, "w") as out:
        json.dump(rows, out)


# --- The forecast on larger states -----------------------------------------------------------------------


def forecast_at_scale(size: int, seed: int, repeats: int) -> str:
    """Runs in a process of its own, on `<name>_live_eta_scale`: a state of about ``size`` active orders, timed."""
    from django.test.utils import override_settings

    from demo.scale.build import Options, scale_data_build
    from dispatch import forecast
    from dispatch.models import WAITING_STATES, ComputePool, Job, JobState
    from factory import clock
    from orders import selectors as order_selectors

    with override_settings(DEBUG=False), clock.held(year.YEAR_START + timedelta(days=200, hours=3)) as moment:
        started = time.perf_counter()
        placed = round(size * SCALE_PLACED_PER_ACTIVE)
        per_year = round(placed * 365 / SCALE_SPAN_DAYS)
        wanted = Options(orders=placed, jobs=placed * 4, pools=SCALE_POOLS, days=1, per_year=per_year, seed=seed)
        scale_data_build(wanted, reset=True)
        built = time.perf_counter() - started
        in_flight = len(order_selectors.orders_in_flight())
        running = Job.objects.filter(state=JobState.RUNNING).count()
        waiting = Job.objects.filter(state__in=WAITING_STATES).count()
        capacity = sum(float(pool.capacity_pflops) for pool in ComputePool.objects.all())
        log(f"{in_flight:,} active orders built in {built:.0f} s; timing the forecast")
        times, reports = [], []
        for _ in range(repeats):
            started = time.perf_counter()
            reports.append(forecast.forecast_etas(now=moment.at))
            times.append(time.perf_counter() - started)
            log(f"  forecast of {reports[-1].orders:,} orders: {times[-1]:.1f} s")
    return (
        f"forecast_etas, {in_flight:,} active orders ({running:,} jobs running, {waiting:,} waiting; "
        f"{ComputePool.objects.count()} pools, {capacity:,.0f} PFLOPS; scale data set of {placed:,} orders at "
        f"{per_year:,} a year, built in {built:.0f} s): median of {len(times)} {statistics.median(times):.1f} s ("
        + ", ".join(f"{t:.1f}" for t in times)
        + f"; the first wrote {reports[0].updated:,} ETAs)"
    )


def scale_in_child(size: int, seed: int, repeats: int) -> str:
    """One process per size, as bench/pages.py does: Django is set up once per process, on the scale database."""
    command = [sys.executable, os.path.abspath(__file__), "--scale-child", str(size), "--seed", str(seed)]
    command += ["--repeats", str(repeats)]
    run = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)  # noqa: S603 - our own script
    if run.returncode != 0:
        return f"forecast at {size:,} active orders: FAILED (exit {run.returncode}; see above)"
    return run.stdout.strip().splitlines()[-1]


# --- Main ------------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=float, default=60, help="days of arrivals measured (default 60)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the arrivals (default 1)")
    parser.add_argument("--warmup", type=float, default=30, help="days of arrivals before the window (default 30)")
    parser.add_argument(
        "--max-cooldown", type=float, default=120, help="days after the window at most, waiting for its orders"
    )
    parser.add_argument("--models", type=float, default=800, help="vertical models arriving per year (default 800)")
    parser.add_argument("--tick-minutes", type=float, default=15, help="factory minutes between ticks (default 15)")
    parser.add_argument("--forecast-minutes", type=float, default=60, help="factory minutes between forecasts")
    parser.add_argument(
        "--sizes", type=int, nargs="*", help="active orders of the timed forecasts (default 1000 5000; none: skip)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="forecasts timed at each size (default 3)")
    parser.add_argument("--skip-live", action="store_true", help="only time the forecast at --sizes")
    parser.add_argument("--dump", help="write every tracked order and its ETAs to this JSON file")
    parser.add_argument("--drain", action="store_true", help="then the closed-world check (no more arrivals)")
    parser.add_argument(
        "--drain-only", action="store_true", help="only the closed-world check, on the last run's database"
    )
    parser.add_argument("--quick", action="store_true", help="a short run that checks the script works")
    parser.add_argument("--scale-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scale_child:
        django_on_bench_database("live_eta_scale")
        print(forecast_at_scale(args.scale_child, args.seed, args.repeats))
        return
    if args.quick:
        args.days, args.warmup, args.max_cooldown, args.tick_minutes = 5, 0, 12, 15
    if args.sizes is None:
        args.sizes = [300] if args.quick else [1000, 5000]
    total = time.perf_counter()
    # A quick check has a database of its own: it does not empty the one a long run may be using.
    database = django_on_bench_database("live_eta_quick" if args.quick else "live_eta")
    print(f"database {database}; " + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()))
    if args.drain_only:
        for line in Harness(args).drain_only():
            print(line)
    elif not args.skip_live:
        harness = Harness(args)
        harness.wall0 = total
        run = harness.run()
        print_live(run)
        if args.dump:
            dump(run, args.dump)
    if args.sizes:
        print()
    for size in args.sizes:
        print(scale_in_child(size, args.seed, args.repeats), flush=True)
    print(f"total wall time {time.perf_counter() - total:.0f} s")


if __name__ == "__main__":
    main()

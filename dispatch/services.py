"""Every state change of the dispatch center: pool states, priorities, budgets and the dispatch tick.

The tick brings simulated compute up to the factory clock: running jobs advance, finished ones
report to orders (through orders' services), ready steps become jobs, and the planner places
queued jobs. It holds a Postgres advisory lock, so ticks running twice or concurrently queue up
instead of double-counting; the database checks on pools and jobs back the invariants.

**One lock order**, kept by every service here and by the tick:

1. the dispatch lock (a transaction-scoped Postgres advisory lock, `hold_dispatch_lock`): every change to
   pools or jobs takes it first. The tick tries it and skips its turn while it is taken;
2. then pools, then jobs;
3. then orders, each before its own stages and steps (orders' services keep this part:
   `orders.services._lock`; the bulk step services, `steps_finish` and `steps_mark_*`, lock their orders
   first, in ascending id, then their stages and steps).

Why jobs before orders rather than the other way round: the tick only learns which orders it touches
from the jobs it advances and places, and locking every order in production up front would cost a write
per order per tick. The dispatch lock makes the order safe: every writer of pools and jobs holds it, so
only one of them at a time holds any pool, job or several orders; orders' own services (which cannot know
jobs) lock one order and its rows, and never wait for a pool or a job while holding an order. A deadlock
or serialization failure that still happens is retried (`factory.db.atomic_with_retry`), and refused as
busy after a few tries, never shown as a database outage.
"""

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Avg, Count, DateTimeField, DurationField, ExpressionWrapper, F, Min, Q, Sum, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import PoolKind
from dispatch import notices, permissions
from dispatch.engine import planner, policy
from dispatch.engine.plans import PoolChange, Window
from dispatch.engine.policy import PRIORITY_RANK
from dispatch.errors import DispatchInvalid, PoolTransitionNotAllowed, ReservationConflict, ScenarioStateConflict
from dispatch.executors import slurm
from dispatch.models import (
    ACTIVE_STATES,
    BOOKING_IN_EFFECT,
    PENDING_POOL_CHANGE,
    RUN_GOING_STATES,
    SCENARIO_CHANGES_MAX,
    SCENARIO_HORIZON_DAYS_MAX,
    WAITING_STATES,
    WINDOW_STATES,
    ChangeKind,
    ClientBudget,
    ClientEntitlement,
    ComputePool,
    ComputeSite,
    Connection,
    DailyCost,
    DispatchState,
    Executor,
    Job,
    JobState,
    PoolState,
    PoolStateChange,
    Preemption,
    QueueSample,
    Reservation,
    ReservationKind,
    RunState,
    Scenario,
    ScenarioRun,
    ScheduledPoolChange,
    UtilizationSample,
)
from dispatch.scenario_changes import CAPACITY_MAX, PROMOTABLE_KINDS, ScenarioChangeInvalid, clean_change
from factory import clock, submissions
from factory.dates import moment_words
from factory.db import atomic_with_retry, bulk_update_rows
from factory.limits import NAME_MAX, NOTE_MAX, clean_text
from orders import selectors as order_selectors
from orders import services as order_services
from orders.models import (
    IN_FLIGHT_STATUSES,
    ClientOrganization,
    DataSensitivity,
    Order,
    OrderStatus,
    OrderStep,
    StageStatus,
    StepStatus,
)
from orders.quotes import promise_due

logger = logging.getLogger(__name__)

# Arbitrary, fixed: the key of the dispatch lock, the Postgres advisory lock that serializes ticks and every
# other change to pools and jobs.
TICK_LOCK_KEY = 74_200_001
BUDGET_EXCEEDED = "budget_exceeded"


# --- Pools ---------------------------------------------------------------------------------------

POOL_TRANSITIONS = {
    "drain": (PoolState.DRAINING, (PoolState.ACTIVE,)),
    "offline": (PoolState.OFFLINE, (PoolState.ACTIVE, PoolState.DRAINING)),
    "activate": (PoolState.ACTIVE, (PoolState.DRAINING, PoolState.OFFLINE)),
}


def _reason(value, *, required: str) -> str:
    """Why a person acts (kept with what they did): a text they must give, `required` saying so."""
    return clean_text(value, field="reason", maximum=NOTE_MAX, invalid=DispatchInvalid, required=required)


def hold_dispatch_lock() -> None:
    """Wait for the dispatch lock; it is held to the end of the transaction (see the lock order above)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [TICK_LOCK_KEY])


@atomic_with_retry
def pool_change_state(*, pool: ComputePool, action: str, actor, reason: str) -> ComputePool:
    """Drain (finish running jobs, take no new ones), take offline (running jobs requeue) or activate a pool."""
    permissions.check_pool_action(actor)
    reason = _reason(reason, required=_("Say why the pool's state changes."))
    target, allowed_from = POOL_TRANSITIONS[action]
    hold_dispatch_lock()
    pool = ComputePool.objects.select_for_update().get(pk=pool.pk)
    if pool.state not in allowed_from:
        raise PoolTransitionNotAllowed(
            _("Pool %(pool)s is %(state)s: it cannot be made %(target)s.")
            % {"pool": pool.name, "state": pool.get_state_display(), "target": PoolState(target).label}
        )
    now = clock.now()
    _set_pool_state(pool, target, now=now, actor=actor, reason=reason)
    if target == PoolState.OFFLINE:
        _requeue_jobs_of(pool, now=now)
    _end_windows_under_way(pool, now=now)
    return pool


def _end_windows_under_way(pool: ComputePool, *, now: datetime) -> None:
    """A person (or a change they scheduled) who sets the state of a pool closed for maintenance takes it over: the
    window under way ends now, so its end does not undo the change, and the tick and the forecast both see the pool
    as it was left."""
    Reservation.objects.filter(
        pool=pool, kind=ReservationKind.MAINTENANCE, began_at__isnull=False, ended_at__isnull=True
    ).update(ended_at=now)


def _requeue(job: Job, *, now: datetime) -> None:
    """Back to the queue with its progress, queued again from now (as a preempted job is). On a real cluster its run
    is cancelled by the next tick's reconciliation (dispatch.executors.slurm)."""
    job.state, job.pool, job.queued_at, job.backfilled, job.cluster_job_id = JobState.PREEMPTED, None, now, False, None


REQUEUED_FIELDS = ["state", "pool", "queued_at", "backfilled", "cluster_job_id"]


def _requeue_jobs_of(pool: ComputePool, *, now: datetime) -> None:
    """An offline pool runs nothing: its jobs go back to the queue with their progress, queued again from now
    (as a preempted job is), so their wait counts from here and not from when they first queued."""
    jobs = list(Job.objects.select_for_update().filter(pool=pool, state=JobState.RUNNING))
    for job in jobs:
        _requeue(job, now=now)
    Job.objects.bulk_update(jobs, REQUEUED_FIELDS)
    order_services.steps_mark_ready(step_ids=[job.step_id for job in jobs])
    pool.used_pflops = Decimal(0)
    pool.save(update_fields=["used_pflops"])


# --- Reservations and maintenance windows --------------------------------------------------------

# As far ahead as a pool's time may be booked: as far as a what-if scenario looks.
BOOKING_AHEAD_MAX = timedelta(days=SCENARIO_HORIZON_DAYS_MAX)


def _moment(value, *, field: str) -> datetime:
    if not isinstance(value, datetime) or timezone.is_naive(value):
        raise DispatchInvalid(_("Give a date and time with its time zone."), field=field)
    return value


def _booking_span(start, end, *, now: datetime) -> tuple[datetime, datetime]:
    """A booking's [start, end); a start already passed books from now on (the tick acts on it at once), so that
    what is booked never reaches back over bookings that are over."""
    start, end = _moment(start, field="start"), _moment(end, field="end")
    if end <= start:
        raise DispatchInvalid(_("The end must come after the start."), field="end")
    if end <= now:
        raise DispatchInvalid(_("The end has already passed on the factory clock."), field="end")
    if start > now + BOOKING_AHEAD_MAX:
        raise DispatchInvalid(_("Book at most 365 days ahead."), field="start")
    return max(start, now), end


def _span_words(booking) -> str:
    return f"{moment_words(booking.start)} \u2013 {moment_words(booking.end)}"


def _booking_words(booking: Reservation) -> str:
    """A booking named in a conflict: what it is, whose, how much and when."""
    if booking.kind == ReservationKind.MAINTENANCE:
        return _("maintenance window #%(id)d, pool %(state)s (%(span)s)") % {
            "id": booking.pk,
            "state": PoolState(booking.closes_to).label.lower(),
            "span": _span_words(booking),
        }
    owner = booking.order.reference if booking.order_id else booking.client.name
    return _("reservation #%(id)d for %(owner)s: %(pflops)s PFLOPS, %(span)s") % {
        "id": booking.pk,
        "owner": owner,
        "pflops": booking.pflops,
        "span": _span_words(booking),
    }


def _peak_held(bookings: list[Reservation], start: datetime, end: datetime) -> tuple[Decimal, datetime, list]:
    """The most PFLOPS the reservations hold at one instant of [start, end), that instant and who holds it then."""
    peak, at, holders = Decimal(0), start, []
    for instant in sorted({start} | {b.start for b in bookings if start < b.start < end}):
        holding = [b for b in bookings if b.start <= instant < b.end]
        held = sum((b.pflops for b in holding), Decimal(0))
        if held > peak:
            peak, at, holders = held, instant, holding
    return peak, at, holders


def _check_booking_conflicts(
    *, kind: str, pool: ComputePool, start, end, pflops, others: list[Reservation], capacity: Decimal
) -> None:
    windows = [b for b in others if b.kind == ReservationKind.MAINTENANCE]
    reservations = [b for b in others if b.kind == ReservationKind.RESERVATION]
    if kind == ReservationKind.MAINTENANCE:
        if windows or reservations:
            raise ReservationConflict(
                _("Pool %(pool)s is already booked then: %(conflict)s. Cancel it first or choose other times.")
                % {"pool": pool.name, "conflict": "; ".join(_booking_words(b) for b in windows + reservations)}
            )
        return
    if windows:
        raise ReservationConflict(
            _("Pool %(pool)s is closed then: %(conflict)s. Room held in it could not be used.")
            % {"pool": pool.name, "conflict": "; ".join(_booking_words(b) for b in windows)}
        )
    peak, at, holders = _peak_held(reservations, start, end)
    if peak + pflops > capacity:
        raise ReservationConflict(
            _(
                "Pool %(pool)s has %(capacity)s PFLOPS then: at %(at)s this would hold %(total)s, with %(conflict)s. "
                "Hold less, or choose other times or another pool."
            )
            % {
                "pool": pool.name,
                "capacity": capacity,
                "at": moment_words(at),
                "total": peak + pflops,
                "conflict": "; ".join(_booking_words(b) for b in holders),
            }
        )


def _positive_pflops(value, *, field: str, not_a_number: str, not_positive: str) -> Decimal:
    """`value` as PFLOPS to the hundredth, above 0; else a field error with the caller's words."""
    try:
        pflops = Decimal(str(value)).quantize(Decimal("0.01"))
    except (ArithmeticError, ValueError, TypeError):
        raise DispatchInvalid(not_a_number, field=field) from None
    if not pflops.is_finite() or pflops <= 0:
        raise DispatchInvalid(not_positive, field=field)
    return pflops


def _held_pflops(value, pool: ComputePool) -> Decimal:
    pflops = _positive_pflops(
        value,
        field="pflops",
        not_a_number=_("Give the PFLOPS to hold as a number."),
        not_positive=_("Hold more than 0 PFLOPS."),
    )
    if pflops > pool.capacity_pflops:
        raise DispatchInvalid(
            _("Pool %(pool)s has only %(capacity)s PFLOPS.") % {"pool": pool.name, "capacity": pool.capacity_pflops},
            field="pflops",
        )
    return pflops


def _booking_owner(client, order, pool: ComputePool) -> tuple[ClientOrganization, Order | None]:
    """Whose room a reservation holds: one client's, or one order's (its client's, for its jobs alone, on a pool
    its jobs may run on)."""
    if order is not None:
        order = Order.objects.select_related("client").get(pk=order.pk)  # its status now, not as the caller read it
        if client is not None and client.pk != order.client_id:
            raise DispatchInvalid(_("The order is not this client's: name the client or the order."), field="client")
        if order.status not in IN_FLIGHT_STATUSES:
            raise DispatchInvalid(
                _("Order %(order)s is %(status)s: only accepted work runs.")
                % {"order": order.reference, "status": order.get_status_display()},
                field="order",
            )
        _check_order_may_use(order, pool)
        return order.client, order
    if client is None:
        raise DispatchInvalid(_("Name the client or the order the room is held for."), field="client")
    return client, None


def _check_order_may_use(order: Order, pool: ComputePool) -> None:
    """Room held for an order is room its jobs can use: a step still to run on the pool's kind, and for sensitive
    data a trusted pool in the province (the planner's residency rule)."""
    if not OrderStep.objects.filter(stage__order=order, pool_kind=pool.kind).exclude(status=StepStatus.DONE).exists():
        raise DispatchInvalid(
            _("Order %(order)s has no step left to run on a %(kind)s pool: its jobs could not use the room.")
            % {"order": order.reference, "kind": PoolKind(pool.kind).label.lower()},
            field="pool",
        )
    if order.data_sensitivity == DataSensitivity.SENSITIVE and not (pool.trusted and pool.site.in_province):
        raise DispatchInvalid(
            _("Order %(order)s has sensitive data: only a trusted pool in the province may run it.")
            % {"order": order.reference},
            field="pool",
        )


@atomic_with_retry
def reservation_create(
    *,
    actor,
    kind: str,
    pool: ComputePool,
    start: datetime,
    end: datetime,
    reason: str,
    pflops=None,
    client: ClientOrganization | None = None,
    order: Order | None = None,
    closes_to: str | None = None,
    promoted_from: ScenarioRun | None = None,
    submission_key: str | None = None,
) -> Reservation:
    """Book a pool's time ahead: hold `pflops` for a client or one order (a reservation), or close the whole pool
    (a maintenance window: `closes_to` offline, the default, or draining). Booking more than the pool's capacity at
    any instant (its scheduled capacity changes counted), room in a window, or a window over another booking is
    refused (409) naming what it conflicts with. The same `submission_key` again (a form sent twice, an API call
    retried) answers with the booking it made (factory.submissions)."""
    permissions.check_pool_booking(actor)
    if kind not in ReservationKind.values:
        raise DispatchInvalid(_("Choose a reservation or a maintenance window."), field="kind")
    reason = _reason(reason, required=_("Say why the time is booked."))
    now = clock.now()
    start, end = _booking_span(start, end, now=now)
    if kind == ReservationKind.RESERVATION:
        if closes_to:
            raise DispatchInvalid(_("A reservation leaves its pool open: only a window closes it."), field="closes_to")
        pflops = _held_pflops(pflops, pool)
        client, order = _booking_owner(client, order, pool)
        closes_to = ""
    elif pflops is not None or client is not None or order is not None:
        raise DispatchInvalid(
            _("A maintenance window closes the whole pool: give no PFLOPS, client or order."), field="kind"
        )
    else:
        closes_to = closes_to or PoolState.OFFLINE
        if closes_to not in dict(WINDOW_STATES):
            raise DispatchInvalid(_("A window takes its pool offline or drains it."), field="closes_to")
    request = {
        "kind": kind,
        "pool": pool,
        "start": start,
        "end": end,
        "pflops": pflops,
        "client": client,
        "order": order,
        "closes_to": closes_to,
        "reason": reason,
    }
    hold_dispatch_lock()

    def book(stamp: dict) -> Reservation:
        locked = ComputePool.objects.select_for_update().get(pk=pool.pk)
        others = list(
            Reservation.objects.filter(
                BOOKING_IN_EFFECT, pool=locked, cancelled_at__isnull=True, start__lt=end, end__gt=start
            )
            .exclude(ended_at__isnull=False)
            .select_related("client", "order")
        )
        capacity = _least_capacity(locked, start, end, scheduled=pool_changes_pending(pool=locked))
        _check_booking_conflicts(
            kind=kind, pool=locked, start=start, end=end, pflops=pflops, others=others, capacity=capacity
        )
        return Reservation.objects.create(
            **{**request, "pool": locked}, created_by=actor, created_at=now, promoted_from=promoted_from, **stamp
        )

    return submissions.create_once(
        Reservation, key=submission_key, owner={"created_by": actor}, request=request, create=book
    )


@atomic_with_retry
def reservation_cancel(*, reservation: Reservation, actor, reason: str) -> Reservation:
    """Cancel a booking that is not over; a maintenance window under way ends now and its pool comes back."""
    permissions.check_pool_booking(actor)
    reason = _reason(reason, required=_("Say why it is cancelled."))
    hold_dispatch_lock()
    booking = Reservation.objects.select_for_update().select_related("pool").get(pk=reservation.pk)
    now = clock.now()
    if booking.cancelled:
        raise ReservationConflict(_("It was already cancelled on %(at)s.") % {"at": moment_words(booking.cancelled_at)})
    if booking.end <= now or booking.ended_at is not None:
        raise ReservationConflict(_("It is over: it stays as the record of what was booked."))
    if booking.began_at is not None:
        _reopen(
            booking, now=now, actor=actor, reason=_("Maintenance window cancelled: %(reason)s") % {"reason": reason}
        )
    booking.cancelled_at, booking.cancelled_by, booking.cancel_reason = now, actor, reason
    booking.save(update_fields=["cancelled_at", "cancelled_by", "cancel_reason", "ended_at"])
    return booking


def _set_pool_state(pool: ComputePool, state: str, *, now: datetime, actor, reason: str) -> None:
    change = PoolStateChange.objects.create(
        pool=pool, at=now, from_state=pool.state, to_state=state, actor=actor, reason=reason
    )
    pool.state = state
    pool.save(update_fields=["state"])
    notices.tell_pool_state(change)


def _close_for_window(window: Reservation, pool: ComputePool, *, now: datetime) -> None:
    """The window begins: the pool goes offline, its running jobs back to the queue with their progress, or drains
    (its running jobs finish, nothing new starts)."""
    window.began_at, window.state_before = now, pool.state
    if planner.CLOSED_RANK[pool.state] < planner.CLOSED_RANK[window.closes_to]:
        reason = _("Maintenance window #%(id)d: %(reason)s") % {"id": window.pk, "reason": window.reason}
        _set_pool_state(pool, window.closes_to, now=now, actor=None, reason=reason)
        if window.closes_to == PoolState.OFFLINE:
            _requeue_jobs_of(pool, now=now)
    window.save(update_fields=["began_at", "state_before"])


def _reopen(window: Reservation, *, now: datetime, actor, reason: str) -> None:
    """The window ends: the pool returns to the state it had when it closed, unless someone changed it since."""
    window.ended_at = now
    pool = window.pool
    if pool.state == window.closes_to and window.state_before != window.closes_to:
        _set_pool_state(pool, window.state_before, now=now, actor=actor, reason=reason)


def bookings_in_force(now: datetime) -> list[Reservation]:
    """The reservations and maintenance windows not over at `now` (under way or to come) and in effect (not those
    held for an order no longer in flight), and the windows the tick closed a pool for that it has not reopened yet;
    by start. One query for the tick, the forecast and quotes."""
    return list(
        Reservation.objects.filter(BOOKING_IN_EFFECT, cancelled_at__isnull=True, ended_at__isnull=True)
        .filter(Q(end__gt=now) | Q(began_at__isnull=False))
        .order_by("start", "id")
    )


def _carry_out_windows(pools: dict[int, ComputePool], bookings: list[Reservation], now: datetime) -> None:
    """Close the pools whose maintenance window has begun and reopen those whose window has ended (the tick)."""
    for window in bookings:
        if window.kind != ReservationKind.MAINTENANCE:
            continue
        window.pool = pools[window.pool_id]
        if window.began_at is None and window.start <= now < window.end:
            _close_for_window(window, window.pool, now=now)
        elif window.began_at is not None and window.end <= now:
            reason = _("Maintenance window #%(id)d is over.") % {"id": window.pk}
            _reopen(window, now=now, actor=None, reason=reason)
            window.save(update_fields=["ended_at"])


def booked_holds(bookings: list[Reservation], now: datetime) -> list[planner.Hold]:
    """The reservations not over, as the planner holds them (the tick, the forecast and quotes alike)."""
    return [
        planner.Hold(
            pool_id=b.pool_id,
            start=b.start,
            end=b.end,
            pflops=float(b.pflops),
            client_id=b.client_id,
            order_id=b.order_id,
        )
        for b in bookings
        if b.kind == ReservationKind.RESERVATION and b.end > now
    ]


def maintenance_windows(bookings: list[Reservation], now: datetime) -> list[Window]:
    """The maintenance windows not over, as the simulation takes them."""
    return [
        Window(pool_id=b.pool_id, start=b.start, end=b.end, state=b.closes_to)
        for b in bookings
        if b.kind == ReservationKind.MAINTENANCE and b.end > now
    ]


def closing_times(bookings: list[Reservation], now: datetime) -> dict[int, datetime]:
    """Pool id -> the start of its next window to come that takes it offline (the planner starts there only work
    that ends by then; work running into a draining window finishes there)."""
    closing: dict[int, datetime] = {}
    for window in bookings:
        if (
            window.kind == ReservationKind.MAINTENANCE
            and window.closes_to == PoolState.OFFLINE
            and window.start > now
            and window.pool_id not in closing
        ):
            closing[window.pool_id] = window.start
    return closing


# --- Scheduled pool changes ----------------------------------------------------------------------


def _new_capacity(value) -> Decimal:
    capacity = _positive_pflops(
        value,
        field="capacity_pflops",
        not_a_number=_("Give the capacity as a number of PFLOPS."),
        not_positive=_("Give more than 0 PFLOPS."),
    )
    if capacity > CAPACITY_MAX:
        raise DispatchInvalid(
            _("At most %(max)s PFLOPS: far beyond any pool of the platform.") % {"max": CAPACITY_MAX},
            field="capacity_pflops",
        )
    return capacity


def pool_changes_pending(*, pool: ComputePool | None = None) -> list[ScheduledPoolChange]:
    """The scheduled pool changes neither cancelled nor carried out, by time; of one pool, or all (one query for the
    tick, the forecast and quotes)."""
    pending = ScheduledPoolChange.objects.filter(PENDING_POOL_CHANGE)
    if pool is not None:
        pending = pending.filter(pool=pool)
    return list(pending.order_by("at", "id"))


def _least_capacity(pool: ComputePool, start: datetime, end: datetime, *, scheduled) -> Decimal:
    """The least capacity `pool` has at any instant of [start, end), its scheduled changes counted."""
    capacity, least = pool.capacity_pflops, None
    for change in scheduled:
        if change.capacity_pflops is None or change.pool_id != pool.pk:
            continue
        if change.at <= start:
            capacity = change.capacity_pflops
        elif change.at < end:
            least = change.capacity_pflops if least is None else min(least, change.capacity_pflops)
    return capacity if least is None else min(capacity, least)


@atomic_with_retry
def pool_change_schedule(
    *,
    actor,
    pool: ComputePool,
    at: datetime,
    reason: str,
    capacity_pflops=None,
    state: str | None = None,
    promoted_from: ScenarioRun | None = None,
    submission_key: str | None = None,
) -> ScheduledPoolChange:
    """Set a pool's capacity and/or state from `at` on (a time passed: at the next tick). A cut that would leave the
    reservations of the pool holding more than it has is refused (409) naming them. The same `submission_key` again
    answers with the change it made (factory.submissions)."""
    permissions.check_pool_booking(actor)
    reason = _reason(reason, required=_("Say why the pool changes."))
    now = clock.now()
    asked = _moment(at, field="at")
    at = max(asked, now)  # a time passed: carried out at the next tick
    if at > now + BOOKING_AHEAD_MAX:
        raise DispatchInvalid(_("Schedule at most 365 days ahead."), field="at")
    capacity = None if capacity_pflops in (None, "") else _new_capacity(capacity_pflops)
    if state and state not in PoolState.values:
        raise DispatchInvalid(_("Choose active, draining or offline."), field="state")
    if capacity is None and not state:
        raise DispatchInvalid(_("Give the new capacity, the new state or both."), field="capacity_pflops")
    # What was asked, so that a retry later with the same key still asks the same.
    request = {"pool": pool, "at": asked, "capacity_pflops": capacity, "state": state or "", "reason": reason}
    hold_dispatch_lock()

    def schedule(stamp: dict) -> ScheduledPoolChange:
        locked = ComputePool.objects.select_for_update().get(pk=pool.pk)
        if capacity is not None:
            _check_room_for_reservations(locked, capacity, at=at)
        return ScheduledPoolChange.objects.create(
            **{**request, "pool": locked, "at": at},
            created_by=actor,
            created_at=now,
            promoted_from=promoted_from,
            **stamp,
        )

    return submissions.create_once(
        ScheduledPoolChange, key=submission_key, owner={"created_by": actor}, request=request, create=schedule
    )


def _check_room_for_reservations(pool: ComputePool, capacity: Decimal, *, at: datetime) -> None:
    """Refuse (409) a capacity from `at` on below what the pool's reservations hold at some instant after it."""
    held = list(
        Reservation.objects.filter(
            BOOKING_IN_EFFECT, pool=pool, kind=ReservationKind.RESERVATION, cancelled_at__isnull=True, end__gt=at
        ).select_related("client", "order")
    )
    peak, peak_at, holders = _peak_held(held, at, max([at, *(b.end for b in held)]) + timedelta(seconds=1))
    if peak > capacity:
        raise ReservationConflict(
            _(
                "Pool %(pool)s would have %(capacity)s PFLOPS, but at %(at)s its reservations hold %(total)s: "
                "%(conflict)s. Cancel some first, or keep more capacity."
            )
            % {
                "pool": pool.name,
                "capacity": capacity,
                "at": moment_words(peak_at),
                "total": peak,
                "conflict": "; ".join(_booking_words(b) for b in holders),
            }
        )


@atomic_with_retry
def pool_change_cancel(*, change: ScheduledPoolChange, actor, reason: str) -> ScheduledPoolChange:
    """Cancel a scheduled pool change that is not carried out yet."""
    permissions.check_pool_booking(actor)
    reason = _reason(reason, required=_("Say why it is cancelled."))
    hold_dispatch_lock()
    change = ScheduledPoolChange.objects.select_for_update().get(pk=change.pk)
    if change.cancelled:
        raise ReservationConflict(_("It was already cancelled on %(at)s.") % {"at": moment_words(change.cancelled_at)})
    if change.carried_out_at is not None:
        raise ReservationConflict(
            _("It was carried out on %(at)s: schedule another change to undo it.")
            % {"at": moment_words(change.carried_out_at)}
        )
    change.cancelled_at, change.cancelled_by, change.cancel_reason = clock.now(), actor, reason
    change.save(update_fields=["cancelled_at", "cancelled_by", "cancel_reason"])
    return change


def _commission_name(site: ComputeSite, kind: str) -> str:
    """A new pool's name: its site and kind, numbered past the names taken (the admin may rename it)."""
    base = f"{site.name} {PoolKind(kind).label}"
    taken = set(ComputePool.objects.filter(name__startswith=base).values_list("name", flat=True))
    return next(name for n in range(2, len(taken) + 3) if (name := f"{base} {n}") not in taken)


@atomic_with_retry
def pool_commission(
    *,
    actor,
    site: ComputeSite,
    kind: str,
    capacity_pflops,
    trusted: bool,
    at: datetime,
    reason: str,
    promoted_from: ScenarioRun | None = None,
) -> ScheduledPoolChange:
    """A new pool at a site: made now, offline (so no work goes there and the dispatch center shows it coming),
    at the mean price of its kind, and scheduled to come online at `at`."""
    permissions.check_pool_booking(actor)
    reason = _reason(reason, required=_("Say why the pool is added."))
    if kind not in PoolKind.values:
        raise DispatchInvalid(_("Choose a pool kind."), field="kind")
    capacity = _new_capacity(capacity_pflops)
    price = ComputePool.objects.filter(kind=kind).aggregate(mean=Avg("price_per_pflops_hour"))["mean"]
    if price is None:
        raise DispatchInvalid(
            _("No pool of this kind has a price to start from: add the pool in the admin."), field="kind"
        )
    hold_dispatch_lock()
    pool = ComputePool.objects.create(
        site=site,
        name=_commission_name(site, kind),
        kind=kind,
        trusted=trusted,
        capacity_pflops=capacity,
        state=PoolState.OFFLINE,
        price_per_pflops_hour=price.quantize(Decimal("0.01")),
        background_seed=ComputePool.objects.count(),
    )
    PoolStateChange.objects.create(
        pool=pool, at=clock.now(), from_state=PoolState.OFFLINE, to_state=PoolState.OFFLINE, actor=actor, reason=reason
    )
    return pool_change_schedule(
        actor=actor, pool=pool, at=at, reason=reason, state=PoolState.ACTIVE, promoted_from=promoted_from
    )


def _fit_running_jobs(pool: ComputePool, capacity: Decimal, *, now: datetime) -> None:
    """A capacity cut below what runs: the least urgent, latest started jobs go back to the queue with their
    progress until the rest fit (dispatch.engine.simulation does the same)."""
    jobs = list(Job.objects.select_for_update().filter(pool=pool, state=JobState.RUNNING))
    jobs.sort(key=lambda job: (PRIORITY_RANK.get(job.priority, 1), -(job.started_at or now).timestamp(), -job.pk))
    stopped = []
    for job in jobs:
        if pool.used_pflops <= capacity:
            break
        pool.used_pflops -= job.demand_pflops
        _requeue(job, now=now)
        stopped.append(job)
    Job.objects.bulk_update(stopped, REQUEUED_FIELDS)
    order_services.steps_mark_ready(step_ids=[job.step_id for job in stopped])


def _carry_out_pool_changes(pools: dict[int, ComputePool], scheduled, now: datetime) -> None:
    """The scheduled changes whose time has come (the tick)."""
    for change in scheduled:
        if change.at > now:
            break
        pool = pools[change.pool_id]
        change.carried_out_at, change.capacity_before, change.state_before = now, pool.capacity_pflops, pool.state
        if change.capacity_pflops is not None and change.capacity_pflops != pool.capacity_pflops:
            if pool.used_pflops > change.capacity_pflops:
                _fit_running_jobs(pool, change.capacity_pflops, now=now)
            pool.capacity_pflops = change.capacity_pflops
            pool.background_pflops = min(pool.background_pflops, pool.capacity_pflops - pool.used_pflops)
            pool.save(update_fields=["capacity_pflops", "used_pflops", "background_pflops"])
        if change.state and change.state != pool.state:
            reason = _("Scheduled change #%(id)d: %(reason)s") % {"id": change.pk, "reason": change.reason}
            _set_pool_state(pool, change.state, now=now, actor=None, reason=reason)
            if change.state == PoolState.OFFLINE:
                _requeue_jobs_of(pool, now=now)
            _end_windows_under_way(pool, now=now)
        change.save(update_fields=["carried_out_at", "capacity_before", "state_before"])


def scheduled_pool_changes(scheduled) -> list[PoolChange]:
    """The scheduled changes not carried out, as the simulation takes them (one due already holds from the
    start)."""
    return [
        PoolChange(
            at=change.at,
            pool_id=change.pool_id,
            state=change.state or None,
            capacity=None if change.capacity_pflops is None else float(change.capacity_pflops),
        )
        for change in scheduled
    ]


# --- Priorities and budgets ----------------------------------------------------------------------


@atomic_with_retry
def order_reprioritize(*, order: Order, actor, priority: str, reason: str) -> Order:
    """Change an order's priority and that of its queued, preempted and running jobs, with the reason on the
    order's timeline. The one way an order's priority changes: the priority page and the API action call it
    (who may: orders.permissions, through dispatch.permissions); jobs made later copy the order's new priority.

    Locks in the dispatch center's order (module docstring): the dispatch lock, the jobs, then the order."""
    permissions.check_reprioritize(actor)
    order_services.check_priority_value(priority)  # before the jobs take it
    hold_dispatch_lock()
    Job.objects.filter(order=order, state__in=ACTIVE_STATES).update(priority=priority)
    return order_services.order_set_priority(order=order, actor=actor, priority=priority, reason=reason)


@transaction.atomic
def client_budget_set(*, client, monthly_pflops_hours, warn_at=Decimal("0.80"), enforce=True) -> ClientBudget:
    if monthly_pflops_hours is None or Decimal(monthly_pflops_hours) <= 0:
        raise DispatchInvalid(_("The budget must be a positive number of PFLOPS·h."), field="monthly_pflops_hours")
    if not Decimal(0) < Decimal(warn_at) <= 1:
        raise DispatchInvalid(_("Warn at a share between 0 and 1."), field="warn_at")
    budget, _created = ClientBudget.objects.update_or_create(
        client=client,
        defaults={"monthly_pflops_hours": monthly_pflops_hours, "warn_at": warn_at, "enforce": enforce},
    )
    return budget


@transaction.atomic
def client_entitlement_set(*, client, kind: str, weight) -> ClientEntitlement:
    """Set a client's entitlement to a pool kind: its weight for fair share from the next dispatch tick on (and in
    every forecast), as Kueue's nominal quota. A positive number; clients without one weigh
    dispatch.engine.policy.DEFAULT_ENTITLEMENT."""
    if kind not in PoolKind.values:
        raise DispatchInvalid(_("Choose a pool kind."), field="kind")
    try:
        weight = Decimal(str(weight)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        weight = None
    if weight is None or not weight.is_finite() or weight <= 0:
        raise DispatchInvalid(_("The entitlement must be a positive number."), field="weight")
    if weight >= Decimal("1000000"):
        raise DispatchInvalid(_("The entitlement must be under 1,000,000."), field="weight")
    entitlement, _created = ClientEntitlement.objects.update_or_create(
        client=client, kind=kind, defaults={"weight": weight}
    )
    return entitlement


def month_start(now: datetime) -> datetime:
    """The start of ``now``'s month in the factory's time zone: budgets count from there."""
    local = timezone.localtime(now)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def client_usage_this_month(now: datetime, *, in_progress: bool = True) -> dict[int, float]:
    """What each client's monthly budget counts (dispatch.engine.policy): the PFLOPS·h of its jobs finished this month,
    plus the work already done by its jobs still in the queue or running (``in_progress``)."""
    finished = Q(state=JobState.DONE, finished_at__gte=month_start(now), finished_at__lte=now)
    jobs = Job.objects.filter(finished | Q(state__in=ACTIVE_STATES) if in_progress else finished)
    rows = jobs.values("order__client_id").annotate(used=Sum("done_pflops_hours"))
    return {row["order__client_id"]: float(row["used"] or 0) for row in rows}


_RECENT_USAGE_SQL = """
SELECT o.client_id, job.kind,
       SUM(job.done_pflops_hours * power(0.5, EXTRACT(EPOCH FROM (%(now)s - job.finished_at)) / %(half_life)s))
  FROM dispatch_job AS job
  JOIN orders_order AS o ON o.id = job.order_id
 WHERE job.state = 'done' AND job.finished_at > %(since)s AND job.finished_at <= %(now)s
 GROUP BY o.client_id, job.kind
"""


def client_recent_usage(now: datetime) -> dict[tuple[int, str], float]:
    """Each client's fair-share usage of each pool kind at ``now``, (client id, kind) -> PFLOPS·h: its finished
    work there, decayed from when each job finished (dispatch.engine.policy)."""
    params = {
        "now": now,
        "since": now - policy.USAGE_HORIZON,
        "half_life": policy.USAGE_HALF_LIFE.total_seconds(),
    }
    with connection.cursor() as cursor:
        cursor.execute(_RECENT_USAGE_SQL, params)
        return {(client, kind): float(used) for client, kind, used in cursor.fetchall()}


def client_entitlements() -> dict[tuple[int, str], float]:
    """(client id, pool kind) -> the client's entitlement there; a pair not listed weighs
    dispatch.engine.policy.DEFAULT_ENTITLEMENT."""
    return {
        (client, kind): float(weight)
        for client, kind, weight in ClientEntitlement.objects.values_list("client_id", "kind", "weight")
    }


@transaction.atomic
def budgets_watch(*, now: datetime | None = None) -> int:
    """Tell operations and dispatch of the clients whose compute this month passed their budget's warning share
    (dispatch.notices); how many were told of."""
    now = now or clock.now()
    budgets = list(ClientBudget.objects.select_related("client"))
    if not budgets:
        return 0
    return notices.tell_budgets_near_end(
        budgets=budgets, usage=client_usage_this_month(now), month=f"{month_start(now):%Y-%m}"
    )


def enforced_budgets() -> dict[int, float]:
    """Client id -> the monthly PFLOPS·h its enforced budget allows."""
    return {
        client: float(monthly)
        for client, monthly in ClientBudget.objects.filter(enforce=True).values_list(
            "client_id", "monthly_pflops_hours"
        )
    }


def expected_gate_hours() -> float:
    """How long a gate review is expected to take: as long as the recent ones took, or the setting."""
    return order_selectors.recent_gate_review_hours() or float(settings.GATE_REVIEW_HOURS)


# --- The tick ------------------------------------------------------------------------------------


@dataclass
class TickReport:
    skipped: bool = False
    clock_behind: timedelta | None = None  # how far the factory clock stood behind the last tick (skipped)
    advanced: int = 0
    finished: int = 0
    created: int = 0
    placed: int = 0
    preempted: int = 0
    waiting: int = 0
    reasons: dict = field(default_factory=dict)
    # What real clusters are to be told once the tick commits: jobs to start, (site, Slurm job id) runs to cancel.
    to_start: list[int] = field(default_factory=list)
    to_cancel: list[tuple[int, int]] = field(default_factory=list)
    # (site, partition, state) for partitions whose state is not yet their pool's.
    to_set_partitions: list[tuple[int, str, str]] = field(default_factory=list)


def _try_tick_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [TICK_LOCK_KEY])
        return cursor.fetchone()[0]


def order_due(order: Order) -> datetime:
    """The instant an order is due: the end of the working day of its promised (or requested) date."""
    return promise_due(order.promised_delivery or order.requested_delivery)


def dispatch_tick(*, now: datetime | None = None) -> TickReport:
    """Bring compute up to `now` (the factory clock by default). Safe to run concurrently.

    Real clusters (dispatch.executors.slurm) are read before the tick's transaction and told what it decided after
    it commits, so a slow cluster never holds the dispatch lock, and what a cluster is told is what was recorded."""
    readings = _read_clusters()
    report = _tick(now or clock.now(), readings)
    if not report.skipped:
        _carry_out_on_clusters(report)
    return report


@atomic_with_retry
def _tick(now: datetime, readings: dict[int, "slurm.SiteReading"] | None = None) -> TickReport:
    readings = readings or {}
    if not _try_tick_lock():
        return TickReport(skipped=True)
    state, _created = DispatchState.objects.select_for_update().get_or_create(pk=1)
    elapsed = (now - state.last_tick_at) if state.last_tick_at else timedelta(0)
    if elapsed < timedelta(0):
        # The clock never runs backwards for compute: a late tick with an older `now` does nothing (the task says
        # so loudly when it is more than a race between two ticks).
        return TickReport(skipped=True, clock_behind=-elapsed)
    report = TickReport()
    pools = {pool.pk: pool for pool in ComputePool.objects.select_related("site").order_by("pk")}
    touched_orders: set[int] = set()
    _advance_running(pools, elapsed, now, report, touched_orders)
    if readings:
        _advance_on_clusters(pools, readings, elapsed, now, report, touched_orders)
    _close_orphaned_jobs(now, pools)
    bookings = bookings_in_force(now)
    _carry_out_pool_changes(pools, pool_changes_pending(), now)
    _carry_out_windows(pools, bookings, now)
    report.created = _create_jobs_for_ready_steps(now)
    _place(pools, bookings, now, report, touched_orders, readings)
    _record_pools(pools, now)
    if touched_orders:
        _roll_up_compute(touched_orders)
    state.last_tick_at = now
    state.ticks += 1
    state.save(update_fields=["last_tick_at", "ticks"])
    return report


# --- Real clusters (dispatch.executors.slurm) ------------------------------------------------------

# A job whose runs on a cluster were lost SLURM_JOB_ATTEMPTS times waits with this reason until a person looks.
RUNS_LOST = "runs_lost"


def _cluster_sites() -> list[ComputeSite]:
    return list(ComputeSite.objects.filter(executor=Executor.SLURM).prefetch_related("pools"))


def _read_clusters() -> dict[int, "slurm.SiteReading"]:
    """Each real cluster's partitions and our jobs on it, read before the tick; its connection recorded."""
    readings = {}
    for site in _cluster_sites():
        try:
            reading = slurm.read_site(site, list(site.pools.all()))
        except Exception as error:  # one cluster, however broken or misconfigured, never stops the tick
            logger.exception("dispatch: reading cluster %s of site %s failed", site.cluster, site)
            reading = slurm.SiteReading(answered=False, error=f"{type(error).__name__}: {error}")
        readings[site.pk] = reading
        ComputeSite.objects.filter(pk=site.pk).update(
            connection=Connection.UP if reading.answered else Connection.DOWN,
            connection_checked_at=timezone.now(),
            connection_error=reading.error[:500],
        )
        if not reading.answered:
            logger.warning("dispatch: cluster %s of site %s does not answer: %s", site.cluster, site, reading.error)
    return readings


def _advance_on_clusters(pools, readings, elapsed: timedelta, now, report: TickReport, touched: set[int]) -> None:
    """Our jobs on real clusters, as each cluster reports them. A running one advances by the elapsed time, but
    finishes only when the cluster says it completed; one the cluster lost (failed, its node lost, cancelled there)
    goes back to the queue with its progress, and after SLURM_JOB_ATTEMPTS lost runs waits for a person; one the
    cluster does not know (its start failed) goes back to the queue. A cluster that did not answer moves nothing."""
    hours = Decimal(elapsed.total_seconds()) / Decimal(3600)
    answered = {site_id for site_id, reading in readings.items() if reading.answered}
    jobs = list(
        Job.objects.select_for_update(of=("self",))
        .filter(state=JobState.RUNNING, pool__site__executor=Executor.SLURM, pool__site_id__in=answered)
        .select_related("order", "step")
    )
    finished, lost, changed, stopped = [], [], [], []
    for job in jobs:
        pool = pools[job.pool_id]
        found = readings[pool.site_id].ours.get(job.pk)
        if found is not None and job.cluster_job_id is not None and found.job_id != job.cluster_job_id:
            found = None  # an older run of it: this run is not known there
        if found is not None and job.cluster_job_id is None and (found.lost or not (found.pending or found.running)):
            found = None  # an older run that ended: this one never started
        before = job.done_pflops_hours
        if found is None or found.lost:
            if found is not None:
                job.attempts += 1
                if found.pending or found.running:  # requeued by the cluster: ours to run again, with progress
                    report.to_cancel.append((pool.site_id, found.job_id))
            pool.used_pflops -= job.demand_pflops
            _requeue(job, now=now)
            if job.attempts >= settings.SLURM_JOB_ATTEMPTS:
                job.pending_reason = RUNS_LOST
                stopped.append((job, pool.pk))
            lost.append(job)
        elif found.finished:
            job.done_pflops_hours = job.work_pflops_hours
            job.state, job.pool, job.finished_at = JobState.DONE, None, now
            pool.used_pflops -= job.demand_pflops
            finished.append(job)
        elif found.running:
            # Never done before the cluster says so: a slow node takes longer than the factory's arithmetic.
            step = (job.demand_pflops * hours).quantize(Decimal("0.001"))
            job.done_pflops_hours = min(job.work_pflops_hours - Decimal("0.001"), job.done_pflops_hours + step)
        if job.state == JobState.RUNNING and job.cluster_job_id is None:
            job.cluster_job_id = found.job_id  # started, but its id was not recorded: adopted
        charged = ((job.done_pflops_hours - before) * pool.price_per_pflops_hour).quantize(Decimal("0.01"))
        job.cost += charged
        pool.charged = getattr(pool, "charged", Decimal(0)) + charged
        if charged:
            touched.add(job.order_id)
        changed.append(job)
    Job.objects.bulk_update(
        changed,
        [
            "state",
            "pool",
            "queued_at",
            "backfilled",
            "cluster_job_id",
            "attempts",
            "pending_reason",
            "done_pflops_hours",
            "cost",
            "finished_at",
        ],
    )
    order_services.steps_mark_ready(step_ids=[job.step_id for job in lost])
    order_services.steps_finish(step_ids=[job.step_id for job in finished], at=now)
    if stopped:
        notices.tell_runs_lost(stopped, pools, now=now)
    # A pool's state reaches its partition, where the factory administers the cluster (tick after tick until it is).
    for pool in pools.values():
        reading = readings.get(pool.site_id)
        wanted = slurm.PARTITION_STATES[pool.state]
        administered = reading and reading.answered and pool.pk in reading.pools and slurm.may_set_partitions(pool.site)
        if administered and reading.pools[pool.pk].partition_state not in (wanted, "MISSING"):
            report.to_set_partitions.append((pool.site_id, slurm.partition_of(pool), wanted))
    # Reconciliation: a run that carries our mark but is not the run we recorded for a job running there (a job
    # queued again meanwhile, a start whose answer was lost and then retried) is cancelled, so nothing runs twice.
    kept = {(job.pk, job.cluster_job_id) for job in changed if job.state == JobState.RUNNING}
    for site_id in answered:
        for run in readings[site_id].marked:
            if (run.running or run.pending) and (slurm.our_job_id(run), run.job_id) not in kept:
                report.to_cancel.append((site_id, run.job_id))
    report.advanced += len(changed)
    report.finished += len(finished)


@atomic_with_retry
def jobs_retry(*, jobs, actor) -> int:
    """Let jobs that stopped after too many lost runs (RUNS_LOST) be placed again, their count of lost runs cleared:
    a person decided the cluster is fit again. Jobs that did not stop are left as they are; how many were retried."""
    permissions.check_pool_action(actor)
    hold_dispatch_lock()
    return Job.objects.filter(
        pk__in=[job.pk for job in jobs], state__in=WAITING_STATES, pending_reason=RUNS_LOST
    ).update(attempts=0, pending_reason="")


def _carry_out_on_clusters(report: TickReport) -> None:
    """After the tick commits: cancel the runs it preempted and start the jobs it placed on real clusters. A start
    that fails leaves the job for the next tick, which finds it unknown to the cluster and queues it again."""
    for site_id, partition, state in report.to_set_partitions:
        try:
            slurm.set_partition_state(ComputeSite.objects.get(pk=site_id), partition, state)
        except Exception:  # the next tick tries again
            logger.exception("dispatch: could not set partition %s to %s", partition, state)
    for site_id, cluster_job_id in report.to_cancel:
        try:
            slurm.cancel(ComputeSite.objects.get(pk=site_id), cluster_job_id)
        except Exception:  # reconciliation cancels it on a later tick
            logger.exception("dispatch: could not cancel Slurm job %s", cluster_job_id)
    if not report.to_start:
        return
    for job in (
        Job.objects.filter(pk__in=report.to_start, state=JobState.RUNNING)
        .select_related("pool__site", "step__catalog_step")
        .prefetch_related("step__catalog_step__toolchains")
    ):
        catalog_step = job.step.catalog_step
        toolchain = next(iter(catalog_step.toolchains.all()), None) if catalog_step else None
        try:
            cluster_job_id = slurm.start(
                job, job.pool, step_code=job.step.code, toolchain=toolchain.code if toolchain else ""
            )
        except Exception:  # the next tick finds it unknown there and queues it again
            logger.exception("dispatch: could not start job %s on %s", job.pk, job.pool)
            continue
        Job.objects.filter(pk=job.pk, state=JobState.RUNNING, cluster_job_id__isnull=True).update(
            cluster_job_id=cluster_job_id
        )


# One statement advances every running job by the elapsed time, charges its pool's price and ends the jobs
# whose work is done; it returns what the tick needs to know (which finished, on which pool, which orders used
# compute).
_ADVANCE_SQL = """
WITH advance AS (
    SELECT job.id, job.pool_id,
           LEAST(job.work_pflops_hours, job.done_pflops_hours + ROUND(job.demand_pflops * %(hours)s, 3)) AS done,
           ROUND((LEAST(job.work_pflops_hours, job.done_pflops_hours + ROUND(job.demand_pflops * %(hours)s, 3))
                  - job.done_pflops_hours) * pool.price_per_pflops_hour, 2) AS charged
      FROM dispatch_job AS job
      JOIN dispatch_computepool AS pool ON pool.id = job.pool_id
      JOIN dispatch_computesite AS site ON site.id = pool.site_id
     WHERE job.state = 'running' AND site.executor = 'simulated'
)
UPDATE dispatch_job AS job
   SET done_pflops_hours = advance.done,
       cost = job.cost + advance.charged,
       state = CASE WHEN advance.done >= job.work_pflops_hours THEN 'done' ELSE job.state END,
       pool_id = CASE WHEN advance.done >= job.work_pflops_hours THEN NULL ELSE job.pool_id END,
       finished_at = CASE WHEN advance.done >= job.work_pflops_hours THEN %(now)s ELSE job.finished_at END
  FROM advance
 WHERE job.id = advance.id
RETURNING job.id, job.order_id, job.step_id, advance.pool_id, job.demand_pflops, job.state = 'done', advance.charged
"""


def _advance_running(pools, elapsed: timedelta, now, report: TickReport, touched: set[int]) -> None:
    hours = Decimal(elapsed.total_seconds()) / Decimal(3600)
    with connection.cursor() as cursor:
        cursor.execute(_ADVANCE_SQL, {"hours": hours, "now": now})
        advanced = cursor.fetchall()
    finished = [row for row in advanced if row[5]]
    if hours > 0:
        touched.update(row[1] for row in advanced)
    for _job_id, _order_id, _step_id, pool_id, _demand, _done, charged in advanced:
        pools[pool_id].charged = getattr(pools[pool_id], "charged", Decimal(0)) + charged
    for _job_id, _order_id, _step_id, pool_id, demand, _done, _charged in finished:
        pools[pool_id].used_pflops -= demand
    report.advanced, report.finished = len(advanced), len(finished)
    reported = set(order_services.steps_finish(step_ids=[row[2] for row in finished], at=now))
    for job_id, _order_id, step_id, _pool_id, _demand, _done, _charged in finished:
        if step_id not in reported:
            # Finished by hand meanwhile, or the order left production: nothing more to report.
            logger.info("dispatch: step %s of job %s was no longer running", step_id, job_id)


def _close_orphaned_jobs(now, pools) -> None:
    """Jobs whose step no longer needs compute (finished by hand, order cancelled) stop and free their pool."""
    orphans = list(
        Job.objects.filter(state__in=ACTIVE_STATES).filter(
            Q(step__status__in=[StepStatus.DONE, StepStatus.PENDING]) | ~Q(order__status=OrderStatus.IN_PRODUCTION)
        )
    )
    for job in orphans:
        if job.pool_id:
            pools[job.pool_id].used_pflops -= job.demand_pflops
        job.state, job.pool, job.finished_at, job.pending_reason = JobState.DONE, None, now, ""
    Job.objects.bulk_update(orphans, ["state", "pool", "finished_at", "pending_reason"])


def _create_jobs_for_ready_steps(now) -> int:
    steps = list(
        OrderStep.objects.filter(status=StepStatus.READY, stage__order__status=OrderStatus.IN_PRODUCTION)
        .exclude(jobs__state__in=ACTIVE_STATES)
        .select_related("stage__order")
    )
    deadlines = step_deadlines(steps)
    Job.objects.bulk_create(new_job(step, queued_at=now, deadline=deadlines[step.pk]) for step in steps)
    return len(steps)


def step_deadlines(steps: list[OrderStep], *, gate_hours: float | None = None) -> dict[int, datetime]:
    """Each step's latest finish for its order to meet its due date (dispatch.engine.policy.step_deadline).

    Counted from the steps still to do after it and the gates still to pass, in one query for all orders.
    """
    if not steps:
        return {}
    gate_hours = expected_gate_hours() if gate_hours is None else gate_hours
    rows = list(
        OrderStep.objects.filter(stage__order_id__in={step.stage.order_id for step in steps})
        .exclude(stage__status=StageStatus.APPROVED)
        .values_list(
            "id", "stage__order_id", "stage__position", "position", "status", "work_pflops_hours", "demand_pflops"
        )
    )
    place = {row[0]: (row[2], row[3]) for row in rows}
    by_order = defaultdict(list)
    for _id, order_id, stage_position, position, status, work, demand in rows:
        by_order[order_id].append((stage_position, position, status, float(work) / float(demand)))
    result = {}
    for step in steps:
        order = step.stage.order
        here = place.get(step.pk, (step.stage.position, step.position))
        later = [row for row in by_order[order.pk] if row[:2] > here]
        result[step.pk] = policy.step_deadline(
            due=order_due(order),
            later_step_hours=sum(hours for *_, status, hours in later if status != StepStatus.DONE),
            gates_left=1 + len({stage for stage, *_ in later if stage > here[0]}),
            gate_hours=gate_hours,
        )
    return result


def new_job(step: OrderStep, *, queued_at, deadline: datetime) -> Job:
    """An unsaved job for `step` (its stage and order loaded): the step's compute, the order's priority and
    sensitivity, and the step's deadline (`step_deadlines`)."""
    order = step.stage.order
    return Job(
        order=order,
        step=step,
        priority=order.priority,
        kind=step.pool_kind,
        sensitive=order.is_sensitive,
        demand_pflops=step.demand_pflops,
        # Already-done work (a step redone in rework starts over) is a fresh job's whole work.
        work_pflops_hours=max(step.work_pflops_hours, Decimal("0.01")),
        deadline=deadline,
        queued_at=queued_at,
    )


def pool_background(pool: ComputePool, at: datetime) -> float:
    """What other tenants use on the pool at ``at`` (dispatch.engine.policy.background_at), or 0 with the load off.
    On a real cluster it is what the tick last read there, held as the best guess ahead: so the forecast, and every
    ETA and quote, counts the load the cluster really carries."""
    if pool.site.executor == Executor.SLURM:
        return float(pool.background_pflops)
    if not settings.DISPATCH_BACKGROUND_LOAD:
        return 0.0
    return policy.background_at(pool.background_seed, float(pool.capacity_pflops), at)


def pool_snapshot(pool: ComputePool, now, *, closes_at: datetime | None = None, reading=None) -> planner.PoolState:
    """The pool as the planner sees it; its recorded background is what the room left lets it show. `closes_at`:
    the start of its next maintenance window. On a real cluster (`reading`, dispatch.executors.slurm) the
    background is what other tenants run there, and a cluster that did not answer, or a partition that is not up,
    takes no new work."""
    capacity = float(pool.capacity_pflops)
    state = pool.state
    if reading is None:
        wanted = pool_background(pool, now)
    elif not reading.answered or pool.pk not in reading.pools or reading.pools[pool.pk].state != "UP":
        wanted, state = 0.0, PoolState.OFFLINE  # a pool made since the cluster was read waits for the next reading
    else:
        # What we may dispatch, within what the cluster has up now.
        capacity = min(capacity, reading.pools[pool.pk].capacity_pflops)
        wanted = reading.pools[pool.pk].background_pflops
    room = capacity - float(pool.used_pflops)
    pool.background_pflops = Decimal(max(0.0, min(wanted, room))).quantize(Decimal("0.01"))
    return planner.PoolState(
        id=pool.pk,
        kind=pool.kind,
        capacity=capacity,
        background=wanted,
        trusted_in_province=pool.trusted and pool.site.in_province,
        state=state,
        used=float(pool.used_pflops),
        closes_at=closes_at,
    )


def _job_state(job: Job, usage: dict, entitlements: dict) -> planner.JobState:
    """The job as the planner sees it; ``usage`` and ``entitlements`` per (client, kind), the fair-share inputs."""
    return planner.JobState(
        id=job.pk,
        order_id=job.order_id,
        client_id=job.client_id,
        kind=job.kind,
        demand=float(job.demand_pflops),
        work_remaining=float(job.work_pflops_hours - job.done_pflops_hours),
        priority=PRIORITY_RANK.get(job.priority, 1),
        deadline=job.deadline,
        queued_at=job.queued_at,
        sensitive=job.sensitive,
        pool_id=job.pool_id,
        client_recent_usage=usage.get((job.client_id, job.kind), 0.0),
        started_at=job.started_at,
        entitlement=policy.entitlement_of(entitlements, job.client_id, job.kind),
    )


def _place(pools, bookings: list[Reservation], now, report: TickReport, touched: set[int], readings=None) -> None:
    usage, entitlements = client_recent_usage(now), client_entitlements()
    budgets = enforced_budgets()
    over_budget = policy.held_clients(month_usage=client_usage_this_month(now), budgets=budgets) if budgets else set()
    active = list(Job.objects.filter(state__in=ACTIVE_STATES).annotate(client_id=F("order__client_id")))
    jobs = {job.pk: job for job in active}
    running = [_job_state(job, usage, entitlements) for job in active if job.state == JobState.RUNNING]
    held = [
        job
        for job in active
        if job.state in WAITING_STATES
        and (
            job.pending_reason == RUNS_LOST
            or policy.is_held(priority=PRIORITY_RANK[job.priority], client_id=job.client_id, held=over_budget)
        )
    ]
    held_ids = {job.pk for job in held}
    queued = [
        _job_state(job, usage, entitlements) for job in active if job.state in WAITING_STATES and job.pk not in held_ids
    ]
    closing = closing_times(bookings, now)
    readings = readings or {}
    pool_states = [
        pool_snapshot(pool, now, closes_at=closing.get(pool.pk), reading=readings.get(pool.site_id))
        for pool in pools.values()
    ]
    plan = planner.plan(pools=pool_states, queued=queued, running=running, now=now, holds=booked_holds(bookings, now))

    before = {job.pk: _placement_fields(job) for job in active}
    placed_steps, preempted_steps, preemptions = [], [], []
    for victim_id, by_id in plan.preemptions:
        victim = jobs[victim_id]
        preemptions.append(Preemption(at=now, pool_id=victim.pool_id, preempted=victim, preempted_by=jobs[by_id]))
        pools[victim.pool_id].used_pflops -= victim.demand_pflops
        if victim.cluster_job_id is not None:
            report.to_cancel.append((pools[victim.pool_id].site_id, victim.cluster_job_id))
        # Its wait starts over: a preempted job must not count as long-waiting and preempt in turn at once.
        _requeue(victim, now=now)
        preempted_steps.append(victim.step_id)
        touched.add(victim.order_id)
    Preemption.objects.bulk_create(preemptions)
    for job_id, pool_id in plan.placements:
        job = jobs[job_id]
        job.state, job.pool_id, job.pending_reason, job.expected_start = JobState.RUNNING, pool_id, "", None
        job.backfilled = job_id in plan.backfilled
        job.last_pool_id = pool_id
        job.started_at = job.started_at or now
        pools[pool_id].used_pflops += job.demand_pflops
        if pools[pool_id].site.executor == Executor.SLURM:
            report.to_start.append(job_id)
        placed_steps.append(job.step_id)
    for job_id, waiting in plan.waiting.items():
        jobs[job_id].pending_reason = waiting.reason
        jobs[job_id].expected_start = _to_the_minute(waiting.expected_start)
    for job in held:
        if job.pending_reason != RUNS_LOST:
            job.pending_reason = BUDGET_EXCEEDED
        job.expected_start = None
    # Only what changed is written: most waiting jobs keep their reason and expected start tick after tick.
    bulk_update_rows(
        Job,
        PLACEMENT_FIELDS,
        [(job.pk, *fields) for job in active if (fields := _placement_fields(job)) != before[job.pk]],
    )
    order_services.steps_mark_ready(step_ids=preempted_steps)
    order_services.steps_mark_running(step_ids=placed_steps, at=now)
    report.placed, report.preempted = len(plan.placements), len(plan.preemptions)
    report.waiting = len(plan.waiting) + len(held)
    reasons = defaultdict(int)
    for job in active:
        if job.pending_reason and job.state in WAITING_STATES:
            reasons[job.pending_reason] += 1
    report.reasons = dict(reasons)


PLACEMENT_FIELDS = [
    "cluster_job_id",
    "state",
    "pool",
    "last_pool",
    "queued_at",
    "started_at",
    "pending_reason",
    "expected_start",
    "backfilled",
]


def _placement_fields(job: Job) -> tuple:
    return (
        job.cluster_job_id,
        job.state,
        job.pool_id,
        job.last_pool_id,
        job.queued_at,
        job.started_at,
        job.pending_reason,
        job.expected_start,
        job.backfilled,
    )


def _to_the_minute(moment: datetime | None) -> datetime | None:
    return moment.replace(second=0, microsecond=0) if moment else None


def _record_pools(pools, now) -> None:
    for pool in pools.values():
        pool.used_pflops = max(pool.used_pflops, Decimal(0))
    ComputePool.objects.bulk_update(list(pools.values()), ["used_pflops", "background_pflops"])
    queued_by_kind = defaultdict(int)
    waiting = Job.objects.filter(state__in=WAITING_STATES)
    for row in waiting.values("kind").annotate(n=Count("id")):
        queued_by_kind[row["kind"]] = row["n"]
    UtilizationSample.objects.bulk_create(
        UtilizationSample(
            pool=pool,
            at=now,
            used_pflops=pool.used_pflops,
            background_pflops=pool.background_pflops,
            capacity_pflops=pool.capacity_pflops,
            queued_jobs=queued_by_kind[pool.kind],
            cost=getattr(pool, "charged", Decimal(0)),
        )
        for pool in pools.values()
    )
    charged = sum((getattr(pool, "charged", Decimal(0)) for pool in pools.values()), Decimal(0))
    if charged:
        _add_daily_cost(timezone.localdate(now), charged)
    waited = ExpressionWrapper(Value(now, output_field=DateTimeField()) - F("queued_at"), output_field=DurationField())
    by_priority = {
        row["priority"]: row
        for row in waiting.values("priority").annotate(n=Count("id"), first=Min("queued_at"), mean=Avg(waited))
    }
    empty = {"n": 0, "first": None, "mean": None}
    QueueSample.objects.bulk_create(
        QueueSample(
            at=now,
            priority=priority,
            waiting_jobs=row["n"],
            mean_wait_hours=_hours(row["mean"]),
            longest_wait_hours=_hours(now - row["first"] if row["first"] else None),
        )
        for priority in PRIORITY_RANK
        for row in [by_priority.get(priority, empty)]
    )


_ADD_DAILY_COST_SQL = """
INSERT INTO dispatch_dailycost (day, cost) VALUES (%s, %s)
ON CONFLICT (day) DO UPDATE SET cost = dispatch_dailycost.cost + EXCLUDED.cost
"""

_REBUILD_DAILY_COSTS_SQL = """
INSERT INTO dispatch_dailycost (day, cost)
SELECT (at AT TIME ZONE %s)::date, SUM(cost) FROM dispatch_utilizationsample GROUP BY 1
"""


def _add_daily_cost(day, cost: Decimal) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_ADD_DAILY_COST_SQL, [day, cost])


@transaction.atomic
def daily_costs_rebuild() -> int:
    """Recompute the daily costs from the utilization samples (after samples were written in bulk)."""
    DailyCost.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(_REBUILD_DAILY_COSTS_SQL, [settings.TIME_ZONE])
        return cursor.rowcount


# What every stage's jobs used and were charged (the tick keeps these as it goes: _roll_up_compute).
STAGES_COMPUTE_REBUILD_SQL = """
UPDATE orders_orderstage AS stage SET compute_pflops_hours = used.work, compute_cost = used.cost
FROM (
    SELECT step.stage_id, ROUND(SUM(job.done_pflops_hours), 2) AS work, SUM(job.cost) AS cost
    FROM dispatch_job AS job JOIN orders_orderstep AS step ON step.id = job.step_id
    GROUP BY step.stage_id
) AS used
WHERE stage.id = used.stage_id
"""


def stages_compute_rebuild() -> int:
    """Recompute every stage's compute used and cost from its jobs (after jobs were written in bulk)."""
    with connection.cursor() as cursor:
        cursor.execute(STAGES_COMPUTE_REBUILD_SQL)
        return cursor.rowcount


def _hours(duration: timedelta | None) -> float:
    return max(duration.total_seconds() / 3600, 0.0) if duration else 0.0


def _roll_up_compute(order_ids: set[int]) -> None:
    totals = (
        Job.objects.filter(order_id__in=order_ids)
        .values("order_id", "step__stage_id")
        .annotate(work=Sum("done_pflops_hours"), cost=Sum("cost"))
    )
    order_services.orders_set_compute(
        totals={(row["order_id"], row["step__stage_id"]): (row["work"], row["cost"]) for row in totals}
    )


# --- What-if scenarios ---------------------------------------------------------------------------

# A run whose worker has given no sign of life for this long (real time) has stopped with it: it is failed, so
# that its owner may run again. Well above the task's time limit (dispatch.tasks.run_scenario).
RUN_SILENCE = timedelta(minutes=15)
# The longest error kept with a failed run (the whole trace is in the worker's log).
RUN_ERROR_MAX = 500


def _horizon(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= SCENARIO_HORIZON_DAYS_MAX:
        raise DispatchInvalid(
            _("Give a horizon of 1 to %(max)d days.") % {"max": SCENARIO_HORIZON_DAYS_MAX}, field="horizon_days"
        )
    return value


def _changes(changes) -> list[dict]:
    """Every change checked (dispatch.scenario_changes); ScenarioChangeInvalid naming the first wrong one."""
    if not isinstance(changes, list | tuple):
        raise DispatchInvalid(_("Give the changes as a list."), field="changes")
    if len(changes) > SCENARIO_CHANGES_MAX:
        raise DispatchInvalid(
            _("A scenario holds at most %(max)d changes.") % {"max": SCENARIO_CHANGES_MAX}, field="changes"
        )
    cleaned = []
    for number, change in enumerate(changes, start=1):
        try:
            cleaned.append(clean_change(change))
        except ScenarioChangeInvalid as error:
            name, messages = next(iter(error.errors.items()))
            raise DispatchInvalid(f"#{number} {name}: {messages[0]}", field="changes") from error
    return cleaned


def _editable(scenario_id: int) -> Scenario:
    scenario = Scenario.objects.select_for_update().get(pk=scenario_id)
    if scenario.archived:
        raise ScenarioStateConflict(
            _("Scenario %(name)s is archived: it keeps its results and takes no changes.") % {"name": scenario.name}
        )
    return scenario


@transaction.atomic
def scenario_create(
    *, actor, name: str, horizon_days: int, description: str = "", changes=(), submission_key: str | None = None
) -> Scenario:
    """A scenario of the present factory with `changes` (each as dispatch.scenario_changes describes it). The same
    `submission_key` again (a form sent twice, an API call retried) answers with the scenario it made
    (factory.submissions)."""
    permissions.check_scenarios(actor)
    name = clean_text(name, field="name", maximum=NAME_MAX, invalid=DispatchInvalid, required=_("Name the scenario."))
    description = clean_text(description, field="description", maximum=NOTE_MAX, invalid=DispatchInvalid)
    request = {
        "name": name,
        "description": description,
        "horizon_days": _horizon(horizon_days),
        "changes": _changes(changes),
    }
    return submissions.create_once(
        Scenario,
        key=submission_key,
        owner={"created_by": actor},
        request=request,
        create=lambda stamp: Scenario.objects.create(**request, created_by=actor, created_at=clock.now(), **stamp),
    )


@transaction.atomic
def scenario_create_and_run(*, actor, submission_key: str | None = None, **scenario) -> Scenario:
    """A scenario made as scenario_create makes it and, when it has changes, its first run queued (what the API's
    POST does, as API.md says): all or nothing, so a person whose run is still going is refused (409) and nothing is
    made. The same `submission_key` again answers with the scenario it made and queues no second run."""
    made = scenario_create(actor=actor, submission_key=submission_key, **scenario)
    if made.changes and not submissions.replayed(made):
        scenario_run_start(scenario=made, actor=actor)
    return made


@transaction.atomic
def scenario_add_change(*, scenario: Scenario, actor, change: dict) -> Scenario:
    permissions.check_scenarios(actor)
    scenario = _editable(scenario.pk)
    scenario.changes = _changes([*scenario.changes, change])
    scenario.save(update_fields=["changes"])
    return scenario


@transaction.atomic
def scenario_remove_change(*, scenario: Scenario, actor, number: int) -> Scenario:
    """Remove the scenario's change `number` (counted from 1, as the page and the API number them)."""
    permissions.check_scenarios(actor)
    scenario = _editable(scenario.pk)
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= len(scenario.changes):
        raise DispatchInvalid(_("The scenario has no change #%(number)s.") % {"number": number}, field="number")
    scenario.changes = [change for index, change in enumerate(scenario.changes, start=1) if index != number]
    scenario.save(update_fields=["changes"])
    return scenario


@transaction.atomic
def scenario_archive(*, scenario: Scenario, actor) -> Scenario:
    """Archive a scenario: it leaves the list, keeps its results, and takes no changes or runs."""
    permissions.check_scenarios(actor)
    scenario = _editable(scenario.pk)
    scenario.archived_at = clock.now()
    scenario.save(update_fields=["archived_at"])
    return scenario


def _fail_silent_runs(**where) -> None:
    ScenarioRun.objects.filter(
        state__in=RUN_GOING_STATES, heartbeat_at__lt=timezone.now() - RUN_SILENCE, **where
    ).update(state=RunState.FAILED, error=_("The worker running it stopped."), finished_at=clock.now())


@transaction.atomic
def scenario_run_start(*, scenario: Scenario, actor) -> ScenarioRun:
    """Queue a run of the scenario (dispatch.tasks.run_scenario); one run at a time per person."""
    from dispatch import tasks  # the tasks call this module

    permissions.check_scenarios(actor)
    scenario = _editable(scenario.pk)
    if not scenario.changes:
        raise ScenarioStateConflict(_("Add a change first: without changes the scenario is the baseline."))
    _fail_silent_runs(started_by=actor)
    going = ScenarioRun.objects.filter(started_by=actor, state__in=RUN_GOING_STATES).select_related("scenario").first()
    if going is not None:
        raise ScenarioStateConflict(
            _("Your run of %(name)s is still going: one run at a time. Wait for it to finish.")
            % {"name": going.scenario.name}
        )
    run = ScenarioRun.objects.create(
        scenario=scenario,
        started_by=actor,
        changes=scenario.changes,
        horizon_days=scenario.horizon_days,
        queued_at=clock.now(),
        heartbeat_at=timezone.now(),
    )
    transaction.on_commit(partial(tasks.run_scenario.delay, run.pk))
    return run


def scenario_run_execute(*, run_id: int) -> ScenarioRun | None:
    """Simulate a queued run and keep its result; None when it is not this worker's to run (it ran already, or
    another worker holds it). Progress is written as it goes, each step committed, for the page's progress bar."""
    from dispatch import scenarios  # it runs the forecast's engine, and the forecast reads this module

    now = clock.now()
    claimed = (
        ScenarioRun.objects.filter(pk=run_id)
        .filter(Q(state=RunState.QUEUED) | Q(state=RunState.RUNNING, heartbeat_at__lt=timezone.now() - RUN_SILENCE))
        .update(state=RunState.RUNNING, simulated_from=now, heartbeat_at=timezone.now(), progress=0.0)
    )
    if not claimed:
        return None
    run = ScenarioRun.objects.get(pk=run_id)
    going = ScenarioRun.objects.filter(pk=run_id, state=RunState.RUNNING)

    def progress(share: float) -> None:
        going.update(progress=round(min(max(share, 0.0), 1.0), 3), heartbeat_at=timezone.now())

    started = time.perf_counter()
    try:
        result = scenarios.run(changes=run.changes, horizon_days=run.horizon_days, now=now, progress=progress)
    except Exception as error:
        logger.exception("scenario run %s failed", run_id)
        said = str(error) or type(error).__name__  # a time limit says nothing but its name
        going.update(state=RunState.FAILED, error=said[:RUN_ERROR_MAX], finished_at=clock.now())
    else:
        going.update(
            state=RunState.DONE,
            result=result,
            progress=1.0,
            finished_at=clock.now(),
            seconds=round(time.perf_counter() - started, 2),
        )
    run.refresh_from_db()
    return run


@dataclass
class Promotion:
    """What a run's pool changes were made into: maintenance windows and scheduled pool changes."""

    windows: list[Reservation] = field(default_factory=list)
    pool_changes: list[ScheduledPoolChange] = field(default_factory=list)

    def __len__(self):
        return len(self.windows) + len(self.pool_changes)


def _promote_change(change: dict, *, run: ScenarioRun, actor, reason: str, now: datetime, into: Promotion) -> None:
    """One of a run's pool changes made real: a pool offline or draining between two times becomes a maintenance
    window, a capacity change a scheduled one, a new pool a pool made now and scheduled to come online."""
    kind, start = change["kind"], datetime.fromisoformat(change["start"]) if change.get("start") else now
    if kind in (ChangeKind.POOL_OFFLINE, ChangeKind.POOL_DRAINING):
        into.windows.append(
            reservation_create(
                actor=actor,
                kind=ReservationKind.MAINTENANCE,
                pool=ComputePool.objects.get(pk=change["pool"]),
                start=start,
                end=datetime.fromisoformat(change["end"]),
                closes_to=PoolState.OFFLINE if kind == ChangeKind.POOL_OFFLINE else PoolState.DRAINING,
                reason=reason,
                promoted_from=run,
            )
        )
    elif kind == ChangeKind.POOL_CAPACITY:
        into.pool_changes.append(
            pool_change_schedule(
                actor=actor,
                pool=ComputePool.objects.get(pk=change["pool"]),
                at=start,
                capacity_pflops=change["capacity"],
                reason=reason,
                promoted_from=run,
            )
        )
    else:
        into.pool_changes.append(
            pool_commission(
                actor=actor,
                site=ComputeSite.objects.get(pk=change["site"]),
                kind=change["pool_kind"],
                capacity_pflops=change["capacity"],
                trusted=bool(change.get("trusted")),
                at=start,
                reason=reason,
                promoted_from=run,
            )
        )


@atomic_with_retry
def scenario_promote(*, run: ScenarioRun, actor, reason: str) -> Promotion:
    """Make a finished run's pool changes real, all or none, each recording the run it came from and the reason:
    pools offline or draining between two times become maintenance windows, capacity changes and new pools
    scheduled pool changes (dispatch.scenario_changes.PROMOTABLE_KINDS). The rest (load, orders, arrivals, policy) is
    not the factory's to schedule."""
    permissions.check_pool_booking(actor)
    reason = _reason(reason, required=_("Say why the scenario's changes are made real."))
    run = ScenarioRun.objects.select_for_update().select_related("scenario").get(pk=run.pk)
    if run.state != RunState.DONE:
        raise ScenarioStateConflict(
            _("Only a finished run's changes are made real: this run is %(state)s.")
            % {"state": RunState(run.state).label.lower()}
        )
    earlier = [
        *Reservation.objects.filter(promoted_from=run).values_list("created_at", flat=True)[:1],
        *ScheduledPoolChange.objects.filter(promoted_from=run).values_list("created_at", flat=True)[:1],
    ]
    if earlier:
        raise ScenarioStateConflict(
            _("This run's changes were made real on %(at)s.") % {"at": moment_words(earlier[0])}
        )
    changes = [(number, change) for number, change in enumerate(run.changes, 1) if change["kind"] in PROMOTABLE_KINDS]
    if not changes:
        raise ScenarioStateConflict(
            _("This run changes no pool: only pool changes (capacity, new pools, offline or draining) are made real.")
        )
    now, promotion = clock.now(), Promotion()
    for number, change in changes:
        noted = _("%(reason)s (scenario %(scenario)s, run #%(run)d, change #%(number)d)") % {
            "reason": reason,
            "scenario": run.scenario.name,
            "run": run.pk,
            "number": number,
        }
        try:
            _promote_change(change, run=run, actor=actor, reason=noted, now=now, into=promotion)
        except (ComputePool.DoesNotExist, ComputeSite.DoesNotExist):
            raise ScenarioStateConflict(
                _("Change #%(number)d names a pool or site that no longer exists: nothing was made real.")
                % {"number": number}
            ) from None
        except (DispatchInvalid, ReservationConflict) as refused:
            raise ScenarioStateConflict(
                _("Change #%(number)d cannot be made real, so nothing was: %(problem)s")
                % {"number": number, "problem": refused}
            ) from None
    return promotion

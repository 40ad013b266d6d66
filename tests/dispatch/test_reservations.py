"""Reservations and maintenance windows: booking a pool's time ahead, what is refused, and what the tick, the
planner and the forecast make of a booking."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from dispatch import services
from dispatch.engine import planner
from dispatch.errors import DispatchInvalid, PoolActionNotPermitted, ReservationConflict
from dispatch.forecast import forecast_etas
from dispatch.models import ComputePool, Job, JobState, PoolState, PoolStateChange, Reservation
from factory import clock
from orders.models import OrderStatus
from orders.quotes import quote
from tests.factories import compute_pool, order_at

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_background_load(settings):
    settings.DISPATCH_BACKGROUND_LOAD = False


@pytest.fixture
def t0():
    return clock.now()


def _book(actor, pool, t0, *, start=1, end=5, kind="reservation", **fields):
    """A booking from t0 + `start` to t0 + `end` hours."""
    if kind == "reservation" and "order" not in fields:
        fields.setdefault("client", fields.pop("client", None))
    return services.reservation_create(
        actor=actor,
        kind=kind,
        pool=pool,
        start=t0 + timedelta(hours=start),
        end=t0 + timedelta(hours=end),
        reason=fields.pop("reason", "Quarterly model refresh for the client"),
        **fields,
    )


# --- Booking and what is refused -------------------------------------------------------------------------------


def test_a_dispatcher_holds_room_for_a_client_and_for_one_order(dispatcher, ops_user, org_a, t0):
    pool = compute_pool(kind="training", capacity=100)
    order = order_at(OrderStatus.ACCEPTED, staff=ops_user, client=org_a)

    for_client = _book(dispatcher, pool, t0, pflops=40, client=org_a)
    for_order = _book(dispatcher, pool, t0, pflops="60", order=order)

    assert (for_client.client, for_client.order, for_client.pflops) == (org_a, None, Decimal("40.00"))
    # Held for one order is held for its client's order: the client is the order's.
    assert (for_order.client, for_order.order, for_order.pflops) == (org_a, order, Decimal("60.00"))
    assert for_order.created_by == dispatcher
    holds = services.booked_holds(services.bookings_in_force(t0), t0)
    assert sorted((hold.pflops, hold.client_id, hold.order_id) for hold in holds) == [
        (40.0, org_a.pk, None),
        (60.0, org_a.pk, order.pk),
    ]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"start": 5, "end": 1}, "end"),
        ({"start": -9, "end": -1}, "end"),
        ({"start": 24 * 366, "end": 24 * 367}, "start"),
        ({"pflops": 0}, "pflops"),
        ({"pflops": -5}, "pflops"),
        ({"pflops": "lots"}, "pflops"),
        ({"pflops": None}, "pflops"),
        ({"pflops": True}, "pflops"),
        ({"pflops": 101}, "pflops"),
        ({"pflops": 10, "client": None}, "client"),
        ({"pflops": 10, "reason": "  "}, "reason"),
        ({"kind": "maintenance", "pflops": 10}, "kind"),
        ({"kind": "holiday", "pflops": 10}, "kind"),
    ],
)
def test_bad_bookings_are_refused_by_field_and_book_nothing(dispatcher, org_a, t0, fields, field):
    pool = compute_pool(kind="training", capacity=100)
    fields = {"client": org_a, **fields}
    if fields.get("kind") == "maintenance":
        fields.pop("client")

    with pytest.raises(DispatchInvalid) as refused:
        _book(dispatcher, pool, t0, **fields)

    assert refused.value.field == field
    assert not Reservation.objects.exists()


def test_a_naive_time_and_another_clients_order_are_refused(dispatcher, ops_user, org_a, org_b, t0):
    pool = compute_pool(kind="training", capacity=100)
    order = order_at(OrderStatus.ACCEPTED, staff=ops_user, client=org_b)
    with pytest.raises(DispatchInvalid) as naive:
        services.reservation_create(
            actor=dispatcher,
            kind="maintenance",
            pool=pool,
            start=t0.replace(tzinfo=None),
            end=t0 + timedelta(hours=2),
            reason="Firmware",
        )
    with pytest.raises(DispatchInvalid) as not_theirs:
        _book(dispatcher, pool, t0, pflops=10, client=org_a, order=order)
    delivered = order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a)
    with pytest.raises(DispatchInvalid) as finished:
        _book(dispatcher, pool, t0, pflops=10, order=delivered)

    assert (naive.value.field, not_theirs.value.field, finished.value.field) == ("start", "client", "order")
    assert "Delivered" in str(finished.value)
    assert not Reservation.objects.exists()


def test_only_the_dispatch_role_books_a_pools_time(ops_user, org_a, t0):
    pool = compute_pool(kind="training", capacity=100)
    with pytest.raises(PoolActionNotPermitted):
        _book(ops_user, pool, t0, pflops=10, client=org_a)
    assert not Reservation.objects.exists()


def test_overlapping_reservations_beyond_capacity_are_refused_naming_the_conflict(dispatcher, org_a, org_b, t0):
    pool = compute_pool(kind="training", capacity=100)
    first = _book(dispatcher, pool, t0, start=1, end=5, pflops=60, client=org_a)
    second = _book(dispatcher, pool, t0, start=3, end=8, pflops=30, client=org_b)

    with pytest.raises(ReservationConflict) as refused:
        _book(dispatcher, pool, t0, start=4, end=6, pflops=20, client=org_b)

    message = str(refused.value)
    assert f"reservation #{first.pk} for {org_a.name}" in message
    assert f"reservation #{second.pk} for {org_b.name}" in message
    assert "110" in message
    assert "100" in message
    # Once the first is over, the same room fits; and a cancelled one holds nothing.
    later = _book(dispatcher, pool, t0, start=5, end=9, pflops=70, client=org_b)
    services.reservation_cancel(reservation=later, actor=dispatcher, reason="The client moved its run")
    assert _book(dispatcher, pool, t0, start=5, end=9, pflops=70, client=org_b).pk
    assert Reservation.objects.filter(cancelled_at__isnull=True).count() == 3


def test_a_window_and_room_held_in_it_exclude_each_other(dispatcher, org_a, t0):
    pool = compute_pool(kind="training", capacity=100)
    held = _book(dispatcher, pool, t0, start=2, end=6, pflops=50, client=org_a)

    with pytest.raises(ReservationConflict) as window_over_room:
        _book(dispatcher, pool, t0, start=5, end=7, kind="maintenance")
    window = _book(dispatcher, pool, t0, start=6, end=9, kind="maintenance")
    with pytest.raises(ReservationConflict) as room_in_window:
        _book(dispatcher, pool, t0, start=8, end=10, pflops=10, client=org_a)
    with pytest.raises(ReservationConflict) as two_windows:
        _book(dispatcher, pool, t0, start=7, end=12, kind="maintenance")

    assert f"reservation #{held.pk}" in str(window_over_room.value)
    assert f"maintenance window #{window.pk}" in str(room_in_window.value)
    assert f"maintenance window #{window.pk}" in str(two_windows.value)
    assert Reservation.objects.count() == 2


def test_the_database_refuses_two_windows_over_one_pool_at_once(dispatcher, t0):
    pool = compute_pool(kind="training", capacity=100)
    window = _book(dispatcher, pool, t0, start=1, end=5, kind="maintenance")
    with pytest.raises(IntegrityError), transaction.atomic():
        Reservation.objects.create(
            kind="maintenance",
            pool=pool,
            start=window.start + timedelta(hours=1),
            end=window.end + timedelta(hours=1),
            reason="Twice",
            created_by=dispatcher,
            created_at=t0,
        )


def test_a_booking_is_cancelled_once_and_not_after_it_is_over(dispatcher, org_a, t0, move_clock):
    pool = compute_pool(kind="training", capacity=100)
    booking = _book(dispatcher, pool, t0, start=1, end=2, pflops=10, client=org_a)
    services.reservation_cancel(reservation=booking, actor=dispatcher, reason="Not needed")
    with pytest.raises(ReservationConflict, match="already cancelled"):
        services.reservation_cancel(reservation=booking, actor=dispatcher, reason="Again")

    over = _book(dispatcher, pool, t0, start=1, end=2, pflops=10, client=org_a)
    move_clock(hours=3)
    with pytest.raises(ReservationConflict, match="over"):
        services.reservation_cancel(reservation=over, actor=dispatcher, reason="Too late")
    assert Reservation.objects.get(pk=over.pk).cancelled_at is None


# --- The tick and the planner ----------------------------------------------------------------------------------


def _only_pool(kind="data_processing", capacity=100, state="offline"):
    """The one pool of the first steps' kind, offline until the jobs are shaped (every tick would place them)."""
    return compute_pool(kind=kind, capacity=capacity, state=state)


def _shape(order, *, priority="normal", demand=100, hours):
    job = Job.objects.get(order=order)
    job.priority, job.demand_pflops, job.work_pflops_hours = priority, Decimal(demand), Decimal(demand * hours)
    job.save()
    return job


def _activate(pool, dispatcher):
    services.pool_change_state(pool=pool, action="activate", actor=dispatcher, reason="Ready for work")


def test_a_reserved_order_starts_at_its_reservations_start_and_others_backfill_before_it(
    dispatcher, ops_user, org_a, org_b, t0
):
    pool = _only_pool()
    urgent = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_b)
    short = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_b)
    services.dispatch_tick(now=t0)
    start = t0 + timedelta(hours=2)
    _shape(urgent, priority="urgent", hours=20)
    # It ends exactly when the reserved room is needed: the backfill the reservation allows.
    _shape(short, hours=(start - t0 - timedelta(minutes=1)) / timedelta(hours=1))
    _activate(pool, dispatcher)
    reserved = order_at(OrderStatus.ACCEPTED, staff=ops_user, client=org_a)
    _book(dispatcher, pool, t0, start=2, end=12, pflops=100, order=reserved)

    services.dispatch_tick(now=t0 + timedelta(minutes=1))
    urgent_job = Job.objects.get(order=urgent)
    assert Job.objects.get(order=short).state == JobState.RUNNING
    assert (urgent_job.state, urgent_job.pending_reason) == (JobState.QUEUED, planner.HELD)

    # The reserved order arrives while the backfill runs; at the reservation's start it goes first.
    from orders.services import order_start_production

    order_start_production(order=reserved, actor=ops_user)
    services.dispatch_tick(now=t0 + timedelta(hours=1))
    _shape(reserved, hours=5)
    services.dispatch_tick(now=start)

    reserved_job = Job.objects.get(order=reserved)
    assert Job.objects.filter(order=short).earliest("id").state == JobState.DONE
    assert (reserved_job.state, reserved_job.started_at) == (JobState.RUNNING, start)
    assert Job.objects.get(order=urgent).state == JobState.QUEUED


def test_no_job_runs_on_a_pool_in_its_window_and_none_loses_its_progress(dispatcher, ops_user, t0):
    pool = _only_pool(capacity=100)
    running = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    too_long = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    services.dispatch_tick(now=t0)
    _shape(running, hours=10, priority="high")
    _shape(too_long, hours=3)
    _activate(pool, dispatcher)
    services.dispatch_tick(now=t0 + timedelta(minutes=1))
    assert Job.objects.get(order=running).state == JobState.RUNNING
    # The window is booked while it runs, and then the pool grows: room for the other, but not before the window.
    window = _book(dispatcher, pool, t0, start=2, end=5, kind="maintenance", reason="Cooling loop service")
    ComputePool.objects.filter(pk=pool.pk).update(capacity_pflops=200)

    services.dispatch_tick(now=t0 + timedelta(minutes=2))
    # Once the window is known, only work that ends before it starts there.
    waiting = Job.objects.get(order=too_long)
    assert (waiting.state, waiting.pending_reason) == (JobState.QUEUED, planner.MAINTENANCE)
    assert Job.objects.get(order=running).state == JobState.RUNNING

    services.dispatch_tick(now=t0 + timedelta(hours=2))
    pool.refresh_from_db()
    stopped = Job.objects.get(order=running)
    assert pool.state == PoolState.OFFLINE
    assert stopped.state == JobState.PREEMPTED
    assert stopped.done_pflops_hours == pytest.approx(Decimal(100 * (2 - 1 / 60)), abs=Decimal("0.01"))
    change = PoolStateChange.objects.filter(pool=pool).latest("at")
    assert (change.actor, change.to_state) == (None, PoolState.OFFLINE)
    assert f"Maintenance window #{window.pk}: Cooling loop service" == change.reason

    services.dispatch_tick(now=t0 + timedelta(hours=3))
    assert not Job.objects.filter(pool=pool, state=JobState.RUNNING).exists()
    assert ComputePool.objects.get(pk=pool.pk).used_pflops == 0

    services.dispatch_tick(now=t0 + timedelta(hours=5))
    pool.refresh_from_db()
    window.refresh_from_db()
    resumed = Job.objects.get(order=running)
    assert (pool.state, window.ended_at) == (PoolState.ACTIVE, t0 + timedelta(hours=5))
    assert resumed.state == JobState.RUNNING
    assert resumed.done_pflops_hours == stopped.done_pflops_hours  # picked up where it stopped
    assert Job.objects.get(order=too_long).state == JobState.RUNNING


def test_cancelling_a_window_under_way_brings_the_pool_back_now(dispatcher, ops_user, t0, move_clock):
    pool = compute_pool(kind="training", capacity=100, state="draining")
    window = _book(dispatcher, pool, t0, start=1, end=9, kind="maintenance")
    move_clock(hours=2)
    services.dispatch_tick()
    pool.refresh_from_db()
    assert pool.state == PoolState.OFFLINE

    services.reservation_cancel(reservation=window, actor=dispatcher, reason="Parts did not arrive")

    pool.refresh_from_db()
    window.refresh_from_db()
    # Back to what it was before the window: draining, as the dispatcher had left it.
    assert pool.state == PoolState.DRAINING
    assert window.cancelled_at is not None
    assert window.ended_at is not None
    assert PoolStateChange.objects.filter(pool=pool).latest("at", "id").actor == dispatcher


# --- The forecast ------------------------------------------------------------------------------------------------


def test_the_forecast_sees_a_window_on_the_pool_an_order_needs(dispatcher, ops_user, t0):
    for kind in ("data_processing", "training", "inference"):
        compute_pool(kind=kind, capacity=1000)
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    services.dispatch_tick(now=t0)
    forecast_etas(now=t0)
    order.refresh_from_db()
    without = order.eta

    training = ComputePool.objects.get(kind="training")
    _book(dispatcher, training, t0, start=0.5, end=24 * 20, kind="maintenance", reason="Hall rebuilt")
    forecast_etas(now=t0)
    order.refresh_from_db()

    assert order.eta > without + timedelta(days=10)


def test_a_quote_sees_a_window_over_every_pool_of_a_kind(dispatcher, t0):
    for kind in ("data_processing", "training", "inference"):
        compute_pool(kind=kind, capacity=1000)
    fields = {"product_type": "model", "size": "small", "priority": "normal", "data_sensitivity": "internal"}
    open_all_month = quote(**fields).promised_delivery

    training = ComputePool.objects.get(kind="training")
    _book(dispatcher, training, t0, start=0.5, end=24 * 20, kind="maintenance", reason="Hall rebuilt")

    assert quote(**fields).promised_delivery >= open_all_month + timedelta(days=10)


def test_the_dispatch_center_shows_each_pools_next_maintenance_window(client, dispatcher, t0):
    closing, other = compute_pool(kind="training"), compute_pool(kind="inference")
    window = _book(dispatcher, closing, t0, start=30, end=40, kind="maintenance", reason="Cooling loop")
    _book(dispatcher, closing, t0, start=60, end=70, kind="maintenance", reason="Later")
    cancelled = _book(dispatcher, other, t0, start=30, end=40, kind="maintenance", reason="Not needed")
    services.reservation_cancel(reservation=cancelled, actor=dispatcher, reason="Parts late")
    client.force_login(dispatcher)

    page = client.get("/dispatch/").content.decode()

    rows = dict(re.findall(r'<tr data-pool="([^"]+)"[^>]*>(.*?)(?=<tr data-pool=|</tbody>)', page, re.S))
    assert "data-maintenance" not in rows[other.name]
    assert f'href="/dispatch/pools/{closing.pk}/#bookings">Maintenance ' in rows[closing.name]
    assert rows[closing.name].count("data-maintenance") == 1  # the next one only
    assert window.start.astimezone().strftime("%H:%M") in rows[closing.name]


def test_a_start_already_passed_books_from_now_and_never_reaches_over_bookings_that_are_over(
    dispatcher, org_a, t0, move_clock
):
    pool = compute_pool(kind="training", capacity=100)
    _book(dispatcher, pool, t0, start=1, end=3, pflops=80, client=org_a)
    window = _book(dispatcher, pool, t0, start=4, end=6, kind="maintenance")
    move_clock(hours=5)
    services.dispatch_tick()  # closes the pool for the window
    move_clock(hours=2)
    services.dispatch_tick()  # and reopens it: both bookings are over

    again = _book(dispatcher, pool, t0, start=4.5, end=10, kind="maintenance", reason="Second pass")
    services.reservation_cancel(reservation=again, actor=dispatcher, reason="Not needed after all")
    room = _book(dispatcher, pool, t0, start=2, end=12, pflops=50, client=org_a)

    window.refresh_from_db()
    assert window.ended_at is not None
    assert again.start >= t0 + timedelta(hours=7)
    assert room.start >= t0 + timedelta(hours=7)


def test_a_pool_taken_over_by_hand_during_its_window_stays_as_left(dispatcher, t0, move_clock):
    pool = compute_pool(kind="training", capacity=100)
    window = _book(dispatcher, pool, t0, start=1, end=9, kind="maintenance")
    move_clock(hours=2)
    services.dispatch_tick()
    services.pool_change_state(pool=pool, action="activate", actor=dispatcher, reason="Repair done early")

    window.refresh_from_db()
    assert window.ended_at is not None
    assert services.maintenance_windows(services.bookings_in_force(clock.now()), clock.now()) == []
    move_clock(hours=8)
    services.dispatch_tick()
    services.pool_change_state(pool=pool, action="offline", actor=dispatcher, reason="A fault")
    move_clock(hours=1)
    services.dispatch_tick()
    pool.refresh_from_db()
    assert pool.state == PoolState.OFFLINE  # the window's end did not bring it back


def test_room_held_for_an_order_that_left_production_holds_nothing(client, dispatcher, ops_user, org_a, org_b, t0):
    pool = compute_pool(kind="training", capacity=100)
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a)
    held = _book(dispatcher, pool, t0, pflops=80, order=order)
    with pytest.raises(ReservationConflict):
        _book(dispatcher, pool, t0, pflops=40, client=org_b)

    from orders.services import order_cancel

    order_cancel(order=order, actor=ops_user, reason="The client withdrew")

    assert services.booked_holds(services.bookings_in_force(t0), t0) == []
    assert _book(dispatcher, pool, t0, pflops=40, client=org_b).pflops == 40
    client.force_login(dispatcher)
    shown = client.get(f"/dispatch/pools/{pool.pk}/").content.decode()
    assert re.search(rf'data-booking="{held.pk}".*?data-released', shown, re.S)


def test_room_is_held_for_an_order_only_where_its_jobs_may_run(dispatcher, ops_user, org_a, t0):
    sensitive = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, data_sensitivity="sensitive")
    for pool in (compute_pool(kind="training", trusted=False), compute_pool(kind="training", in_province=False)):
        with pytest.raises(DispatchInvalid, match="sensitive data") as refused:
            _book(dispatcher, pool, t0, pflops=10, order=sensitive)
        assert refused.value.field == "pool"
    assert _book(dispatcher, compute_pool(kind="training"), t0, pflops=10, order=sensitive).order == sensitive

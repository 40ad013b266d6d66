"""Scheduled pool changes and draining windows: a pool's capacity or state set from a time on, a new pool made now
and brought online later, and maintenance windows that drain a pool rather than close it; what is refused, what the
tick carries out and what the forecast sees before."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from dispatch import services
from dispatch.errors import DispatchInvalid, PoolActionNotPermitted, ReservationConflict
from dispatch.forecast import forecast_etas
from dispatch.models import ComputePool, Job, JobState, PoolState, PoolStateChange, ScheduledPoolChange
from factory import clock
from orders.models import OrderStatus
from tests.dispatch.test_reservations import _activate, _book, _only_pool, _shape
from tests.dispatch.test_scenarios_api import api_as
from tests.factories import compute_pool, order_at

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_background_load")]


def _schedule(actor, pool, t0, *, hours=2, reason="Racks added in hall C", **fields):
    return services.pool_change_schedule(
        actor=actor, pool=pool, at=t0 + timedelta(hours=hours), reason=reason, **fields
    )


# --- Scheduling and what is refused ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "capacity_pflops"),
        ({"capacity_pflops": 0}, "capacity_pflops"),
        ({"capacity_pflops": -5}, "capacity_pflops"),
        ({"capacity_pflops": "lots"}, "capacity_pflops"),
        ({"capacity_pflops": 10**7}, "capacity_pflops"),
        ({"state": "melted"}, "state"),
        ({"capacity_pflops": 50, "hours": 24 * 366}, "at"),
        ({"capacity_pflops": 50, "reason": " "}, "reason"),
    ],
)
def test_bad_changes_are_refused_by_field_and_schedule_nothing(dispatcher, t0, fields, field):
    pool = compute_pool(kind="training", capacity=100)
    with pytest.raises(DispatchInvalid) as refused:
        _schedule(dispatcher, pool, t0, **fields)
    assert refused.value.field == field
    assert not ScheduledPoolChange.objects.exists()


def test_only_the_dispatch_role_schedules_pool_changes(ops_user, t0):
    with pytest.raises(PoolActionNotPermitted):
        _schedule(ops_user, compute_pool(kind="training"), t0, capacity_pflops=50)


def test_a_cut_below_what_reservations_hold_is_refused_naming_them(dispatcher, org_a, t0):
    pool = compute_pool(kind="training", capacity=100)
    held = _book(dispatcher, pool, t0, start=5, end=9, pflops=60, client=org_a)

    with pytest.raises(ReservationConflict) as refused:
        _schedule(dispatcher, pool, t0, capacity_pflops=50)

    assert f"reservation #{held.pk}" in str(refused.value)
    assert not ScheduledPoolChange.objects.exists()
    _schedule(dispatcher, pool, t0, hours=10, capacity_pflops=50)  # after the reservation it is free to shrink


def test_a_reservation_is_checked_against_the_capacity_scheduled_for_its_time(dispatcher, org_a, t0):
    pool = compute_pool(kind="training", capacity=100)
    _schedule(dispatcher, pool, t0, hours=6, capacity_pflops=40)

    with pytest.raises(ReservationConflict, match="40"):
        _book(dispatcher, pool, t0, start=5, end=9, pflops=60, client=org_a)
    _book(dispatcher, pool, t0, start=1, end=5, pflops=60, client=org_a)  # before the cut it fits


def test_a_change_is_cancelled_once_and_not_after_it_is_carried_out(dispatcher, t0, move_clock):
    pool = compute_pool(kind="training", capacity=100)
    first = _schedule(dispatcher, pool, t0, capacity_pflops=150)
    second = _schedule(dispatcher, pool, t0, hours=1, capacity_pflops=120)

    services.pool_change_cancel(change=first, actor=dispatcher, reason="Racks late")
    with pytest.raises(ReservationConflict, match="already cancelled"):
        services.pool_change_cancel(change=first, actor=dispatcher, reason="Again")
    move_clock(hours=1)
    services.dispatch_tick()
    with pytest.raises(ReservationConflict, match="carried out"):
        services.pool_change_cancel(change=second, actor=dispatcher, reason="Too late")

    pool.refresh_from_db()
    assert pool.capacity_pflops == 120  # the cancelled one never happened


# --- What the tick carries out -----------------------------------------------------------------------------------


def test_more_capacity_comes_at_its_time_and_is_recorded_with_what_it_replaced(dispatcher, t0, move_clock):
    pool = compute_pool(kind="training", capacity=100)
    change = _schedule(dispatcher, pool, t0, capacity_pflops=250)

    move_clock(hours=1)
    services.dispatch_tick()
    pool.refresh_from_db()
    assert pool.capacity_pflops == 100

    move_clock(hours=1)
    services.dispatch_tick()
    pool.refresh_from_db()
    change.refresh_from_db()
    assert pool.capacity_pflops == 250
    assert change.carried_out_at >= change.at
    assert (change.capacity_before, change.state_before) == (100, "active")


def test_a_cut_below_what_runs_requeues_the_least_urgent_work_with_its_progress(dispatcher, ops_user, t0):
    pool = _only_pool(capacity=100)
    urgent, early, late = (order_at(OrderStatus.IN_PRODUCTION, staff=ops_user) for _ in range(3))
    services.dispatch_tick(now=t0)
    _shape(urgent, priority="urgent", demand=40, hours=10)
    _shape(early, priority="low", demand=30, hours=10)
    _shape(late, priority="low", demand=30, hours=10)
    _activate(pool, dispatcher)
    services.dispatch_tick(now=t0 + timedelta(minutes=2))
    assert Job.objects.filter(pool=pool, state=JobState.RUNNING).count() == 3
    _schedule(dispatcher, pool, t0, hours=1, capacity_pflops=70)

    services.dispatch_tick(now=t0 + timedelta(hours=1))

    pool.refresh_from_db()
    assert (pool.capacity_pflops, pool.used_pflops) == (70, 70)
    assert Job.objects.get(order=urgent).state == JobState.RUNNING
    (stopped,) = Job.objects.filter(order__in=[early, late], state=JobState.PREEMPTED)
    assert stopped.done_pflops_hours == pytest.approx(Decimal(30 * (1 - 2 / 60)), abs=Decimal("0.01"))


def test_a_state_scheduled_offline_requeues_the_pools_jobs_and_says_why(dispatcher, ops_user, t0):
    pool = _only_pool(capacity=100)
    running = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    services.dispatch_tick(now=t0)
    _shape(running, hours=10)
    _activate(pool, dispatcher)
    services.dispatch_tick(now=t0 + timedelta(minutes=1))
    change = _schedule(dispatcher, pool, t0, hours=1, state="offline", reason="Hall closes")

    services.dispatch_tick(now=t0 + timedelta(hours=1))

    pool.refresh_from_db()
    assert (pool.state, pool.used_pflops) == (PoolState.OFFLINE, 0)
    assert Job.objects.get(order=running).state == JobState.PREEMPTED
    recorded = PoolStateChange.objects.filter(pool=pool).latest("at", "id")
    assert (recorded.actor, recorded.reason) == (None, f"Scheduled change #{change.pk}: Hall closes")


def test_a_scheduled_state_takes_over_a_pool_closed_by_its_window(dispatcher, t0, move_clock):
    pool = compute_pool(kind="training", capacity=100)
    window = _book(dispatcher, pool, t0, start=1, end=9, kind="maintenance")
    _schedule(dispatcher, pool, t0, hours=3, state="active", reason="Repair done early")
    move_clock(hours=2)
    services.dispatch_tick()
    pool.refresh_from_db()
    assert pool.state == PoolState.OFFLINE

    move_clock(hours=2)
    services.dispatch_tick()
    pool.refresh_from_db()
    window.refresh_from_db()
    assert pool.state == PoolState.ACTIVE
    assert window.ended_at is not None  # taken over, as when a person activates it
    assert services.maintenance_windows(services.bookings_in_force(clock.now()), clock.now()) == []


def test_a_new_pool_is_made_offline_now_and_comes_online_at_its_time(dispatcher, t0, move_clock):
    existing = compute_pool(kind="inference", capacity=100)
    compute_pool(kind="inference", capacity=100, site=existing.site, price_per_pflops_hour=Decimal("3.00"))

    change = services.pool_commission(
        actor=dispatcher,
        site=existing.site,
        kind="inference",
        capacity_pflops=300,
        trusted=True,
        at=t0 + timedelta(days=2),
        reason="New hall",
    )

    added = change.pool
    assert added.name == f"{existing.site.name} Inference 2"
    assert (added.state, added.capacity_pflops, added.trusted) == (PoolState.OFFLINE, 300, True)
    mean = (existing.price_per_pflops_hour + Decimal("3.00")) / 2
    assert added.price_per_pflops_hour == mean.quantize(Decimal("0.01"))
    move_clock(days=2)
    services.dispatch_tick()
    added.refresh_from_db()
    assert added.state == PoolState.ACTIVE


def test_the_forecast_sees_a_pool_coming_online(dispatcher, ops_user, t0):
    for kind in ("training", "inference"):
        compute_pool(kind=kind, capacity=1000)
    first_steps = _only_pool(capacity=1000)  # offline, as if under repair
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    services.dispatch_tick(now=t0)
    promised = order.eta

    _schedule(dispatcher, first_steps, t0, hours=24 * 20, state="active", reason="Repair done by then")
    forecast_etas(now=t0)
    order.refresh_from_db()

    # Its first steps have no pool until the repair: it is delivered after it, later than first promised.
    assert order.eta > t0 + timedelta(days=20)
    assert order.eta > promised


# --- Windows that drain ----------------------------------------------------------------------------------------


def test_a_draining_window_lets_running_work_finish_and_brings_the_pool_back(dispatcher, ops_user, t0):
    pool = _only_pool(capacity=100)
    running, waiting = (order_at(OrderStatus.IN_PRODUCTION, staff=ops_user) for _ in range(2))
    services.dispatch_tick(now=t0)
    _shape(running, hours=3)
    _activate(pool, dispatcher)
    services.dispatch_tick(now=t0 + timedelta(minutes=1))
    window = _book(dispatcher, pool, t0, start=1, end=6, kind="maintenance", closes_to="draining")
    # A draining window closes no pool before its start: long work still starts there.
    assert services.closing_times(services.bookings_in_force(t0), t0) == {}

    services.dispatch_tick(now=t0 + timedelta(hours=1))
    _shape(waiting, hours=1)
    services.dispatch_tick(now=t0 + timedelta(hours=2))
    pool.refresh_from_db()
    assert pool.state == PoolState.DRAINING
    assert Job.objects.get(order=running).state == JobState.RUNNING  # not stopped: it finishes
    assert Job.objects.get(order=waiting).state == JobState.QUEUED  # nothing new starts

    services.dispatch_tick(now=t0 + timedelta(hours=6))
    pool.refresh_from_db()
    window.refresh_from_db()
    assert (pool.state, window.ended_at) == (PoolState.ACTIVE, t0 + timedelta(hours=6))
    assert Job.objects.get(order=waiting).state == JobState.RUNNING


def test_a_reservation_does_not_close_its_pool(dispatcher, org_a, t0):
    with pytest.raises(DispatchInvalid) as refused:
        _book(dispatcher, compute_pool(kind="training"), t0, pflops=10, client=org_a, closes_to="draining")
    assert refused.value.field == "closes_to"
    with pytest.raises(DispatchInvalid):
        _book(dispatcher, compute_pool(kind="training"), t0, kind="maintenance", closes_to="active")
    assert ComputePool.objects.count() == 2


# --- The pool page -----------------------------------------------------------------------------------------------


def _local(moment) -> str:
    """As a datetime-local field sends it."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _section(response, testid: str) -> str:
    page = response.content.decode()
    start = page.index(f'data-testid="{testid}"')
    return page[start : page.find("<section", start)]


def test_a_dispatcher_schedules_and_cancels_a_change_on_the_pool_page(client, dispatcher, t0):
    pool = compute_pool(kind="training", capacity=100)
    page = f"/dispatch/pools/{pool.pk}/"
    client.force_login(dispatcher)
    assert 'data-testid="changes-empty"' in client.get(page).content.decode()

    refused = client.post(
        f"{page}changes/", {"at": _local(t0 + timedelta(days=1)), "capacity_pflops": "", "reason": "x"}
    )
    assert refused.status_code == 400
    assert "Give the new capacity, the new state or both." in _section(refused, "pool-scheduled")
    assert not ScheduledPoolChange.objects.exists()

    at = t0 + timedelta(days=1)
    done = client.post(
        f"{page}changes/",
        {"at": _local(at), "capacity_pflops": "160", "state": "", "reason": "Racks added"},
        follow=True,
    )
    change = ScheduledPoolChange.objects.get()
    assert (change.capacity_pflops, change.state, change.created_by) == (160, "", dispatcher)
    assert "scheduled to be 160.00 PFLOPS" in done.content.decode()
    assert f'data-pool-change="{change.pk}" data-pending="true"' in _section(done, "pool-scheduled")

    client.post(f"/dispatch/pool-changes/{change.pk}/cancel/", {"reason": "Racks late"})
    change.refresh_from_db()
    assert change.cancel_reason == "Racks late"
    shown = _section(client.get(page), "pool-scheduled")
    assert 'data-testid="changes-past"' in shown
    assert f'data-pool-change="{change.pk}" data-pending="false"' in shown


def test_operations_see_the_scheduled_changes_but_not_the_forms(client, dispatcher, ops_user, t0):
    pool = compute_pool(kind="training", capacity=100)
    change = _schedule(dispatcher, pool, t0, capacity_pflops=150)
    client.force_login(ops_user)

    shown = _section(client.get(f"/dispatch/pools/{pool.pk}/"), "pool-scheduled")

    assert f'data-pool-change="{change.pk}"' in shown
    assert 'data-testid="schedule-form"' not in shown
    assert f'data-testid="cancel-change-{change.pk}"' not in shown
    assert client.post(f"/dispatch/pools/{pool.pk}/changes/", {}).status_code == 403
    assert client.post(f"/dispatch/pool-changes/{change.pk}/cancel/", {"reason": "No"}).status_code == 403


def test_a_draining_window_is_booked_on_the_pool_page(client, dispatcher, t0):
    pool = compute_pool(kind="training", capacity=100)
    client.force_login(dispatcher)
    start = t0 + timedelta(days=1)
    form = {
        "kind": "maintenance",
        "closes_to": "draining",
        "start": _local(start),
        "end": _local(start + timedelta(hours=8)),
    }

    done = client.post(f"/dispatch/pools/{pool.pk}/reservations/", {**form, "reason": "Firmware"}, follow=True)

    window = pool.reservations.get()
    assert window.closes_to == PoolState.DRAINING
    assert "the pool drains then" in done.content.decode()
    # A reservation's form sends the select too: it closes nothing.
    client.post(
        f"/dispatch/pools/{pool.pk}/reservations/",
        {**form, "kind": "reservation", "pflops": "10", "client": "", "order": "", "reason": "Held"},
    )
    assert pool.reservations.count() == 1


# --- The API -------------------------------------------------------------------------------------------------------

URL = "/api/v1/pool-changes/"


def test_the_api_schedules_lists_and_cancels_pool_changes(dispatcher, ops_user, t0):
    pool = compute_pool(kind="training", capacity=100)
    api = api_as(dispatcher)
    body = {"pool": pool.pk, "at": (t0 + timedelta(days=3)).isoformat(), "capacity_pflops": 180, "reason": "Racks"}

    made = api.post(URL, body, format="json")

    assert made.status_code == 201
    change = made.json()
    assert (change["pool_name"], change["capacity_pflops"], change["state"]) == (pool.name, 180.0, "")
    assert made["Location"].endswith(f"{URL}{change['id']}/")
    listed = api_as(ops_user).get(URL, {"pending": "true", "pool": pool.pk}).json()
    assert [row["id"] for row in listed["results"]] == [change["id"]]
    cancelled = api.post(f"{URL}{change['id']}/cancel/", {"reason": "Racks late"}, format="json")
    assert (cancelled.status_code, cancelled.json()["cancelled_by"]) == (200, dispatcher.username)
    assert api.post(f"{URL}{change['id']}/cancel/", {"reason": "Again"}, format="json").status_code == 409
    assert api.get(URL, {"pending": "true"}).json()["results"] == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"capacity_pflops": None}, "capacity_pflops"),
        ({"capacity_pflops": -1}, "capacity_pflops"),
        ({"state": "melted"}, "state"),
        ({"pool": 999_999}, "pool"),
        ({"at": "next week"}, "at"),
        ({"reason": " "}, "reason"),
    ],
)
def test_bad_api_changes_answer_400_by_field(dispatcher, t0, fields, field):
    pool = compute_pool(kind="training", capacity=100)
    body = {"pool": pool.pk, "at": (t0 + timedelta(days=3)).isoformat(), "capacity_pflops": 180, "reason": "Racks"}

    answer = api_as(dispatcher).post(URL, {**body, **fields}, format="json")

    assert answer.status_code == 400
    assert field in answer.json()
    assert not ScheduledPoolChange.objects.exists()


def test_an_api_change_sent_twice_with_one_idempotency_key_is_made_once(dispatcher, org_a, t0):
    pool = compute_pool(kind="training", capacity=100)
    _book(dispatcher, pool, t0, start=30, end=40, pflops=60, client=org_a)
    api = api_as(dispatcher)
    body = {"pool": pool.pk, "at": (t0 + timedelta(days=3)).isoformat(), "capacity_pflops": 180, "reason": "Racks"}

    first = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="racks-0001")
    again = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="racks-0001")
    cut = api.post(URL, {**body, "at": t0.isoformat(), "capacity_pflops": 50}, format="json")

    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (201, 201, "true")
    assert ScheduledPoolChange.objects.count() == 1
    assert cut.status_code == 409
    assert "reservation #" in cut.json()["detail"]


@pytest.mark.parametrize("changes", [1, 6])
def test_the_api_list_takes_two_queries_whatever_its_length(dispatcher, t0, django_assert_num_queries, changes):
    pool = compute_pool(kind="training", capacity=100)
    for number in range(changes):
        made = _schedule(dispatcher, pool, t0, hours=1 + number, capacity_pflops=100 + number)
        if number % 2:
            services.pool_change_cancel(change=made, actor=dispatcher, reason="Racks late")
    api = api_as(dispatcher)
    api.get(URL)  # the token is read once and then kept: not what this counts

    with django_assert_num_queries(2):  # the count, and the page with its pools and people
        answer = api.get(URL)

    assert answer.json()["count"] == changes

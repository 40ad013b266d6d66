"""Reservations and maintenance windows on a pool's page: listed with what, when, for whom, why and by whom; booked and
cancelled there by the dispatch role, read by operations; drawn as bands on the pool's utilization chart."""

import re
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from dispatch import services
from dispatch.models import Reservation
from factory import charts as factory_charts
from factory import clock
from orders.models import OrderStatus
from tests.factories import compute_pool, order_at

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_background_load(settings):
    settings.DISPATCH_BACKGROUND_LOAD = False


@pytest.fixture
def pool():
    return compute_pool(kind="training", capacity=100, name="gz-train-a")


def _page(pool) -> str:
    return f"/dispatch/pools/{pool.pk}/"


def _text(response) -> str:
    return response.content.decode()


def _messages(response) -> str:
    return " ".join(str(message) for message in response.context["messages"]) if response.context else ""


def _section(response, testid: str) -> str:
    page = _text(response)
    start = page.index(f'data-testid="{testid}"')
    end = page.find("<section", start)
    return page[start : end if end != -1 else len(page)]


def _rows(html: str) -> list[tuple[str, str, str]]:
    """(id, kind, state) of each booking row, top to bottom."""
    return re.findall(r'<tr data-booking="(\d+)" data-kind="(\w+)" data-state="(\w+)"', html)


def _local(moment) -> str:
    """As a datetime-local field sends it."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _form(**fields) -> dict:
    start = clock.now() + timedelta(days=1)
    return {
        "kind": "maintenance",
        "start": _local(start),
        "end": _local(start + timedelta(hours=8)),
        "pflops": "",
        "client": "",
        "order": "",
        "reason": "Chiller replacement",
        **fields,
    }


def _reserve(actor, pool, *, client=None, order=None, pflops=30, start_h=24, hours=12, reason="Launch week"):
    start = clock.now() + timedelta(hours=start_h)
    return services.reservation_create(
        actor=actor,
        kind="reservation",
        pool=pool,
        start=start,
        end=start + timedelta(hours=hours),
        pflops=pflops,
        client=client,
        order=order,
        reason=reason,
    )


def _window(actor, pool, *, start_h=48, hours=6, reason="Cooling upgrade"):
    start = clock.now() + timedelta(hours=start_h)
    return services.reservation_create(
        actor=actor, kind="maintenance", pool=pool, start=start, end=start + timedelta(hours=hours), reason=reason
    )


def _ticks(hours: int = 3):
    """A few dispatch ticks over the last hours, so that the pool's chart has samples."""
    for back in range(hours, -1, -1):
        services.dispatch_tick(now=clock.now() - timedelta(hours=back))


# --- The section ------------------------------------------------------------------------------------------------


def test_a_pool_without_bookings_says_what_would_appear_and_offers_the_form_to_dispatch(client, dispatcher, pool):
    client.force_login(dispatcher)

    section = _section(client.get(_page(pool)), "pool-bookings")

    assert "Nothing booked ahead" in section
    assert "with the form below" in section
    assert 'data-testid="booking-form"' in section
    assert f'action="/dispatch/pools/{pool.pk}/reservations/"' in section


def test_operations_see_the_bookings_read_only(client, ops_user, dispatcher, pool, org_a):
    held = _reserve(dispatcher, pool, client=org_a)
    client.force_login(ops_user)

    section = _section(client.get(_page(pool)), "pool-bookings")

    assert _rows(section) == [(str(held.pk), "reservation", "upcoming")]
    assert "booking-form" not in section
    assert "cancel-booking" not in section
    assert client.post(f"/dispatch/pools/{pool.pk}/reservations/", _form()).status_code == 403
    assert client.post(f"/dispatch/reservations/{held.pk}/cancel/", {"reason": "x"}).status_code == 403
    assert Reservation.objects.get().cancelled_at is None


def test_each_booking_shows_what_when_how_much_for_whom_why_and_who_booked_it(client, dispatcher, ops_user, pool):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    held = _reserve(dispatcher, pool, order=order, pflops=42.5, reason="Its fine-tuning run")
    window = _window(dispatcher, pool)
    client.force_login(dispatcher)

    section = _section(client.get(_page(pool)), "bookings-ahead")

    assert _rows(section) == [(str(held.pk), "reservation", "upcoming"), (str(window.pk), "maintenance", "upcoming")]
    assert f'<a href="/orders/{order.pk}/">{order.reference}</a>' in section
    assert order.client.name in section
    assert "42.50 PFLOPS" in section
    assert "Whole pool" in section
    assert "Its fine-tuning run" in section
    assert "Cooling upgrade" in section
    assert dispatcher.username in section
    assert "12 h" in section
    assert "6 h" in section
    assert "Upcoming" in section
    assert section.count('data-action="cancel-booking"') == 2


# --- Booking --------------------------------------------------------------------------------------------------


def test_a_dispatcher_books_a_maintenance_window_and_sees_it_listed(client, dispatcher, pool):
    client.force_login(dispatcher)

    response = client.post(f"/dispatch/pools/{pool.pk}/reservations/", _form(), follow=True)

    window = Reservation.objects.get()
    assert response.redirect_chain == [(f"/dispatch/pools/{pool.pk}/#bookings", 302)]
    assert "Maintenance window booked on pool gz-train-a from" in _messages(response)
    assert _rows(_section(response, "bookings-ahead")) == [(str(window.pk), "maintenance", "upcoming")]
    assert (window.kind, window.created_by, window.reason) == ("maintenance", dispatcher, "Chiller replacement")


def test_a_reservation_is_booked_for_an_order_by_its_reference(client, dispatcher, ops_user, pool):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    client.force_login(dispatcher)

    response = client.post(
        f"/dispatch/pools/{pool.pk}/reservations/",
        _form(kind="reservation", pflops="20", order=order.reference.lower()),
        follow=True,
    )

    held = Reservation.objects.get()
    assert (held.order, held.client, held.pflops) == (order, order.client, 20)
    assert f"20.00 PFLOPS of pool gz-train-a held for {order.reference}" in _messages(response)


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"end": ""}, "end", "This field is required."),
        ({"kind": "reservation", "pflops": "-3"}, "pflops", "Hold more than 0 PFLOPS."),
        ({"kind": "reservation", "pflops": "10"}, "client", "Name the client or the order the room is held for."),
        ({"kind": "reservation", "pflops": "10", "order": "AF-1999-00001"}, "order", "No order has the reference"),
        ({"pflops": "10"}, "kind", "A maintenance window closes the whole pool"),
        ({"reason": " "}, "reason", "Say why the time is booked."),
    ],
)
def test_bad_input_comes_back_on_the_form_next_to_its_field(client, dispatcher, pool, fields, field, words):
    client.force_login(dispatcher)

    response = client.post(f"/dispatch/pools/{pool.pk}/reservations/", _form(**fields))

    assert response.status_code == 400
    form = response.context["booking_form"]
    assert words in " ".join(form.errors[field])
    assert '<details class="staff-action" id="book" open' in _text(response)
    assert not Reservation.objects.exists()


def test_an_end_before_the_start_is_refused_on_the_end_field(client, dispatcher, pool):
    start = clock.now() + timedelta(days=2)
    client.force_login(dispatcher)

    response = client.post(
        f"/dispatch/pools/{pool.pk}/reservations/",
        _form(start=_local(start), end=_local(start - timedelta(hours=1))),
    )

    assert response.status_code == 400
    assert response.context["booking_form"].errors["end"] == ["The end must come after the start."]


def test_a_conflicting_booking_comes_back_above_the_form_naming_the_booking_in_the_way(client, dispatcher, pool, org_a):
    held = _reserve(dispatcher, pool, client=org_a, start_h=20, hours=10)
    client.force_login(dispatcher)

    response = client.post(f"/dispatch/pools/{pool.pk}/reservations/", _form(reason="Fan swap"))

    assert response.status_code == 409
    (said,) = response.context["booking_form"].non_field_errors()
    assert f"reservation #{held.pk} for {org_a.name}" in said
    page = _text(response)
    assert "Please correct the following:" in page
    assert "Fan swap" in page  # the answers are kept
    assert Reservation.objects.count() == 1


# --- Cancelling -----------------------------------------------------------------------------------------------


def test_a_dispatcher_cancels_a_booking_with_a_reason_and_it_moves_to_the_past(client, dispatcher, pool, org_a):
    held = _reserve(dispatcher, pool, client=org_a)
    client.force_login(dispatcher)

    response = client.post(f"/dispatch/reservations/{held.pk}/cancel/", {"reason": "Postponed"}, follow=True)

    assert response.redirect_chain == [(f"/dispatch/pools/{pool.pk}/#bookings", 302)]
    assert f"Reservation #{held.pk} cancelled" in _messages(response)
    assert "Nothing booked ahead" in _section(response, "pool-bookings")
    past = _section(response, "bookings-past")
    assert _rows(past) == [(str(held.pk), "reservation", "cancelled")]
    assert "Postponed" in past
    assert "cancel-booking" not in past


def test_a_cancellation_without_a_reason_is_refused_with_a_message(client, dispatcher, pool):
    window = _window(dispatcher, pool)
    client.force_login(dispatcher)

    response = client.post(f"/dispatch/reservations/{window.pk}/cancel/", {"reason": ""}, follow=True)

    assert "Say why it is cancelled." in _messages(response)
    window.refresh_from_db()
    assert window.cancelled_at is None
    assert client.post("/dispatch/reservations/999999/cancel/", {"reason": "x"}).status_code == 404


# --- Query count ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bookings", [1, 5])
def test_the_pool_page_takes_a_fixed_number_of_queries_whatever_its_bookings(
    client, dispatcher, ops_user, pool, org_a, django_assert_num_queries, bookings
):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a)
    for number in range(bookings):
        held = _reserve(dispatcher, pool, order=order, pflops=10, start_h=-2 + 30 * number, hours=20)
        if number % 2:
            services.reservation_cancel(reservation=held, actor=dispatcher, reason="Moved")
        change = services.pool_change_schedule(
            actor=dispatcher,
            pool=pool,
            at=clock.now() + timedelta(hours=1 + 40 * number),
            capacity_pflops=200 + number,
            reason="Racks added",
        )
        if number % 2:
            services.pool_change_cancel(change=change, actor=dispatcher, reason="Racks late")
    _window(dispatcher, pool, start_h=500)
    _ticks()
    client.force_login(dispatcher)

    # 1 session, 2 user, 3 role groups, 4 the pool, 5 its utilization history, 6 its running jobs, 7 its state
    # changes, 8 its bookings in force and 9 the last over or cancelled (each with pool, client, order and who booked
    # and cancelled it), 10 its scheduled changes to come and 11 the last carried out or cancelled (with who made
    # and cancelled them and the run they came from), 12 the clients of the booking form.
    with django_assert_num_queries(12):
        response = client.get(_page(pool))

    assert len(_rows(_text(response))) == bookings + 1
    assert _text(response).count("<tr data-pool-change=") == bookings


# --- Bands on the utilization chart ---------------------------------------------------------------------------------


def _figure(client, pool) -> dict:
    figure = client.get(_page(pool)).context["figures"]["utilization"]
    factory_charts.validate(figure)
    return figure


def test_bookings_are_drawn_as_bands_one_tone_per_kind_and_the_axis_reaches_them(client, dispatcher, pool, org_a):
    _ticks()
    held = _reserve(dispatcher, pool, client=org_a, pflops=30, start_h=10, hours=12)
    window = _window(dispatcher, pool, start_h=30, hours=6)
    client.force_login(dispatcher)

    layout = _figure(client, pool)["layout"]

    bands = [shape for shape in layout["shapes"] if shape["type"] == "rect"]
    assert [band["label"]["text"] for band in bands] == [
        f"Reserved #{held.pk}: 30 PFLOPS for {org_a.name}",
        f"Maintenance #{window.pk}",
    ]
    assert bands[0]["fillcolor"] != bands[1]["fillcolor"]
    assert [(band["name"], band["showlegend"]) for band in bands] == [
        ("Reserved room", True),
        ("Maintenance window", True),
    ]
    assert {(band["xref"], band["yref"], band["y0"], band["y1"]) for band in bands} == {("x", "paper", 0, 1)}
    assert bands[1]["x1"] == factory_charts.instant(window.end)
    assert layout["xaxis"]["range"][1] == factory_charts.instant(window.end)  # the axis goes on to the window's end
    assert any(shape["type"] == "line" for shape in layout["shapes"])  # and marks now
    chart = client.get(_page(pool)).context["charts"][0]
    assert f"Shaded: Reserved #{held.pk}" in chart["summary"]
    assert chart["title"] == "Utilization over the last 24 h, and the bookings of the week ahead"


def test_the_chart_leaves_out_cancelled_bookings_and_those_beyond_a_week(client, dispatcher, pool, org_a):
    _ticks()
    dropped = _reserve(dispatcher, pool, client=org_a, start_h=5)
    services.reservation_cancel(reservation=dropped, actor=dispatcher, reason="Moved")
    _window(dispatcher, pool, start_h=24 * 8)
    client.force_login(dispatcher)

    layout = _figure(client, pool)["layout"]

    assert layout["shapes"] == []
    assert "range" not in layout["xaxis"]


def test_a_window_under_way_is_drawn_up_to_a_week_ahead_and_the_past_one_within_the_day(
    client, dispatcher, pool, org_a, move_clock
):
    past = _reserve(dispatcher, pool, client=org_a, start_h=1, hours=2)
    window = _window(dispatcher, pool, start_h=4, hours=24 * 10)
    move_clock(hours=5)
    _ticks(4)
    client.force_login(dispatcher)

    layout = _figure(client, pool)["layout"]

    bands = [shape for shape in layout["shapes"] if shape["type"] == "rect"]
    assert [band["label"]["text"] for band in bands] == [
        f"Reserved #{past.pk}: 30 PFLOPS for {org_a.name}",
        f"Maintenance #{window.pk}",
    ]
    week_ahead = datetime.fromisoformat(factory_charts.instant(clock.now() + timedelta(days=7)))
    # The page read the clock a moment before this test did.
    assert timedelta(0) <= week_ahead - datetime.fromisoformat(bands[1]["x1"]) < timedelta(seconds=5)
    assert layout["xaxis"]["range"][1] == bands[1]["x1"]


def test_a_booking_form_sent_twice_books_once(client, dispatcher, pool):
    client.force_login(dispatcher)
    form = _form(submission_key="booking-form-0001")

    first = client.post(f"/dispatch/pools/{pool.pk}/reservations/", form)
    again = client.post(f"/dispatch/pools/{pool.pk}/reservations/", form)

    assert first.status_code == again.status_code == 302
    assert Reservation.objects.count() == 1

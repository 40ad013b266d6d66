"""/api/v1/reservations/ (API.md "Planning"): the dispatch role books a pool's time ahead, a reservation for a client
or an order or a maintenance window, and cancels it; operations read the bookings; client users are refused."""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from dispatch import services
from dispatch.models import PoolState, Reservation
from factory import clock
from orders.models import OrderStatus
from tests.factories import compute_pool, order_at

pytestmark = pytest.mark.django_db

URL = "/api/v1/reservations/"


def _api(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def _at(**delta) -> str:
    return (clock.now() + timedelta(**delta)).isoformat()


@pytest.fixture
def pool():
    return compute_pool(kind="training", capacity=100, name="gz-train-a")


def _reserve(actor, pool, *, pflops=40, client=None, order=None, start_h=24, hours=12, reason="For the hospital"):
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
        actor=actor,
        kind="maintenance",
        pool=pool,
        start=start,
        end=start + timedelta(hours=hours),
        reason=reason,
    )


# --- Booking ---------------------------------------------------------------------------------------------------


def test_a_dispatcher_reserves_room_for_a_client_and_reads_it_back(dispatcher, pool, org_a):
    api = _api(dispatcher)

    answer = api.post(
        URL,
        {
            "kind": "reservation",
            "pool": pool.pk,
            "start": _at(days=1),
            "end": _at(days=2),
            "pflops": 40,
            "client": org_a.pk,
            "reason": "Quarter-end retraining",
        },
        format="json",
    )

    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert answer["Location"].endswith(f"{URL}{body['id']}/")
    assert body["kind"] == "reservation"
    assert (body["pool"], body["pool_name"]) == (pool.pk, "gz-train-a")
    assert (body["pflops"], body["client"], body["client_name"]) == (40.0, org_a.pk, org_a.name)
    assert (body["order"], body["order_reference"]) == (None, None)
    assert (body["state"], body["created_by"], body["reason"]) == (
        "upcoming",
        dispatcher.username,
        "Quarter-end retraining",
    )
    assert api.get(answer["Location"]).json() == body


def test_a_reservation_for_an_order_is_its_clients_and_names_the_order(dispatcher, ops_user, pool):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    api = _api(dispatcher)

    answer = api.post(
        URL,
        {
            "kind": "reservation",
            "pool": pool.pk,
            "start": _at(hours=2),
            "end": _at(hours=30),
            "pflops": 25.5,
            "order": order.pk,
            "reason": "Its fine-tuning run",
        },
        format="json",
    )

    assert answer.status_code == 201, answer.json()
    assert (answer.json()["order"], answer.json()["order_reference"]) == (order.pk, order.reference)
    assert answer.json()["client"] == order.client_id
    assert answer.json()["pflops"] == 25.5


def test_a_dispatcher_books_a_maintenance_window_which_holds_no_room(dispatcher, pool):
    answer = _api(dispatcher).post(
        URL,
        {"kind": "maintenance", "pool": pool.pk, "start": _at(days=3), "end": _at(days=4), "reason": "Chillers"},
        format="json",
    )

    assert answer.status_code == 201, answer.json()
    assert answer.json()["kind"] == "maintenance"
    assert (answer.json()["pflops"], answer.json()["client"], answer.json()["order"]) == (None, None, None)
    assert Reservation.objects.get().pool == pool


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"end": "start"}, "end", "The end must come after the start."),
        ({"pflops": -5}, "pflops", "greater than or equal to 0.01"),
        ({"pflops": 500}, "pflops", "has only 100"),
        ({"pool": 999999}, "pool", "No such pool."),
        ({"client": None}, "client", "Name the client or the order the room is held for."),
        ({"client": 999999}, "client", "No such client."),
        ({"order": 999999}, "order", "No such order."),
        ({"kind": "holiday"}, "kind", "not a valid choice"),
        ({"reason": "   "}, "reason", "Say why the time is booked."),
        ({"start": "next monday"}, "start", "Datetime has wrong format"),
    ],
)
def test_bad_fields_are_refused_by_name_and_book_nothing(dispatcher, pool, org_a, change, field, words):
    body = {
        "kind": "reservation",
        "pool": pool.pk,
        "start": _at(days=2),
        "end": _at(days=3),
        "pflops": 40,
        "client": org_a.pk,
        "reason": "Retraining",
    }
    body.update({key: body["start"] if value == "start" else value for key, value in change.items()})

    answer = _api(dispatcher).post(URL, body, format="json")

    assert answer.status_code == 400
    assert field in answer.json()
    assert words in " ".join(answer.json()[field])
    assert not Reservation.objects.exists()


def test_a_maintenance_window_that_holds_pflops_is_refused(dispatcher, pool, org_a):
    for extra in ({"pflops": 10}, {"client": org_a.pk}):
        body = {"kind": "maintenance", "pool": pool.pk, "start": _at(days=1), "end": _at(days=2), "reason": "Power"}

        answer = _api(dispatcher).post(URL, {**body, **extra}, format="json")

        assert answer.status_code == 400
        assert answer.json()["kind"] == ["A maintenance window closes the whole pool: give no PFLOPS, client or order."]
    assert not Reservation.objects.exists()


def test_a_submitted_order_cannot_hold_room(dispatcher, ops_user, pool):
    order = order_at(OrderStatus.SUBMITTED, staff=ops_user)

    answer = _api(dispatcher).post(
        URL,
        {
            "kind": "reservation",
            "pool": pool.pk,
            "start": _at(days=1),
            "end": _at(days=2),
            "pflops": 5,
            "order": order.pk,
            "reason": "Early",
        },
        format="json",
    )

    assert answer.status_code == 400
    assert "only accepted work runs" in answer.json()["order"][0]


def test_holding_more_than_the_pool_has_answers_409_naming_the_reservation_in_the_way(dispatcher, pool, org_a, org_b):
    first = _reserve(dispatcher, pool, pflops=70, client=org_a, start_h=24, hours=24)

    answer = _api(dispatcher).post(
        URL,
        {
            "kind": "reservation",
            "pool": pool.pk,
            "start": _at(hours=30),
            "end": _at(hours=40),
            "pflops": 40,
            "client": org_b.pk,
            "reason": "Their launch",
        },
        format="json",
    )

    assert answer.status_code == 409
    said = answer.json()["detail"]
    assert f"reservation #{first.pk} for {org_a.name}: 70.00 PFLOPS" in said
    assert "Pool gz-train-a has 100.00 PFLOPS" in said
    assert Reservation.objects.count() == 1


def test_a_window_over_a_reservation_answers_409_naming_it(dispatcher, pool, org_a):
    held = _reserve(dispatcher, pool, client=org_a, start_h=24, hours=24)

    answer = _api(dispatcher).post(
        URL,
        {"kind": "maintenance", "pool": pool.pk, "start": _at(hours=40), "end": _at(hours=50), "reason": "Fans"},
        format="json",
    )

    assert answer.status_code == 409
    assert f"reservation #{held.pk}" in answer.json()["detail"]


def test_room_after_a_reservation_ends_is_free_to_book(dispatcher, pool, org_a, org_b):
    _reserve(dispatcher, pool, pflops=90, client=org_a, start_h=24, hours=6)

    answer = _api(dispatcher).post(
        URL,
        {
            "kind": "reservation",
            "pool": pool.pk,
            "start": _at(hours=30),
            "end": _at(hours=40),
            "pflops": 90,
            "client": org_b.pk,
            "reason": "Right after",
        },
        format="json",
    )

    assert answer.status_code == 201


# --- Who may ----------------------------------------------------------------------------------------------------


def test_operations_read_the_bookings_but_may_not_book_or_cancel(ops_user, dispatcher, pool, org_a):
    window = _window(dispatcher, pool)
    api = _api(ops_user)
    body = {"kind": "maintenance", "pool": pool.pk, "start": _at(days=5), "end": _at(days=6), "reason": "Mine"}

    assert api.get(URL).json()["count"] == 1
    assert api.get(f"{URL}{window.pk}/").status_code == 200
    assert api.post(URL, body, format="json").status_code == 403
    assert api.post(f"{URL}{window.pk}/cancel/", {"reason": "No"}, format="json").status_code == 403
    assert Reservation.objects.count() == 1
    assert Reservation.objects.get().cancelled_at is None


def test_client_users_and_anonymous_callers_are_refused(client_a, dispatcher, pool):
    window = _window(dispatcher, pool)
    api = _api(client_a)

    assert api.get(URL).status_code == 403
    assert api.get(f"{URL}{window.pk}/").status_code == 403
    assert api.post(f"{URL}{window.pk}/cancel/", {"reason": "x"}, format="json").status_code == 403
    assert APIClient().get(URL).status_code == 401


def test_an_unknown_booking_is_not_found(dispatcher):
    api = _api(dispatcher)

    assert api.get(f"{URL}999999/").status_code == 404
    assert api.post(f"{URL}999999/cancel/", {"reason": "x"}, format="json").status_code == 404


# --- Cancelling ---------------------------------------------------------------------------------------------------


def test_a_cancelled_reservation_stays_listed_with_who_and_why_and_frees_its_room(dispatcher, pool, org_a, org_b):
    held = _reserve(dispatcher, pool, pflops=80, client=org_a)
    api = _api(dispatcher)

    answer = api.post(f"{URL}{held.pk}/cancel/", {"reason": "Client postponed"}, format="json")

    assert answer.status_code == 200
    body = answer.json()
    assert (body["state"], body["cancelled_by"], body["cancel_reason"]) == (
        "cancelled",
        dispatcher.username,
        "Client postponed",
    )
    assert body["cancelled_at"] is not None
    again = _reserve(dispatcher, pool, pflops=80, client=org_b)  # the room is free again
    assert again.pk != held.pk
    assert api.post(f"{URL}{held.pk}/cancel/", {"reason": "Twice"}, format="json").status_code == 409


def test_cancelling_needs_a_reason(dispatcher, pool):
    window = _window(dispatcher, pool)

    answer = _api(dispatcher).post(f"{URL}{window.pk}/cancel/", {"reason": "  "}, format="json")

    assert answer.status_code == 400
    assert answer.json()["reason"] == ["Say why it is cancelled."]


def test_cancelling_a_window_under_way_brings_the_pool_back(dispatcher, pool, move_clock):
    window = _window(dispatcher, pool, start_h=1, hours=10)
    move_clock(hours=2)
    services.dispatch_tick(now=clock.now())
    pool.refresh_from_db()
    assert pool.state == PoolState.OFFLINE
    api = _api(dispatcher)
    assert api.get(f"{URL}{window.pk}/").json()["state"] == "under_way"

    answer = api.post(f"{URL}{window.pk}/cancel/", {"reason": "Done early"}, format="json")

    assert answer.status_code == 200
    pool.refresh_from_db()
    assert pool.state == PoolState.ACTIVE


# --- Listing ------------------------------------------------------------------------------------------------------


def test_the_list_filters_by_pool_kind_owner_state_and_span(dispatcher, ops_user, pool, org_a, org_b, move_clock):
    other = compute_pool(kind="training", capacity=100)
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_b)
    soon = _reserve(dispatcher, pool, client=org_a, start_h=1, hours=2)
    later = _reserve(dispatcher, pool, order=order, start_h=72, hours=5)
    window = _window(dispatcher, other, start_h=24, hours=4)
    dropped = _reserve(dispatcher, other, client=org_a, start_h=100, hours=1)
    services.reservation_cancel(reservation=dropped, actor=dispatcher, reason="Not needed")
    move_clock(hours=4)  # `soon` is over now
    api = _api(ops_user)

    def ids(**query) -> list[int]:
        answer = api.get(URL, query)
        assert answer.status_code == 200, answer.json()
        return [row["id"] for row in answer.json()["results"]]

    assert ids() == [soon.pk, window.pk, later.pk, dropped.pk]
    assert ids(pool=pool.pk) == [soon.pk, later.pk]
    assert ids(kind="maintenance") == [window.pk]
    assert ids(in_force="true") == [window.pk, later.pk]
    assert ids(in_force="false") == [soon.pk, dropped.pk]
    assert ids(state="over") == [soon.pk]
    assert ids(state="cancelled") == [dropped.pk]
    assert ids(client=org_b.pk) == [later.pk]
    assert ids(order=order.pk) == [later.pk]
    assert ids(ends_after=_at(hours=30), starts_before=_at(hours=90)) == [later.pk]
    assert ids(sort="newest") == [dropped.pk, window.pk, later.pk, soon.pk]
    assert api.get(URL, {"state": "someday"}).status_code == 400
    assert ids(pool=999999) == []


@pytest.mark.parametrize("bookings", [2, 6])
def test_the_list_takes_a_fixed_number_of_queries(dispatcher, ops_user, org_a, django_assert_num_queries, bookings):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a)
    for number in range(bookings // 2):
        pool = compute_pool(kind="training", capacity=100)
        held = _reserve(dispatcher, pool, order=order, start_h=24 + number)
        _window(dispatcher, compute_pool(), start_h=30 + number)
        services.reservation_cancel(reservation=held, actor=dispatcher, reason="Moved")
    api = _api(ops_user)
    api.get(URL)

    # 1 the count, 2 the page of bookings with their pools, owners and who booked and cancelled them (the caller's
    # roles were kept from the first call).
    with django_assert_num_queries(2):
        answer = api.get(URL)

    assert answer.json()["count"] == bookings


def test_a_booking_sent_twice_with_one_idempotency_key_is_booked_once(dispatcher, pool):
    api = _api(dispatcher)
    body = {"kind": "maintenance", "pool": pool.pk, "start": _at(days=1), "end": _at(days=2), "reason": "Chillers"}

    first = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="booking-0001")
    again = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="booking-0001")
    other = api.post(URL, {**body, "reason": "Other"}, format="json", HTTP_IDEMPOTENCY_KEY="booking-0001")

    # Without the key, the same body again would be refused as a window over the first one (409).
    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 422)
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert Reservation.objects.count() == 1

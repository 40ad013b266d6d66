"""A double-submitted form or a repeated API call does not act twice: creating actions carry a one-time
submission key (a hidden form field, or the API's Idempotency-Key header); transitions refuse a repeat."""

import re

import pytest

from aftersales.models import Ticket, TicketMessage
from orders.models import EventKind, Order, OrderEvent
from tests.factories import client_user, open_ticket, order_at, order_fields, place_order

pytestmark = pytest.mark.django_db

KEY = "c0ffee00c0ffee00c0ffee00c0ffee00"


def _form(**overrides) -> dict:
    data = order_fields(**overrides)
    data["requested_delivery"] = data["requested_delivery"].isoformat()
    return data


def test_every_creating_form_carries_a_fresh_submission_key(client, client_a):
    client.force_login(client_a)

    first = client.get("/portal/orders/new/").content.decode()
    second = client.get("/portal/orders/new/").content.decode()

    keys = [re.search(r'name="submission_key" value="([0-9a-f]{32})"', page).group(1) for page in (first, second)]
    assert keys[0] != keys[1]


def test_a_double_click_on_confirm_places_one_order(client, client_a):
    client.force_login(client_a)
    review = client.post("/portal/orders/new/", {**_form(title="Ward rounds agent"), "submission_key": KEY})
    quote = re.search(r'name="quote" value="([^"]+)"', review.content.decode()).group(1)
    data = {**_form(title="Ward rounds agent"), "confirm": "1", "submission_key": KEY, "quote": quote}

    first = client.post("/portal/orders/new/", data)
    second = client.post("/portal/orders/new/", data)

    assert Order.objects.filter(title="Ward rounds agent").count() == 1
    assert first.status_code == second.status_code == 302
    assert first.url == second.url


def _confirm(client, data):
    """The portal's two steps: review `data` (the quote shown), then confirm it."""
    review = client.post("/portal/orders/new/", data)
    quote = re.search(r'name="quote" value="([^"]+)"', review.content.decode()).group(1)
    return client.post("/portal/orders/new/", {**data, "confirm": "1", "quote": quote})


def test_an_order_form_sent_again_with_edited_answers_places_nothing_and_comes_back_fresh(client, client_a):
    client.force_login(client_a)
    _confirm(client, {**_form(title="Ward rounds agent"), "submission_key": KEY})

    # Back in the browser to the sent form, edited and sent again: its key is the one already used.
    edited = _confirm(client, {**_form(title="Night shift agent"), "submission_key": KEY})

    page = edited.content.decode()
    assert "This form was already sent once, with other answers" in page
    assert 'value="Night shift agent"' in page
    fresh = re.search(r'name="submission_key" value="([0-9a-f]{32})"', page).group(1)
    assert fresh != KEY
    assert list(Order.objects.filter(placed_by=client_a).values_list("title", flat=True)) == ["Ward rounds agent"]

    _confirm(client, {**_form(title="Night shift agent"), "submission_key": fresh})

    assert Order.objects.filter(placed_by=client_a, title="Night shift agent").count() == 1


def test_staff_resubmitting_the_order_form_places_one_order(client, ops_user, org_a):
    client.force_login(ops_user)
    data = {**_form(title="Claims triage"), "client": org_a.pk, "submission_key": KEY}

    client.post("/orders/new/", data)
    client.post("/orders/new/", data)

    assert Order.objects.filter(title="Claims triage").count() == 1


def test_the_same_key_from_another_person_is_another_submission(client, client_a, org_a):
    place_order(client=org_a, actor=client_a, title="Mine", submission_key=KEY)
    other = client_user(organization=org_a, username="colleague")
    place_order(client=org_a, actor=other, title="Theirs", submission_key=KEY)

    assert Order.objects.filter(submission_key=KEY).count() == 2


def test_a_retried_api_call_with_an_idempotency_key_places_one_order(client, client_a):
    client.force_login(client_a)
    data = _form(title="Retried")

    first = client.post("/api/v1/orders/", data, content_type="application/json", HTTP_IDEMPOTENCY_KEY=KEY)
    second = client.post("/api/v1/orders/", data, content_type="application/json", HTTP_IDEMPOTENCY_KEY=KEY)

    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert Order.objects.filter(title="Retried").count() == 1


def test_a_ticket_and_a_reply_are_not_sent_twice(client, ops_user, org_a, client_a):
    delivered = order_at("delivered", staff=ops_user, client=org_a, actor=client_a)
    client.force_login(client_a)
    ticket_form = {
        "order": delivered.pk,
        "category": "defect",
        "severity": "high",
        "subject": "Twice?",
        "body": "Clicked twice.",
        "submission_key": KEY,
    }
    client.post("/portal/tickets/new/", ticket_form)
    client.post("/portal/tickets/new/", ticket_form)
    ticket = Ticket.objects.get(subject="Twice?")
    reply = {"body": "Any news?", "submission_key": KEY[::-1]}
    client.post(f"/portal/tickets/{ticket.pk}/messages/", reply)
    client.post(f"/portal/tickets/{ticket.pk}/messages/", reply)

    assert Ticket.objects.filter(subject="Twice?").count() == 1
    assert TicketMessage.objects.filter(ticket=ticket, body="Any news?").count() == 1


def test_api_ticket_messages_with_an_idempotency_key_are_posted_once(client, ops_user, org_a, client_a):
    delivered = order_at("delivered", staff=ops_user, client=org_a, actor=client_a)
    ticket = open_ticket(order=delivered, actor=client_a)
    client.force_login(client_a)

    for _ in range(2):
        response = client.post(
            f"/api/v1/tickets/{ticket.pk}/messages/",
            {"body": "Retry me"},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=KEY,
        )
        assert response.status_code == 201

    assert TicketMessage.objects.filter(ticket=ticket, body="Retry me").count() == 1


def test_a_reply_form_sent_again_with_another_text_posts_nothing_more(client, ops_user, org_a, client_a):
    delivered = order_at("delivered", staff=ops_user, client=org_a, actor=client_a)
    ticket = open_ticket(order=delivered, actor=client_a)
    client.force_login(ops_user)
    client.post(f"/aftersales/tickets/{ticket.pk}/messages/", {"body": "We are on it.", "submission_key": KEY})

    again = client.post(f"/aftersales/tickets/{ticket.pk}/messages/", {"body": "Fixed.", "submission_key": KEY})

    assert again.status_code == 400
    assert "This form was already sent once, with other answers" in again.content.decode()
    assert list(TicketMessage.objects.filter(ticket=ticket, author=ops_user).values_list("body", flat=True)) == [
        "We are on it."
    ]


def test_a_ticket_form_sent_again_with_another_subject_opens_nothing_more(client, ops_user, org_a, client_a):
    delivered = order_at("delivered", staff=ops_user, client=org_a, actor=client_a)
    client.force_login(client_a)
    ticket_form = {
        "order": delivered.pk,
        "category": "defect",
        "severity": "high",
        "subject": "Letters are late",
        "body": "Two days late this week.",
        "submission_key": KEY,
    }
    client.post("/portal/tickets/new/", ticket_form)

    again = client.post("/portal/tickets/new/", {**ticket_form, "subject": "Letters are wrong"})

    assert again.status_code == 400
    assert "This form was already sent once, with other answers" in again.content.decode()
    assert list(Ticket.objects.filter(order=delivered).values_list("subject", flat=True)) == ["Letters are late"]


def test_a_repeated_transition_acts_once(client, ops_user, org_a, client_a):
    order = place_order(client=org_a, actor=client_a)
    client.force_login(ops_user)

    client.post(f"/orders/{order.pk}/accept/")
    repeat = client.post(f"/api/v1/orders/{order.pk}/accept/")

    assert repeat.status_code == 409
    assert OrderEvent.objects.filter(order=order, kind=EventKind.ACCEPTED).count() == 1

"""Idempotency keys as integrators know them from Stripe: a repeated call with the same key and body answers as the
first did and says it is a replay (Idempotent-Replayed); the same key with another body answers 422 and changes
nothing; keys are each user's own."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from aftersales.models import Ticket, TicketMessage
from orders.models import Order
from tests.factories import client_user, open_ticket, order_at, order_fields, ticket_fields

pytestmark = pytest.mark.django_db

KEY = "retry-4f2a9c1e"
ORDERS = "/api/v1/orders/"
TICKETS = "/api/v1/tickets/"


def _order_body(**overrides) -> dict:
    data = order_fields(**overrides)
    data["requested_delivery"] = data["requested_delivery"].isoformat()
    return data


def _post(client, path, body, key=KEY, **headers):
    text = body if isinstance(body, str) else json.dumps(body)
    return client.post(path, text, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key, **headers)


@pytest.fixture
def delivered(ops_user, org_a, client_a):
    return order_at("delivered", staff=ops_user, client=org_a, actor=client_a)


def test_a_repeated_call_answers_as_the_first_and_says_it_is_a_replay(client, client_a):
    client.force_login(client_a)

    first = _post(client, ORDERS, _order_body(title="Ward rounds agent"))
    second = _post(client, ORDERS, _order_body(title="Ward rounds agent"))

    assert first.status_code == second.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    assert second["Location"] == first["Location"]
    assert "Idempotent-Replayed" not in first
    assert second["Idempotent-Replayed"] == "true"
    assert Order.objects.filter(title="Ward rounds agent").count() == 1


def test_the_same_key_with_another_body_answers_422_and_changes_nothing(client, client_a):
    client.force_login(client_a)
    first = _post(client, ORDERS, _order_body(title="Ward rounds agent", size="small"))

    reused = _post(client, ORDERS, _order_body(title="Ward rounds agent", size="large"))

    assert reused.status_code == 422
    assert "Idempotency-Key" in reused.json()["detail"]
    assert Order.objects.filter(title="Ward rounds agent").count() == 1
    assert Order.objects.get(pk=first.json()["id"]).size == "small"


def test_the_same_body_with_its_fields_in_another_order_and_spacing_is_a_replay(client, client_a):
    client.force_login(client_a)
    body = _order_body(title="Ward rounds agent")
    first = _post(client, ORDERS, json.dumps(body))

    reordered = json.dumps(dict(reversed(list(body.items()))), indent=4)
    again = _post(client, ORDERS, reordered)

    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]


def test_leaving_out_a_field_with_a_default_is_the_same_request_as_sending_the_default(client, client_a):
    client.force_login(client_a)
    body = _order_body(title="Ward rounds agent", priority="normal", requirements="")
    first = _post(client, ORDERS, body)

    again = _post(
        client, ORDERS, {name: value for name, value in body.items() if name not in ("priority", "requirements")}
    )

    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]


def test_a_key_another_user_used_is_theirs_alone(client, client_a, client_b):
    client.force_login(client_a)
    theirs = _post(client, ORDERS, _order_body(title="Client A's agent"))
    client.force_login(client_b)

    mine = _post(client, ORDERS, _order_body(title="Client B's model", size="large"))

    assert mine.status_code == 201
    assert "Idempotent-Replayed" not in mine
    assert mine.json()["id"] != theirs.json()["id"]
    assert Order.objects.filter(submission_key=KEY).count() == 2


def test_an_order_placed_before_digests_were_kept_is_still_replayed(client, client_a):
    client.force_login(client_a)
    first = _post(client, ORDERS, _order_body(title="Ward rounds agent"))
    # As the migration left the orders placed before it: a key without a digest.
    Order.objects.filter(pk=first.json()["id"]).update(submission_digest="")

    again = _post(client, ORDERS, _order_body(title="Ward rounds agent, renamed"))

    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["title"] == "Ward rounds agent"


def test_a_ticket_opened_again_with_the_same_key_is_replayed_and_with_another_subject_refused(
    client, client_a, delivered
):
    client.force_login(client_a)
    opening = {"order": delivered.pk, **ticket_fields(subject="Letters cite the old formulary")}

    first = _post(client, TICKETS, opening)
    again = _post(client, TICKETS, opening)
    other = _post(client, TICKETS, {**opening, "subject": "Letters are late"})

    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 422)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert list(Ticket.objects.filter(order=delivered).values_list("subject", flat=True)) == [
        "Letters cite the old formulary"
    ]


def test_a_message_posted_again_with_the_same_key_is_replayed_and_with_another_text_refused(
    client, client_a, delivered
):
    ticket = open_ticket(order=delivered, actor=client_a)
    client.force_login(client_a)
    path = f"{TICKETS}{ticket.pk}/messages/"

    first = _post(client, path, {"body": "It happens on ward 7 too."})
    again = _post(client, path, {"body": "It happens on ward 7 too."})
    other = _post(client, path, {"body": "And on ward 9."})

    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 422)
    assert "Idempotent-Replayed" not in first
    assert again["Idempotent-Replayed"] == "true"
    assert [message["body"] for message in again.json()["messages"]][-1] == "It happens on ward 7 too."
    assert list(TicketMessage.objects.filter(ticket=ticket, author=client_a).values_list("body", flat=True)) == [
        ticket_fields()["body"],
        "It happens on ward 7 too.",
    ]


def test_a_message_key_reused_on_another_ticket_is_refused(client, client_a, delivered):
    first_ticket = open_ticket(order=delivered, actor=client_a, subject="First")
    second_ticket = open_ticket(order=delivered, actor=client_a, subject="Second")
    client.force_login(client_a)
    _post(client, f"{TICKETS}{first_ticket.pk}/messages/", {"body": "Any news?"})

    reused = _post(client, f"{TICKETS}{second_ticket.pk}/messages/", {"body": "Any news?"})

    assert reused.status_code == 422
    assert not TicketMessage.objects.filter(ticket=second_ticket, body="Any news?").exists()


def _post_in_thread(session, body, barrier, answers):
    try:
        barrier.wait()
        answers.append(_post(session, ORDERS, body))
    finally:
        connection.close()


def _at_the_same_time(user, *bodies) -> list:
    """The answers to one POST per body, all sent at the same instant with the same key, by `user`."""
    sessions = [Client() for _ in bodies]
    for session in sessions:
        session.force_login(user)
    barrier = threading.Barrier(len(bodies))
    answers = []
    threads = [
        threading.Thread(target=_post_in_thread, args=(session, body, barrier, answers))
        for session, body in zip(sessions, bodies, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


@pytest.mark.django_db(transaction=True)
def test_a_double_submit_at_the_same_instant_places_one_order_and_one_answer_is_the_replay(org_a):
    user = client_user(organization=org_a, username="double-clicker")
    body = _order_body(title="Ward rounds agent")

    answers = _at_the_same_time(user, body, body)

    assert [answer.status_code for answer in answers] == [201, 201]
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert sorted(answer.get("Idempotent-Replayed", "") for answer in answers) == ["", "true"]
    assert Order.objects.filter(title="Ward rounds agent").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_bodies_with_one_key_at_the_same_instant_place_one_order_and_refuse_the_other(org_a):
    user = client_user(organization=org_a, username="double-clicker")

    answers = _at_the_same_time(user, _order_body(title="Ward rounds agent"), _order_body(title="Night shift agent"))

    assert sorted(answer.status_code for answer in answers) == [201, 422]
    assert Order.objects.filter(submission_key=KEY).count() == 1


def test_a_message_resent_after_a_timeout_with_its_if_match_is_replayed_not_refused_as_stale(
    client, client_a, delivered
):
    """The first call changed the ticket, so the version its If-Match names is no longer current; the retry must
    still answer what the first call did, as the key promises."""
    ticket = open_ticket(order=delivered, actor=client_a)
    client.force_login(client_a)
    version = client.get(f"{TICKETS}{ticket.pk}/")["ETag"]
    path = f"{TICKETS}{ticket.pk}/messages/"

    first = _post(client, path, {"body": "Any news?"}, HTTP_IF_MATCH=version)
    again = _post(client, path, {"body": "Any news?"}, HTTP_IF_MATCH=version)
    other = _post(client, path, {"body": "Something else."}, HTTP_IF_MATCH=version, key="another-key-123")

    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 412)
    assert again["Idempotent-Replayed"] == "true"
    assert TicketMessage.objects.filter(ticket=ticket, body="Any news?").count() == 1

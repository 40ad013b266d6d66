"""Input built to break the parser or the database gets a clear 400 (or the form back) and changes nothing."""

import pytest
from axes.models import AccessAttempt
from rest_framework.test import APIClient

from aftersales.models import TicketMessage
from factory.parsers import JSON_DEPTH_MAX
from orders.models import Order
from tests.factories import compute_pool, open_ticket, order_at

pytestmark = pytest.mark.django_db

NESTED = "[" * 1000 + "]" * 1000


def _api(user=None) -> APIClient:
    api = APIClient(raise_request_exception=False)
    if user is not None:
        api.force_authenticate(user)
    return api


def test_json_nested_a_thousand_deep_is_a_400_on_the_token_endpoint_without_signing_in():
    answer = _api().post("/api/v1/auth/token/", NESTED, content_type="application/json")

    assert answer.status_code == 400
    assert f"nested deeper than {JSON_DEPTH_MAX} levels" in answer.json()["detail"]


def test_a_form_or_multipart_body_answers_415_in_the_api_error_shape_and_creates_nothing(client_a):
    form = _api(client_a).post("/api/v1/orders/", {"title": "Sent as a form"}, format="multipart")
    urlencoded = _api().post(
        "/api/v1/auth/token/", "username=client-a-user&password=x", content_type="application/x-www-form-urlencoded"
    )

    for answer in (form, urlencoded):
        assert answer.status_code == 415
        assert answer["Content-Type"] == "application/json"
        assert list(answer.json()) == ["detail"]
    assert not Order.objects.exists()


def test_json_nested_deeper_than_the_limit_creates_no_order(client_a):
    body = '{"title": ' + "[" * (JSON_DEPTH_MAX + 1) + "]" * (JSON_DEPTH_MAX + 1) + "}"

    for payload in (NESTED, body):
        answer = _api(client_a).post("/api/v1/orders/", payload, content_type="application/json")
        assert answer.status_code == 400

    assert not Order.objects.exists()


def test_json_nested_a_thousand_deep_writes_no_ticket_message(ops_user, org_a, client_a):
    order = order_at("delivered", staff=ops_user, client=org_a, actor=client_a)
    ticket = open_ticket(order=order, actor=client_a)
    before = TicketMessage.objects.count()

    answer = _api(client_a).post(f"/api/v1/tickets/{ticket.pk}/messages/", NESTED, content_type="application/json")

    assert answer.status_code == 400
    assert TicketMessage.objects.count() == before


def test_an_over_long_username_is_refused_before_the_sign_in_attempt_is_logged(client):
    answer = client.post("/accounts/login/", {"username": "x" * 300, "password": "wrong"})

    assert answer.status_code == 200  # the form again, with its error
    assert answer.context["form"].errors["username"]
    assert not AccessAttempt.objects.exists()


def test_an_over_long_username_gets_a_400_from_the_token_endpoint():
    answer = _api().post("/api/v1/auth/token/", {"username": "x" * 300, "password": "wrong"}, format="json")

    assert answer.status_code == 400
    assert "username" in answer.json()
    assert not AccessAttempt.objects.exists()


def test_a_nul_byte_in_a_pools_reason_is_refused_on_the_page_and_the_pool_stays_as_it_was(client, dispatcher):
    pool = compute_pool()
    client.force_login(dispatcher)

    answer = client.post(f"/dispatch/pools/{pool.pk}/drain/", {"reason": "maintenance\x00window"})

    assert answer.status_code == 400
    assert "control characters" in answer.content.decode()
    pool.refresh_from_db()
    assert pool.state == "active"


def test_a_nul_byte_in_a_priority_reason_is_refused_and_the_priority_stays(client, ops_user, org_a, client_a):
    order = order_at("in_production", staff=ops_user, client=org_a, actor=client_a)
    client.force_login(ops_user)

    answer = client.post(f"/dispatch/orders/{order.pk}/priority/", {"priority": "high", "reason": "vip\x00"})

    assert answer.status_code == 400
    order.refresh_from_db()
    assert order.priority == "normal"
    assert not order.events.filter(kind="priority_changed").exists()


@pytest.mark.parametrize("text", ["bell\x07", "escape\x1b[2J", "del\x7f"])
def test_other_control_characters_are_refused_by_every_service(text, ops_user, org_a, client_a):
    from factory.errors import InvalidRequest
    from orders import services

    order = order_at("submitted", staff=ops_user, client=org_a, actor=client_a)

    with pytest.raises(InvalidRequest, match="control characters"):
        services.order_reject(order=order, actor=ops_user, reason=text)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"priority": "high", "reason": 12}, "reason"),  # a number where the schema says text
        ({"priority": "high", "reason": ["Board request"]}, "reason"),
        ({"priority": "high", "reason": " " * 1990 + "Board request"}, "reason"),  # over maxLength as sent
    ],
)
def test_a_body_field_of_another_json_type_or_over_its_length_as_sent_is_refused(body, field, ops_user, dispatcher):
    """The schema's types and lengths are the API's: DRF alone would take 12 as "12" and count a text's length
    after trimming it."""
    order = order_at("in_production", staff=ops_user)

    answer = _api(dispatcher).post(f"/api/v1/orders/{order.pk}/priority/", body, format="json")
    order.refresh_from_db()

    assert answer.status_code == 400
    assert list(answer.json()) == [field]
    assert order.priority == "normal"


@pytest.mark.parametrize("value", ["true", 1, "yes"])
def test_a_yes_or_no_of_another_json_type_is_refused(value, ops_user, org_a, client_a):
    ticket = open_ticket(order=order_at("delivered", staff=ops_user, client=org_a, actor=client_a), actor=client_a)

    answer = _api(ops_user).post(
        f"/api/v1/tickets/{ticket.pk}/messages/", {"body": "Checked.", "internal": value}, format="json"
    )

    assert answer.status_code == 400
    assert answer.json() == {"internal": ["Must be a valid boolean."]}
    assert not TicketMessage.objects.filter(body="Checked.").exists()


@pytest.mark.parametrize("score", ["5", 4.0, True])
def test_a_score_that_is_not_a_json_whole_number_is_refused(score, ops_user, org_a, client_a):
    order = order_at("delivered", staff=ops_user, client=org_a, actor=client_a)
    _api(client_a).post(f"/api/v1/orders/{order.pk}/confirm/")

    answer = _api(client_a).post(f"/api/v1/orders/{order.pk}/rate/", {"score": score}, format="json")

    assert answer.status_code == 400
    assert list(answer.json()) == ["score"]

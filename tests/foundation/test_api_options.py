"""OPTIONS tells a client the fields each POST takes: required or not, never the answer's read-only fields."""

import pytest
from rest_framework.test import APIClient

from tests.factories import open_ticket, order_at

pytestmark = pytest.mark.django_db


def _posts(user, url) -> dict:
    api = APIClient()
    api.force_authenticate(user)
    answer = api.options(url)
    assert answer.status_code == 200
    return answer.json()["actions"]["POST"]


def test_options_on_the_orders_describes_the_fields_an_order_is_placed_with(client_a):
    fields = _posts(client_a, "/api/v1/orders/")

    assert {name for name, field in fields.items() if field["read_only"]} == set()
    assert {name for name, field in fields.items() if field["required"]} == {
        "title",
        "product_type",
        "sector",
        "data_sensitivity",
        "size",
        "requested_delivery",
    }
    assert {"requirements", "priority", "client"} <= set(fields)
    assert not {"id", "reference", "status", "tracking_url"} & set(fields)
    assert [choice["value"] for choice in fields["product_type"]["choices"]] == [
        "dataset",
        "model",
        "agent",
        "application",
    ]


def test_options_on_an_action_describes_its_own_body(ops_user, org_a, client_a):
    order = order_at("submitted", staff=ops_user, client=org_a, actor=client_a)
    api = APIClient()
    api.force_authenticate(ops_user)

    reject = _posts(ops_user, f"/api/v1/orders/{order.pk}/reject/")
    accept = api.options(f"/api/v1/orders/{order.pk}/accept/").json()["actions"]["POST"]

    assert {name: field["required"] for name, field in reject.items()} == {"reason": True}
    assert accept == {}  # it takes no body


def test_options_on_the_tickets_and_a_thread_describe_what_a_client_writes(ops_user, org_a, client_a):
    order = order_at("delivered", staff=ops_user, client=org_a, actor=client_a)
    ticket = open_ticket(order=order, actor=client_a)

    opening = _posts(client_a, "/api/v1/tickets/")
    message = _posts(client_a, f"/api/v1/tickets/{ticket.pk}/messages/")

    assert {name for name, field in opening.items() if field["required"]} >= {"order", "subject", "body"}
    assert not any(field["read_only"] for field in opening.values())
    assert message["body"]["required"] is True

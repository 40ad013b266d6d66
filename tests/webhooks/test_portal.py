"""The portal's webhooks pages: a client registers an endpoint, reads its secret and its delivery log, disables it and
sends a delivery again; another organization's endpoint is not there, and staff are refused."""

import re

import pytest

from orders.models import OrderStatus
from tests.factories import order_at
from webhooks import services
from webhooks.models import Delivery, DeliveryStatus, Endpoint

pytestmark = pytest.mark.django_db


def _endpoint(org, actor, url="https://hooks.example.com/factory"):
    return services.endpoint_register(client=org, actor=actor, url=url, kinds=["order_accepted"])


def test_a_client_registers_an_endpoint_and_reads_its_secret(client, client_a):
    client.force_login(client_a)
    page = client.get("/portal/webhooks/").content.decode()
    assert "No endpoints yet" in page
    assert "An order is accepted" in page  # the events offered, in the client's words
    key = re.search(r'name="submission_key" value="([0-9a-f]{32})"', page).group(1)

    data = {"url": "https://hooks.example.com/factory", "kinds": ["order_accepted", "order_delivered"]}
    answer = client.post("/portal/webhooks/", {**data, "submission_key": key})
    again = client.post("/portal/webhooks/", {**data, "submission_key": key})  # a double click

    endpoint = Endpoint.objects.get()
    assert answer.url == again.url == f"/portal/webhooks/{endpoint.pk}/"
    assert endpoint.kinds == ["order_accepted", "order_delivered"]
    shown = client.get(answer.url).content.decode()
    assert endpoint.secret in shown
    assert "Nothing sent yet" in shown
    assert "https://hooks.example.com/factory" in client.get("/portal/webhooks/").content.decode()


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"url": "", "kinds": ["order_accepted"]}, "Give the endpoint&#x27;s URL."),
        ({"url": "ftp://hooks.example.com/", "kinds": ["order_accepted"]}, "Give an http or https address"),
        ({"url": "https://hooks.example.com/"}, "Choose at least one event."),
        ({"url": "https://hooks.example.com/", "kinds": ["sla_breached"]}, "Choose events from the list."),
    ],
)
def test_a_refused_registration_comes_back_with_its_reason(client, client_a, data, said):
    client.force_login(client_a)

    answer = client.post("/portal/webhooks/", data)

    assert answer.status_code == 400
    assert said in answer.content.decode()
    assert not Endpoint.objects.exists()


def test_the_delivery_log_shows_each_event_and_sends_one_again(
    client, ops_user, org_a, client_a, django_capture_on_commit_callbacks, sent_at_commit
):
    endpoint = _endpoint(org_a, client_a, url="http://127.0.0.1:9/hooks")  # nothing listens: every attempt fails
    with django_capture_on_commit_callbacks(execute=True):
        order_at(OrderStatus.ACCEPTED, staff=ops_user, client=org_a, actor=client_a)
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED)
    client.force_login(client_a)

    page = client.get(f"/portal/webhooks/{endpoint.pk}/").content.decode()
    assert delivery.event_id in page
    assert "An order is accepted" in page
    assert "Failed" in page

    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(f"/portal/webhooks/deliveries/{delivery.pk}/resend/")

    assert answer.url == f"/portal/webhooks/{endpoint.pk}/"
    assert sent_at_commit == [delivery.pk, delivery.pk]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 2)


def test_a_client_disables_an_endpoint(client, org_a, client_a):
    endpoint = _endpoint(org_a, client_a)
    client.force_login(client_a)

    answer = client.post(f"/portal/webhooks/{endpoint.pk}/disable/", follow=True)

    assert "nothing more is sent to it" in answer.content.decode()
    assert "Disable this endpoint" not in answer.content.decode()
    endpoint.refresh_from_db()
    assert not endpoint.active


def test_another_organizations_endpoint_is_not_found(client, org_a, client_a, client_b):
    endpoint = _endpoint(org_a, client_a, url="https://hooks.organization-a.example.com/factory")
    client.force_login(client_b)

    assert client.get(f"/portal/webhooks/{endpoint.pk}/").status_code == 404
    assert client.post(f"/portal/webhooks/{endpoint.pk}/disable/").status_code == 404
    assert endpoint.url not in client.get("/portal/webhooks/").content.decode()
    endpoint.refresh_from_db()
    assert endpoint.active


def test_staff_are_refused_the_webhooks_pages(client, ops_user, org_a, client_a):
    endpoint = _endpoint(org_a, client_a)
    client.force_login(ops_user)

    assert client.get("/portal/webhooks/").status_code == 403
    assert client.get(f"/portal/webhooks/{endpoint.pk}/").status_code == 403
    assert "/portal/webhooks/" not in client.get("/").content.decode()


def test_clients_find_webhooks_in_their_navigation(client, client_a):
    client.force_login(client_a)

    assert 'href="/portal/webhooks/"' in client.get("/portal/").content.decode()

"""Events reach a client's own server: signed, once per event and endpoint, retried on the factory clock while the
server refuses, given up after the retry window, and sent again on request with the same event id."""

import pytest

from orders import notices as order_notices
from orders.models import OrderStatus
from tests.factories import order_at
from webhooks import services
from webhooks.errors import WebhookActionNotPermitted, WebhookTransitionNotAllowed
from webhooks.models import Delivery, DeliveryStatus

pytestmark = pytest.mark.django_db


SECRET = "a-secret-of-the-clients-own"


def _endpoint(client_user, organization, url, kinds=("order_accepted",), secret=SECRET):
    return services.endpoint_register(client=organization, actor=client_user, url=url, kinds=list(kinds), secret=secret)


def _accepted(ops_user, org, client_user, capture):
    """An order of `org` accepted, its transaction committed (the organization's channels then run)."""
    with capture(execute=True):
        return order_at(OrderStatus.ACCEPTED, staff=ops_user, client=org, actor=client_user)


def test_a_refused_delivery_is_retried_on_the_factory_clock_and_accepted_exactly_once(
    receiver, ops_user, org_a, client_a, move_clock, django_capture_on_commit_callbacks
):
    receiver.failures = 2
    _endpoint(client_a, org_a, receiver.url, secret=receiver.secret)

    order = _accepted(ops_user, org_a, client_a, django_capture_on_commit_callbacks)  # the first attempt: 500
    for _minutes in range(10):
        if receiver.accepted:
            break
        move_clock(minutes=5)
        services.deliveries_send_due()

    delivery = Delivery.objects.get()
    assert (receiver.forged, receiver.refused, len(receiver.accepted)) == (0, 2, 1)
    (body,) = receiver.accepted
    assert body["id"] == delivery.event_id == services.event_id_of(f"order-accepted:{order.pk}")
    assert body["event"] == "order_accepted"
    assert body["data"]["reference"] == order.reference
    assert body["data"]["url"].endswith(f"/portal/orders/{order.pk}/")
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.DELIVERED, 3, 200)

    move_clock(hours=5)
    assert services.deliveries_send_due() == 0
    assert len(receiver.accepted) == 1


def test_deliveries_are_signed_with_the_secret_the_client_registered(
    receiver, ops_user, org_a, client_a, django_capture_on_commit_callbacks
):
    _endpoint(client_a, org_a, receiver.url, secret="not-the-secret-the-receiver-knows")

    _accepted(ops_user, org_a, client_a, django_capture_on_commit_callbacks)

    assert (receiver.forged, receiver.accepted) == (1, [])  # its signature checks out with the registered one only
    assert Delivery.objects.get().last_status_code == 400


def test_a_retry_waits_its_turn_on_the_factory_clock(
    receiver, ops_user, org_a, client_a, move_clock, django_capture_on_commit_callbacks
):
    receiver.failures = 1
    _endpoint(client_a, org_a, receiver.url, secret=receiver.secret)
    _accepted(ops_user, org_a, client_a, django_capture_on_commit_callbacks)

    assert services.deliveries_send_due() == 0  # not a factory minute has passed
    move_clock(minutes=1)
    assert services.deliveries_send_due() == 1
    assert len(receiver.accepted) == 1


def test_an_event_told_twice_makes_one_delivery(
    receiver, ops_user, org_a, client_a, django_capture_on_commit_callbacks
):
    _endpoint(client_a, org_a, receiver.url, secret=receiver.secret)
    order = _accepted(ops_user, org_a, client_a, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        order_notices.tell_client(order, kind="order_accepted", event=f"order-accepted:{order.pk}")

    assert Delivery.objects.count() == 1
    assert len(receiver.accepted) == 1


def test_only_the_kinds_an_endpoint_chose_reach_it(
    receiver, ops_user, org_a, client_a, django_capture_on_commit_callbacks
):
    _endpoint(client_a, org_a, receiver.url, kinds=["order_delivered"], secret=receiver.secret)

    _accepted(ops_user, org_a, client_a, django_capture_on_commit_callbacks)

    assert not Delivery.objects.exists()
    assert receiver.accepted == []


def test_another_organizations_endpoint_hears_nothing(
    receiver, ops_user, org_a, org_b, client_a, client_b, django_capture_on_commit_callbacks
):
    _endpoint(client_b, org_b, receiver.url, secret=receiver.secret)

    _accepted(ops_user, org_a, client_a, django_capture_on_commit_callbacks)

    assert not Delivery.objects.exists()
    assert receiver.accepted == []


def test_a_disabled_endpoint_hears_nothing(receiver, ops_user, org_a, client_a, django_capture_on_commit_callbacks):
    services.endpoint_disable(endpoint=_endpoint(client_a, org_a, receiver.url, secret=receiver.secret), actor=client_a)

    _accepted(ops_user, org_a, client_a, django_capture_on_commit_callbacks)

    assert not Delivery.objects.exists()


def test_a_delivery_still_refused_after_the_retry_window_is_failed(
    receiver, ops_user, org_a, client_a, move_clock, django_capture_on_commit_callbacks
):
    receiver.failures = 1000
    _endpoint(client_a, org_a, receiver.url, secret=receiver.secret)
    _accepted(ops_user, org_a, client_a, django_capture_on_commit_callbacks)

    for _hour in range(30):
        move_clock(hours=1)
        services.deliveries_send_due()

    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_status_code == 500
    assert receiver.accepted == []
    # Once a 4-hour wait is reached, about 6 attempts fill the rest of the day; none comes after it.
    attempts = receiver.refused
    move_clock(hours=10)
    services.deliveries_send_due()
    assert receiver.refused == attempts == delivery.attempts


def test_sending_again_sends_the_same_event_id(receiver, ops_user, org_a, client_a, django_capture_on_commit_callbacks):
    _endpoint(client_a, org_a, receiver.url, secret=receiver.secret)
    _accepted(ops_user, org_a, client_a, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        services.delivery_resend(delivery=delivery, actor=client_a)

    first, second = receiver.accepted
    assert first == second
    assert first["id"] == delivery.event_id
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)


def test_a_delivery_waiting_to_be_sent_cannot_be_sent_again(ops_user, org_a, client_a):
    _endpoint(client_a, org_a, "https://hooks.example.com/factory")
    order = order_at(OrderStatus.SUBMITTED, staff=ops_user, client=org_a, actor=client_a)
    # The channel as notify calls it once an event commits; this test's transaction never does, so it waits.
    services.deliveries_queue(
        kind="order_accepted",
        event=f"order-accepted:{order.pk}",
        organization_id=org_a.pk,
        params={"reference": order.reference, "title": order.title},
        url=f"/portal/orders/{order.pk}/",
        at=order.created_at,
    )

    with pytest.raises(WebhookTransitionNotAllowed, match="already waiting"):
        services.delivery_resend(delivery=Delivery.objects.get(), actor=client_a)


def test_staff_and_other_organizations_cannot_manage_an_organizations_webhooks(ops_user, org_a, client_a, client_b):
    endpoint = _endpoint(client_a, org_a, "https://hooks.example.com/factory")

    for outsider in (ops_user, client_b):
        with pytest.raises(WebhookActionNotPermitted):
            services.endpoint_register(
                client=org_a, actor=outsider, url="https://x.example.com/", kinds=["order_accepted"], secret=SECRET
            )
        with pytest.raises(WebhookActionNotPermitted):
            services.endpoint_disable(endpoint=endpoint, actor=outsider)

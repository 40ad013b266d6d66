"""The portal's webhooks pages: a client registers an endpoint with its own signing secret (never shown again, nor in
the admin), reads its delivery log, disables it and sends a delivery again; another organization's endpoint is not
there, and staff are refused."""

import re

import pytest
from django.utils.html import escape

from orders.models import OrderStatus
from tests.factories import order_at
from webhooks import services
from webhooks.models import Delivery, DeliveryStatus, Endpoint

pytestmark = pytest.mark.django_db


SECRET = "the-hospitals-own-secret"


def _endpoint(org, actor, url="https://hooks.example.com/factory"):
    return services.endpoint_register(client=org, actor=actor, url=url, kinds=["order_accepted"], secret=SECRET)


def test_a_client_registers_an_endpoint_with_its_own_secret_never_shown_again(client, client_a):
    client.force_login(client_a)
    page = client.get("/portal/webhooks/").content.decode()
    assert "No endpoints yet" in page
    assert "An order is accepted" in page  # the events offered, in the client's words
    assert "it signs each delivery" in page  # the secret's help text
    assert "never shown again" in page
    assert re.search(r'<input type="password" name="secret"[^>]*required', page)
    key = re.search(r'name="submission_key" value="([0-9a-f]{32})"', page).group(1)

    data = {"url": "https://hooks.example.com/factory", "kinds": ["order_accepted", "order_delivered"]}
    data |= {"secret": SECRET, "submission_key": key}
    answer = client.post("/portal/webhooks/", data)
    again = client.post("/portal/webhooks/", data)  # a double click

    endpoint = Endpoint.objects.get()
    assert answer.url == again.url == f"/portal/webhooks/{endpoint.pk}/"
    assert (endpoint.kinds, endpoint.secret) == (["order_accepted", "order_delivered"], SECRET)
    shown = client.get(answer.url).content.decode()
    assert "it is not shown again" in shown
    assert "Nothing sent yet" in shown
    listed = client.get("/portal/webhooks/").content.decode()
    assert "https://hooks.example.com/factory" in listed
    assert SECRET not in shown + listed


def test_a_form_sent_back_with_an_error_does_not_show_the_secret_typed(client, client_a):
    client.force_login(client_a)

    answer = client.post("/portal/webhooks/", {"url": "ftp://hooks.example.com/", "secret": SECRET})

    assert answer.status_code == 400
    assert SECRET not in answer.content.decode()


def test_the_admin_does_not_show_the_secret(client, admin_user, org_a, client_a):
    endpoint = _endpoint(org_a, client_a)
    client.force_login(admin_user)

    for url in ("/admin/webhooks/endpoint/", f"/admin/webhooks/endpoint/{endpoint.pk}/change/"):
        page = client.get(url)
        assert page.status_code == 200, url
        assert SECRET not in page.content.decode(), url


GOOD = {"url": "https://hooks.example.com/", "kinds": ["order_accepted"], "secret": SECRET}


@pytest.mark.parametrize(
    ("data", "field", "said"),
    [
        ({**GOOD, "url": ""}, "url", "Give the endpoint's URL."),
        ({**GOOD, "url": "ftp://hooks.example.com/"}, "url", "Give an http or https address"),
        ({"url": GOOD["url"], "secret": SECRET}, "kinds", "Choose at least one event."),
        ({**GOOD, "kinds": ["sla_breached"]}, "kinds", "Choose events from the list."),
        ({**GOOD, "secret": ""}, "secret", "Give a signing secret: it signs each delivery."),
        ({**GOOD, "secret": "too-short"}, "secret", "Make the signing secret at least 16 characters long (it has 9)."),
        ({**GOOD, "secret": "x" * 201}, "secret", "Keep the signing secret to 200 characters at most (it has 201)."),
        ({**GOOD, "secret": "line\nbreak-in-the-secret"}, "secret", "Remove the control characters"),
        ({**GOOD, "secret": " " * 20}, "secret", "Give a signing secret of at least 16 characters"),
    ],
)
def test_a_refused_registration_comes_back_with_its_reason_beside_its_field(client, client_a, data, field, said):
    client.force_login(client_a)

    answer = client.post("/portal/webhooks/", data)

    assert answer.status_code == 400
    assert said in answer.context["form"].errors[field][0]  # beside its field, not above the form
    assert escape(said) in answer.content.decode()
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

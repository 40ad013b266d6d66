"""The URL rule: webhooks go to http or https URLs of public hosts only, checked at registration and again before
every attempt, so that the factory cannot be made to call into its own network."""

import pytest

from orders.models import OrderStatus
from tests.factories import order_at
from webhooks import services
from webhooks.errors import WebhookInvalid
from webhooks.models import Delivery, DeliveryStatus, Endpoint

pytestmark = pytest.mark.django_db


SECRET = "a-secret-of-the-clients-own"


def _register(org, actor, url, secret=SECRET):
    return services.endpoint_register(client=org, actor=actor, url=url, kinds=["order_accepted"], secret=secret)


@pytest.mark.parametrize(
    "url",
    ["ftp://hooks.example.com/factory", "file:///etc/passwd", "hooks.example.com/factory", "https://", "http://:80/"],
)
def test_only_http_and_https_urls_with_a_host_are_accepted(org_a, client_a, url):
    with pytest.raises(WebhookInvalid) as refused:
        _register(org_a, client_a, url)

    assert refused.value.field == "url"
    assert not Endpoint.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hooks",
        "http://localhost/hooks",
        "http://10.0.0.1/hooks",
        "https://192.168.1.20/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hooks",
        "http://0.0.0.0/hooks",
        "http://224.0.0.1/hooks",
    ],
)
def test_addresses_of_private_networks_are_refused(settings, org_a, client_a, url):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False

    with pytest.raises(WebhookInvalid, match="private network") as refused:
        _register(org_a, client_a, url)

    assert refused.value.field == "url"


def test_a_public_address_is_accepted(settings, org_a, client_a):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False

    assert _register(org_a, client_a, "https://93.184.215.14/hooks").url == "https://93.184.215.14/hooks"


def test_loopback_is_accepted_when_the_setting_allows_private_urls(settings, org_a, client_a):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True

    assert _register(org_a, client_a, "http://127.0.0.1:8000/hooks").active


def test_an_address_turned_private_since_registration_is_not_called(
    settings, receiver, ops_user, org_a, client_a, django_capture_on_commit_callbacks
):
    _register(org_a, client_a, receiver.url, secret=receiver.secret)
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False  # as if the host's name now resolved inside the network

    with django_capture_on_commit_callbacks(execute=True):
        order_at(OrderStatus.ACCEPTED, staff=ops_user, client=org_a, actor=client_a)

    delivery = Delivery.objects.get()
    assert (receiver.accepted, receiver.refused) == ([], 0)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.PENDING, 1, None)
    assert "private network" in delivery.last_error

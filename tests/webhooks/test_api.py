"""The webhooks API: a client registers (with its own signing secret, which no answer holds), lists, reads and
disables its organization's endpoints and reads and resends their deliveries; another organization's are 404, bad
input a 400 by field, staff 403."""

import pytest
from rest_framework.test import APIClient

from orders.models import OrderStatus
from tests.factories import order_at
from webhooks import services
from webhooks.models import Delivery, DeliveryStatus, Endpoint

pytestmark = pytest.mark.django_db

SECRET = "the-hospitals-own-secret"
REGISTERING = {"url": "https://hooks.example.com/factory", "events": ["order_accepted"], "secret": SECRET}


def _register(org, actor, url="http://127.0.0.1:9/", kinds=("order_accepted",)):
    return services.endpoint_register(client=org, actor=actor, url=url, kinds=list(kinds), secret=SECRET)


def _api(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_a_client_registers_an_endpoint_with_its_own_secret_which_no_answer_holds(client_a):
    api = _api(client_a)
    answer = api.post("/api/v1/webhooks/", REGISTERING, format="json")

    assert answer.status_code == 201
    endpoint = Endpoint.objects.get()
    assert answer["Location"].endswith(f"/api/v1/webhooks/{endpoint.pk}/")
    assert answer.json() | {"created_at": None} == {
        "id": endpoint.pk,
        "url": REGISTERING["url"],
        "events": ["order_accepted"],
        "active": True,
        "created_at": None,
        "disabled_at": None,
    }
    assert endpoint.secret == SECRET  # kept to sign, as given
    answers = [
        answer,
        api.get("/api/v1/webhooks/"),
        api.get(f"/api/v1/webhooks/{endpoint.pk}/"),
        api.post(f"/api/v1/webhooks/{endpoint.pk}/disable/"),
    ]
    assert [SECRET in response.content.decode() for response in answers] == [False] * 4


def test_the_secret_is_kept_as_given_white_space_and_all(client_a):
    secret = " spaced out secret, kept whole "

    assert _api(client_a).post("/api/v1/webhooks/", {**REGISTERING, "secret": secret}, format="json").status_code == 201
    assert Endpoint.objects.get().secret == secret


def test_the_same_idempotency_key_registers_one_endpoint(client_a):
    api = _api(client_a)

    first = api.post("/api/v1/webhooks/", REGISTERING, format="json", HTTP_IDEMPOTENCY_KEY="register-hooks-1")
    second = api.post("/api/v1/webhooks/", REGISTERING, format="json", HTTP_IDEMPOTENCY_KEY="register-hooks-1")

    assert Endpoint.objects.count() == 1
    assert second["Idempotent-Replayed"] == "true"
    assert first.json() == second.json()


def test_the_same_idempotency_key_with_another_secret_is_refused(client_a):
    api = _api(client_a)
    api.post("/api/v1/webhooks/", REGISTERING, format="json", HTTP_IDEMPOTENCY_KEY="register-hooks-1")

    again = {**REGISTERING, "secret": "another-secret-altogether"}
    answer = api.post("/api/v1/webhooks/", again, format="json", HTTP_IDEMPOTENCY_KEY="register-hooks-1")

    assert answer.status_code == 422
    assert Endpoint.objects.get().secret == SECRET


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**REGISTERING, "url": "ftp://hooks.example.com/"}, "url"),
        ({**REGISTERING, "events": []}, "events"),
        ({**REGISTERING, "events": ["sla_breached"]}, "events"),  # a staff kind
        ({"events": ["order_accepted"], "secret": SECRET}, "url"),
        ({"url": "https://hooks.example.com/", "events": ["order_accepted"]}, "secret"),
        ({**REGISTERING, "secret": ""}, "secret"),
        ({**REGISTERING, "secret": "too-short"}, "secret"),
        ({**REGISTERING, "secret": "x" * 201}, "secret"),
        ({**REGISTERING, "secret": "tab\tin-the-secret-here"}, "secret"),
        ({**REGISTERING, "secret": " " * 20}, "secret"),
        ({**REGISTERING, "secret": 1234567890123456789}, "secret"),
    ],
)
def test_bad_input_answers_400_naming_the_field(client_a, body, field):
    answer = _api(client_a).post("/api/v1/webhooks/", body, format="json")

    assert answer.status_code == 400
    assert list(answer.json()) == [field]
    assert not Endpoint.objects.exists()


def test_a_private_address_answers_400_on_url(settings, client_a):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False

    answer = _api(client_a).post("/api/v1/webhooks/", {**REGISTERING, "url": "http://10.0.0.1/"}, format="json")

    assert answer.status_code == 400
    assert "private network" in answer.json()["url"][0]


def test_a_client_lists_reads_and_disables_its_own_endpoints(org_a, org_b, client_a, client_b):
    mine = _register(org_a, client_a, url="https://a.example.com/", kinds=["gate_passed"])
    _register(org_b, client_b, url="https://b.example.com/", kinds=["gate_passed"])
    api = _api(client_a)

    assert [row["id"] for row in api.get("/api/v1/webhooks/").json()["results"]] == [mine.pk]
    assert api.get(f"/api/v1/webhooks/{mine.pk}/").json()["url"] == "https://a.example.com/"
    assert api.post(f"/api/v1/webhooks/{mine.pk}/disable/").json()["active"] is False
    assert api.post(f"/api/v1/webhooks/{mine.pk}/disable/").status_code == 409


def test_another_organizations_endpoint_and_delivery_are_404(
    ops_user, org_a, client_a, client_b, django_capture_on_commit_callbacks
):
    endpoint = _register(org_a, client_a)
    with django_capture_on_commit_callbacks(execute=True):
        order_at(OrderStatus.ACCEPTED, staff=ops_user, client=org_a, actor=client_a)
    delivery = Delivery.objects.get()
    api = _api(client_b)

    assert api.get(f"/api/v1/webhooks/{endpoint.pk}/").status_code == 404
    assert api.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/").status_code == 404
    assert api.post(f"/api/v1/webhooks/{endpoint.pk}/disable/").status_code == 404
    assert api.post(f"/api/v1/webhook-deliveries/{delivery.pk}/resend/").status_code == 404
    assert api.get("/api/v1/webhooks/").json()["count"] == 0


def test_a_client_reads_the_deliveries_and_resends_one(ops_user, org_a, client_a, django_capture_on_commit_callbacks):
    endpoint = _register(org_a, client_a)
    with django_capture_on_commit_callbacks(execute=True):
        order_at(OrderStatus.ACCEPTED, staff=ops_user, client=org_a, actor=client_a)
    delivery = Delivery.objects.get()
    api = _api(client_a)

    (row,) = api.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/").json()["results"]
    assert (row["event_id"], row["event"], row["status"], row["attempts"]) == (
        delivery.event_id,
        "order_accepted",
        "pending",
        1,
    )
    assert api.post(f"/api/v1/webhook-deliveries/{delivery.pk}/resend/").status_code == 409  # still retrying
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED)
    assert api.post(f"/api/v1/webhook-deliveries/{delivery.pk}/resend/").json()["status"] == "pending"


def test_staff_are_refused(ops_user):
    api = _api(ops_user)

    assert api.get("/api/v1/webhooks/").status_code == 403
    assert api.post("/api/v1/webhooks/", REGISTERING, format="json").status_code == 403

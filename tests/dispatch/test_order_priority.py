"""One priority per order: the dispatch center's priority page and POST /api/v1/orders/{id}/priority/ both change
the order and its jobs at once (dispatch.services.order_reprioritize), and the next tick places by it."""

from datetime import timedelta

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from dispatch import services
from dispatch.models import Job, JobState
from factory import clock
from orders.models import EventKind, OrderStatus
from tests.factories import compute_pool, order_at

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_background_load(settings):
    settings.DISPATCH_BACKGROUND_LOAD = False


def api_as(user=None) -> APIClient:
    api = APIClient()
    if user is not None:
        token, _created = Token.objects.get_or_create(user=user)
        api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api


def _api_url(order) -> str:
    return f"/api/v1/orders/{order.pk}/priority/"


def _page_url(order) -> str:
    return f"/dispatch/orders/{order.pk}/priority/"


@pytest.fixture
def waiting_for_one_slot(ops_user):
    """A low and a normal order whose identical first steps wait in the queue (no pool yet)."""
    t0 = clock.now()
    low = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, priority="low")
    normal = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, priority="normal")
    services.dispatch_tick(now=t0)
    assert list(Job.objects.values_list("state", flat=True)) == [JobState.QUEUED, JobState.QUEUED]
    return low, normal, t0


def _open_one_slot_and_tick(t0):
    """A pool with room for exactly one of the waiting first steps, then a tick."""
    job = Job.objects.first()
    compute_pool(kind=job.kind, capacity=job.demand_pflops)
    services.dispatch_tick(now=t0 + timedelta(minutes=1))


def _state(order) -> str:
    return Job.objects.get(order=order).state


def test_without_a_change_the_normal_order_gets_the_only_slot(waiting_for_one_slot):
    low, normal, t0 = waiting_for_one_slot

    _open_one_slot_and_tick(t0)

    assert (_state(normal), _state(low)) == (JobState.RUNNING, JobState.QUEUED)


@pytest.mark.parametrize("way", ["page", "api"])
@pytest.mark.parametrize("user_fixture", ["ops_user", "dispatcher"])
def test_a_low_order_raised_to_urgent_gets_the_only_slot_ahead_of_a_normal_one(
    client, request, waiting_for_one_slot, way, user_fixture
):
    low, normal, t0 = waiting_for_one_slot
    user = request.getfixturevalue(user_fixture)

    if way == "page":
        client.force_login(user)
        answer = client.post(_page_url(low), {"priority": "urgent", "reason": "Ministry deadline moved up"})
        assert answer.status_code == 302
    else:
        answer = api_as(user).post(_api_url(low), {"priority": "urgent", "reason": "Ministry deadline moved up"})
        assert answer.status_code == 200
        assert answer.json()["priority"] == "urgent"

    assert Job.objects.get(order=low).priority == "urgent"
    low.refresh_from_db()
    assert low.priority == "urgent"
    event = low.events.get(kind=EventKind.PRIORITY_CHANGED)
    assert (event.actor, "Ministry deadline moved up" in event.note) == (user, True)

    _open_one_slot_and_tick(t0)

    assert (_state(low), _state(normal)) == (JobState.RUNNING, JobState.QUEUED)


def test_a_running_job_takes_the_new_priority_too(ops_user, dispatcher):
    compute_pool(kind="data_processing", capacity=1000)
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    services.dispatch_tick(now=clock.now())
    assert _state(order) == JobState.RUNNING

    answer = api_as(dispatcher).post(_api_url(order), {"priority": "high", "reason": "Board review"})

    assert answer.status_code == 200
    assert Job.objects.get(order=order).priority == "high"


def test_the_change_and_its_reason_are_on_the_orders_timeline_in_the_api(ops_user, dispatcher):
    order = order_at(OrderStatus.ACCEPTED, staff=ops_user)

    api_as(dispatcher).post(_api_url(order), {"priority": "high", "reason": "Board review"})
    events = api_as(ops_user).get(f"/api/v1/orders/{order.pk}/events/").json()["results"]

    change = [event for event in events if event["kind"] == EventKind.PRIORITY_CHANGED]
    assert len(change) == 1
    assert change[0]["actor"] == dispatcher.username
    assert change[0]["note"].endswith("Board review")


# --- What the API refuses ---------------------------------------------------------------------------------------


def test_bad_input_is_answered_naming_each_field_and_changes_nothing(ops_user, dispatcher):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    api = api_as(dispatcher)

    empty = api.post(_api_url(order), {})
    unknown = api.post(_api_url(order), {"priority": "asap", "reason": "x"})
    same = api.post(_api_url(order), {"priority": "normal", "reason": "x"})
    blank_reason = api.post(_api_url(order), {"priority": "high", "reason": "   "})

    assert (empty.status_code, set(empty.json())) == (400, {"priority", "reason"})
    assert (unknown.status_code, list(unknown.json())) == (400, ["priority"])
    assert same.status_code == 409  # the order as it is now, not the value, makes it pointless
    assert same.json() == {"detail": "The order already has this priority."}
    assert (blank_reason.status_code, list(blank_reason.json())) == (400, ["reason"])
    order.refresh_from_db()
    assert order.priority == "normal"
    assert not order.events.filter(kind=EventKind.PRIORITY_CHANGED).exists()


def test_a_delivered_order_is_answered_409(ops_user, dispatcher):
    order = order_at(OrderStatus.DELIVERED, staff=ops_user)

    answer = api_as(dispatcher).post(_api_url(order), {"priority": "high", "reason": "Too late"})

    assert answer.status_code == 409
    assert "Cannot change the priority" in answer.json()["detail"]
    order.refresh_from_db()
    assert order.priority == "normal"


def test_who_may_change_a_priority_through_the_api(ops_user, reviewer, aftersales_user, org_a, client_a, client_b):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, actor=client_a)
    body = {"priority": "high", "reason": "Because"}

    assert api_as().post(_api_url(order), body).status_code == 401
    # The owning client is refused the action; another client does not learn the order exists.
    assert api_as(client_a).post(_api_url(order), body).status_code == 403
    assert api_as(client_b).post(_api_url(order), body).status_code == 404
    assert api_as(reviewer).post(_api_url(order), body).status_code == 403
    assert api_as(aftersales_user).post(_api_url(order), body).status_code == 403
    assert api_as(ops_user).post("/api/v1/orders/999999/priority/", body).status_code == 404
    order.refresh_from_db()
    assert order.priority == "normal"


def test_the_schema_lists_the_priority_action_with_the_orders(client, dispatcher):
    client.force_login(dispatcher)

    schema = client.get("/api/schema/", {"format": "json"}).json()

    operation = schema["paths"]["/api/v1/orders/{id}/priority/"]["post"]
    assert operation["tags"] == ["orders"]
    assert set(operation["responses"]) == {"200", "400", "401", "403", "404", "409", "412", "415", "429", "503"}
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(schema["components"]["schemas"][body]["required"]) == {"priority", "reason"}

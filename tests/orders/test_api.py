"""The orders REST API (API.md "Orders"), called as clients, operations staff and outsiders call it."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from factory import clock
from orders import services
from orders.models import EventKind, Order, OrderStatus, OrderStep, RequirementChange, StepStatus
from tests.factories import PASSWORD, finish_current_stage, gate_reviewer, order_at, order_fields, place_order

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"
CONTRACT_FIELDS = {
    "id",
    "reference",
    "title",
    "client",
    "product_type",
    "sector",
    "status",
    "priority",
    "requested_delivery",
    "promised_delivery",
    "eta",
    "progress",
    "current_workshop",
    "stages",
    "compute_pflops_hours",
    "compute_cost",
    "tracking_url",
    "created_at",
    "delivered_at",
    "rating",
}
STAGE_FIELDS = {"workshop", "status", "progress", "started_at", "finished_at", "steps_total", "steps_done"}


def api_as(user=None) -> APIClient:
    """An API client sending `user`'s token (a fresh user object per request, as in production)."""
    api = APIClient()
    if user is not None:
        token, _created = Token.objects.get_or_create(user=user)
        api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api


def payload(**overrides) -> dict:
    """The JSON body of a valid new order, with `overrides`."""
    fields = order_fields(**overrides)
    if isinstance(fields["requested_delivery"], date):
        fields["requested_delivery"] = fields["requested_delivery"].isoformat()
    return fields


def detail(order) -> str:
    return f"{ORDERS}{order.pk}/"


def act(order, name: str) -> str:
    return f"{ORDERS}{order.pk}/{name}/"


@pytest.fixture
def ops(ops_user):
    return api_as(ops_user)


@pytest.fixture
def as_client_a(client_a):
    return api_as(client_a)


@pytest.fixture
def as_client_b(client_b):
    return api_as(client_b)


@pytest.fixture
def order_of_a(org_a, client_a):
    return place_order(client=org_a, actor=client_a)


def at(status, ops_user, org_a, client_a, **overrides):
    order = order_at(status, staff=ops_user, client=org_a, actor=client_a, **overrides)
    if status == OrderStatus.CLOSED:
        services.order_confirm(order=order, actor=client_a)
    order.refresh_from_db()
    return order


# --- Authentication and who may call ------------------------------------------------------------------


def test_client_gets_a_token_and_lists_their_orders_with_it(client_a, order_of_a):
    api_client = APIClient()
    answer = api_client.post("/api/v1/auth/token/", {"username": "client-a-user", "password": PASSWORD}, format="json")
    assert answer.status_code == 200

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {answer.json()['token']}")
    listed = api_client.get(ORDERS)

    assert listed.status_code == 200
    assert [row["reference"] for row in listed.json()["results"]] == [order_of_a.reference]


@pytest.mark.parametrize("sent_along", ["Token 0123456789abcdef0123456789abcdef01234567", "Bearer stale", "Token"])
def test_valid_credentials_get_a_token_whatever_authorization_header_comes_along(client_a, sent_along):
    api_client = APIClient()
    api_client.credentials(HTTP_AUTHORIZATION=sent_along)

    answer = api_client.post("/api/v1/auth/token/", {"username": "client-a-user", "password": PASSWORD})

    assert answer.status_code == 200
    assert list(answer.json()) == ["token"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", ""),
        ("post", ""),
        ("get", "quote/?product_type=model&size=small&priority=normal&data_sensitivity=public"),
        ("get", "{pk}/"),
        ("get", "{pk}/events/"),
        ("post", "{pk}/accept/"),
        ("post", "{pk}/cancel/"),
    ],
)
def test_anonymous_caller_is_answered_401_and_nothing_changes(order_of_a, method, path):
    answer = getattr(api_as(), method)(ORDERS + path.format(pk=order_of_a.pk))

    assert answer.status_code == 401
    order_of_a.refresh_from_db()
    assert order_of_a.status == OrderStatus.SUBMITTED
    assert Order.objects.count() == 1


def test_account_with_neither_role_nor_organization_is_refused_orders(django_user_model, order_of_a):
    outsider = api_as(django_user_model.objects.create_user("newcomer", password="x-pass-123"))

    assert outsider.get(ORDERS).status_code == 403
    assert outsider.get(detail(order_of_a)).status_code == 403
    assert outsider.post(ORDERS, payload(), format="json").status_code == 403
    assert Order.objects.count() == 1


# --- Who sees what ------------------------------------------------------------------------------------


def test_client_lists_only_their_own_organizations_orders(org_a, org_b, client_a, client_b, as_client_a):
    own = place_order(client=org_a, actor=client_a)
    place_order(client=org_b, actor=client_b)

    body = as_client_a.get(ORDERS).json()

    assert body["count"] == 1
    assert [row["id"] for row in body["results"]] == [own.pk]
    # Naming the other organization answers exactly as an id that does not exist: nothing, revealing nothing.
    other, unknown = as_client_a.get(ORDERS, {"client": org_b.pk}), as_client_a.get(ORDERS, {"client": 999999})
    assert other.status_code == unknown.status_code == 200
    assert other.json() == unknown.json()
    assert other.json()["count"] == 0


@pytest.mark.parametrize("persona", ["ops_user", "dispatcher", "reviewer", "aftersales_user", "admin_user"])
def test_staff_of_any_role_list_every_clients_orders(request, persona, org_a, org_b, client_a, client_b):
    place_order(client=org_a, actor=client_a)
    place_order(client=org_b, actor=client_b)

    body = api_as(request.getfixturevalue(persona)).get(ORDERS).json()

    assert body["count"] == 2
    assert {row["client_name"] for row in body["results"]} == {"Organization A", "Organization B"}
    assert set(body) == {"count", "next", "previous", "results"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "", None),
        ("get", "events/", None),
        ("post", "cancel/", {"reason": "Changed our mind"}),
        ("post", "confirm/", {}),
        ("post", "rate/", {"score": 1}),
        ("post", "accept/", {}),
        ("post", "deliver/", {}),
        ("post", "requirement-changes/", {"text": "More data"}),
    ],
)
def test_client_gets_404_for_another_organizations_order_and_changes_nothing(
    ops_user, org_a, client_a, as_client_b, method, path, body
):
    order = at(OrderStatus.DELIVERED, ops_user, org_a, client_a)
    events_before = order.events.count()

    answer = getattr(as_client_b, method)(detail(order) + path, body, format="json")

    assert answer.status_code == 404
    order.refresh_from_db()
    assert (order.status, order.rating, order.events.count()) == (OrderStatus.DELIVERED, None, events_before)


def test_unknown_order_answers_404(ops):
    assert ops.get(f"{ORDERS}999999/").status_code == 404
    assert ops.post(f"{ORDERS}999999/accept/").status_code == 404


def test_list_filters_by_status_product_type_sector_and_search(ops, ops_user, org_a, client_a):
    dataset = place_order(client=org_a, actor=client_a, product_type="dataset", title="Ward notes corpus")
    model = place_order(client=org_a, actor=client_a, product_type="model", sector="finance", title="Fraud model")
    services.order_accept(order=model, actor=ops_user)

    def ids(**params):
        return [row["id"] for row in ops.get(ORDERS, params).json()["results"]]

    assert ids(status="accepted") == [model.pk]
    assert ids(product_type="dataset") == [dataset.pk]
    assert ids(sector="finance") == [model.pk]
    assert ids(search="corpus") == [dataset.pk]
    assert ids(search=model.reference) == [model.pk]
    assert ops.get(ORDERS, {"status": "lost"}).status_code == 400


# --- The representation -------------------------------------------------------------------------------


def test_order_shows_the_contract_fields_with_its_stages_money_and_tracking_link(ops, ops_user, org_a, client_a):
    order = at(OrderStatus.IN_PRODUCTION, ops_user, org_a, client_a, product_type="model")

    body = ops.get(detail(order)).json()

    assert set(body) >= CONTRACT_FIELDS
    assert body["reference"] == order.reference
    assert (body["client"], body["client_name"]) == (org_a.pk, "Organization A")
    assert body["status"] == "in_production"
    assert body["current_workshop"] == "data"
    assert [stage["workshop"] for stage in body["stages"]] == ["data", "model"]
    assert set(body["stages"][0]) == STAGE_FIELDS
    assert body["stages"][0]["status"] == "in_progress"
    assert body["stages"][0]["steps_total"] > 0
    assert body["stages"][1]["started_at"] is None
    assert isinstance(body["compute_pflops_hours"], int | float)
    assert Decimal(body["compute_cost"]) >= 0
    assert isinstance(body["compute_cost"], str)
    assert body["tracking_url"] == f"http://testserver/track/{order.tracking_token}/"
    assert body["requested_delivery"] == order.requested_delivery.isoformat()
    assert body["eta"]
    assert body["created_at"]
    assert (body["delivered_at"], body["rating"]) == (None, None)


def test_submitted_order_has_no_workshop_and_no_stages_yet(as_client_a, order_of_a):
    body = as_client_a.get(detail(order_of_a)).json()

    assert (body["current_workshop"], body["stages"], body["progress"]) == (None, [], 0)
    assert body["promised_delivery"]


def test_revoked_tracking_link_shows_as_null(as_client_a, client_a, order_of_a):
    services.order_revoke_tracking_link(order=order_of_a, actor=client_a)

    assert as_client_a.get(detail(order_of_a)).json()["tracking_url"] is None


# --- Placing orders -----------------------------------------------------------------------------------


def test_client_places_an_order_for_their_own_organization(as_client_a, org_a):
    answer = as_client_a.post(ORDERS, payload(title="Radiology triage agent", product_type="agent"), format="json")

    assert answer.status_code == 201
    body = answer.json()
    order = Order.objects.get()
    assert (body["id"], body["client"], body["status"]) == (order.pk, org_a.pk, "submitted")
    assert body["title"] == "Radiology triage agent"
    assert body["promised_delivery"] == order.promised_delivery.isoformat()
    assert list(order.events.values_list("kind", flat=True)) == [EventKind.SUBMITTED]
    assert answer["Location"] == f"http://testserver{ORDERS}{order.pk}/"
    assert as_client_a.get(answer["Location"]).json() == body


def test_client_may_name_their_own_organization(as_client_a, org_a):
    answer = as_client_a.post(ORDERS, payload(client=org_a.pk), format="json")

    assert answer.status_code == 201
    assert answer.json()["client"] == org_a.pk


def test_client_naming_another_organization_is_refused(as_client_a, org_b):
    answer = as_client_a.post(ORDERS, payload(client=org_b.pk), format="json")

    assert answer.status_code == 400
    assert "client" in answer.json()
    assert Order.objects.count() == 0


def test_operations_place_an_order_for_the_client_they_name(ops, org_b):
    answer = ops.post(ORDERS, payload(client=org_b.pk, priority="urgent"), format="json")

    assert answer.status_code == 201
    assert (answer.json()["client"], answer.json()["priority"]) == (org_b.pk, "urgent")
    assert answer["Location"] == f"http://testserver{ORDERS}{answer.json()['id']}/"
    assert Order.objects.get().placed_by.username == "ops-user"


def test_staff_must_name_the_client(ops):
    answer = ops.post(ORDERS, payload(), format="json")

    assert answer.status_code == 400
    assert list(answer.json()) == ["client"]
    assert Order.objects.count() == 0


def test_staff_outside_operations_and_aftersales_cannot_place_orders(dispatcher, org_a):
    answer = api_as(dispatcher).post(ORDERS, payload(client=org_a.pk), format="json")

    assert answer.status_code == 403
    assert Order.objects.count() == 0


def test_client_cannot_mark_an_order_urgent(as_client_a):
    answer = as_client_a.post(ORDERS, payload(priority="urgent"), format="json")

    assert answer.status_code == 400
    assert answer.json()["priority"] == ["Only factory staff can mark an order urgent."]
    assert Order.objects.count() == 0


def _without(field):
    body = payload()
    del body[field]
    return body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (payload(requested_delivery=clock.now().date() - timedelta(days=1)), "requested_delivery"),
        (payload(requested_delivery=clock.now().date()), "requested_delivery"),
        (payload(requested_delivery="next tuesday"), "requested_delivery"),
        (payload(product_type="spaceship"), "product_type"),
        (payload(sector="mining"), "sector"),
        (payload(size="huge"), "size"),
        (payload(data_sensitivity="secret"), "data_sensitivity"),
        (payload(priority="asap"), "priority"),
        (payload(title="x" * 201), "title"),
        (payload(title="   "), "title"),
        (payload(requirements="x" * 10001), "requirements"),
        (_without("title"), "title"),
        (_without("product_type"), "product_type"),
        (_without("requested_delivery"), "requested_delivery"),
    ],
)
def test_bad_order_input_is_answered_400_on_its_field_and_creates_nothing(as_client_a, body, field):
    answer = as_client_a.post(ORDERS, body, format="json")

    assert answer.status_code == 400
    errors = answer.json()
    assert field in errors
    assert all(isinstance(message, str) and message for message in errors[field])
    assert Order.objects.count() == 0


def test_a_json_list_instead_of_an_order_is_answered_400(as_client_a):
    answer = as_client_a.post(ORDERS, [payload()], format="json")

    assert answer.status_code == 400
    assert Order.objects.count() == 0


# --- Quotes -------------------------------------------------------------------------------------------


def quote_params(**overrides):
    return {"product_type": "model", "size": "small", "priority": "normal", "data_sensitivity": "internal"} | overrides


def test_quote_gives_a_promise_compute_and_cost_without_placing_an_order(as_client_a):
    small = as_client_a.get(ORDERS + "quote/", quote_params()).json()
    large = as_client_a.get(ORDERS + "quote/", quote_params(size="large")).json()

    assert set(small) == {"promised_delivery", "estimated_compute_pflops_hours", "estimated_cost"}
    assert date.fromisoformat(small["promised_delivery"]) > clock.now().date()
    assert small["estimated_compute_pflops_hours"] > 0
    assert Decimal(small["estimated_cost"]) > 0
    assert large["estimated_compute_pflops_hours"] > small["estimated_compute_pflops_hours"]
    assert Decimal(large["estimated_cost"]) > Decimal(small["estimated_cost"])
    assert large["promised_delivery"] >= small["promised_delivery"]
    assert Order.objects.count() == 0


def test_quote_needs_every_parameter(as_client_a):
    answer = as_client_a.get(ORDERS + "quote/")

    assert answer.status_code == 400
    assert set(answer.json()) == {"product_type", "size", "priority", "data_sensitivity"}


def test_quote_refuses_an_unknown_choice(as_client_a):
    answer = as_client_a.get(ORDERS + "quote/", quote_params(size="huge"))

    assert answer.status_code == 400
    assert list(answer.json()) == ["size"]


def test_client_cannot_quote_urgent_but_operations_can(as_client_a, ops):
    refused = as_client_a.get(ORDERS + "quote/", quote_params(priority="urgent"))
    urgent = ops.get(ORDERS + "quote/", quote_params(priority="urgent"))

    assert refused.status_code == 400
    assert list(refused.json()) == ["priority"]
    assert urgent.status_code == 200
    assert Order.objects.count() == 0


# --- Who may act --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "action", "body"),
    [
        (OrderStatus.SUBMITTED, "accept", {}),
        (OrderStatus.SUBMITTED, "reject", {"reason": "No"}),
        (OrderStatus.ACCEPTED, "start-production", {}),
        (OrderStatus.READY, "deliver", {}),
        (OrderStatus.IN_PRODUCTION, "requirement-changes", {"text": "Add discharge letters"}),
    ],
)
def test_client_cannot_run_operations_actions_on_their_own_order(
    ops_user, org_a, client_a, as_client_a, status, action, body
):
    order = at(status, ops_user, org_a, client_a)
    events_before = order.events.count()

    answer = as_client_a.post(act(order, action), body, format="json")

    assert answer.status_code == 403
    order.refresh_from_db()
    assert (order.status, order.events.count()) == (status, events_before)


@pytest.mark.parametrize("persona", ["dispatcher", "reviewer", "aftersales_user"])
@pytest.mark.parametrize(
    ("action", "body"), [("accept", {}), ("reject", {"reason": "No"}), ("cancel", {"reason": "x"})]
)
def test_staff_outside_operations_cannot_decide_on_orders(request, persona, order_of_a, action, body):
    answer = api_as(request.getfixturevalue(persona)).post(act(order_of_a, action), body, format="json")

    assert answer.status_code == 403
    order_of_a.refresh_from_db()
    assert order_of_a.status == OrderStatus.SUBMITTED


@pytest.mark.parametrize(("action", "body"), [("confirm", {}), ("rate", {"score": 5})])
def test_staff_cannot_confirm_or_rate_for_the_client(ops, ops_user, org_a, client_a, action, body):
    order = at(OrderStatus.DELIVERED, ops_user, org_a, client_a)

    answer = ops.post(act(order, action), body, format="json")

    assert answer.status_code == 403
    order.refresh_from_db()
    assert (order.status, order.rating) == (OrderStatus.DELIVERED, None)


# --- Illegal transitions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "who", "action", "body"),
    [
        (OrderStatus.SUBMITTED, "ops", "deliver", {}),
        (OrderStatus.SUBMITTED, "ops", "start-production", {}),
        (OrderStatus.ACCEPTED, "ops", "accept", {}),
        (OrderStatus.ACCEPTED, "ops", "reject", {"reason": "Too late to say no"}),
        (OrderStatus.IN_PRODUCTION, "ops", "start-production", {}),
        (OrderStatus.AWAITING_REVIEW, "ops", "deliver", {}),
        (OrderStatus.DELIVERED, "ops", "deliver", {}),
        (OrderStatus.DELIVERED, "ops", "cancel", {"reason": "Oops"}),
        (OrderStatus.CLOSED, "ops", "requirement-changes", {"text": "One more thing"}),
        (OrderStatus.ACCEPTED, "client", "cancel", {"reason": "Changed our mind"}),
        (OrderStatus.READY, "client", "confirm", {}),
        (OrderStatus.CLOSED, "client", "confirm", {}),
        (OrderStatus.IN_PRODUCTION, "client", "rate", {"score": 5}),
    ],
)
def test_illegal_transition_is_answered_409_naming_the_state_and_changes_nothing(
    ops_user, org_a, client_a, status, who, action, body
):
    order = at(status, ops_user, org_a, client_a)
    events_before = order.events.count()
    caller = api_as(ops_user if who == "ops" else client_a)

    answer = caller.post(act(order, action), body, format="json")

    assert answer.status_code == 409
    assert order.get_status_display() in answer.json()["detail"]
    order.refresh_from_db()
    assert (order.status, order.rating, order.events.count()) == (status, None, events_before)
    assert RequirementChange.objects.count() == 0


def test_accepting_twice_is_refused_the_second_time(ops, order_of_a):
    first = ops.post(act(order_of_a, "accept"))
    stages = order_of_a.stages.count()

    second = ops.post(act(order_of_a, "accept"))

    assert first.status_code == 200
    assert second.status_code == 409
    assert second.json()["detail"].endswith("is Accepted.")
    assert order_of_a.stages.count() == stages
    assert list(order_of_a.events.values_list("kind", flat=True)) == ["submitted", "accepted"]


def test_an_order_is_rated_once(ops_user, org_a, client_a, as_client_a):
    order = at(OrderStatus.DELIVERED, ops_user, org_a, client_a)

    first = as_client_a.post(act(order, "rate"), {"score": 4, "comment": "Good"}, format="json")
    second = as_client_a.post(act(order, "rate"), {"score": 1}, format="json")

    assert first.status_code == 200
    assert first.json()["rating"] == 4
    assert second.status_code == 409
    assert "already been rated" in second.json()["detail"]
    order.refresh_from_db()
    assert (order.rating, order.rating_comment) == (4, "Good")


@pytest.mark.parametrize("score", [0, 6, "five", None])
def test_rating_outside_one_to_five_is_refused(ops_user, org_a, client_a, as_client_a, score):
    order = at(OrderStatus.DELIVERED, ops_user, org_a, client_a)

    answer = as_client_a.post(act(order, "rate"), {"score": score}, format="json")

    assert answer.status_code == 400
    assert list(answer.json()) == ["score"]
    order.refresh_from_db()
    assert order.rating is None


# --- Operations' decisions ----------------------------------------------------------------------------


def test_operations_reject_a_submitted_order_with_a_reason(ops, order_of_a):
    answer = ops.post(act(order_of_a, "reject"), {"reason": "Data cannot leave the hospital"}, format="json")

    assert answer.status_code == 200
    assert answer.json()["status"] == "rejected"
    assert order_of_a.events.last().note == "Data cannot leave the hospital"


def test_rejecting_without_a_reason_is_refused(ops, order_of_a):
    answer = ops.post(act(order_of_a, "reject"), {"reason": "  "}, format="json")

    assert answer.status_code == 400
    assert list(answer.json()) == ["reason"]
    order_of_a.refresh_from_db()
    assert order_of_a.status == OrderStatus.SUBMITTED


def test_client_cancels_their_order_before_acceptance(as_client_a, order_of_a):
    answer = as_client_a.post(act(order_of_a, "cancel"), {"reason": "Budget moved to next year"}, format="json")

    assert answer.status_code == 200
    assert answer.json()["status"] == "cancelled"


def test_operations_cancel_an_order_in_production(ops, ops_user, org_a, client_a):
    order = at(OrderStatus.IN_PRODUCTION, ops_user, org_a, client_a)

    answer = ops.post(act(order, "cancel"), {"reason": "Client went bankrupt"}, format="json")

    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["eta"], answer.json()["current_workshop"]) == (
        "cancelled",
        None,
        None,
    )


def test_operations_record_a_requirement_change_that_the_client_sees(ops, ops_user, as_client_a, org_a, client_a):
    order = at(OrderStatus.IN_PRODUCTION, ops_user, org_a, client_a)

    answer = ops.post(act(order, "requirement-changes"), {"text": "Also cover outpatient notes"}, format="json")

    assert answer.status_code == 201
    body = answer.json()
    assert (body["order"], body["text"], body["recorded_by"], body["rework_steps"]) == (
        order.pk,
        "Also cover outpatient notes",
        "ops-user",
        [],
    )
    # Where the change is read: first in the timeline sorted newest first.
    assert answer["Location"] == f"http://testserver{act(order, 'events')}?sort=newest"
    newest = as_client_a.get(answer["Location"]).json()["results"][0]
    assert newest["kind"] == "requirement_change"
    assert newest["note"] == "Also cover outpatient notes"


def test_requirement_change_sends_named_finished_steps_back(ops, ops_user, org_a, client_a):
    order = at(OrderStatus.IN_PRODUCTION, ops_user, org_a, client_a)
    first = OrderStep.objects.get(stage__order=order, status=StepStatus.READY)
    services.step_finish(step=first, actor=ops_user)

    answer = ops.post(
        act(order, "requirement-changes"),
        {"text": "Relabel with the new codes", "rework_steps": [first.pk]},
        format="json",
    )

    assert answer.status_code == 201
    assert answer.json()["rework_steps"] == [first.pk]
    first.refresh_from_db()
    assert first.status != StepStatus.DONE
    assert first.rework_count == 1


def test_requirement_change_naming_another_orders_step_is_refused(ops, ops_user, org_a, client_a):
    order = at(OrderStatus.IN_PRODUCTION, ops_user, org_a, client_a)
    other = at(OrderStatus.IN_PRODUCTION, ops_user, org_a, client_a)
    foreign = OrderStep.objects.filter(stage__order=other).first()

    answer = ops.post(act(order, "requirement-changes"), {"text": "Redo", "rework_steps": [foreign.pk]}, format="json")

    assert answer.status_code == 400
    assert list(answer.json()) == ["rework_steps"]
    assert RequirementChange.objects.count() == 0


def test_requirement_change_needs_text(ops, order_of_a):
    answer = ops.post(act(order_of_a, "requirement-changes"), {"text": ""}, format="json")

    assert answer.status_code == 400
    assert list(answer.json()) == ["text"]
    assert RequirementChange.objects.count() == 0


# --- The whole journey --------------------------------------------------------------------------------


def test_an_order_goes_from_placed_to_rated_through_the_api(ops, ops_user, as_client_a):
    placed = as_client_a.post(ORDERS, payload(title="Outpatient triage model", product_type="model"), format="json")
    assert placed.status_code == 201
    order = Order.objects.get(pk=placed.json()["id"])

    accepted = ops.post(act(order, "accept"))
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted"
    assert [stage["workshop"] for stage in accepted.json()["stages"]] == ["data", "model"]

    started = ops.post(act(order, "start-production"))
    assert (started.json()["status"], started.json()["current_workshop"]) == ("in_production", "data")

    # Steps and gates have no API yet: production and security drive them through the services.
    for stage in order.stages.order_by("position"):
        finish_current_stage(order, ops_user)
        stage.refresh_from_db()
        services.stage_release_gate(stage=stage, actor=gate_reviewer())

    ready = ops.get(detail(order)).json()
    assert (ready["status"], ready["progress"]) == ("ready", 100)
    assert all(stage["status"] == "approved" for stage in ready["stages"])

    delivered = ops.post(act(order, "deliver"))
    assert delivered.json()["status"] == "delivered"
    assert delivered.json()["delivered_at"]

    confirmed = as_client_a.post(act(order, "confirm"))
    assert confirmed.json()["status"] == "closed"

    rated = as_client_a.post(act(order, "rate"), {"score": 5, "comment": "Delivered in a month"}, format="json")
    assert rated.status_code == 200
    assert rated.json()["rating"] == 5

    answer = as_client_a.get(act(order, "events"), {"page_size": 200}).json()
    timeline = answer["results"]
    assert answer["count"] == len(timeline)
    kinds = [event["kind"] for event in timeline]
    assert kinds[:4] == ["submitted", "accepted", "production_started", "stage_started"]
    assert kinds[-4:] == ["ready", "delivered", "confirmed", "rated"]
    milestones = ["submitted", "accepted", "stage_done", "gate_released", "ready", "delivered", "confirmed", "rated"]
    assert [kind for kind in kinds if kind in milestones] == [
        "submitted",
        "accepted",
        "stage_done",
        "gate_released",
        "stage_done",
        "gate_released",
        "ready",
        "delivered",
        "confirmed",
        "rated",
    ]
    assert [event["at"] for event in timeline] == sorted(event["at"] for event in timeline)
    # The client reads who acted as the portal shows it: themselves, or the factory's staff, never a username.
    assert (timeline[0]["actor"], timeline[0]["to_status"]) == ("You", "submitted")
    assert (timeline[1]["actor"], timeline[1]["from_status"], timeline[1]["to_status"]) == (
        "Factory staff",
        "submitted",
        "accepted",
    )
    assert timeline[-1]["note"] == "5/5 Delivered in a month"
    assert set(timeline[0]) >= {"at", "actor", "kind", "from_status", "to_status", "note"}


def test_timeline_answers_null_for_no_workshop_or_no_status_change(ops, ops_user, order_of_a):
    services.order_set_priority(order=order_of_a, actor=ops_user, priority="high", reason="Ward opening early")

    placed, reprioritized = ops.get(act(order_of_a, "events")).json()["results"]

    assert (placed["from_status"], placed["to_status"], placed["workshop"]) == (None, "submitted", None)
    assert (reprioritized["from_status"], reprioritized["to_status"], reprioritized["workshop"]) == (None, None, None)


def test_client_timeline_leaves_out_internal_events_that_staff_see(ops, ops_user, as_client_a, order_of_a):
    services.order_set_priority(order=order_of_a, actor=ops_user, priority="high", reason="Ward opening early")

    client_kinds = [event["kind"] for event in as_client_a.get(act(order_of_a, "events")).json()["results"]]
    staff_kinds = [event["kind"] for event in ops.get(act(order_of_a, "events")).json()["results"]]

    assert client_kinds == ["submitted"]
    assert staff_kinds == ["submitted", "priority_changed"]


# --- Query counts -------------------------------------------------------------------------------------


def _orders(count, ops_user, org_a, client_a):
    for _index in range(count):
        services.order_accept(order=place_order(client=org_a, actor=client_a), actor=ops_user)


@pytest.mark.parametrize("rows", [3, 6])
def test_order_list_for_staff_takes_a_fixed_number_of_queries(
    django_assert_num_queries, ops_user, org_a, client_a, rows
):
    _orders(rows, ops_user, org_a, client_a)
    api = api_as(ops_user)

    # 1 token, user and roles, 2 count, 3 page of orders with their client, 4 their stages.
    with django_assert_num_queries(4):
        answer = api.get(ORDERS)

    assert answer.json()["count"] == rows
    assert all(len(row["stages"]) == 2 for row in answer.json()["results"])


@pytest.mark.parametrize("rows", [3, 6])
def test_order_list_for_a_client_takes_a_fixed_number_of_queries(
    django_assert_num_queries, ops_user, org_a, client_a, rows
):
    _orders(rows, ops_user, org_a, client_a)
    api = api_as(client_a)

    # 1 token, user and roles (none), 2 client membership, 3 organization,
    # 4 count, 5 page of orders with their client, 6 their stages.
    with django_assert_num_queries(6):
        answer = api.get(ORDERS, {"status": "accepted"})

    assert answer.json()["count"] == rows


@pytest.mark.parametrize("changes", [2, 4])
def test_order_timeline_takes_a_fixed_number_of_queries(django_assert_num_queries, ops_user, org_a, client_a, changes):
    order = at(OrderStatus.IN_PRODUCTION, ops_user, org_a, client_a)
    for number in range(changes):
        services.order_record_requirement_change(order=order, actor=ops_user, text=f"Change {number}")
    api = api_as(client_a)

    # 1 token, user and roles, 2 membership, 3 organization, 4 the order, 5 count of its events, 6 the page of
    # events with their actors, 7 which of the actors are the client's own people (the rest read "Factory staff").
    with django_assert_num_queries(7):
        answer = api.get(act(order, "events"))

    rows = answer.json()["results"]
    assert [event["kind"] for event in rows].count("requirement_change") == changes
    assert {event["actor"] for event in rows} <= {"You", "Factory staff"}

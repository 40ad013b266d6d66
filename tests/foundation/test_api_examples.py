"""Every operation of /api/schema/ has an example request and answer (factory.api_examples): present, true to the
schema the serializers make, and accepted by the server, as an integrator reading /api/docs/ or schemathesis's
examples phase would send them."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.utils import timezone
from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator, oas30_format_checker
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from aftersales import services as aftersales_services
from dispatch import api_examples as api_examples_of_dispatch
from dispatch import services as dispatch_services
from dispatch.models import Job
from factory import api_examples, clock
from notifications.models import Notice
from orders.models import OrderStatus, OrderStep, StepStatus
from orders.services import step_finish
from security.services import reviews_open_for_waiting_gates
from tests.factories import PASSWORD, compute_pool, open_ticket, order_at, place_order
from webhooks import services as webhook_services

pytestmark = pytest.mark.django_db

JSON = "application/json"
WEBHOOK_SECRET = "the-clients-own-secret"


def _schema() -> dict:
    return Client().get("/api/schema/", {"format": "json"}).json()


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        return _schema()


def _operations(schema) -> dict[str, tuple[str, str, dict]]:
    """{operationId: (method, path, operation)}."""
    return {
        operation["operationId"]: (method, path, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }


def _success(operation) -> str:
    (status,) = [status for status in operation["responses"] if status.startswith("2")]
    return status


def _json(part: dict) -> dict:
    return part.get("content", {}).get(JSON, {})


def test_every_operation_has_an_example_answer_for_its_success_status(schema):
    missing = [
        name
        for name, (_method, _path, operation) in _operations(schema).items()
        if not _json(operation["responses"][_success(operation)]).get("examples")
    ]

    assert len(_operations(schema)) >= 36
    assert missing == []


def test_every_operation_that_takes_a_body_has_an_example_request(schema):
    missing = [
        name
        for name, (_method, _path, operation) in _operations(schema).items()
        if "requestBody" in operation and not _json(operation["requestBody"]).get("examples")
    ]

    assert missing == []


def test_every_operation_on_an_object_has_an_example_id(schema):
    missing = [
        name
        for name, (_method, path, operation) in _operations(schema).items()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path" and "example" not in parameter
    ]

    assert missing == []


def test_examples_are_declared_for_operations_of_the_schema_only(schema):
    assert set(api_examples.declared()) - set(_operations(schema)) == set()


def test_the_schema_with_its_examples_is_valid_openapi(schema):
    validate(schema)  # raises on the first error


def _closed(components: dict) -> dict:
    """The components with every object closed to properties it does not list: an example naming a field the
    serializer does not have (renamed, dropped, misspelled) is then wrong too, not only one missing a field."""
    closed = {}
    for name, component in components["schemas"].items():
        if "properties" in component and "additionalProperties" not in component:
            component = {**component, "additionalProperties": False}
        closed[name] = component
    return {**components, "schemas": closed}


def _errors(validator_class, schema: dict, part: dict, value) -> list[str]:
    validator = validator_class(
        {"components": _closed(schema["components"]), **part}, format_checker=oas30_format_checker
    )
    return [
        f"/{'/'.join(map(str, error.absolute_path))}: {error.message[:300]}" for error in validator.iter_errors(value)
    ]


@pytest.mark.parametrize("operation_id", sorted(api_examples.declared()))
def test_the_examples_of_each_operation_match_its_schema(schema, operation_id):
    _method, _path, operation = _operations(schema)[operation_id]
    wrong = {}
    body = _json(operation.get("requestBody", {}))
    for name, given in body.get("examples", {}).items():
        wrong[f"request {name}"] = _errors(OAS30WriteValidator, schema, body["schema"], given["value"])
    for parameter in operation.get("parameters", []):
        if "example" in parameter:
            wrong[f"parameter {parameter['name']}"] = _errors(
                OAS30WriteValidator, schema, parameter["schema"], parameter["example"]
            )
    for status, response in operation["responses"].items():
        for name, given in _json(response).get("examples", {}).items():
            wrong[f"answer {status} {name}"] = _errors(
                OAS30ReadValidator, schema, _json(response)["schema"], given["value"]
            )

    assert {where: errors for where, errors in wrong.items() if errors} == {}


def test_an_example_that_does_not_fit_its_operation_fails_the_schema(monkeypatch):
    fresh = {}
    monkeypatch.setattr(api_examples, "_declared", fresh)
    api_examples.example("orders_list", summary="Renamed filter", parameters={"state": "accepted"}, answer={})
    api_examples.example("orders_accept_create", summary="A body it takes none of", body={"reason": "x"}, answer={})
    api_examples.example("orders_create", summary="Status it never answers", body={}, status=200, answer={})

    with pytest.raises(ImproperlyConfigured) as refused:
        _schema()

    said = str(refused.value)
    assert "orders_list (example): no parameter 'state'" in said
    assert "orders_accept_create (example): a body for an operation that takes no JSON body" in said
    assert "orders_create (example): no JSON answer with status 200" in said


def test_example_delivery_dates_stay_ahead_of_the_factory_clock(monkeypatch):
    def requested_delivery() -> str:
        placing = _operations(_schema())["orders_create"][2]["requestBody"]["content"][JSON]
        return placing["examples"]["client"]["value"]["requested_delivery"]

    # Held still, a factory midnight cannot fall between two reads; the factory's today is its time zone's, not UTC's.
    held = clock.now()
    monkeypatch.setattr(clock, "now", lambda: held)
    today = timezone.localdate(held)
    first = requested_delivery()
    monkeypatch.setattr(clock, "now", lambda: held + timedelta(days=400))

    assert first > today.isoformat()
    assert requested_delivery() == (today + timedelta(days=400 + 60)).isoformat()


# --- Sent to the server, with real objects behind the ids -----------------------------------------------------


@dataclass
class Call:
    """How one example is sent: by whom, which real object stands behind the path's id, which real ids replace
    the example's ids in the body."""

    user: Any
    id: int | None = None
    body: dict = field(default_factory=dict)


def _started_order(people, **overrides):
    """An order in production with its first step finished by hand, so the data workshop has a finished step."""
    order = order_at(OrderStatus.IN_PRODUCTION, staff=people.ops, client=people.org, actor=people.client, **overrides)
    step = OrderStep.objects.filter(stage__order=order, status__in=[StepStatus.READY, StepStatus.RUNNING]).first()
    step_finish(step=step, actor=people.ops)
    return order, step


def _review(people):
    order_at(OrderStatus.AWAITING_REVIEW, staff=people.ops, client=people.org, actor=people.client)
    (review,) = reviews_open_for_waiting_gates()
    return review, OrderStep.objects.filter(stage=review.stage).first()


def _delivered(people, status=OrderStatus.DELIVERED):
    """A dataset (one workshop, so quick to drive to the end) at `status`."""
    return order_at(status, staff=people.ops, client=people.org, actor=people.client, product_type="dataset")


def _ticket(people, *, resolved=False):
    """A high ticket the client opened and staff answered (in progress), or `resolved` since."""
    ticket = open_ticket(order=_delivered(people), actor=people.client, severity="high")
    aftersales_services.ticket_post_message(ticket=ticket, actor=people.ops, body="We are on it.")
    if resolved:
        aftersales_services.ticket_change_status(ticket=ticket, actor=people.ops, status="resolved", note="Fixed.")
    return ticket


def _job(people):
    compute_pool()
    _started_order(people)
    dispatch_services.dispatch_tick(now=clock.now())
    return Job.objects.first()


def _submitted(people):
    return place_order(client=people.org, actor=people.client)


def _orders(p):
    _started_order(p, sector="healthcare")
    return Call(p.ops)


def _requirement_change(p):
    order, finished = _started_order(p)
    return Call(p.ops, order.pk, body={"rework_steps": [finished.pk]})


def _pools(p):
    compute_pool()
    return Call(p.ops)


def _utilization(p):
    pool = compute_pool()
    dispatch_services.dispatch_tick(now=clock.now())
    return Call(p.ops, pool.pk)


def _jobs(p):
    _job(p)
    return Call(p.ops)


def _reviews(p):
    _review(p)
    return Call(p.ops)


def _send_back(p):
    review, finished = _review(p)
    return Call(p.reviewer, review.pk, body={"rework_steps": [finished.pk]})


def _tickets(p):
    _ticket(p)
    return Call(p.ops)


def _write(p):
    ticket = _ticket(p)
    return {"reply": Call(p.client, ticket.pk), "internal_note": Call(p.ops, ticket.pk)}


def _offline_on(pool) -> dict:
    """The examples' change (a pool offline next week) on a real pool, as the API gives it."""
    return {**api_examples._resolved(api_examples_of_dispatch.OFFLINE), "pool": pool.pk}


def _scenario(p):
    pool = compute_pool(kind="training")
    window = _offline_on(pool)
    changes = [{"kind": "pool_offline", "pool": pool.pk, "start": window["start"], "end": window["end"]}]
    return dispatch_services.scenario_create(actor=p.dispatcher, name="Cooling", horizon_days=30, changes=changes), pool


def _ran(p):
    """A scenario with a run done, by the engine itself."""
    scenario, _pool = _scenario(p)
    run = dispatch_services.scenario_run_start(scenario=scenario, actor=p.dispatcher)
    return scenario, dispatch_services.scenario_run_execute(run_id=run.pk)


def _scenario_with_two_changes(p):
    scenario, _run = _ran(p)
    bigger = {"kind": "pool_capacity", "pool": scenario.changes[0]["pool"], "capacity": 620}
    dispatch_services.scenario_add_change(scenario=scenario, actor=p.dispatcher, change=bigger)
    return Call(p.dispatcher, scenario.pk)


def _scenarios(p):
    _ran(p)
    return Call(p.dispatcher)


def _add_change(p):
    scenario, _run = _ran(p)
    return Call(p.dispatcher, scenario.pk, body={"pool": scenario.changes[0]["pool"]})


def _new_scenario(p):
    return Call(p.dispatcher, body={"changes": [_offline_on(compute_pool(kind="training"))]})


def _in_flight(p):
    return order_at(OrderStatus.IN_PRODUCTION, staff=p.ops, client=p.org, actor=p.client)


def _booked(p):
    """A reservation of a training pool for an order in production, and a maintenance window on another."""
    moment = api_examples._resolved
    holding, closing = moment(api_examples_of_dispatch.HOLDING), moment(api_examples_of_dispatch.CLOSING)
    reservation = dispatch_services.reservation_create(
        actor=p.dispatcher,
        kind="reservation",
        pool=compute_pool(kind="training", capacity=400),
        start=datetime.fromisoformat(holding["start"]),
        end=datetime.fromisoformat(holding["end"]),
        pflops=64,
        order=_in_flight(p),
        reason="Room for the fine-tuning run.",
    )
    window = dispatch_services.reservation_create(
        actor=p.dispatcher,
        kind="maintenance",
        pool=compute_pool(kind="training"),
        start=datetime.fromisoformat(closing["start"]),
        end=datetime.fromisoformat(closing["end"]),
        reason="Cooling upgrade.",
    )
    return reservation, window


def _reservations(p):
    _booked(p)
    return Call(p.ops)


def _book(p):
    return {
        "reservation": Call(p.dispatcher, body={"pool": compute_pool(kind="training").pk, "order": _in_flight(p).pk}),
        "maintenance": Call(p.dispatcher, body={"pool": compute_pool(kind="training").pk}),
    }


def _pool_change(p):
    """A scheduled pool change: more capacity on a training pool from the example's time."""
    growing = api_examples._resolved(api_examples_of_dispatch.GROWING)
    return dispatch_services.pool_change_schedule(
        actor=p.dispatcher,
        pool=compute_pool(kind="training", capacity=400),
        at=datetime.fromisoformat(growing["at"]),
        capacity_pflops=620,
        reason="New racks.",
    )


def _pool_changes(p):
    _pool_change(p)
    return Call(p.ops)


def _webhook(p):
    """The client's endpoint, on a port of loopback where nothing listens: every attempt fails at once."""
    return webhook_services.endpoint_register(
        client=p.org, actor=p.client, url="http://127.0.0.1:9/hooks", kinds=["order_accepted"], secret=WEBHOOK_SECRET
    )


def _webhooks(p):
    _webhook(p)
    return Call(p.client)


def _webhook_delivery(p):
    """A delivery to the client's endpoint, as the organization channel queues it when an order's acceptance commits."""
    endpoint = _webhook(p)
    order = order_at(OrderStatus.ACCEPTED, staff=p.ops, client=p.org, actor=p.client)
    webhook_services.deliveries_queue(
        kind="order_accepted",
        event=f"order-accepted:{order.pk}",
        organization_id=p.org.pk,
        params={"reference": order.reference, "title": order.title},
        url=f"/portal/orders/{order.pk}/",
        at=clock.now(),
    )
    return endpoint, endpoint.deliveries.get()


def _failed_webhook_delivery(p):
    """A delivery its endpoint refused until the retry window closed: attempted now, and once more a day later."""
    _endpoint, delivery = _webhook_delivery(p)
    now = clock.now()
    webhook_services.delivery_send(delivery_id=delivery.pk, now=now)
    webhook_services.delivery_send(delivery_id=delivery.pk, now=now + timedelta(hours=25))
    return delivery


def _notices(p):
    """The client's notices of an order in production (its acceptance among them), unread."""
    _started_order(p)
    notices = Notice.objects.filter(recipient=p.client, read_at__isnull=True)
    assert notices.exists()
    return notices


def _inbox(p):
    _notices(p)
    return Call(p.client)


# How each operation's examples are sent (operationId -> a function of the People that makes the objects and
# answers a Call, or {example name: Call}): as a user of the operations role wherever the operation allows one.
SCENES = {
    "auth_token_create": lambda p: Call(None, body={"username": p.client.username, "password": PASSWORD}),
    "me_retrieve": lambda p: {"client": Call(p.client), "staff": Call(p.ops)},
    "orders_list": _orders,
    "orders_create": lambda p: {"client": Call(p.client), "staff": Call(p.ops, body={"client": p.org.pk})},
    "orders_quote_retrieve": lambda p: Call(p.client),
    "orders_retrieve": lambda p: Call(p.ops, _started_order(p)[0].pk),
    "orders_events_list": lambda p: Call(p.ops, _started_order(p)[0].pk),
    "orders_accept_create": lambda p: Call(p.ops, _submitted(p).pk),
    "orders_reject_create": lambda p: Call(p.ops, _submitted(p).pk),
    "orders_cancel_create": lambda p: Call(p.client, _submitted(p).pk),
    "orders_start_production_create": lambda p: Call(
        p.ops, order_at(OrderStatus.ACCEPTED, staff=p.ops, client=p.org, actor=p.client).pk
    ),
    "orders_deliver_create": lambda p: Call(p.ops, _delivered(p, OrderStatus.READY).pk),
    "orders_confirm_create": lambda p: Call(p.client, _delivered(p).pk),
    "orders_rate_create": lambda p: Call(p.client, _delivered(p).pk),
    "orders_requirement_changes_create": _requirement_change,
    "orders_priority_create": lambda p: Call(p.ops, _started_order(p)[0].pk),
    "pools_list": _pools,
    "pools_retrieve": lambda p: Call(p.ops, compute_pool().pk),
    "pools_utilization_list": _utilization,
    "pools_drain_create": lambda p: Call(p.dispatcher, compute_pool().pk),
    "pools_offline_create": lambda p: Call(p.dispatcher, compute_pool().pk),
    "pools_activate_create": lambda p: Call(p.dispatcher, compute_pool(state="draining").pk),
    "jobs_list": _jobs,
    "jobs_retrieve": lambda p: Call(p.ops, _job(p).pk),
    "reviews_list": _reviews,
    "reviews_retrieve": lambda p: Call(p.ops, _review(p)[0].pk),
    "reviews_approve_create": lambda p: Call(p.reviewer, _review(p)[0].pk),
    "reviews_reject_create": _send_back,
    "tickets_list": _tickets,
    "scenarios_list": _scenarios,
    "scenarios_create": _new_scenario,
    "scenarios_retrieve": lambda p: Call(p.dispatcher, _ran(p)[0].pk),
    "scenarios_changes_create": _add_change,
    "scenarios_remove_change_create": _scenario_with_two_changes,
    "scenarios_archive_create": lambda p: Call(p.dispatcher, _ran(p)[0].pk),
    "scenarios_run_create": lambda p: Call(p.dispatcher, _scenario(p)[0].pk),
    "scenario_runs_retrieve": lambda p: Call(p.dispatcher, _ran(p)[1].pk),
    "scenario_runs_promote_create": lambda p: Call(p.dispatcher, _ran(p)[1].pk),
    "reservations_list": _reservations,
    "reservations_retrieve": lambda p: Call(p.ops, _booked(p)[1].pk),
    "reservations_create": _book,
    "reservations_cancel_create": lambda p: Call(p.dispatcher, _booked(p)[0].pk),
    "pool_changes_list": _pool_changes,
    "pool_changes_retrieve": lambda p: Call(p.ops, _pool_change(p).pk),
    "pool_changes_create": lambda p: Call(p.dispatcher, body={"pool": compute_pool(kind="training").pk}),
    "pool_changes_cancel_create": lambda p: Call(p.dispatcher, _pool_change(p).pk),
    "tickets_create": lambda p: Call(p.client, body={"order": _delivered(p).pk}),
    "tickets_retrieve": lambda p: Call(p.ops, _ticket(p).pk),
    "tickets_messages_create": _write,
    "tickets_status_create": lambda p: Call(p.ops, _ticket(p).pk),
    "tickets_severity_create": lambda p: Call(p.ops, _ticket(p).pk),
    "tickets_rate_create": lambda p: Call(p.client, _ticket(p, resolved=True).pk),
    "tickets_follow_up_order_create": lambda p: Call(p.ops, _ticket(p).pk),
    "webhooks_list": _webhooks,
    "webhooks_create": lambda p: Call(p.client),
    "webhooks_retrieve": lambda p: Call(p.client, _webhook(p).pk),
    "webhooks_disable_create": lambda p: Call(p.client, _webhook(p).pk),
    "webhooks_deliveries_list": lambda p: Call(p.client, _webhook_delivery(p)[0].pk),
    "webhook_deliveries_resend_create": lambda p: Call(p.client, _failed_webhook_delivery(p).pk),
    "notifications_list": _inbox,
    "notifications_read_create": lambda p: Call(p.client, _notices(p).first().pk),
    "notifications_read_all_create": _inbox,
}


@dataclass
class People:
    ops: Any
    dispatcher: Any
    reviewer: Any
    org: Any
    client: Any


@pytest.fixture
def people(ops_user, dispatcher, reviewer, org_a, client_a):
    return People(ops_user, dispatcher, reviewer, org_a, client_a)


def _send(schema, operation_id: str, name: str, call: Call):
    method, path, operation = _operations(schema)[operation_id]
    query = {p["name"]: p["example"] for p in operation.get("parameters", []) if p["in"] == "query" and "example" in p}
    url = path.replace("{id}", str(call.id))
    api = APIClient()
    if call.user is not None:
        api.force_authenticate(call.user)
    if method == "get":
        return api.get(url, query)
    body = _json(operation.get("requestBody", {})).get("examples", {}).get(name, {}).get("value")
    if body is not None:
        body = {**body, **call.body}
    return api.post(f"{url}?{urlencode(query)}" if query else url, body, format="json")


def _same_fields(example, answer, where="") -> list[str]:
    """Where the example and a real answer name different fields, down every object and the first of each list."""
    if isinstance(example, dict) and isinstance(answer, dict):
        if set(example) != set(answer):
            return [f"{where or '/'}: {sorted(set(example) ^ set(answer))}"]
        return [found for key in example for found in _same_fields(example[key], answer[key], f"{where}/{key}")]
    if isinstance(example, list) and isinstance(answer, list) and example and answer:
        return _same_fields(example[0], answer[0], f"{where}/0")
    kinds = [next((kind for kind in (dict, list) if isinstance(value, kind)), None) for value in (example, answer)]
    if kinds[0] != kinds[1]:
        return [f"{where or '/'}: {type(example).__name__} in the example, {type(answer).__name__} in the answer"]
    return []


def test_every_operation_has_a_scene_that_sends_its_examples(schema):
    assert set(SCENES) == set(_operations(schema))


@pytest.mark.parametrize("operation_id", sorted(SCENES))
def test_each_request_example_is_accepted_and_answered_as_its_example_shows(schema, people, operation_id):
    _method, _path, operation = _operations(schema)[operation_id]
    success = _success(operation)
    examples = _json(operation["responses"][success])["examples"]
    calls = SCENES[operation_id](people)
    calls = calls if isinstance(calls, dict) else dict.fromkeys(examples, calls)
    assert set(calls) == set(examples)

    for name, call in calls.items():
        response = _send(schema, operation_id, name, call)

        assert str(response.status_code) == success, (name, response.content[:500])
        assert _same_fields(examples[name]["value"], response.json()) == [], name

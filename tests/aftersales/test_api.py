"""The after-sales API (API.md "After-sales"), /api/v1/tickets/, called as clients, staff and outsiders call it."""

from datetime import timedelta

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from aftersales import services
from aftersales.models import Ticket, TicketStatus
from factory import clock
from orders.models import Order, OrderStatus
from tests.factories import open_ticket, order_at, ticket_fields

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/tickets/"
CONTRACT_FIELDS = {
    "id",
    "order",
    "category",
    "severity",
    "status",
    "subject",
    "first_response_due",
    "resolution_due",
    "breached",
    "messages",
}
MESSAGE_FIELDS = {"id", "at", "author", "from_staff", "internal", "body"}
INTERNAL_NOTE = "The RAG index was built from the 2019 corpus; rebuild it."


def api_as(user=None) -> APIClient:
    """An API client sending `user`'s token (a fresh user object per request, as in production)."""
    api = APIClient()
    if user is not None:
        token, _created = Token.objects.get_or_create(user=user)
        api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api


def detail(ticket) -> str:
    return f"{TICKETS}{ticket.pk}/"


def act(ticket, name) -> str:
    return f"{TICKETS}{ticket.pk}/{name}/"


def new_ticket(order, **overrides) -> dict:
    """The JSON body of a valid new ticket on `order`."""
    return {"order": order.pk, **ticket_fields(**overrides)}


@pytest.fixture
def ticket_a(delivered_a, client_a):
    return open_ticket(order=delivered_a, actor=client_a, severity="high")


@pytest.fixture
def discussed_a(ticket_a, aftersales_user):
    """A ticket with a staff reply and an internal note after the client's first message."""
    services.ticket_post_message(ticket=ticket_a, actor=aftersales_user, body="We are looking into it.")
    services.ticket_post_message(ticket=ticket_a, actor=aftersales_user, body=INTERNAL_NOTE, internal=True)
    return ticket_a


def resolved(ticket, staff):
    services.ticket_change_status(ticket=ticket, actor=staff, status="resolved", note="The index is rebuilt.")
    return ticket


# --- Reading ----------------------------------------------------------------------------------------


def test_a_ticket_is_listed_with_the_fields_of_the_contract(discussed_a, delivered_a, aftersales_user):
    body = api_as(aftersales_user).get(TICKETS).json()

    assert body["count"] == 1
    assert {"next", "previous", "results"} <= body.keys()
    row = body["results"][0]
    assert row.keys() >= CONTRACT_FIELDS
    assert row["id"] == discussed_a.pk
    assert row["reference"] == discussed_a.reference
    assert row["order"] == delivered_a.pk
    assert row["order_reference"] == delivered_a.reference
    assert (row["category"], row["severity"], row["status"]) == ("defect", "high", "in_progress")
    assert row["subject"] == ticket_fields()["subject"]
    for moment in ("opened_at", "first_response_due", "first_responded_at", "resolution_due"):
        assert row[moment], moment
    assert (row["breached"], row["at_risk"]) == (False, False)
    assert (row["follow_up_order"], row["rating"], row["resolved_at"]) == (None, None, None)
    assert all(set(message) == MESSAGE_FIELDS for message in row["messages"])


def test_staff_read_the_whole_thread_with_usernames(discussed_a, ops_user):
    messages = api_as(ops_user).get(detail(discussed_a)).json()["messages"]

    assert [(m["author"], m["from_staff"], m["internal"]) for m in messages] == [
        ("client-a-user", False, False),
        ("aftersales-user", True, False),
        ("aftersales-user", True, True),
    ]
    assert messages[2]["body"] == INTERNAL_NOTE


@pytest.mark.parametrize("path", ["list", "detail"])
def test_clients_never_get_internal_notes_or_staff_names(discussed_a, client_a, path):
    answer = api_as(client_a).get(TICKETS if path == "list" else detail(discussed_a))
    ticket = answer.json()["results"][0] if path == "list" else answer.json()

    assert [(m["author"], m["from_staff"]) for m in ticket["messages"]] == [
        ("client-a-user", False),
        ("Factory support", True),
    ]
    assert not any(m["internal"] for m in ticket["messages"])
    assert INTERNAL_NOTE not in answer.content.decode()
    assert "aftersales-user" not in answer.content.decode()


def test_a_client_lists_only_their_organizations_tickets(ticket_a, delivered_b, client_a, client_b, aftersales_user):
    ticket_b = open_ticket(order=delivered_b, actor=client_b)

    def listed(user):
        return [row["id"] for row in api_as(user).get(TICKETS).json()["results"]]

    assert listed(client_a) == [ticket_a.pk]
    assert listed(client_b) == [ticket_b.pk]
    assert sorted(listed(aftersales_user)) == sorted([ticket_a.pk, ticket_b.pk])


def test_another_organizations_ticket_is_not_found_and_cannot_be_acted_on(ticket_a, aftersales_user, client_b):
    resolved(ticket_a, aftersales_user)
    api = api_as(client_b)
    messages_before = ticket_a.messages.count()

    assert api.get(detail(ticket_a)).status_code == 404
    assert api.post(act(ticket_a, "messages"), {"body": "Hello?"}, format="json").status_code == 404
    assert api.post(act(ticket_a, "status"), {"status": "closed"}, format="json").status_code == 404
    assert api.post(act(ticket_a, "rate"), {"score": 1}, format="json").status_code == 404
    ticket_a.refresh_from_db()
    assert (ticket_a.status, ticket_a.rating) == (TicketStatus.RESOLVED, None)
    assert ticket_a.messages.count() == messages_before


def test_an_unknown_ticket_is_not_found(aftersales_user):
    assert api_as(aftersales_user).get(f"{TICKETS}999999/").status_code == 404
    assert api_as(aftersales_user).get(f"{TICKETS}abc/").status_code == 404


@pytest.mark.parametrize("persona", ["dispatcher", "reviewer"])
def test_other_staff_roles_are_refused(request, persona, ticket_a, delivered_a):
    api = api_as(request.getfixturevalue(persona))

    assert api.get(TICKETS).status_code == 403
    assert api.get(detail(ticket_a)).status_code == 403
    assert api.post(TICKETS, new_ticket(delivered_a), format="json").status_code == 403
    assert api.post(act(ticket_a, "messages"), {"body": "Hello"}, format="json").status_code == 403
    assert Ticket.objects.count() == 1
    assert ticket_a.messages.count() == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", ""),
        ("post", ""),
        ("get", "{pk}/"),
        ("post", "{pk}/messages/"),
        ("post", "{pk}/status/"),
        ("post", "{pk}/severity/"),
        ("post", "{pk}/rate/"),
        ("post", "{pk}/follow-up-order/"),
    ],
)
def test_anonymous_caller_is_answered_401_and_nothing_changes(ticket_a, method, path):
    answer = getattr(api_as(), method)(TICKETS + path.format(pk=ticket_a.pk), {"body": "x"}, format="json")

    assert answer.status_code == 401
    assert Ticket.objects.count() == 1
    assert ticket_a.messages.count() == 1


def test_tickets_are_never_edited_or_deleted_directly(ticket_a, aftersales_user, client_a):
    for user in (aftersales_user, client_a):
        api = api_as(user)
        assert api.patch(detail(ticket_a), {"severity": "critical"}, format="json").status_code == 405
        assert api.put(detail(ticket_a), new_ticket(ticket_a.order), format="json").status_code == 405
        assert api.delete(detail(ticket_a)).status_code == 405
    ticket_a.refresh_from_db()
    assert ticket_a.severity == "high"


def test_tickets_are_filtered_and_sorted(delivered_a, client_a, aftersales_user):
    low = open_ticket(order=delivered_a, actor=client_a, severity="low", subject="Slow answers")
    critical = open_ticket(order=delivered_a, actor=client_a, severity="critical", subject="Agent is down")
    done = resolved(open_ticket(order=delivered_a, actor=client_a, subject="Wrong logo"), aftersales_user)
    api = api_as(aftersales_user)

    def ids(**params):
        return [row["id"] for row in api.get(TICKETS, params).json()["results"]]

    assert ids() == [done.pk, critical.pk, low.pk]  # newest first
    assert ids(sort="urgency") == [critical.pk, low.pk, done.pk]
    assert ids(status="active") == [critical.pk, low.pk]
    assert ids(status="resolved") == [done.pk]
    assert ids(severity="critical") == [critical.pk]
    assert ids(search="logo") == [done.pk]
    assert ids(search=low.reference) == [low.pk]
    assert ids(order=delivered_a.reference) == [done.pk, critical.pk, low.pk]
    assert ids(breached="true") == []
    assert api.get(TICKETS, {"severity": "urgent"}).status_code == 400


def _tickets(count, *, order, client, staff):
    for number in range(count):
        ticket = open_ticket(order=order, actor=client, severity=["low", "high", "critical"][number % 3])
        services.ticket_post_message(ticket=ticket, actor=staff, body="On it.")
        services.ticket_post_message(ticket=ticket, actor=staff, body=INTERNAL_NOTE, internal=True)


@pytest.mark.parametrize("rows", [3, 6])
def test_ticket_list_for_staff_takes_a_fixed_number_of_queries(
    django_assert_num_queries, delivered_a, client_a, aftersales_user, rows
):
    _tickets(rows, order=delivered_a, client=client_a, staff=aftersales_user)
    api = api_as(aftersales_user)

    # 1 token, user and roles, 2 count, 3 page of tickets with their orders, 4 their messages and authors.
    with django_assert_num_queries(4):
        answer = api.get(TICKETS)

    assert answer.json()["count"] == rows
    assert all(len(row["messages"]) == 3 for row in answer.json()["results"])


@pytest.mark.parametrize("rows", [3, 6])
def test_ticket_list_for_a_client_takes_a_fixed_number_of_queries(
    django_assert_num_queries, delivered_a, client_a, aftersales_user, rows
):
    _tickets(rows, order=delivered_a, client=client_a, staff=aftersales_user)
    api = api_as(client_a)

    # 1 token, user and roles (none), 2 client membership, 3 organization, 4 count, 5 page of tickets,
    # 6 their messages without internal notes.
    with django_assert_num_queries(6):
        answer = api.get(TICKETS, {"status": "active"})

    assert answer.json()["count"] == rows
    assert all(len(row["messages"]) == 2 for row in answer.json()["results"])


# --- Opening ----------------------------------------------------------------------------------------


def test_a_client_opens_a_ticket_on_their_delivered_order(delivered_a, client_a):
    answer = api_as(client_a).post(TICKETS, new_ticket(delivered_a, severity="critical"), format="json")

    assert answer.status_code == 201
    body = answer.json()
    ticket = Ticket.objects.get()
    assert body["id"] == ticket.pk
    assert body["reference"] == ticket.reference
    assert (body["order"], body["status"], body["severity"]) == (delivered_a.pk, "open", "critical")
    assert ticket.first_response_due - ticket.opened_at == timedelta(hours=1)
    assert [(m["author"], m["body"]) for m in body["messages"]] == [("client-a-user", ticket_fields()["body"])]
    assert answer["Location"] == f"http://testserver{TICKETS}{ticket.pk}/"
    assert api_as(client_a).get(answer["Location"]).json() == body


def test_staff_open_a_ticket_for_the_client(delivered_b, aftersales_user):
    answer = api_as(aftersales_user).post(TICKETS, new_ticket(delivered_b), format="json")

    assert answer.status_code == 201
    assert Ticket.objects.get().order == delivered_b
    assert answer.json()["messages"][0]["from_staff"] is True


def test_a_client_cannot_open_a_ticket_on_another_organizations_order(delivered_b, client_a):
    api = api_as(client_a)

    foreign = api.post(TICKETS, new_ticket(delivered_b), format="json")
    unknown = api.post(TICKETS, {**new_ticket(delivered_b), "order": 999999}, format="json")

    assert foreign.status_code == 400
    # The same answer as for an id that does not exist: the other organization's order is not revealed.
    assert foreign.json() == unknown.json() == {"order": ["No such order."]}
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("status", [OrderStatus.SUBMITTED, OrderStatus.IN_PRODUCTION])
def test_a_client_cannot_open_a_ticket_on_an_undelivered_order(status, org_a, client_a, ops_user):
    order = order_at(status, staff=ops_user, client=org_a, actor=client_a)

    answer = api_as(client_a).post(TICKETS, new_ticket(order), format="json")

    assert answer.status_code == 400
    assert "delivered orders only" in answer.json()["order"][0]
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("body", ""), ("body", "   "), ("subject", ""), ("severity", "urgent"), ("category", "praise"), ("order", "")],
)
def test_bad_input_opens_nothing(field, value, delivered_a, client_a):
    answer = api_as(client_a).post(TICKETS, {**new_ticket(delivered_a), field: value}, format="json")

    assert answer.status_code == 400
    assert list(answer.json()) == [field]
    assert not Ticket.objects.exists()


# --- The thread ---------------------------------------------------------------------------------------


def test_a_staff_reply_is_the_first_response(ticket_a, aftersales_user):
    answer = api_as(aftersales_user).post(act(ticket_a, "messages"), {"body": "We are on it."}, format="json")

    assert answer.status_code == 201
    body = answer.json()
    assert body["status"] == "in_progress"
    assert body["first_responded_at"]
    assert body["messages"][-1]["body"] == "We are on it."
    assert answer["Location"] == f"http://testserver{detail(ticket_a)}"  # the thread the message joined


def test_a_staff_internal_note_stays_with_staff(ticket_a, aftersales_user, client_a):
    answer = api_as(aftersales_user).post(
        act(ticket_a, "messages"), {"body": INTERNAL_NOTE, "internal": True}, format="json"
    )

    assert answer.status_code == 201
    assert answer.json()["messages"][-1]["internal"] is True
    assert answer.json()["status"] == "open"
    assert INTERNAL_NOTE not in api_as(client_a).get(detail(ticket_a)).content.decode()


def test_a_client_replies_but_cannot_write_internal_notes(ticket_a, client_a):
    api = api_as(client_a)

    reply = api.post(act(ticket_a, "messages"), {"body": "It happened again."}, format="json")
    note = api.post(act(ticket_a, "messages"), {"body": "psst", "internal": True}, format="json")

    assert reply.status_code == 201
    assert note.status_code == 403
    assert list(ticket_a.messages.values_list("body", flat=True)) == [ticket_fields()["body"], "It happened again."]


@pytest.mark.parametrize("body", ["", "   "])
def test_an_empty_message_is_refused(ticket_a, client_a, body):
    answer = api_as(client_a).post(act(ticket_a, "messages"), {"body": body}, format="json")

    assert answer.status_code == 400
    assert list(answer.json()) == ["body"]
    assert ticket_a.messages.count() == 1


# --- Status, severity ---------------------------------------------------------------------------------


def test_staff_resolve_a_ticket_with_a_note_to_the_client(ticket_a, aftersales_user):
    answer = api_as(aftersales_user).post(
        act(ticket_a, "status"), {"status": "resolved", "note": "The index is rebuilt."}, format="json"
    )

    assert answer.status_code == 200
    assert answer.json()["status"] == "resolved"
    assert answer.json()["resolved_at"]
    assert answer.json()["messages"][-1]["body"] == "The index is rebuilt."


def test_an_illegal_move_is_409_and_changes_nothing(ticket_a, aftersales_user):
    api = api_as(aftersales_user)

    closed = api.post(act(ticket_a, "status"), {"status": "closed"}, format="json")
    back_to_open = api.post(act(ticket_a, "status"), {"status": "open"}, format="json")
    no_note = api.post(act(ticket_a, "status"), {"status": "resolved"}, format="json")

    assert closed.status_code == 409
    assert "cannot become closed" in closed.json()["detail"]
    assert back_to_open.status_code == 400
    assert no_note.status_code == 400
    assert list(no_note.json()) == ["note"]
    ticket_a.refresh_from_db()
    assert ticket_a.status == TicketStatus.OPEN


def test_a_client_may_close_a_resolved_ticket_but_not_resolve_one(ticket_a, client_a, aftersales_user):
    api = api_as(client_a)

    refused = api.post(act(ticket_a, "status"), {"status": "resolved", "note": "Fixed it myself."}, format="json")
    resolved(ticket_a, aftersales_user)
    closed = api.post(act(ticket_a, "status"), {"status": "closed"}, format="json")

    assert refused.status_code == 403
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"


def test_staff_change_the_severity_and_the_due_times_follow(ticket_a, aftersales_user):
    answer = api_as(aftersales_user).post(
        act(ticket_a, "severity"), {"severity": "critical", "reason": "The whole ward is affected."}, format="json"
    )

    assert answer.status_code == 200
    ticket_a.refresh_from_db()
    assert answer.json()["severity"] == ticket_a.severity == "critical"
    assert ticket_a.resolution_due - ticket_a.opened_at == timedelta(hours=24)


def test_a_client_cannot_change_the_severity(ticket_a, client_a):
    for body in ({"severity": "critical", "reason": "Please hurry."}, {"severity": "nonsense"}):
        answer = api_as(client_a).post(act(ticket_a, "severity"), body, format="json")
        assert answer.status_code == 403
    ticket_a.refresh_from_db()
    assert ticket_a.severity == "high"


def test_a_severity_change_needs_a_reason(ticket_a, aftersales_user):
    answer = api_as(aftersales_user).post(act(ticket_a, "severity"), {"severity": "low", "reason": ""}, format="json")

    assert answer.status_code == 400
    assert list(answer.json()) == ["reason"]


def test_setting_the_severity_a_ticket_already_has_is_a_conflict_that_changes_nothing(ticket_a, aftersales_user):
    before = ticket_a.resolution_due
    answer = api_as(aftersales_user).post(
        act(ticket_a, "severity"), {"severity": ticket_a.severity, "reason": "Checking again."}, format="json"
    )

    assert answer.status_code == 409
    assert answer.json() == {"detail": "The ticket already has this severity."}
    ticket_a.refresh_from_db()
    assert ticket_a.resolution_due == before


# --- Rating and follow-up orders ----------------------------------------------------------------------


def test_a_client_rates_a_resolved_ticket_once(ticket_a, client_a, aftersales_user):
    resolved(ticket_a, aftersales_user)
    api = api_as(client_a)

    first = api.post(act(ticket_a, "rate"), {"score": 4, "comment": "Quick fix."}, format="json")
    second = api.post(act(ticket_a, "rate"), {"score": 1}, format="json")

    assert first.status_code == 200
    assert (first.json()["rating"], first.json()["rating_comment"], first.json()["status"]) == (
        4,
        "Quick fix.",
        "closed",
    )
    assert second.status_code == 409
    ticket_a.refresh_from_db()
    assert ticket_a.rating == 4


def test_rating_refusals(ticket_a, client_a, aftersales_user):
    open_yet = api_as(client_a).post(act(ticket_a, "rate"), {"score": 5}, format="json")
    resolved(ticket_a, aftersales_user)
    out_of_range = api_as(client_a).post(act(ticket_a, "rate"), {"score": 6}, format="json")
    by_staff = api_as(aftersales_user).post(act(ticket_a, "rate"), {"score": 5}, format="json")

    assert open_yet.status_code == 409
    assert out_of_range.status_code == 400
    assert list(out_of_range.json()) == ["score"]
    assert by_staff.status_code == 403
    ticket_a.refresh_from_db()
    assert ticket_a.rating is None


def test_staff_place_a_follow_up_order_once(ticket_a, delivered_a, org_a, aftersales_user):
    api = api_as(aftersales_user)
    body = {
        "title": "Retrain on the 2024 rules",
        "requirements": "Replace the 2019 corpus.",
        "requested_delivery": (clock.now().date() + timedelta(days=45)).isoformat(),
        "size": "medium",
    }

    first = api.post(act(ticket_a, "follow-up-order"), body, format="json")
    second = api.post(act(ticket_a, "follow-up-order"), body, format="json")

    assert first.status_code == 201
    order = Order.objects.get(pk=first.json()["id"])
    assert first.json()["reference"] == order.reference
    assert first["Location"] == f"http://testserver/api/v1/orders/{order.pk}/"
    assert (first.json()["parent_order"], first.json()["client"], first.json()["status"]) == (
        delivered_a.pk,
        org_a.pk,
        "submitted",
    )
    assert (order.size, order.product_type, order.sector) == ("medium", delivered_a.product_type, delivered_a.sector)
    assert api.get(detail(ticket_a)).json()["follow_up_order"] == order.pk
    assert second.status_code == 409
    assert Order.objects.filter(parent_order=delivered_a).count() == 1


def test_follow_up_order_refusals(ticket_a, delivered_a, client_a, aftersales_user):
    body = {"title": "Retrain", "requested_delivery": (clock.now().date() + timedelta(days=45)).isoformat()}

    by_client = api_as(client_a).post(act(ticket_a, "follow-up-order"), body, format="json")
    past = api_as(aftersales_user).post(
        act(ticket_a, "follow-up-order"), {**body, "requested_delivery": "2020-01-01"}, format="json"
    )
    untitled = api_as(aftersales_user).post(act(ticket_a, "follow-up-order"), {**body, "title": " "}, format="json")

    assert by_client.status_code == 403
    assert past.status_code == 400
    assert list(past.json()) == ["requested_delivery"]
    assert untitled.status_code == 400
    assert list(untitled.json()) == ["title"]
    assert not Order.objects.filter(parent_order=delivered_a).exists()
    ticket_a.refresh_from_db()
    assert ticket_a.follow_up_order is None


# --- The contract -------------------------------------------------------------------------------------


def test_the_schema_documents_the_ticket_endpoints(aftersales_user):
    schema = api_as(aftersales_user).get("/api/schema/", {"format": "json"}).json()

    for path in ("messages", "status", "severity", "rate", "follow-up-order"):
        operation = schema["paths"][f"/api/v1/tickets/{{id}}/{path}/"]["post"]
        assert {"400", "403", "404"} <= operation["responses"].keys()
    assert "409" in schema["paths"]["/api/v1/tickets/{id}/status/"]["post"]["responses"]
    assert "patch" not in schema["paths"]["/api/v1/tickets/{id}/"]
    parameters = {parameter["name"] for parameter in schema["paths"]["/api/v1/tickets/"]["get"]["parameters"]}
    assert {"status", "severity", "category", "breached", "order", "search", "sort", "page"} <= parameters


def test_a_client_cannot_probe_other_organizations_through_the_client_filter(client, client_a, org_a, org_b):
    client.force_login(client_a)

    own = client.get(f"/api/v1/tickets/?client={org_a.pk}")
    other = client.get(f"/api/v1/tickets/?client={org_b.pk}")
    unknown = client.get("/api/v1/tickets/?client=999999")

    assert own.status_code == 200
    # Another organization's id answers exactly as an id that does not exist: nothing, revealing nothing.
    assert other.status_code == unknown.status_code == 200
    assert other.json() == unknown.json()
    assert other.json()["count"] == 0

"""Every list of the API pages and sorts one way (factory.api.Pagination, factory.api.Sort): `page`, `page_size`
and one documented `sort` whose unknown keys answer 400. The lists are read from /api/schema/, so a new list
that does not page or sort, or a sort key no one checked, fails here."""

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from aftersales.models import ACTIVE_STATUSES
from dispatch import services as dispatch_services
from factory import clock
from orders import services as order_services
from orders.models import OrderStatus
from security import services as security_services
from tests.factories import compute_pool, open_ticket, order_at, place_order
from webhooks import services as webhook_services

pytestmark = pytest.mark.django_db

# A time series that its `hours` bounds (at most 720 hours), answered as one array: API.md fixes its shape.
BARE_ARRAYS = {"/api/v1/pools/{id}/utilization/"}
# Lists of a client organization's own webhooks, which staff may not read (webhooks.api): a client user reads them.
WEBHOOKS = "/api/v1/webhooks/"
# The caller's own notices: the client user's, who hears of each of its orders' acceptance and gates.
NOTICES = "/api/v1/notifications/"
PAGE = {"count", "next", "previous", "results"}


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        return Client().get("/api/schema/", {"format": "json"}).json()


def _answer_schema(operation) -> dict:
    return operation["responses"]["200"]["content"]["application/json"]["schema"]


def _lists(schema) -> dict:
    """{path: its GET operation} of every operation that answers rows: an array, or a page of them."""
    found = {}
    for path, methods in schema["paths"].items():
        if "get" not in methods:
            continue
        answer = _answer_schema(methods["get"])
        if answer.get("type") == "array" or answer.get("$ref", "").rsplit("/", 1)[-1].startswith("Paginated"):
            found[path] = methods["get"]
    return found


def _sort_keys(operation) -> list[str]:
    (sort,) = [p for p in operation["parameters"] if p["name"] == "sort"]
    return sort["schema"]["enum"]


def _paged_lists(schema) -> dict:
    return {path: operation for path, operation in _lists(schema).items() if path not in BARE_ARRAYS}


# --- The schema ---------------------------------------------------------------------------------------


def test_every_list_in_the_schema_pages_and_sorts_with_one_documented_parameter(schema):
    lists = _lists(schema)

    assert {path for path, op in lists.items() if _answer_schema(op).get("type") == "array"} == BARE_ARRAYS
    assert set(lists) >= {
        "/api/v1/orders/",
        "/api/v1/orders/{id}/events/",
        "/api/v1/pools/",
        "/api/v1/jobs/",
        "/api/v1/reviews/",
        "/api/v1/tickets/",
    }
    for path, operation in _paged_lists(schema).items():
        query = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
        assert {"page", "page_size", "sort"} <= set(query), path
        assert "ordering" not in query, path  # one sort parameter
        sort = query["sort"]["schema"]
        assert sort["type"] == "string", path
        assert sort["default"] in sort["enum"], path
        assert f"`{sort['default']}` when not given" in query["sort"]["description"], path
        page = schema["components"]["schemas"][_answer_schema(operation)["$ref"].rsplit("/", 1)[1]]
        assert set(page["properties"]) == PAGE, path
        assert "400" in operation["responses"], path  # an unknown sort key


def test_the_utilization_series_says_why_it_is_one_array_and_refuses_hours_out_of_range(schema, dispatcher):
    operation = schema["paths"]["/api/v1/pools/{id}/utilization/"]["get"]
    (hours,) = [p for p in operation["parameters"] if p["name"] == "hours"]
    pool = compute_pool()
    api = _api(dispatcher)

    assert (hours["schema"]["minimum"], hours["schema"]["maximum"]) == (1, 720)
    assert "so one array" in operation["description"]
    for given in (0, 721, "day"):
        assert list(api.get(f"/api/v1/pools/{pool.pk}/utilization/", {"hours": given}).json()) == ["hours"]
    assert api.get(f"/api/v1/pools/{pool.pk}/utilization/", {"hours": 720}).status_code == 200


# --- Rows of every list, that the keys order differently --------------------------------------------


def _api(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


class Floor:
    """Rows in every list, each batch a day after the last, with priorities, due dates, severities and loads that
    disagree with the order they were made in."""

    def __init__(self, *, ops_user, reviewer, dispatcher, org_a, client_a, move_clock):
        self.ops, self.reviewer, self.dispatcher, self.org, self.client, self.move_clock = (
            ops_user,
            reviewer,
            dispatcher,
            org_a,
            client_a,
            move_clock,
        )
        self.delivered = order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a, actor=client_a)
        self.timeline = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, actor=client_a)
        self.endpoint = self._endpoint()
        self.batches = 0

    def _endpoint(self):
        return webhook_services.endpoint_register(
            client=self.org,
            actor=self.client,
            url="https://hooks.example.com/factory",
            kinds=["order_accepted"],
            secret="the-clients-own-secret",
        )

    def path(self, path: str) -> str:
        return path.replace("{id}", str(self.endpoint.pk if path.startswith(WEBHOOKS) else self.timeline.pk))

    def api(self, path: str) -> APIClient:
        """Who reads the list: a client user its own webhooks (staff are refused them) and its own notices,
        operations the rest."""
        return _api(self.client if path.startswith((WEBHOOKS, NOTICES)) else self.ops)

    def grow(self):
        n = self.batches
        self.batches += 1
        self.move_clock(days=1)
        priority = ["low", "urgent", "normal", "high"][n % 4]
        due = {"requested_delivery": clock.now().date() + timedelta(days=90 - 7 * n)}
        # Placed by staff: only they may ask for urgent.
        place_order(client=self.org, actor=self.ops, priority=priority, **due)
        order_at(OrderStatus.IN_PRODUCTION, staff=self.ops, client=self.org, actor=self.client, **due)
        order_at(OrderStatus.AWAITING_REVIEW, staff=self.ops, client=self.org, actor=self.ops, priority=priority)
        order_services.order_record_requirement_change(order=self.timeline, actor=self.ops, text=f"Change {n}")
        pool = compute_pool(name=f"{'zyx'[n % 3]}-pool-{n}", capacity=100 + 50 * n, in_province=n % 2 == 0)
        # Booked later each batch, each for sooner than the one before: booking order and start order disagree.
        start = clock.now() + timedelta(days=20 - 3 * n)
        dispatch_services.reservation_create(
            actor=self.dispatcher,
            kind="reservation",
            pool=pool,
            start=start,
            end=start + timedelta(hours=6 + n),
            pflops=10,
            client=self.org,
            reason=f"Booking {n}",
        )
        dispatch_services.pool_change_schedule(
            actor=self.dispatcher, pool=pool, at=start, capacity_pflops=200 + 50 * n, reason=f"Racks {n}"
        )
        dispatch_services.dispatch_tick(now=clock.now())
        for review in security_services.reviews_open_for_waiting_gates()[: n % 2]:
            answers = {answer.position: {"passed": True, "note": ""} for answer in review.answers.all()}
            security_services.review_approve(review=review, reviewer=self.reviewer, answers=answers)
        open_ticket(order=self.delivered, actor=self.client, severity=["low", "critical", "medium"][n % 3])
        dispatch_services.scenario_create(actor=self.ops, name=f"{'zyx'[n % 3]} scenario {n}", horizon_days=30)
        # Another endpoint, and an event for the first, queued as the organization channel does on commit.
        self._endpoint()
        webhook_services.deliveries_queue(
            kind="order_accepted",
            event=f"order-accepted:batch-{n}",
            organization_id=self.org.pk,
            params={"reference": self.timeline.reference, "title": self.timeline.title},
            url="/portal/",
            at=clock.now(),
        )


@pytest.fixture
def floor(ops_user, reviewer, dispatcher, org_a, client_a, move_clock) -> Floor:
    return Floor(
        ops_user=ops_user,
        reviewer=reviewer,
        dispatcher=dispatcher,
        org_a=org_a,
        client_a=client_a,
        move_clock=move_clock,
    )


# --- Each key orders as it says -----------------------------------------------------------------------


def _moment(value) -> datetime:
    return datetime.fromisoformat(value) if value else datetime.min.replace(tzinfo=UTC)


def _day(value) -> date:
    return date.fromisoformat(value)


def asc(value):
    return (value, False)


def desc(value):
    return (value, True)


def nulls_last(field, *, descending=False):
    """A nullable moment, empty ones after the rest either way (as Postgres sorts them with NULLS LAST)."""
    if descending:
        return desc(lambda row: (row[field] is not None, _moment(row[field])))
    return asc(lambda row: (row[field] is None, _moment(row[field])))


def moment(field):
    return lambda row: _moment(row[field])


def field(name):
    return lambda row: row[name]


ID = asc(field("id"))
RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}


def _job_state(row) -> int:
    return {"running": 0, "queued": 1, "preempted": 1}.get(row["state"], 2)


def _pending_last(row) -> bool:
    return row["status"] != "pending"


def _load(row) -> Decimal:
    return (Decimal(str(row["used_pflops"])) + Decimal(str(row["background_pflops"]))) / Decimal(
        str(row["capacity_pflops"])
    )


def _ticket_urgency(row) -> tuple:
    """The staff queue's order: a running SLA clock first, the soonest due first; then paused (waiting for the
    client), then finished tickets."""
    active, paused = row["status"] in ACTIVE_STATUSES, row["status"] == "waiting_client"
    rank = 0 if active and not paused else 1 if active else 2
    due = None
    if active and row["first_responded_at"] is None:
        due = row["first_response_due"]
    elif active and not paused:
        due = row["resolution_due"]
    return (rank, due is None, _moment(due))


# What each key of each list says it does, in the terms of the rows the API answers.
SPECS = {
    "/api/v1/orders/": {
        "newest": [desc(moment("created_at")), desc(field("id"))],
        "oldest": [asc(moment("created_at")), ID],
        "due": [asc(lambda row: _day(row["requested_delivery"])), desc(moment("created_at")), ID],
        "eta": [nulls_last("eta"), desc(moment("created_at")), ID],
        "priority": [desc(lambda row: RANK[row["priority"]]), desc(moment("created_at")), ID],
        "progress": [desc(field("progress")), desc(moment("created_at")), ID],
        "reference": [asc(field("reference")), ID],
    },
    "/api/v1/orders/{id}/events/": {
        "oldest": [asc(moment("at")), ID],
        "newest": [desc(moment("at")), desc(field("id"))],
    },
    "/api/v1/pools/": {
        "site": [desc(field("in_province")), asc(field("site")), asc(field("kind")), asc(field("name")), ID],
        "name": [asc(field("name")), ID],
        "load": [desc(_load), asc(field("name")), ID],
    },
    "/api/v1/jobs/": {
        "state": [asc(_job_state), desc(lambda row: RANK[row["priority"]]), asc(moment("queued_at")), ID],
        "queued": [asc(moment("queued_at")), ID],
        "priority": [desc(lambda row: RANK[row["priority"]]), asc(moment("queued_at")), ID],
        "deadline": [asc(moment("deadline")), asc(moment("queued_at")), ID],
    },
    "/api/v1/reviews/": {
        "opened": [asc(moment("opened_at")), ID],
        "pending": [asc(_pending_last), asc(moment("opened_at")), ID],
        "decided": [nulls_last("decided_at", descending=True), desc(field("id"))],
    },
    "/api/v1/reservations/": {
        "start": [asc(moment("start")), ID],
        "latest": [desc(moment("start")), desc(field("id"))],
        "newest": [desc(moment("created_at")), desc(field("id"))],
    },
    "/api/v1/pool-changes/": {
        "at": [asc(moment("at")), ID],
        "latest": [desc(moment("at")), desc(field("id"))],
        "newest": [desc(moment("created_at")), desc(field("id"))],
    },
    "/api/v1/scenarios/": {
        "newest": [desc(moment("created_at")), desc(field("id"))],
        "name": [asc(field("name")), ID],
    },
    "/api/v1/tickets/": {
        "newest": [desc(moment("opened_at")), desc(field("id"))],
        "oldest": [asc(moment("opened_at")), ID],
        "urgency": [asc(_ticket_urgency), desc(moment("opened_at")), desc(field("id"))],
    },
    "/api/v1/webhooks/": {
        "newest": [desc(moment("created_at")), desc(field("id"))],
        "oldest": [asc(moment("created_at")), ID],
    },
    "/api/v1/webhooks/{id}/deliveries/": {
        "newest": [desc(moment("at")), desc(field("id"))],
        "oldest": [asc(moment("at")), ID],
    },
    "/api/v1/notifications/": {
        "newest": [desc(moment("created_at")), desc(field("id"))],
        "oldest": [asc(moment("created_at")), ID],
    },
}


def ordered(rows: list, terms: list) -> list:
    """`rows` in the order `terms` say, the first term first (stable sorts, the last term first)."""
    for value, descending in reversed(terms):
        rows = sorted(rows, key=value, reverse=descending)
    return rows


def test_every_sort_key_of_every_list_is_checked_here(schema):
    assert {path: set(_sort_keys(op)) for path, op in _paged_lists(schema).items()} == {
        path: set(keys) for path, keys in SPECS.items()
    }


@pytest.mark.parametrize("path", list(SPECS))
def test_each_sort_key_orders_the_rows_as_it_says(floor, path):
    for _batch in range(4):
        floor.grow()
    api = floor.api(path)
    url = floor.path(path)
    everything = api.get(url, {"page_size": 200}).json()["results"]
    assert len(everything) >= 4

    answered = {}
    for key, terms in SPECS[path].items():
        rows = api.get(url, {"sort": key, "page_size": 200}).json()["results"]
        assert [row["id"] for row in rows] == [row["id"] for row in ordered(rows, terms)], key
        answered[key] = [row["id"] for row in rows]

    assert len(set(map(tuple, answered.values()))) > 1  # the keys disagree: the rows tell them apart


def test_no_sort_is_the_default_key_and_pages_follow_the_order(schema, floor):
    for _batch in range(3):
        floor.grow()

    for path, operation in _paged_lists(schema).items():
        url, api = floor.path(path), floor.api(path)
        (sort,) = [p["schema"] for p in operation["parameters"] if p["name"] == "sort"]
        default = api.get(url, {"sort": sort["default"], "page_size": 200}).json()["results"]
        assert api.get(url, {"page_size": 200}).json()["results"] == default, path
        first, second = (api.get(url, {"page_size": 2, "page": page}).json() for page in (1, 2))
        assert first["count"] == len(default) >= 3, path
        assert first["next"], path
        assert second["previous"], path
        assert [row["id"] for row in first["results"] + second["results"]] == [row["id"] for row in default[:4]]


# --- Unknown keys and DRF's `ordering` ----------------------------------------------------------------


def test_an_unknown_sort_key_answers_400_naming_the_keys_and_nothing_else(schema, floor):
    for path, operation in _paged_lists(schema).items():
        answer = floor.api(path).get(floor.path(path), {"sort": "sideways"})

        assert answer.status_code == 400, path
        assert list(answer.json()) == ["sort"], path
        (message,) = answer.json()["sort"]
        assert message.startswith("“sideways” is not a sort key of this list. Sort by one of: "), path
        assert set(message.rsplit(": ", 1)[1].rstrip(".").split(", ")) == set(_sort_keys(operation)), path


def test_ordering_is_refused_naming_sort_rather_than_ignored(schema, floor):
    for path, operation in _paged_lists(schema).items():
        answer = floor.api(path).get(floor.path(path), {"ordering": "-id"})

        assert answer.status_code == 400, path
        assert list(answer.json()) == ["ordering"], path
        assert "`sort`" in answer.json()["ordering"][0], path
        assert "ordering" in " ".join(p["description"] for p in operation["parameters"] if p["name"] == "sort")


def _references(page) -> list[str]:
    """The order and ticket references of a page, top to bottom: the order its rows come in."""
    return re.findall(r"(?:AF|TK)-\d{4}-\d{5}", page.content.decode())


def test_the_pages_sharing_the_filter_sets_read_an_empty_sort_as_their_own_order(client, floor, ops_user, reviewer):
    for _batch in range(3):
        floor.grow()
    client.force_login(ops_user)
    for url in ("/orders/", "/dispatch/jobs/", "/aftersales/tickets/"):
        assert _references(client.get(f"{url}?sort=")) == _references(client.get(url)) != [], url
    assert "most urgent SLA first" in client.get("/aftersales/tickets/?sort=").content.decode()
    client.force_login(reviewer)
    for url in ("/security/reviews/?status=", "/security/reviews/history/"):
        assert (
            _references(client.get(f"{url}&sort=" if "?" in url else f"{url}?sort="))
            == _references(client.get(url))
            != []
        ), url


# --- Query counts -------------------------------------------------------------------------------------


def _queries(api, url, params) -> int:
    api.get(url, params)  # anything a first call keeps (the caller's roles) is kept before counting
    with CaptureQueriesContext(connection) as captured:
        assert api.get(url, params).status_code == 200
    return len(captured)


def test_no_list_and_no_sort_key_takes_more_queries_as_rows_double(schema, floor):
    cases = [(path, key) for path, operation in _paged_lists(schema).items() for key in _sort_keys(operation)]
    floor.grow()
    floor.grow()

    before = {case: _queries(floor.api(case[0]), floor.path(case[0]), {"sort": case[1]}) for case in cases}
    floor.grow()
    floor.grow()
    after = {case: _queries(floor.api(case[0]), floor.path(case[0]), {"sort": case[1]}) for case in cases}

    assert after == before

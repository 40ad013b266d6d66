"""The dispatch REST API (API.md "Dispatch"): pools, their utilization and state, and jobs."""

from datetime import timedelta

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from dispatch import services
from dispatch.models import Job, JobState, PoolState
from factory import clock
from orders.models import OrderStatus
from tests.factories import ClientOrganizationFactory, compute_pool, order_at

pytestmark = pytest.mark.django_db

POOLS = "/api/v1/pools/"
JOBS = "/api/v1/jobs/"
POOL_FIELDS = {
    "id",
    "name",
    "site",
    "in_province",
    "trusted",
    "kind",
    "capacity_pflops",
    "used_pflops",
    "background_pflops",
    "state",
    "price_per_pflops_hour",
    "monitored_pflops",
}
JOB_FIELDS = {
    "id",
    "order",
    "step",
    "pool",
    "state",
    "priority",
    "demand_pflops",
    "work_pflops_hours",
    "done_pflops_hours",
    "deadline",
    "queued_at",
    "started_at",
    "finished_at",
    "pending_reason",
    "expected_start",
    "cost",
}
SAMPLE_FIELDS = {"at", "used_pflops", "background_pflops", "capacity_pflops"}


@pytest.fixture(autouse=True)
def _no_background_load(settings):
    settings.DISPATCH_BACKGROUND_LOAD = False


def api_as(user=None) -> APIClient:
    api = APIClient()
    if user is not None:
        token, _created = Token.objects.get_or_create(user=user)
        api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api


def _pools():
    return {kind: compute_pool(kind=kind, capacity=1000) for kind in ("data_processing", "training", "inference")}


# --- Who may call it ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [POOLS, JOBS])
@pytest.mark.parametrize("user_fixture", ["dispatcher", "ops_user", "reviewer", "aftersales_user"])
def test_every_staff_role_can_read_pools_and_jobs(request, path, user_fixture):
    compute_pool()

    assert api_as(request.getfixturevalue(user_fixture)).get(path).status_code == 200


@pytest.mark.parametrize("path", [POOLS, JOBS, "{pool}", "{pool}utilization/"])
def test_client_users_are_refused_and_anonymous_callers_must_authenticate(client_a, path):
    pool = compute_pool()
    path = path.format(pool=f"{POOLS}{pool.pk}/")

    assert api_as(client_a).get(path).status_code == 403
    assert api_as().get(path).status_code == 401


@pytest.mark.parametrize("action", ["drain", "offline"])
@pytest.mark.parametrize("user_fixture", ["ops_user", "reviewer", "client_a"])
def test_only_the_dispatch_role_may_change_a_pools_state(request, action, user_fixture):
    pool = compute_pool()

    answer = api_as(request.getfixturevalue(user_fixture)).post(f"{POOLS}{pool.pk}/{action}/", {"reason": "Power"})

    assert answer.status_code == 403
    pool.refresh_from_db()
    assert pool.state == PoolState.ACTIVE
    assert not pool.state_changes.exists()


def test_anonymous_callers_cannot_change_a_pool(dispatcher):
    pool = compute_pool()

    assert api_as().post(f"{POOLS}{pool.pk}/drain/", {"reason": "Power"}).status_code == 401
    pool.refresh_from_db()
    assert pool.state == PoolState.ACTIVE


# --- Pools ----------------------------------------------------------------------------------------------------


def test_pools_list_has_the_contract_fields_with_compute_as_numbers_and_money_as_strings(dispatcher, ops_user):
    pool = compute_pool(kind="data_processing", capacity=400, trusted=False, in_province=False)
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    services.dispatch_tick(now=clock.now())

    answer = api_as(dispatcher).get(POOLS)

    (row,) = answer.json()["results"]
    job = Job.objects.get()
    assert set(row) >= POOL_FIELDS
    assert row["id"] == pool.pk
    assert row["site"] == pool.site.name
    assert row["in_province"] is False
    assert row["trusted"] is False
    assert row["kind"] == "data_processing"
    assert row["capacity_pflops"] == 400.0
    assert row["used_pflops"] == float(job.demand_pflops)
    assert row["background_pflops"] == 0.0
    assert row["free_pflops"] == 400.0 - float(job.demand_pflops)
    assert row["monitored_pflops"] == 1200.0
    assert row["state"] == "active"
    assert row["price_per_pflops_hour"] == "30.00"
    assert row["running_jobs"] == 1


def test_one_pool_and_an_unknown_pool(dispatcher):
    pool = compute_pool(name="gz-data-a")

    assert api_as(dispatcher).get(f"{POOLS}{pool.pk}/").json()["name"] == "gz-data-a"
    assert api_as(dispatcher).get(f"{POOLS}999999/").status_code == 404


def test_utilization_returns_the_samples_within_the_hours_window(dispatcher, ops_user):
    pool, other = compute_pool(capacity=500), compute_pool(capacity=300)
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    now = clock.now()
    for hours_ago in (30, 10, 1):
        services.dispatch_tick(now=now - timedelta(hours=hours_ago))
    api = api_as(dispatcher)

    default = api.get(f"{POOLS}{pool.pk}/utilization/").json()
    two_days = api.get(f"{POOLS}{pool.pk}/utilization/", {"hours": 48}).json()
    last_two_hours = api.get(f"{POOLS}{pool.pk}/utilization/", {"hours": 2}).json()

    assert len(default) == 2
    assert len(two_days) == 3
    assert len(last_two_hours) == 1
    assert set(default[0]) >= SAMPLE_FIELDS
    assert default[0]["at"] < default[1]["at"]
    assert {sample["capacity_pflops"] for sample in two_days} == {500.0}
    assert isinstance(default[0]["used_pflops"], float)
    assert len(api.get(f"{POOLS}{other.pk}/utilization/", {"hours": 48}).json()) == 3


@pytest.mark.parametrize("hours", ["0", "721", "-3", "soon"])
def test_utilization_refuses_hours_outside_1_to_720(dispatcher, hours):
    pool = compute_pool()

    answer = api_as(dispatcher).get(f"{POOLS}{pool.pk}/utilization/", {"hours": hours})

    assert answer.status_code == 400
    assert "hours" in answer.json()


def test_dispatcher_drains_then_takes_offline_then_activates_a_pool(dispatcher):
    pool = compute_pool()
    api = api_as(dispatcher)

    drained = api.post(f"{POOLS}{pool.pk}/drain/", {"reason": "Cooling maintenance"})
    offline = api.post(f"{POOLS}{pool.pk}/offline/", {"reason": "Power work"}, format="json")
    active = api.post(f"{POOLS}{pool.pk}/activate/", {"reason": "Back"})

    assert (drained.status_code, drained.json()["state"]) == (200, "draining")
    assert (offline.status_code, offline.json()["state"]) == (200, "offline")
    assert (active.status_code, active.json()["state"]) == (200, "active")
    assert list(pool.state_changes.order_by("at", "id").values_list("to_state", "reason", "actor")) == [
        ("draining", "Cooling maintenance", dispatcher.pk),
        ("offline", "Power work", dispatcher.pk),
        ("active", "Back", dispatcher.pk),
    ]


@pytest.mark.parametrize("body", [{}, {"reason": ""}])
def test_a_pool_action_needs_a_reason(dispatcher, body):
    pool = compute_pool()

    answer = api_as(dispatcher).post(f"{POOLS}{pool.pk}/drain/", body, format="json")

    assert answer.status_code == 400
    assert "reason" in answer.json()
    pool.refresh_from_db()
    assert pool.state == PoolState.ACTIVE


def test_a_blank_reason_is_refused_by_the_service_with_its_message(dispatcher):
    pool = compute_pool()

    answer = api_as(dispatcher).post(f"{POOLS}{pool.pk}/drain/", {"reason": "   "}, format="json")

    assert answer.status_code == 400
    assert "reason" in answer.json()


def test_an_illegal_transition_answers_409_and_changes_nothing(dispatcher):
    pool = compute_pool(name="gz-data-a")

    answer = api_as(dispatcher).post(f"{POOLS}{pool.pk}/activate/", {"reason": "Back"})

    assert answer.status_code == 409
    assert answer.json() == {"detail": "Pool gz-data-a is Active: it cannot be made Active."}
    pool.refresh_from_db()
    assert pool.state == PoolState.ACTIVE
    assert not pool.state_changes.exists()


def test_an_action_on_an_unknown_pool_answers_404(dispatcher):
    assert api_as(dispatcher).post(f"{POOLS}999999/drain/", {"reason": "x"}).status_code == 404


# --- Jobs -----------------------------------------------------------------------------------------------------


def test_jobs_list_is_paginated_with_the_contract_fields(dispatcher, ops_user):
    _pools()
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    t0 = clock.now()
    services.dispatch_tick(now=t0)
    services.dispatch_tick(now=t0 + timedelta(minutes=30))

    answer = api_as(dispatcher).get(JOBS).json()

    assert set(answer) == {"count", "next", "previous", "results"}
    (row,) = answer["results"]
    job = Job.objects.get()
    assert set(row) >= JOB_FIELDS
    assert row["order"] == order.pk
    assert row["order_reference"] == order.reference
    assert row["step"] == job.step_id
    assert row["pool"] == job.pool_id
    assert row["state"] == "running"
    assert row["priority"] == "normal"
    assert row["demand_pflops"] == float(job.demand_pflops)
    assert row["done_pflops_hours"] == float(job.done_pflops_hours) > 0
    assert row["cost"] == str(job.cost)
    assert row["started_at"] is not None
    assert row["pending_reason"] == ""
    assert 0 < row["progress"] < 100


def test_a_waiting_job_says_why_in_code_and_words(dispatcher, ops_user):
    compute_pool(kind="data_processing", capacity=1000, trusted=False)
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, data_sensitivity="sensitive")
    services.dispatch_tick(now=clock.now())
    job = Job.objects.get()

    row = api_as(dispatcher).get(f"{JOBS}{job.pk}/").json()

    assert row["state"] == "queued"
    assert row["pool"] is None
    assert row["pool_name"] is None
    assert row["pending_reason"] == "residency"
    assert row["pending_reason_display"] == "Data residency: no trusted in-province pool"
    assert row["expected_start"] is None


def test_jobs_filters_by_state_pool_and_order(dispatcher, ops_user):
    untrusted = compute_pool(kind="data_processing", capacity=1000, trusted=False)
    running = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    waiting = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, data_sensitivity="sensitive")
    services.dispatch_tick(now=clock.now())
    api = api_as(dispatcher)

    def orders(**params):
        return [row["order"] for row in api.get(JOBS, params).json()["results"]]

    assert sorted(orders()) == sorted([running.pk, waiting.pk])
    assert orders(state="running") == [running.pk]
    assert orders(state="queued") == [waiting.pk]
    assert orders(state="waiting") == [waiting.pk]
    assert orders(state="done") == []
    assert orders(pool=untrusted.pk) == [running.pk]
    assert orders(order=waiting.pk) == [waiting.pk]
    assert orders(order=waiting.pk, state="running") == []


def test_jobs_filters_refuse_unknown_values_and_an_unknown_pool_has_no_jobs(dispatcher):
    api = api_as(dispatcher)

    assert api.get(JOBS, {"state": "sleeping"}).status_code == 400
    assert api.get(JOBS, {"pool": 999999}).json()["count"] == 0


def test_an_unknown_job_answers_404(dispatcher):
    assert api_as(dispatcher).get(f"{JOBS}999999/").status_code == 404


@pytest.mark.parametrize("orders", [2, 4])
def test_jobs_list_takes_a_fixed_number_of_queries(dispatcher, ops_user, django_assert_num_queries, orders):
    _pools()
    compute_pool(kind="data_processing", capacity=1000, trusted=False)
    for _ in range(orders):
        org = ClientOrganizationFactory()
        order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org, actor=ops_user)
        order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org, actor=ops_user, data_sensitivity="sensitive")
    services.dispatch_tick(now=clock.now())
    api = api_as(dispatcher)

    # 1 token with its user and roles, 2 count, 3 the page of jobs with orders, clients, steps and pools.
    with django_assert_num_queries(3):
        answer = api.get(JOBS)

    assert answer.json()["count"] == 2 * orders
    assert Job.objects.filter(state=JobState.RUNNING).count() == 2 * orders


def test_pools_list_takes_a_fixed_number_of_queries(dispatcher, django_assert_num_queries):
    for _ in range(3):
        compute_pool()
    api = api_as(dispatcher)
    api.get(POOLS)

    # The token's user and roles are kept since the first call: 1 count, 2 the page of pools with their sites,
    # running jobs and last state change.
    with django_assert_num_queries(2):
        assert len(api.get(POOLS).json()["results"]) == 3


# --- Schema ---------------------------------------------------------------------------------------------------


def test_the_schema_documents_the_dispatch_endpoints(client, dispatcher):
    client.force_login(dispatcher)

    schema = client.get("/api/schema/", {"format": "json"}).json()

    for path in (
        "/api/v1/pools/",
        "/api/v1/pools/{id}/",
        "/api/v1/pools/{id}/utilization/",
        "/api/v1/pools/{id}/drain/",
        "/api/v1/pools/{id}/offline/",
        "/api/v1/pools/{id}/activate/",
        "/api/v1/jobs/",
        "/api/v1/jobs/{id}/",
    ):
        assert path in schema["paths"], path
    assert {"state", "pool", "order"} <= {p["name"] for p in schema["paths"]["/api/v1/jobs/"]["get"]["parameters"]}
    assert schema["components"]["schemas"]["Pool"]["properties"]["price_per_pflops_hour"]["type"] == "string"
    assert schema["components"]["schemas"]["Pool"]["properties"]["capacity_pflops"]["type"] == "number"

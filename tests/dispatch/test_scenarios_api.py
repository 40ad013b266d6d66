"""What-if scenarios through the API (/api/v1/scenarios/, /api/v1/scenario-runs/): who may plan, what a change may
say, one run per person at a time, and archived scenarios kept as they are."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from dispatch import tasks
from dispatch.models import RunState, Scenario, ScenarioRun
from factory import clock
from tests.factories import compute_pool

pytestmark = pytest.mark.django_db

SCENARIOS = "/api/v1/scenarios/"
RUNS = "/api/v1/scenario-runs/"
AGING = {"type": "policy", "name": "aging_bound", "value": 72}


def api_as(user=None) -> APIClient:
    api = APIClient()
    if user is not None:
        token, _created = Token.objects.get_or_create(user=user)
        api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api


def _moment(**delta) -> str:
    return (clock.now() + timedelta(**delta)).isoformat()


def _offline(pool, *, days=3) -> dict:
    return {
        "type": "pool_state",
        "pool": pool.pk,
        "state": "offline",
        "start": _moment(days=1),
        "end": _moment(days=1 + days),
    }


@pytest.fixture
def queued_only(monkeypatch):
    """Runs stay queued: no worker takes them (the engine's own tests run them)."""
    sent = []
    monkeypatch.setattr(tasks.run_scenario, "delay", sent.append)
    return sent


# --- Who may plan ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("user_fixture", ["dispatcher", "ops_user"])
def test_dispatch_and_operations_plan_scenarios(request, user_fixture):
    planner = request.getfixturevalue(user_fixture)

    made = api_as(planner).post(SCENARIOS, {"name": "Maintenance", "horizon_days": 30}, format="json")

    assert made.status_code == 201
    assert made["Location"].endswith(f"{SCENARIOS}{made.json()['id']}/")
    assert [row["name"] for row in api_as(planner).get(SCENARIOS).json()["results"]] == ["Maintenance"]


@pytest.mark.parametrize("user_fixture", ["reviewer", "aftersales_user", "client_a"])
def test_other_roles_are_refused_and_anonymous_callers_must_authenticate(request, user_fixture, dispatcher):
    scenario = api_as(dispatcher).post(SCENARIOS, {"name": "Mine", "horizon_days": 30}, format="json").json()
    other = api_as(request.getfixturevalue(user_fixture))

    assert other.get(SCENARIOS).status_code == 403
    assert other.get(f"{SCENARIOS}{scenario['id']}/").status_code == 403
    assert other.post(SCENARIOS, {"name": "Theirs", "horizon_days": 30}, format="json").status_code == 403
    assert api_as().get(SCENARIOS).status_code == 401
    assert Scenario.objects.count() == 1


# --- What a change may say ------------------------------------------------------------------------------------


def test_a_scenario_keeps_its_changes_as_given_in_the_contracts_shape(dispatcher, org_a, queued_only):
    pool = compute_pool(kind="training", capacity=400)
    due = (clock.now().date() + timedelta(days=90)).isoformat()
    changes = [
        _offline(pool),
        {**_offline(pool, days=1), "state": "draining"},
        {"type": "pool_capacity", "pool": pool.pk, "capacity_pflops": 600},
        {
            "type": "add_order",
            "product_type": "model",
            "size": "large",
            "priority": "high",
            "data_sensitivity": "sensitive",
            "client": org_a.pk,
            "requested_delivery": due,
            "count": 2,
        },
        {"type": "policy", "name": "preemption_threshold", "value": 2},
    ]

    made = api_as(dispatcher).post(SCENARIOS, {"name": "Hall B", "horizon_days": 90, "changes": changes}, format="json")

    assert made.status_code == 201, made.json()
    kept = made.json()["changes"]
    assert [change["type"] for change in kept] == ["pool_state", "pool_state", "pool_capacity", "add_order", "policy"]
    assert [kept[0]["state"], kept[1]["state"]] == ["offline", "draining"]
    assert kept[2] == {"type": "pool_capacity", "pool": pool.pk, "capacity_pflops": 600.0}
    assert (kept[3]["count"], kept[3]["client"], kept[3]["requested_delivery"]) == (2, org_a.pk, due)
    assert kept[4] == {"type": "policy", "name": "preemption_threshold", "value": 2.0}
    # The pages read the same scenario: a pool offline, one draining, a capacity, orders and a policy.
    assert [change["kind"] for change in Scenario.objects.get().changes] == [
        "pool_offline",
        "pool_draining",
        "pool_capacity",
        "orders",
        "policy",
    ]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"type": "pool_state", "state": "offline", "pool": 999_999}, "pool", "No such pool."),
        ({"type": "pool_capacity", "capacity_pflops": -5}, "capacity_pflops", ""),
        ({"type": "pool_state", "state": "offline", "start": "+5", "end": "+1"}, "end", "comes after the start"),
        ({"type": "pool_state", "state": "draining", "start": "-9", "end": "-5"}, "end", "has ended already"),
        ({"type": "pool_state", "state": "active"}, "state", ""),
        ({"type": "pool_state"}, "state", "Choose offline or draining."),
        ({"type": "background", "pflops": 5000}, "pflops", "cannot exceed it"),
        ({"type": "add_order"}, "product_type", "required"),
        ({"type": "teleport"}, "type", ""),
    ],
)
def test_a_bad_change_is_refused_by_field_and_nothing_is_made(dispatcher, change, field, words):
    pool = compute_pool(kind="training", capacity=400)
    given = {"pool": pool.pk, "start": _moment(days=1), "end": _moment(days=2), **change}
    for edge in ("start", "end"):
        if isinstance(given.get(edge), str) and given[edge][0] in "+-":
            given[edge] = _moment(days=int(given[edge]))

    answer = api_as(dispatcher).post(
        SCENARIOS, {"name": "Bad", "horizon_days": 30, "changes": [AGING, given]}, format="json"
    )

    assert answer.status_code == 400
    messages = answer.json()["changes"]
    assert any(message.startswith(f"#2 {field}: ") and words in message for message in messages), messages
    assert not Scenario.objects.exists()


@pytest.mark.parametrize("horizon", [0, 366, 1000])
def test_a_horizon_over_a_year_or_under_a_day_is_refused(dispatcher, horizon):
    answer = api_as(dispatcher).post(SCENARIOS, {"name": "Far", "horizon_days": horizon}, format="json")

    assert answer.status_code == 400
    assert "horizon_days" in answer.json()
    assert not Scenario.objects.exists()


def test_changes_are_added_and_removed_by_number(dispatcher):
    pool = compute_pool(kind="training", capacity=400)
    api = api_as(dispatcher)
    scenario = api.post(SCENARIOS, {"name": "Steps", "horizon_days": 30}, format="json").json()
    url = f"{SCENARIOS}{scenario['id']}/"

    api.post(f"{url}changes/", _offline(pool), format="json")
    bigger = {"type": "pool_capacity", "pool": pool.pk, "capacity_pflops": 800}
    added = api.post(f"{url}changes/", bigger, format="json")
    removed = api.post(f"{url}remove-change/", {"number": 1}, format="json")
    missing = api.post(f"{url}remove-change/", {"number": 5}, format="json")

    assert [change["type"] for change in added.json()["changes"]] == ["pool_state", "pool_capacity"]
    assert [change["type"] for change in removed.json()["changes"]] == ["pool_capacity"]
    assert missing.status_code == 400
    assert missing.json() == {"number": ["The scenario has no change #5."]}


def test_an_archived_scenario_keeps_its_changes_and_takes_no_more(dispatcher, queued_only):
    pool = compute_pool(kind="training", capacity=400)
    api = api_as(dispatcher)
    scenario = api.post(SCENARIOS, {"name": "Old", "horizon_days": 30, "changes": [_offline(pool)]}, format="json")
    url = f"{SCENARIOS}{scenario.json()['id']}/"

    archived = api.post(f"{url}archive/")

    assert (archived.status_code, archived.json()["archived"]) == (200, True)
    assert api.post(f"{url}changes/", _offline(pool), format="json").status_code == 409
    assert api.post(f"{url}run/").status_code == 409
    assert api.post(f"{url}archive/").status_code == 409
    assert api.get(SCENARIOS).json()["count"] == 0
    assert [row["name"] for row in api.get(SCENARIOS, {"archived": "true"}).json()["results"]] == ["Old"]
    assert len(api.get(url).json()["changes"]) == 1


# --- Runs -----------------------------------------------------------------------------------------------------


def test_a_scenario_made_with_changes_is_run_at_once(dispatcher, queued_only, django_capture_on_commit_callbacks):
    pool = compute_pool(kind="training", capacity=400)

    with django_capture_on_commit_callbacks(execute=True):
        made = api_as(dispatcher).post(
            SCENARIOS, {"name": "At once", "horizon_days": 30, "changes": [_offline(pool)]}, format="json"
        )

    assert made.status_code == 201
    scenario = made.json()
    (run,) = ScenarioRun.objects.all()
    assert (scenario["status"], scenario["latest_run"]["id"], scenario["summary"], scenario["orders"]) == (
        "queued",
        run.pk,
        None,
        None,
    )
    assert [row["id"] for row in scenario["runs"]] == [run.pk]
    assert queued_only == [run.pk]


def test_a_run_is_queued_with_the_changes_it_runs_with_and_its_url(
    dispatcher, queued_only, django_capture_on_commit_callbacks
):
    pool = compute_pool(kind="training", capacity=400)
    api = api_as(dispatcher)
    draft = api.post(SCENARIOS, {"name": "Run", "horizon_days": 30}, format="json")
    scenario = api.post(f"{SCENARIOS}{draft.json()['id']}/changes/", _offline(pool), format="json")
    assert draft.json()["status"] is None

    with django_capture_on_commit_callbacks(execute=True):
        started = api.post(f"{SCENARIOS}{scenario.json()['id']}/run/")

    assert started.status_code == 202
    run = started.json()
    assert started["Location"].endswith(f"{RUNS}{run['id']}/")
    assert (run["state"], run["progress"], run["result"]) == ("queued", 0.0, None)
    assert run["changes"] == scenario.json()["changes"]
    assert queued_only == [run["id"]]
    assert api.get(f"{SCENARIOS}{scenario.json()['id']}/").json()["latest_run"] == {
        "id": run["id"],
        "state": "queued",
        "progress": 0.0,
    }


def test_one_run_at_a_time_per_person(dispatcher, ops_user, queued_only):
    pool = compute_pool(kind="training", capacity=400)
    mine = api_as(dispatcher)
    first = mine.post(SCENARIOS, {"name": "Busy", "horizon_days": 30, "changes": [_offline(pool)]}, format="json")
    url = f"{SCENARIOS}{first.json()['id']}/run/"

    second = mine.post(url)
    another = mine.post(SCENARIOS, {"name": "Also", "horizon_days": 30, "changes": [_offline(pool)]}, format="json")
    someone_else = api_as(ops_user).post(url)

    assert (first.status_code, first.json()["status"]) == (201, "queued")
    assert second.status_code == 409
    assert "still going" in second.json()["detail"]
    assert another.status_code == 409
    assert "still going" in another.json()["detail"]
    assert not Scenario.objects.filter(name="Also").exists()  # refused whole: no scenario without its run
    assert someone_else.status_code == 202
    assert ScenarioRun.objects.filter(state=RunState.QUEUED).count() == 2


def test_a_run_whose_worker_went_silent_no_longer_blocks_its_owner(dispatcher, queued_only):
    pool = compute_pool(kind="training", capacity=400)
    api = api_as(dispatcher)
    scenario = api.post(SCENARIOS, {"name": "Lost", "horizon_days": 30, "changes": [_offline(pool)]}, format="json")
    url = f"{SCENARIOS}{scenario.json()['id']}/run/"
    lost = scenario.json()["latest_run"]
    ScenarioRun.objects.filter(pk=lost["id"]).update(
        state=RunState.RUNNING, heartbeat_at=timezone.now() - timedelta(hours=1)
    )

    again = api.post(url)

    assert again.status_code == 202
    assert api.get(f"{RUNS}{lost['id']}/").json()["state"] == "failed"


def test_a_scenario_without_changes_is_not_run(dispatcher, queued_only):
    scenario = api_as(dispatcher).post(SCENARIOS, {"name": "Empty", "horizon_days": 30}, format="json").json()

    answer = api_as(dispatcher).post(f"{SCENARIOS}{scenario['id']}/run/")

    assert answer.status_code == 409
    assert not ScenarioRun.objects.exists()


@pytest.mark.parametrize("path", [f"{SCENARIOS}999999/", f"{SCENARIOS}abc/", f"{RUNS}999999/"])
def test_unknown_scenarios_and_runs_answer_404(dispatcher, path):
    assert api_as(dispatcher).get(path).status_code == 404


def test_a_scenario_made_twice_with_one_idempotency_key_is_made_and_run_once(dispatcher, queued_only):
    api = api_as(dispatcher)
    body = {"name": "Retried", "horizon_days": 30, "changes": [_offline(compute_pool(kind="training"))]}

    first = api.post(SCENARIOS, body, format="json", HTTP_IDEMPOTENCY_KEY="scenario-0001")
    again = api.post(SCENARIOS, body, format="json", HTTP_IDEMPOTENCY_KEY="scenario-0001")
    other = api.post(SCENARIOS, {**body, "horizon_days": 60}, format="json", HTTP_IDEMPOTENCY_KEY="scenario-0001")

    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 422)
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert Scenario.objects.count() == ScenarioRun.objects.count() == 1


@pytest.mark.parametrize("hours", [False, "2", [2]])
def test_a_number_of_another_json_type_is_refused_even_where_the_kind_does_not_read_it(dispatcher, hours):
    pool = compute_pool(kind="training", capacity=400)
    change = {"type": "pool_capacity", "pool": pool.pk, "capacity_pflops": 600, "value": hours}

    answer = api_as(dispatcher).post(
        SCENARIOS, {"name": "Typed", "horizon_days": 30, "changes": [change]}, format="json"
    )

    assert answer.status_code == 400
    assert answer.json()["changes"] == ["#1 value: A valid number is required."]
    assert not Scenario.objects.exists()

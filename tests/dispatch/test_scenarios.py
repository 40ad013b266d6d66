"""What-if scenarios run by the one engine, through the API as a dispatch director would: a pool offline slips the
orders that need it then and no other, more capacity never makes a promise later, and a run keeps its result."""

from datetime import datetime, timedelta

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from dispatch import forecast, scenarios
from dispatch.scenarios import SLIP_TOLERANCE_HOURS
from factory import clock
from factory.celery import app as celery_app
from orders.models import OrderStatus
from orders.services import stage_release_gate
from tests.factories import compute_pool, finish_current_stage, gate_reviewer, order_at

pytestmark = pytest.mark.django_db

SCENARIOS = "/api/v1/scenarios/"
RUNS = "/api/v1/scenario-runs/"


@pytest.fixture(autouse=True)
def _no_background_load(settings):
    settings.DISPATCH_BACKGROUND_LOAD = False


@pytest.fixture
def worker(django_capture_on_commit_callbacks):
    """Runs are taken by a worker as soon as they are queued: the task runs in the test, as Celery would run it."""
    celery_app.conf.task_always_eager = True
    try:
        yield lambda: django_capture_on_commit_callbacks(execute=True)
    finally:
        celery_app.conf.task_always_eager = False


def api_as(user) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return api


def _factory():
    """A small factory: one large training pool beside a small one that holds only the lightest training steps (16
    of 16-64 PFLOPS), and room for the other kinds."""
    compute_pool(kind="data_processing", capacity=300)
    compute_pool(kind="inference", capacity=300)
    small = compute_pool(kind="training", capacity=20)
    large = compute_pool(kind="training", capacity=500)
    return large, small


def _past_gates(order, gates: int, staff):
    """Drive an order in production through its first `gates` workshops."""
    reviewer = gate_reviewer()
    for stage in order.stages.order_by("position")[:gates]:
        finish_current_stage(order, staff)
        stage_release_gate(stage=stage, actor=reviewer)
    order.refresh_from_db()
    return order


def _run(api, worker, changes, *, horizon_days=60) -> tuple[dict, dict]:
    """The scenario made with `changes`, which runs it at once, and its run, as the API answers them once done."""
    with worker():
        made = api.post(SCENARIOS, {"name": "What if", "horizon_days": horizon_days, "changes": changes}, format="json")
    assert made.status_code == 201, made.json()
    scenario = api.get(made["Location"]).json()
    run = api.get(f"{RUNS}{scenario['latest_run']['id']}/").json()
    assert (scenario["status"], run["state"]) == ("done", "done"), run["error"]
    return scenario, run


def _slips(run) -> dict[int, float]:
    return {row["order"]: row["slip_hours"] for row in run["result"]["orders"]}


def _moment(**delta) -> str:
    return (clock.now() + timedelta(**delta)).isoformat()


def test_the_largest_training_pool_offline_slips_the_orders_training_then_and_no_order_past_training(
    dispatcher, ops_user, worker
):
    large, _small = _factory()
    training = _past_gates(order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, product_type="agent"), 1, ops_user)
    past_training = _past_gates(order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, product_type="agent"), 2, ops_user)
    no_training = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, product_type="dataset")
    offline = {
        "type": "pool_state",
        "pool": large.pk,
        "state": "offline",
        "start": _moment(minutes=1),
        "end": _moment(days=3),
    }

    scenario, run = _run(api_as(dispatcher), worker, [offline])

    slips = _slips(run)
    assert {row["order"]: row["slip_hours"] for row in scenario["orders"]} == slips
    assert slips[training.pk] >= SLIP_TOLERANCE_HOURS
    assert abs(slips[past_training.pk]) < SLIP_TOLERANCE_HOURS
    assert abs(slips[no_training.pk]) < SLIP_TOLERANCE_HOURS
    assert run["result"]["slipped"] >= 1
    assert run["progress"] == 1.0


def test_adding_capacity_never_makes_an_eta_later(dispatcher, ops_user, worker):
    large, small = _factory()
    orders = [
        order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, product_type=product, priority=priority)
        for product, priority in [("model", "normal"), ("agent", "high"), ("model", "low"), ("application", "normal")]
    ]
    more = [
        {"type": "pool_capacity", "pool": small.pk, "capacity_pflops": 320},
        {
            "type": "new_pool",
            "site": large.site_id,
            "pool_kind": "training",
            "capacity_pflops": 200,
            "start": _moment(days=2),
        },
    ]

    _scenario, run = _run(api_as(dispatcher), worker, more)

    slips = _slips(run)
    assert set(slips) == {order.pk for order in orders}
    assert all(slip < SLIP_TOLERANCE_HOURS for slip in slips.values()), slips
    assert run["result"]["broken"] == 0


def test_a_run_keeps_its_result_and_its_baseline_is_the_forecasts_eta(dispatcher, ops_user, org_a, worker):
    _factory()
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, product_type="model")
    due = (clock.now().date() + timedelta(days=45)).isoformat()
    hypothetical = {
        "type": "add_order",
        "product_type": "model",
        "size": "large",
        "priority": "urgent",
        "data_sensitivity": "public",
        "client": org_a.pk,
        "requested_delivery": due,
        "count": 3,
    }

    with clock.held(clock.now()):
        forecast.forecast_etas()
        scenario, run = _run(api_as(dispatcher), worker, [hypothetical], horizon_days=50)

    order.refresh_from_db()
    result = run["result"]
    rows = {row["reference"] or f"hypothetical-{n}": row for n, row in enumerate(result["orders"])}
    real = rows[order.reference]
    assert datetime.fromisoformat(real["baseline_eta"]) == order.eta
    assert real["slip_hours"] >= 0  # three urgent orders ahead never make it earlier
    assert [row["client"] for row in result["orders"] if row["order"] is None] == [org_a.name] * 3
    utilization = result["scenario"]["utilization"]
    assert len(utilization["at"]) == len(utilization["training"]) > 10
    assert max(share for share in utilization["training"] if share is not None) <= 1.0
    assert set(result["scenario"]["queue_wait_hours"]) <= {"low", "normal", "high", "urgent"}
    assert run["seconds"] is not None
    # The scenario's summary is the run's result in brief: the same rates, each kind's mean utilization.
    summary = scenario["summary"]
    assert summary["on_time_rate"] == {side: result[side]["on_time_rate"] for side in ("baseline", "scenario")}
    training = [share for share in utilization["training"] if share is not None]
    assert summary["utilization"]["training"]["scenario"] == pytest.approx(sum(training) / len(training), abs=1e-4)
    assert summary["broken"] == result["broken"]
    ours = next(row for row in scenario["orders"] if row["order"] == order.pk)
    assert (ours["eta_baseline"], ours["eta_scenario"]) == (real["baseline_eta"], real["eta"])


def test_a_scenario_that_only_adds_compute_says_so_when_orders_still_slip(dispatcher, ops_user, monkeypatch):
    large, small = _factory()
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, product_type="model")
    more = [{"kind": "pool_capacity", "pool": small.pk, "capacity": 320}]
    less = [{"kind": "pool_capacity", "pool": large.pk, "capacity": 100}]
    # Whatever the engine decides, say that one order slipped: the note follows the changes, not the workload.
    real_result = scenarios._result
    monkeypatch.setattr(scenarios, "_result", lambda **given: {**real_result(**given), "slipped": 1})

    added = scenarios.run(changes=more, horizon_days=30, now=clock.now())
    taken = scenarios.run(changes=less, horizon_days=30, now=clock.now())

    assert "more_capacity_reordered" in added["notes"]
    assert "more_capacity_reordered" not in taken["notes"]

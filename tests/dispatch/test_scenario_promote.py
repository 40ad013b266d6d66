"""Making a scenario's pool changes real: a finished run's pools offline between two times become maintenance windows
with one action, all or none, recorded with the run and the reason."""

from datetime import datetime

import pytest

from dispatch import services
from dispatch.errors import PoolActionNotPermitted, ScenarioStateConflict
from dispatch.models import Reservation, ReservationKind
from tests.dispatch.scenario_results import finish_run, scenario_result
from tests.dispatch.test_scenarios_api import RUNS, _offline, api_as
from tests.factories import compute_pool

pytestmark = pytest.mark.django_db


def _run(actor, changes, *, done=True):
    scenario = services.scenario_create(actor=actor, name="Hall B cooling", horizon_days=30, changes=changes)
    run = services.scenario_run_start(scenario=scenario, actor=actor)
    return finish_run(run, scenario_result()) if done else run


def test_a_dispatcher_makes_a_runs_pools_offline_real_maintenance_windows(dispatcher):
    train, data = compute_pool(kind="training"), compute_pool(kind="data_processing")
    changes = [_offline(train), {"kind": "pool_capacity", "pool": data.pk, "capacity": 300}, _offline(data, days=1)]
    run = _run(dispatcher, changes)

    windows = services.scenario_promote(run=run, actor=dispatcher, reason="Agreed with the center")

    assert [(w.pool, w.kind) for w in windows] == [(train, ReservationKind.MAINTENANCE), (data, "maintenance")]
    first = windows[0]
    assert (first.start, first.end) == tuple(datetime.fromisoformat(changes[0][key]) for key in ("start", "end"))
    assert first.reason == f"Agreed with the center (scenario Hall B cooling, run #{run.pk}, change #1)"
    assert (first.promoted_from, first.created_by) == (run, dispatcher)
    assert windows[1].reason.endswith("change #3)")  # the capacity change is not a booking
    with pytest.raises(ScenarioStateConflict, match="made real on"):
        services.scenario_promote(run=run, actor=dispatcher, reason="Again")
    assert Reservation.objects.count() == 2


def test_nothing_is_booked_when_one_window_conflicts(dispatcher):
    train, data = compute_pool(kind="training"), compute_pool(kind="data_processing")
    changes = [_offline(train), _offline(data)]
    run = _run(dispatcher, changes)
    taken = services.reservation_create(
        actor=dispatcher,
        kind="maintenance",
        pool=data,
        start=datetime.fromisoformat(changes[1]["start"]),
        end=datetime.fromisoformat(changes[1]["end"]),
        reason="Already planned",
    )

    with pytest.raises(ScenarioStateConflict) as refused:
        services.scenario_promote(run=run, actor=dispatcher, reason="Agreed")

    assert "Change #2" in str(refused.value)
    assert f"maintenance window #{taken.pk}" in str(refused.value)
    assert list(Reservation.objects.all()) == [taken]


def test_a_run_not_done_or_without_a_pool_offline_is_refused(dispatcher):
    pool = compute_pool(kind="training")
    capacity_only = _run(dispatcher, [{"kind": "pool_capacity", "pool": pool.pk, "capacity": 300}])
    going = _run(dispatcher, [_offline(pool)], done=False)
    with pytest.raises(ScenarioStateConflict, match="queued"):
        services.scenario_promote(run=going, actor=dispatcher, reason="Too soon")
    with pytest.raises(ScenarioStateConflict, match="no pool offline"):
        services.scenario_promote(run=capacity_only, actor=dispatcher, reason="Nothing to book")
    assert not Reservation.objects.exists()


def test_operations_plan_scenarios_but_do_not_book_windows(dispatcher, ops_user):
    run = _run(dispatcher, [_offline(compute_pool(kind="training"))])
    with pytest.raises(PoolActionNotPermitted):
        services.scenario_promote(run=run, actor=ops_user, reason="Agreed")
    assert api_as(ops_user).post(f"{RUNS}{run.pk}/promote/", {"reason": "Agreed"}, format="json").status_code == 403
    assert not Reservation.objects.exists()


def test_the_api_answers_the_windows_booked(dispatcher):
    pool = compute_pool(kind="training")
    run = _run(dispatcher, [_offline(pool)])
    api = api_as(dispatcher)

    missing = api.post(f"{RUNS}{run.pk}/promote/", {}, format="json")
    assert (missing.status_code, list(missing.json())) == (400, ["reason"])
    answer = api.post(f"{RUNS}{run.pk}/promote/", {"reason": "Agreed"}, format="json")

    assert answer.status_code == 201
    body = answer.json()
    assert body["run"] == run.pk
    assert [(w["pool"], w["pool_name"]) for w in body["windows"]] == [(pool.pk, pool.name)]
    assert api.post(f"{RUNS}{run.pk}/promote/", {"reason": "Again"}, format="json").status_code == 409


def test_the_run_page_offers_the_action_to_dispatch_and_lists_what_was_booked(client, dispatcher, ops_user):
    pool = compute_pool(kind="training")
    run = _run(dispatcher, [_offline(pool)])
    page = f"/dispatch/scenarios/runs/{run.pk}/"

    client.force_login(ops_user)
    assert "Book the maintenance windows" not in client.get(page).content.decode()
    client.force_login(dispatcher)
    assert "Book the maintenance windows" in client.get(page).content.decode()

    refused = client.post(f"{page}promote/", {"reason": " "}, follow=True)
    assert "Say why the scenario" in refused.content.decode()
    done = client.post(f"{page}promote/", {"reason": "Agreed"}, follow=True)

    text = done.content.decode()
    assert "1 maintenance window booked" in text
    assert "Book the maintenance windows" not in text
    assert f'href="/dispatch/pools/{pool.pk}/#bookings"' in text

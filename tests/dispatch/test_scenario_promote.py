"""Making a scenario's pool changes real with one action, all or none, recorded with the run and the reason: pools
offline or draining between two times become maintenance windows, capacity changes scheduled pool changes, new pools
pools made now and scheduled to come online."""

from datetime import datetime

import pytest

from dispatch import services
from dispatch.errors import PoolActionNotPermitted, ScenarioStateConflict
from dispatch.models import ComputePool, PoolState, Reservation, ReservationKind, ScheduledPoolChange
from tests.dispatch.scenario_results import finish_run, scenario_result
from tests.dispatch.test_scenarios_api import RUNS, _moment, api_as
from tests.factories import compute_pool

pytestmark = pytest.mark.django_db


def _run(actor, changes, *, done=True):
    scenario = services.scenario_create(actor=actor, name="Hall B cooling", horizon_days=30, changes=changes)
    run = services.scenario_run_start(scenario=scenario, actor=actor)
    return finish_run(run, scenario_result()) if done else run


def _offline(pool, *, days=3) -> dict:
    """A pool offline from tomorrow for `days`, as a scenario keeps it."""
    return {"kind": "pool_offline", "pool": pool.pk, "start": _moment(days=1), "end": _moment(days=1 + days)}


def _draining(pool, *, days=2) -> dict:
    return {**_offline(pool, days=days), "kind": "pool_draining"}


def test_a_dispatcher_makes_every_pool_change_of_a_run_real(dispatcher):
    train, data = compute_pool(kind="training"), compute_pool(kind="data_processing")
    more = {"kind": "pool_capacity", "pool": data.pk, "capacity": 300, "start": _moment(days=2)}
    new = {
        "kind": "new_pool",
        "site": train.site_id,
        "pool_kind": "training",
        "capacity": 250,
        "start": _moment(days=5),
    }
    load = {"kind": "background", "pool": train.pk, "pflops": 10, "start": _moment(days=1), "end": _moment(days=2)}
    changes = [_offline(train), more, _draining(data, days=1), new, load]
    run = _run(dispatcher, changes)

    made = services.scenario_promote(run=run, actor=dispatcher, reason="Agreed with the center")

    windows, scheduled = made.windows, made.pool_changes
    assert [(w.pool, w.kind, w.closes_to) for w in windows] == [
        (train, ReservationKind.MAINTENANCE, PoolState.OFFLINE),
        (data, ReservationKind.MAINTENANCE, PoolState.DRAINING),
    ]
    first = windows[0]
    assert (first.start, first.end) == tuple(datetime.fromisoformat(changes[0][key]) for key in ("start", "end"))
    assert first.reason == f"Agreed with the center (scenario Hall B cooling, run #{run.pk}, change #1)"
    assert (first.promoted_from, first.created_by) == (run, dispatcher)
    capacity, commissioned = scheduled
    assert (capacity.pool, capacity.capacity_pflops, capacity.at) == (data, 300, datetime.fromisoformat(more["start"]))
    assert capacity.reason.endswith("change #2)")
    # The new pool exists now, offline, and comes online when the scenario said.
    added = commissioned.pool
    assert (added.site, added.kind, added.capacity_pflops, added.state) == (train.site, "training", 250, "offline")
    assert (commissioned.state, commissioned.at) == (PoolState.ACTIVE, datetime.fromisoformat(new["start"]))
    assert added.price_per_pflops_hour == train.price_per_pflops_hour  # the only training pool's: the mean of one
    assert {c.promoted_from for c in scheduled} == {run}
    with pytest.raises(ScenarioStateConflict, match="made real on"):
        services.scenario_promote(run=run, actor=dispatcher, reason="Again")
    assert (Reservation.objects.count(), ScheduledPoolChange.objects.count(), ComputePool.objects.count()) == (2, 2, 3)


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


def test_nothing_is_made_real_when_a_capacity_cut_leaves_reservations_without_room(dispatcher, org_a):
    pool = compute_pool(kind="training", capacity=100)
    new = {"kind": "new_pool", "site": pool.site_id, "pool_kind": "training", "capacity": 80}
    run = _run(dispatcher, [new, {"kind": "pool_capacity", "pool": pool.pk, "capacity": 40}])
    held = services.reservation_create(
        actor=dispatcher,
        kind="reservation",
        pool=pool,
        client=org_a,
        pflops=60,
        start=datetime.fromisoformat(_moment(days=1)),
        end=datetime.fromisoformat(_moment(days=2)),
        reason="Quarter close",
    )

    with pytest.raises(ScenarioStateConflict) as refused:
        services.scenario_promote(run=run, actor=dispatcher, reason="Agreed")

    assert "Change #2" in str(refused.value)
    assert f"reservation #{held.pk}" in str(refused.value)
    assert (ScheduledPoolChange.objects.count(), ComputePool.objects.count()) == (0, 1)  # the new pool was not kept


def test_a_run_not_done_or_without_a_pool_change_is_refused(dispatcher):
    pool = compute_pool(kind="training")
    load_only = _run(
        dispatcher, [{"kind": "arrival_rate", "factor": 2, "start": _moment(days=1), "end": _moment(days=3)}]
    )
    going = _run(dispatcher, [_offline(pool)], done=False)
    with pytest.raises(ScenarioStateConflict, match="queued"):
        services.scenario_promote(run=going, actor=dispatcher, reason="Too soon")
    with pytest.raises(ScenarioStateConflict, match="changes no pool"):
        services.scenario_promote(run=load_only, actor=dispatcher, reason="Nothing to book")
    assert not Reservation.objects.exists()
    assert not ScheduledPoolChange.objects.exists()


def test_operations_plan_scenarios_but_do_not_book_windows(dispatcher, ops_user):
    run = _run(dispatcher, [_offline(compute_pool(kind="training"))])
    with pytest.raises(PoolActionNotPermitted):
        services.scenario_promote(run=run, actor=ops_user, reason="Agreed")
    assert api_as(ops_user).post(f"{RUNS}{run.pk}/promote/", {"reason": "Agreed"}, format="json").status_code == 403
    assert not Reservation.objects.exists()


def test_the_api_answers_the_windows_and_pool_changes_made(dispatcher):
    pool = compute_pool(kind="training")
    run = _run(dispatcher, [_offline(pool), {"kind": "pool_capacity", "pool": pool.pk, "capacity": 300}])
    api = api_as(dispatcher)

    missing = api.post(f"{RUNS}{run.pk}/promote/", {}, format="json")
    assert (missing.status_code, list(missing.json())) == (400, ["reason"])
    answer = api.post(f"{RUNS}{run.pk}/promote/", {"reason": "Agreed"}, format="json")

    assert answer.status_code == 201
    body = answer.json()
    assert body["run"] == run.pk
    assert [(w["pool"], w["pool_name"], w["closes_to"]) for w in body["windows"]] == [(pool.pk, pool.name, "offline")]
    assert [(c["pool"], c["capacity_pflops"], c["promoted_from"]) for c in body["pool_changes"]] == [
        (pool.pk, 300, run.pk)
    ]
    assert api.post(f"{RUNS}{run.pk}/promote/", {"reason": "Again"}, format="json").status_code == 409


def test_the_run_page_offers_the_action_to_dispatch_and_lists_what_was_made(client, dispatcher, ops_user):
    pool = compute_pool(kind="training")
    run = _run(dispatcher, [_offline(pool), {"kind": "pool_capacity", "pool": pool.pk, "capacity": 300}])
    page = f"/dispatch/scenarios/runs/{run.pk}/"

    action = f'action="/dispatch/scenarios/runs/{run.pk}/promote/"'
    client.force_login(ops_user)
    assert action not in client.get(page).content.decode()
    client.force_login(dispatcher)
    assert action in client.get(page).content.decode()

    refused = client.post(f"{page}promote/", {"reason": " "}, follow=True)
    assert "Say why the scenario" in refused.content.decode()
    done = client.post(f"{page}promote/", {"reason": "Agreed"}, follow=True)

    text = done.content.decode()
    assert "2 pool changes made real" in text
    assert action not in text
    assert f'href="/dispatch/pools/{pool.pk}/#bookings"' in text
    assert f'href="/dispatch/pools/{pool.pk}/#scheduled"' in text

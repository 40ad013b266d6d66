"""The what-if scenarios' pages: the list, a scenario with its changes and runs, a run's result, two runs compared.

Runs never reach the engine here: a run is queued through its service (its task is not sent), and its result is built
by tests/dispatch/scenario_results.py and stored as the worker would leave it."""

import re
from datetime import timedelta

import pytest
from django.utils import translation

from dispatch import scenario_changes, services, tasks
from dispatch.models import ComputePool, RunState, Scenario, ScenarioRun
from factory import charts as factory_charts
from factory import clock
from orders.models import OrderStatus
from tests.dispatch.scenario_results import advance_run, fail_run, finish_run, scenario_result
from tests.factories import UserFactory, compute_pool, order_at

pytestmark = pytest.mark.django_db

LIST = "/dispatch/scenarios/"
CREATE = "/dispatch/scenarios/create/"
COMPARE = "/dispatch/scenarios/compare/"


@pytest.fixture(autouse=True)
def _no_background_load(settings):
    settings.DISPATCH_BACKGROUND_LOAD = False


def _text(response) -> str:
    return response.content.decode()


def _messages(response) -> str:
    return " ".join(str(message) for message in response.context["messages"]) if response.context else ""


def _rows(response, attribute: str) -> list[str]:
    return re.findall(rf'<tr [^>]*\b{attribute}="([^"]+)"', _text(response))


def _section(response, testid: str) -> str:
    page = _text(response)
    start = page.index(f'data-testid="{testid}"')
    end = page.find("<section", start)
    return page[start : end if end != -1 else len(page)]


def _at(**delta) -> str:
    return (clock.now() + timedelta(**delta)).isoformat()


def _offline(pool) -> dict:
    return {"kind": "pool_offline", "pool": pool.pk, "start": _at(days=1), "end": _at(days=3)}


def _scenario(actor, *, name="Hall B cooling maintenance", changes=None, pool=None) -> Scenario:
    if changes is None:
        pool = pool or ComputePool.objects.filter(name="gz-train-a").first()
        changes = [_offline(pool or compute_pool(kind="training", capacity=400, name="gz-train-a"))]
    return services.scenario_create(actor=actor, name=name, horizon_days=90, changes=changes)


def _orders(count: int, staff) -> list:
    return [order_at(OrderStatus.IN_PRODUCTION, staff=staff) for _ in range(count)]


def _done_run(scenario, actor, result):
    return finish_run(services.scenario_run_start(scenario=scenario, actor=actor), result)


def _scenario_url(scenario) -> str:
    return f"/dispatch/scenarios/{scenario.pk}/"


def _run_url(run) -> str:
    return f"/dispatch/scenarios/runs/{run.pk}/"


# --- Who may open the pages ----------------------------------------------------------------------------------


def _paths(ops_user) -> dict:
    scenario = _scenario(ops_user)
    run = _done_run(scenario, ops_user, scenario_result(_orders(1, ops_user), slips=[5]))
    other = _done_run(scenario, ops_user, scenario_result([], slips=[]))
    return {
        "list": LIST,
        "scenario": _scenario_url(scenario),
        "run": _run_url(run),
        "compare": f"{COMPARE}?runs={run.pk}&runs={other.pk}",
    }


def test_dispatch_and_operations_staff_open_every_scenario_page(client, dispatcher, ops_user):
    paths = _paths(ops_user)
    for user in (dispatcher, ops_user):
        client.force_login(user)
        for name, path in paths.items():
            assert client.get(path).status_code == 200, name


@pytest.mark.parametrize("user_fixture", ["reviewer", "aftersales_user", "client_a"])
def test_security_after_sales_and_client_users_are_refused(client, request, ops_user, user_fixture):
    paths = _paths(ops_user)
    run = ScenarioRun.objects.first()
    client.force_login(request.getfixturevalue(user_fixture))

    for path in [*paths.values(), f"{_run_url(run)}progress/"]:
        assert client.get(path).status_code == 403, path
    assert client.post(CREATE, {"name": "Not mine", "horizon_days": "30"}).status_code == 403
    assert client.post(f"{paths['scenario']}run/").status_code == 403
    assert Scenario.objects.count() == 1
    assert ScenarioRun.objects.count() == 2


def test_anonymous_visitors_are_sent_to_the_login_page(client, ops_user):
    paths = _paths(ops_user)
    run = ScenarioRun.objects.first()

    for path in paths.values():
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    # The progress bar's endpoint answers a script: 401, so that the page reloads to the sign-in page.
    assert client.get(f"{_run_url(run)}progress/").status_code == 401
    assert client.post(CREATE, {"name": "Anonymous", "horizon_days": "30"}).status_code == 302
    assert Scenario.objects.count() == 1


def test_the_navigation_links_to_the_scenarios_for_dispatch_and_operations_only(
    client, dispatcher, ops_user, aftersales_user
):
    for user in (dispatcher, ops_user):
        client.force_login(user)
        assert f'href="{LIST}"' in _text(client.get("/orders/"))
    client.force_login(aftersales_user)
    assert f'href="{LIST}"' not in _text(client.get("/orders/"))

    client.force_login(ops_user)
    active = re.search(r'<a href="([^"]+)" class="nav__link is-active"', _text(client.get(LIST))).group(1)
    assert active == LIST


# --- The list ------------------------------------------------------------------------------------------------


def test_the_empty_list_says_what_a_scenario_is_and_how_to_make_one(client, dispatcher):
    client.force_login(dispatcher)

    response = client.get(LIST)

    empty = _section(response, "scenarios")
    assert "No scenarios yet" in empty
    assert "a pool offline for maintenance, more capacity, a very large order" in empty
    assert "Name one below" in empty
    form = _section(response, "scenario-form")
    assert 'name="horizon_days" value="90"' in form
    assert 'name="name"' in form
    assert 'name="description"' in form


def test_the_list_shows_newest_first_with_the_latest_run_changes_runs_and_who_made_it(
    client, dispatcher, ops_user, move_clock
):
    first = _scenario(ops_user, name="A bigger training pool")
    move_clock(minutes=5)
    second = _scenario(dispatcher, name="Hall B cooling maintenance")
    services.scenario_add_change(scenario=second, actor=dispatcher, change=_offline(compute_pool()))
    _done_run(first, ops_user, scenario_result([]))
    _done_run(first, dispatcher, scenario_result([]))
    going = services.scenario_run_start(scenario=second, actor=ops_user)
    advance_run(going, 0.4)
    client.force_login(dispatcher)

    response = client.get(LIST)

    assert _rows(response, "data-scenario") == ["Hall B cooling maintenance", "A bigger training pool"]
    assert _rows(response, "data-run-state") == ["running", "done"]
    rows = _section(response, "scenarios").split("<tr ")[1:]
    assert ">Running<" in rows[0]
    assert "40%" in rows[0]
    assert f'href="{_run_url(going)}"' in rows[0]
    assert re.findall(r'<td class="num">(\d+)</td>', rows[0]) == ["2", "1"]  # changes, runs
    assert "dispatch-user" in rows[0]
    assert ">Done<" in rows[1]
    assert re.findall(r'<td class="num">(\d+)</td>', rows[1]) == ["1", "2"]
    assert "ops-user" in rows[1]


def test_archived_scenarios_are_behind_the_toggle(client, dispatcher):
    kept = _scenario(dispatcher, name="Kept")
    archived = _scenario(dispatcher, name="Done with", pool=compute_pool())
    services.scenario_archive(scenario=archived, actor=dispatcher)
    client.force_login(dispatcher)

    in_use = client.get(LIST)
    old = client.get(f"{LIST}?archived=1")

    assert _rows(in_use, "data-scenario") == [kept.name]
    assert f'href="{LIST}?archived=1"' in _text(in_use)
    assert _rows(old, "data-scenario") == [archived.name]
    assert "Archived scenarios" in _text(old)
    assert 'data-testid="scenario-form"' not in _text(old)


@pytest.mark.parametrize("scenarios", [2, 6])
def test_the_list_takes_a_fixed_number_of_queries(client, dispatcher, ops_user, django_assert_num_queries, scenarios):
    pool = compute_pool()
    for number in range(scenarios):
        scenario = _scenario(ops_user, name=f"Scenario {number}", pool=pool)
        _done_run(scenario, ops_user, scenario_result([]))
    client.force_login(dispatcher)

    # 1 session, 2 user, 3 role groups, 4 the count of scenarios, 5 the page of scenarios with who made them, their
    # latest run and their count of runs.
    with django_assert_num_queries(5):
        response = client.get(LIST)

    assert len(_rows(response, "data-scenario")) == scenarios


# --- Making a scenario ---------------------------------------------------------------------------------------


def test_a_form_sent_twice_makes_one_scenario(client, dispatcher):
    client.force_login(dispatcher)
    form = {"name": "Double click", "horizon_days": "30", "description": "", "submission_key": "form-key-0001"}

    first = client.post(CREATE, form)
    second = client.post(CREATE, form)

    scenario = Scenario.objects.get()
    assert first["Location"] == second["Location"] == _scenario_url(scenario)


def test_a_scenario_is_made_from_the_form_and_opens_its_page(client, dispatcher):
    client.force_login(dispatcher)

    response = client.post(
        CREATE,
        {"name": "  Hall B cooling maintenance ", "horizon_days": "90", "description": "Chiller swap in week 51"},
        follow=True,
    )

    scenario = Scenario.objects.get()
    assert response.redirect_chain == [(_scenario_url(scenario), 302)]
    assert "Scenario Hall B cooling maintenance is made" in _messages(response)
    assert (scenario.name, scenario.horizon_days, scenario.created_by) == (
        "Hall B cooling maintenance",
        90,
        dispatcher,
    )
    assert "Chiller swap in week 51" in _section(response, "scenario-header")
    assert "No changes yet" in _section(response, "changes")
    assert "Add a change to run the scenario" in _section(response, "changes")
    assert 'data-action="run"' not in _text(response)


def test_a_scenario_without_a_name_is_refused_with_the_message_and_nothing_is_made(client, dispatcher):
    client.force_login(dispatcher)

    response = client.post(CREATE, {"name": "   ", "horizon_days": "90"})

    assert response.status_code == 400
    form = _section(response, "scenario-form")
    assert "Please correct the following" in form
    assert "Name the scenario." in form
    assert 'class="field field--invalid"' in form
    assert not Scenario.objects.exists()


@pytest.mark.parametrize("horizon", ["400", "0", "", "ninety"])
def test_a_horizon_beyond_a_year_or_not_a_number_is_refused(client, dispatcher, horizon):
    client.force_login(dispatcher)

    response = client.post(CREATE, {"name": "Next year", "horizon_days": horizon})

    assert response.status_code == 400
    form = _section(response, "scenario-form")
    assert "Give a horizon of 1 to 365 days." in form or "Enter a whole number." in form
    assert f'value="{horizon}"' in form or not horizon
    assert not Scenario.objects.exists()


# --- Changes ---------------------------------------------------------------------------------------------------


def test_a_change_is_added_through_its_form_and_read_in_words(client, dispatcher):
    pool = compute_pool(kind="training", capacity=400, name="gz-train-a")
    scenario = _scenario(dispatcher, changes=[])
    client.force_login(dispatcher)
    page = _text(client.get(_scenario_url(scenario)))

    response = client.post(
        f"{_scenario_url(scenario)}changes/",
        {"kind": "pool_capacity", "pool_capacity-pool": pool.pk, "pool_capacity-capacity": "600"},
        follow=True,
    )

    # One form per kind of change, each closed until used, each field labelled.
    assert page.count('<details class="staff-action" id="add-') == 8
    assert '<input type="datetime-local" name="pool_offline-start"' in page
    assert '<label for="id_pool_capacity-pool">Pool:</label>' in page
    assert f'<option value="{pool.pk}">gz-train-a</option>' in page
    scenario.refresh_from_db()
    assert scenario.changes == [{"kind": "pool_capacity", "pool": pool.pk, "capacity": 600.0}]
    assert "Change #1 added: gz-train-a at 600 PFLOPS from the start" in _messages(response)
    changes = _section(response, "changes")
    assert re.search(r'<li data-change="1" data-kind="pool_capacity">\s*<span>gz-train-a at 600', changes)
    assert 'data-action="remove-change"' in changes
    assert 'data-action="run"' in changes


@pytest.mark.parametrize(
    ("kind", "fields", "field", "message"),
    [
        ("pool_capacity", {"pool": "999999", "capacity": "600"}, "pool", "No such pool."),
        ("pool_capacity", {"pool": "<pool>", "capacity": "-5"}, "capacity", "Give more than 0 PFLOPS."),
        (
            "pool_offline",
            {"pool": "<pool>", "start": "<in 3 days>", "end": "<in 1 day>"},
            "end",
            "The end comes after the start.",
        ),
    ],
)
def test_a_wrong_change_comes_back_on_its_form_with_the_field_error_and_nothing_is_saved(
    client, dispatcher, kind, fields, field, message
):
    pool = compute_pool(kind="training", capacity=400)
    scenario = _scenario(dispatcher, pool=pool)
    before = list(scenario.changes)
    moments = {"<in 1 day>": _at(days=1)[:16], "<in 3 days>": _at(days=3)[:16], "<pool>": str(pool.pk)}
    data = {"kind": kind, **{f"{kind}-{name}": moments.get(value, value) for name, value in fields.items()}}
    client.force_login(dispatcher)

    response = client.post(f"{_scenario_url(scenario)}changes/", data)

    assert response.status_code == 400
    form = re.search(rf'<details class="staff-action" id="add-{kind}"[^>]*>.*?</details>', _text(response), re.S)
    assert " open>" in form.group(0)
    assert "Please correct the following" in form.group(0)
    assert f'<a href="#id_{kind}-{field}">' in form.group(0)
    assert message in form.group(0)
    scenario.refresh_from_db()
    assert scenario.changes == before


def test_an_unknown_kind_of_change_is_refused_with_a_message(client, dispatcher):
    scenario = _scenario(dispatcher)
    client.force_login(dispatcher)

    response = client.post(f"{_scenario_url(scenario)}changes/", {"kind": "weather"})

    assert response.status_code == 400
    assert "Choose the kind of change to add" in _messages(response)
    scenario.refresh_from_db()
    assert len(scenario.changes) == 1


def test_a_change_is_removed_and_the_next_moves_up(client, dispatcher):
    first, second = compute_pool(name="pool-a"), compute_pool(name="pool-b")
    scenario = _scenario(dispatcher, changes=[_offline(first), _offline(second)])
    client.force_login(dispatcher)

    response = client.post(f"{_scenario_url(scenario)}changes/remove/", {"number": "1"}, follow=True)
    wrong = client.post(f"{_scenario_url(scenario)}changes/remove/", {"number": "7"}, follow=True)

    scenario.refresh_from_db()
    assert [change["pool"] for change in scenario.changes] == [second.pk]
    assert "Change #1 removed" in _messages(response)
    assert re.search(r'<li data-change="1" data-kind="pool_offline">\s*<span>pool-b offline', _text(response))
    assert "The scenario has no change #7." in _messages(wrong)


# --- Archiving ---------------------------------------------------------------------------------------------------


def test_an_archived_scenario_keeps_its_runs_but_shows_no_editing_forms(client, dispatcher, ops_user):
    scenario = _scenario(dispatcher)
    run = _done_run(scenario, dispatcher, scenario_result(_orders(1, ops_user), slips=[5]))
    client.force_login(dispatcher)

    response = client.post(f"{_scenario_url(scenario)}archive/", follow=True)
    refused = client.post(
        f"{_scenario_url(scenario)}changes/",
        {"kind": "policy", "policy-parameter": "aging_bound", "policy-hours": "24"},
        follow=True,
    )

    assert "Scenario Hall B cooling maintenance is archived" in _messages(response)
    page = _text(response)
    assert 'data-status="archived"' in page
    assert 'data-action="add-change"' not in page
    assert 'data-action="remove-change"' not in page
    assert 'data-action="run"' not in page
    assert 'data-action="archive"' not in page
    assert f'href="{_run_url(run)}"' in _section(response, "runs")
    assert client.get(_run_url(run)).status_code == 200
    # Refused (409) as the action pages refuse a move the state does not allow: a message, nothing changed.
    assert refused.redirect_chain == [(f"{_scenario_url(scenario)}#changes", 302)]
    assert "is archived: it keeps its results and takes no changes" in _messages(refused)
    scenario.refresh_from_db()
    assert len(scenario.changes) == 1


def test_archiving_asks_for_confirmation_and_says_what_happens(client, dispatcher):
    scenario = _scenario(dispatcher)
    client.force_login(dispatcher)

    actions = _section(client.get(_scenario_url(scenario)), "changes")

    assert re.search(r'data-action="archive" data-confirm="Archive scenario [^"]+ It keeps its runs', actions)


# --- Running ----------------------------------------------------------------------------------------------------


def test_running_a_scenario_queues_its_task_after_commit_and_opens_the_run_with_its_progress(
    client, dispatcher, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(tasks.run_scenario, "delay", lambda run_id: sent.append(run_id))
    scenario = _scenario(dispatcher)
    client.force_login(dispatcher)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(f"{_scenario_url(scenario)}run/", follow=True)

    run = ScenarioRun.objects.get()
    assert len(callbacks) == 1
    assert sent == [run.pk]
    assert response.redirect_chain == [(_run_url(run), 302)]
    assert "The run of Hall B cooling maintenance is queued" in _messages(response)
    progress = _section(response, "run-header")
    assert 'role="progressbar"' in progress
    assert 'aria-valuenow="0"' in progress
    assert f'data-progress-url="{_run_url(run)}progress/"' in progress
    assert f'<noscript><p>This page does not update itself without JavaScript. <a href="{_run_url(run)}">' in progress
    assert "dispatch/js/scenario_progress.js" in _text(response)
    assert 'data-testid="orders"' not in _text(response)
    assert (run.changes, run.horizon_days, run.state) == (scenario.changes, 90, RunState.QUEUED)


def test_a_second_run_while_one_is_going_is_refused_with_the_message(client, dispatcher):
    scenario = _scenario(dispatcher)
    other = _scenario(dispatcher, name="A bigger training pool", pool=compute_pool())
    services.scenario_run_start(scenario=scenario, actor=dispatcher)
    client.force_login(dispatcher)

    response = client.post(f"{_scenario_url(other)}run/", follow=True)

    assert response.redirect_chain == [(_scenario_url(other), 302)]
    assert (
        "Your run of Hall B cooling maintenance is still going: one run at a time. Wait for it to finish."
        in _messages(response)
    )
    assert ScenarioRun.objects.count() == 1


def test_a_going_run_shows_its_progress_on_its_scenario_and_answers_it_as_json(client, dispatcher):
    scenario = _scenario(dispatcher)
    run = services.scenario_run_start(scenario=scenario, actor=dispatcher)
    advance_run(run, 0.4)
    client.force_login(dispatcher)

    page = client.get(_scenario_url(scenario))
    progress = client.get(f"{_run_url(run)}progress/")

    header = _section(page, "scenario-header")
    assert 'aria-valuenow="40"' in header
    assert 'style="width: 40%"' in header
    assert ">Running<" in header
    assert progress.json() == {
        "state": "running",
        "state_label": "Running",
        "tone": "green",
        "progress": 0.4,
        "url": _run_url(run),
    }
    finish_run(run, scenario_result([]))
    assert client.get(f"{_run_url(run)}progress/").json()["state"] == "done"
    assert 'role="progressbar"' not in _text(client.get(_scenario_url(scenario)))


# --- A run's result -----------------------------------------------------------------------------------------------


def test_a_done_run_shows_its_tiles_figures_waits_and_every_order(client, dispatcher, ops_user):
    pool = compute_pool(kind="training", capacity=400, name="gz-train-a")
    scenario = _scenario(dispatcher, pool=pool)
    orders = _orders(4, ops_user)
    result = scenario_result(orders, slips=[30, -5, 2, 0], broken=[0], new_orders=1)
    run = _done_run(scenario, dispatcher, result)
    client.force_login(ops_user)

    response = client.get(_run_url(run))

    tiles = _section(response, "kpis")

    def tile(name):
        return re.search(rf'data-tile="{name}">\s*<span class="kpi__value" data-tile-value>([^<]+)<', tiles).group(1)

    # Baseline: the 4 orders in flight on time; with the changes order 0 is late, and so is none of the others.
    assert tile("on_time") == "100% → 80%"
    assert "0 late without the changes, 1 with them" in tiles
    assert (tile("broken"), tile("slipped"), tile("gained")) == ("1", "2", "1")
    assert 'class="kpi kpi--red" href="#orders" data-kpi="broken"' in tiles
    # Every order: broken promises first, then by slip; the new order last, with no ETA to compare.
    table = _section(response, "orders")
    assert _rows(response, "data-order-row") == [
        orders[0].reference,
        orders[2].reference,
        orders[3].reference,
        orders[1].reference,
        orders[0].client.name,
    ]
    assert _rows(response, "data-slip") == ["broken", "later", "same", "earlier", "unknown"]
    assert f'<a class="dispatch-ref" href="/orders/{orders[0].pk}/">{orders[0].reference}</a>' in table
    assert re.findall(r'data-testid="slip">([^<]+)<', table) == ["+1 d 6 h", "+2 h", "no change", "\u22125 h", "—"]
    assert table.count('<span class="badge badge--red" data-broken>Promise breaks</span>') == 1
    assert "Order that may come" in table
    # The mean wait per priority, both ways.
    waits = _section(response, "queue-waits")
    assert _rows(response, "data-priority") == ["urgent", "high", "normal", "low"]
    assert re.search(r"Low</span></th>\s*<td class=\"num\">9 h 30 min</td>\s*<td class=\"num\">1 d 2 h</td>", waits)
    # The changes it ran with, and the figures.
    assert "gz-train-a offline from" in _section(response, "run-changes")
    figures = response.context["figures"]
    for figure in figures.values():
        factory_charts.validate(figure)
    slip = figures["slip"]
    assert [trace["name"] for trace in slip["data"]] == ["Promise breaks", "Later", "Earlier", "Unchanged"]
    assert slip["data"][0]["marker"]["color"] == factory_charts.TONE_COLOURS["red"]
    assert slip["data"][0]["customdata"][0][2] == "Promise breaks"
    assert slip["layout"]["xaxis"]["categoryarray"] == [orders[index].reference for index in (0, 2, 3, 1)]
    utilization = figures["utilization"]
    assert [trace["line"]["dash"] for trace in utilization["data"]] == ["dash", "solid"] * 3
    training = [trace for trace in utilization["data"] if trace["legendgroup"] == "training"]
    assert training[0]["line"]["color"] == training[1]["line"]["color"]
    assert training[1]["y"][-1] is None  # the training pool offline: no capacity, so no share
    assert "4 orders compared: 1 promises break, 1 later, 1 earlier" in _text(response)


def test_a_run_without_orders_says_so_instead_of_empty_figures(client, dispatcher):
    run = _done_run(_scenario(dispatcher), dispatcher, scenario_result([], notes=["no_expected_demand"]))
    client.force_login(dispatcher)

    response = client.get(_run_url(run))

    assert "No order in flight" in _section(response, "orders")
    assert response.context["figures"]["slip"] is None
    assert "No order has an ETA both without and with the changes" in _section(response, "chart-slip")
    assert "no expected demand for the change of the arrival rate" in _section(response, "run-header")


def test_a_failed_run_shows_its_error_in_words(client, dispatcher):
    run = services.scenario_run_start(scenario=_scenario(dispatcher), actor=dispatcher)
    fail_run(run, "The worker running it stopped.")
    client.force_login(dispatcher)

    response = client.get(_run_url(run))

    error = _section(response, "run-header")
    assert ">Failed<" in error
    assert "The run failed; nothing was simulated to the end." in error
    assert "The worker running it stopped." in error
    assert 'role="progressbar"' not in error


def test_the_scenario_lists_its_runs_with_their_counts(client, dispatcher, ops_user):
    scenario = _scenario(dispatcher)
    done = _done_run(scenario, dispatcher, scenario_result(_orders(3, ops_user), slips=[30, 4, -3], broken=[0]))
    going = services.scenario_run_start(scenario=scenario, actor=dispatcher)
    client.force_login(dispatcher)

    response = client.get(_scenario_url(scenario))

    assert _rows(response, "data-run") == [str(going.pk), str(done.pk)]
    runs = _section(response, "runs").split("<tr ")
    assert re.findall(r'<td class="num">([^<]+)</td>', runs[-1]) == ["2", "1"]
    assert '<span class="badge badge--red">1</span>' in runs[-1]
    assert ">Queued<" in runs[-2]
    assert runs[-2].count("—") == 3


@pytest.mark.parametrize("orders", [2, 6])
def test_the_result_page_takes_a_fixed_number_of_queries(
    client, dispatcher, ops_user, django_assert_num_queries, orders
):
    scenario = _scenario(dispatcher)
    run = _done_run(scenario, dispatcher, scenario_result(_orders(orders, ops_user), slips=[3.0] * orders))
    _done_run(scenario, dispatcher, scenario_result([]))
    client.force_login(dispatcher)

    # 1 session, 2 user, 3 role groups, 4 the run with its scenario and who started it, 5-7 the names of the pools,
    # sites and clients its changes name, 8 the other finished runs to compare it with, 9 the maintenance windows and
    # 10 the scheduled pool changes its pool changes were made into (none yet).
    with django_assert_num_queries(10):
        response = client.get(_run_url(run))

    assert len(_rows(response, "data-order-row")) == orders


@pytest.mark.parametrize("runs", [2, 6])
def test_a_scenario_page_takes_a_fixed_number_of_queries(client, dispatcher, ops_user, django_assert_num_queries, runs):
    scenario = _scenario(dispatcher)
    for _number in range(runs):
        _done_run(scenario, dispatcher, scenario_result(_orders(1, ops_user), slips=[2.0]))
    client.force_login(dispatcher)

    # 1 session, 2 user, 3 role groups, 4 the scenario with who made it, 5-7 the names of the pools, sites and clients
    # its changes and forms name, 8 its runs with who started them and their results' counts.
    with django_assert_num_queries(8):
        response = client.get(_scenario_url(scenario))

    assert len(_rows(response, "data-run")) == runs


# --- Two runs compared ------------------------------------------------------------------------------------------------


def test_two_finished_runs_are_compared_against_the_baseline(client, dispatcher, ops_user):
    orders = _orders(3, ops_user)
    offline = _scenario(dispatcher)
    bigger = _scenario(dispatcher, name="A bigger training pool", pool=compute_pool(name="pool-b"))
    first = _done_run(offline, dispatcher, scenario_result(orders, slips=[30, 2, 0], broken=[0]))
    second = _done_run(bigger, dispatcher, scenario_result(orders, slips=[-4, -2, 0]))
    client.force_login(dispatcher)

    response = client.get(f"{COMPARE}?runs={first.pk}&runs={second.pk}")

    assert response.status_code == 200
    figures = response.context["figures"]
    for figure in figures.values():
        factory_charts.validate(figure)
    slip = figures["slip"]
    names = [f"Hall B cooling maintenance, run {first.pk}", f"A bigger training pool, run {second.pk}"]
    assert [trace["name"] for trace in slip["data"]] == names
    assert slip["layout"]["barmode"] == "group"
    assert slip["data"][0]["y"] == [30, 2, 0]
    assert slip["data"][1]["y"] == [-4, -2, 0]
    assert slip["data"][0]["marker"]["line"]["color"][0] == factory_charts.TONE_COLOURS["red"]
    assert slip["data"][0]["customdata"][0][2] == "Promise breaks"
    assert [trace["line"]["dash"] for trace in figures["utilization"]["data"][:3]] == ["dash", "solid", "dot"]
    table = _section(response, "compare-figures")
    assert re.search(r"Promises broken</th>\s*<td class=\"num\">—</td>\s*<td class=\"num\">1</td>", table)
    compared = re.findall(r'<li data-change="1" data-kind="pool_offline">\s*<span>([^<]+)</span>', _text(response))
    assert [words.split(" offline")[0] for words in compared] == ["gz-train-a", "pool-b"]
    assert 'data-testid="different-start"' not in _text(response)


def test_runs_that_started_days_apart_are_compared_with_a_warning(client, dispatcher):
    scenario = _scenario(dispatcher)
    first = _done_run(scenario, dispatcher, scenario_result([], now=clock.now() - timedelta(days=2, hours=3)))
    second = _done_run(scenario, dispatcher, scenario_result([]))
    client.force_login(dispatcher)

    response = client.get(f"{COMPARE}?runs={first.pk}&runs={second.pk}")

    assert "The two runs started 2 d 3 h apart" in _text(response)


def test_a_run_page_offers_the_other_finished_runs_to_compare_with(client, dispatcher, ops_user):
    scenario = _scenario(dispatcher)
    run = _done_run(scenario, dispatcher, scenario_result([]))
    other = _done_run(scenario, dispatcher, scenario_result([]))
    services.scenario_run_start(scenario=scenario, actor=ops_user)  # not finished: not offered
    client.force_login(dispatcher)

    form = _section(client.get(_run_url(run)), "compare-with")

    assert f'action="{COMPARE}"' in form
    assert f'<input type="hidden" name="runs" value="{run.pk}">' in form
    assert re.findall(r'<option value="(\d+)"', form) == [str(other.pk)]


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("", 200, "Choose two finished runs"),
        ("?runs=<first>", 400, "Choose two different finished runs to compare."),
        ("?runs=<first>&runs=<first>", 400, "Choose two different finished runs to compare."),
        ("?runs=abc&runs=<first>", 400, "Choose two different finished runs to compare."),
        ("?runs=<first>&runs=<second>&runs=<first>", 400, "Choose two different finished runs to compare."),
        ("?runs=<first>&runs=99999999", 404, ""),
        ("?runs=<first>&runs=<going>", 400, "is queued: only finished runs can be compared."),
    ],
)
def test_a_comparison_without_two_finished_runs_says_what_is_missing(
    client, dispatcher, ops_user, query, status, words
):
    scenario = _scenario(dispatcher)
    first = _done_run(scenario, dispatcher, scenario_result([]))
    second = _done_run(scenario, dispatcher, scenario_result([]))
    going = services.scenario_run_start(scenario=scenario, actor=ops_user)
    for name, run in (("<first>", first), ("<second>", second), ("<going>", going)):
        query = query.replace(name, str(run.pk))
    client.force_login(dispatcher)

    response = client.get(f"{COMPARE}{query}")

    assert response.status_code == status
    assert words in _text(response)
    if status != 404:
        assert re.findall(r'<select id="compare-first" name="runs">', _text(response))
        assert "compared-runs" not in _text(response)


def test_another_persons_run_does_not_stop_mine(client, dispatcher, ops_user):
    other = UserFactory(username="dispatch-other", roles=["dispatch"])
    scenario = _scenario(dispatcher)
    services.scenario_run_start(scenario=scenario, actor=other)
    client.force_login(dispatcher)

    response = client.post(f"{_scenario_url(scenario)}run/", follow=True)

    assert response.redirect_chain[0][1] == 302
    assert ScenarioRun.objects.filter(started_by=dispatcher, state=RunState.QUEUED).count() == 1


def test_a_change_reads_its_figures_as_the_readers_language_writes_them():
    change = {"kind": "pool_capacity", "pool": 1, "capacity": 1250.5}
    with translation.override("en"):
        words = scenario_changes.describe(change, pools={1: "gz-train-a"}, sites={}, clients={})

    assert words == "gz-train-a at 1,250.50 PFLOPS from the start"


# --- The admin ------------------------------------------------------------------------------------------------


def test_the_admin_shows_scenarios_and_their_runs_and_never_deletes_them(client, admin_user, dispatcher, ops_user):
    scenario = _scenario(dispatcher)
    run = _done_run(scenario, dispatcher, scenario_result(_orders(1, ops_user), slips=[2.0]))
    client.force_login(admin_user)

    listed = client.get("/admin/dispatch/scenario/")
    opened = client.get(f"/admin/dispatch/scenario/{scenario.pk}/change/")
    deleted = client.post(f"/admin/dispatch/scenario/{scenario.pk}/delete/", {"post": "yes"})
    run_page = client.get(f"/admin/dispatch/scenariorun/{run.pk}/change/")

    assert scenario.name in listed.content.decode()
    assert opened.status_code == run_page.status_code == 200
    assert deleted.status_code == 403
    assert Scenario.objects.filter(pk=scenario.pk).exists()

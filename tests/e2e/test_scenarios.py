"""What-if scenarios in a browser: a dispatcher makes a scenario, adds a change through its form, runs it and watches
the progress bar follow the run to its result, whose figures are drawn, and books its pool offline as a real maintenance
window; then compares two runs. The run's task is not sent (no worker here): the test moves the run forward itself, as
the worker would. The result and compare pages pass axe and fit a phone."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch import services, tasks
from dispatch.models import ScenarioRun
from factory import clock
from orders.models import OrderStatus
from tests.dispatch.scenario_results import advance_run, finish_run, scenario_result
from tests.e2e.conftest import sign_in
from tests.e2e.test_accessibility import _blocking
from tests.e2e.test_layout import OVERFLOW
from tests.factories import PASSWORD, UserFactory, compute_pool, order_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _drawn(page, key: str) -> int:
    """Waits for the chart's plotly SVG; the number of traces it drew."""
    page.locator(f'[data-chart="{key}"] .main-svg').first.wait_for()
    return page.locator(f'[data-chart="{key}"] .trace').count()


def _fits_a_phone_and_passes_axe(page, path: str) -> None:
    assert _blocking(page, path) == []
    page.set_viewport_size({"width": 390, "height": 800})
    seen = page.evaluate(OVERFLOW)
    assert seen["page"] <= seen["window"], f"{path} is {seen['page']} px wide on a phone"
    page.set_viewport_size({"width": 1440, "height": 900})


def test_a_scenario_is_made_run_followed_to_its_result_and_compared(page, screenshot, monkeypatch, ops_user):
    monkeypatch.setattr(tasks.run_scenario, "delay", lambda run_id: None)  # stays queued: this test is the worker
    dispatcher = UserFactory(username="dispatch-e2e", roles=["dispatch"])
    compute_pool(kind="training", capacity=400, name="gz-train-a")
    orders = [order_at(OrderStatus.IN_PRODUCTION, staff=ops_user) for _ in range(3)]
    sign_in(page, "dispatch-e2e", PASSWORD)

    # Made from the list's form, with the default horizon.
    page.goto("/dispatch/scenarios/")
    page.get_by_text("No scenarios yet").wait_for()
    assert page.get_by_label("Horizon (days)").input_value() == "90"
    page.get_by_label("Name").fill("Hall B cooling maintenance")
    page.get_by_role("button", name="Make the scenario").click()
    page.get_by_text("No changes yet").wait_for()

    # A pool offline for two days, through its form.
    offline = page.locator("#add-pool_offline")
    offline.locator("summary").click()
    start = timezone.localtime(clock.now() + timedelta(days=1))
    offline.get_by_label("Pool").select_option(label="gz-train-a")
    offline.get_by_label("From").fill(start.strftime("%Y-%m-%dT%H:%M"))
    offline.get_by_label("Until").fill((start + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"))
    offline.get_by_role("button", name="Add the change").click()
    page.get_by_text("Change #1 added: gz-train-a offline from").wait_for()
    screenshot("scenario-page")
    _fits_a_phone_and_passes_axe(page, page.url)

    # Run: the run's page shows its progress bar, which follows the run.
    page.get_by_role("button", name="Run the scenario").click()
    bar = page.get_by_role("progressbar", name="Progress of the run")
    bar.wait_for()
    assert bar.get_attribute("aria-valuenow") == "0"
    run = ScenarioRun.objects.get()
    advance_run(run, 0.6)
    page.locator('[role="progressbar"][aria-valuenow="60"]').wait_for(timeout=5000)
    assert page.locator("[data-run-state]").first.inner_text() == "Running"
    screenshot("scenario-run-progress")

    # Done: the page opens the result by itself, figures drawn.
    finish_run(run, scenario_result(orders, slips=[30, 3, -4], broken=[0]))
    page.locator('[data-testid="kpis"]').wait_for(timeout=5000)
    assert _drawn(page, "slip") >= 3
    assert _drawn(page, "utilization") == 6
    assert page.locator('[data-tile="broken"] [data-tile-value]').inner_text() == "1"
    assert page.locator("[data-broken]").count() == 1
    screenshot("scenario-result")
    _fits_a_phone_and_passes_axe(page, page.url)

    # Decided: the pool offline becomes a real maintenance window, with one action and a reason.
    page.get_by_label("Why").fill("Cooling loop service agreed with the center")
    page.get_by_role("button", name="Make the pool changes real").click()
    page.get_by_text("1 pool change made real").wait_for()
    assert page.locator('[data-testid="run-promote"] [data-window]').inner_text().startswith("gz-train-a")

    # Another scenario's finished run, compared with this one from the run's page.
    other = services.scenario_create(
        actor=dispatcher,
        name="A bigger training pool",
        horizon_days=90,
        changes=[{"kind": "pool_capacity", "pool": run.changes[0]["pool"], "capacity": 800}],
    )
    second = services.scenario_run_start(scenario=other, actor=dispatcher)
    finish_run(second, scenario_result(orders, slips=[-6, -2, 0]))
    page.reload()
    page.get_by_label("Another finished run").select_option(str(second.pk))
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url("**/dispatch/scenarios/compare/?runs=*")
    assert _drawn(page, "slip") == 2
    assert _drawn(page, "utilization") == 9
    screenshot("scenario-compare")
    _fits_a_phone_and_passes_axe(page, page.url)
    page.goto("/dispatch/scenarios/")
    screenshot("scenario-list")
    _fits_a_phone_and_passes_axe(page, page.url)
    page.watch.assert_clean()

"""A scenario's pool changes made real in a browser: a dispatcher opens a finished run, makes its capacity change and
its draining window real with a reason, follows the link to the pool and finds the change scheduled there, then
cancels it. The pool page with its scheduled changes passes axe."""

from datetime import timedelta

import pytest

from dispatch import services
from dispatch.models import ScheduledPoolChange
from factory import clock
from tests.dispatch.scenario_results import finish_run, scenario_result
from tests.e2e.conftest import sign_in
from tests.e2e.test_accessibility import _blocking
from tests.factories import PASSWORD, UserFactory, compute_pool

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _at(days: int) -> str:
    return (clock.now() + timedelta(days=days)).isoformat()


def test_a_dispatcher_makes_a_runs_pool_changes_real_and_finds_them_on_the_pool(page, screenshot):
    dispatcher = UserFactory(username="dispatch-e2e", roles=["dispatch"])
    pool = compute_pool(kind="training", capacity=400, name="gz-train-a")
    changes = [
        {"kind": "pool_capacity", "pool": pool.pk, "capacity": 520, "start": _at(10)},
        {"kind": "pool_draining", "pool": pool.pk, "start": _at(3), "end": _at(4)},
    ]
    scenario = services.scenario_create(actor=dispatcher, name="Hall B racks", horizon_days=30, changes=changes)
    run = finish_run(services.scenario_run_start(scenario=scenario, actor=dispatcher), scenario_result())
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, "dispatch-e2e", PASSWORD)

    page.goto(f"/dispatch/scenarios/runs/{run.pk}/")
    promote = page.get_by_test_id("run-promote")
    promote.get_by_label("Why").fill("Racks accepted by the center")
    promote.get_by_role("button", name="Make the pool changes real").click()

    page.get_by_text("2 pool changes made real").wait_for()
    change = ScheduledPoolChange.objects.get()
    assert "a maintenance window, draining" in promote.inner_text()
    promote.locator(f'[data-pool-change="{change.pk}"] a').click()

    scheduled = page.get_by_test_id("pool-scheduled")
    row = scheduled.locator(f'tr[data-pool-change="{change.pk}"]')
    row.wait_for()
    assert "520 PFLOPS" in row.inner_text()
    assert "Racks accepted by the center" in row.inner_text()
    assert "Draining" in page.get_by_test_id("bookings-ahead").inner_text()
    screenshot("pool-scheduled-change")
    assert _blocking(page, page.url) == []

    row.get_by_text("Cancel…").click()
    row.get_by_label("Why cancel it").fill("Racks delayed")
    row.get_by_role("button", name="Cancel the change").click()

    page.get_by_text(f"Scheduled change #{change.pk} cancelled.").wait_for()
    scheduled.get_by_text("No change scheduled").wait_for()
    change.refresh_from_db()
    assert change.cancel_reason == "Racks delayed"
    page.watch.assert_clean()

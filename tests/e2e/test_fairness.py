"""The fairness page in a browser: a dispatcher follows the link from the dispatch center to `/dispatch/fairness/`,
where each client's entitlement and share per pool kind are in the table and the figure of compute per month
against the budget is drawn (plotly SVG with traces); no console error, no failed or external request. A screenshot
is saved to test-artifacts/fairness.png (not committed)."""

from decimal import Decimal

import pytest

from dispatch import services as dispatch_services
from tests.e2e.conftest import sign_in
from tests.e2e.test_dashboards import _charts_drawn
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_dispatcher_opens_the_fairness_page_and_sees_the_table_and_the_figure(
    page, screenshot, factory_floor, dispatcher, org_a
):
    dispatch_services.client_entitlement_set(client=org_a, kind="training", weight=Decimal(2))
    dispatch_services.client_budget_set(client=org_a, monthly_pflops_hours=Decimal(50_000), enforce=False)
    sign_in(page, "dispatch-user", PASSWORD)
    page.goto("/dispatch/")

    page.get_by_test_id("fairness-link").click()

    page.wait_for_url("**/dispatch/fairness/")
    _charts_drawn(page, ("fairness-months",))
    training = page.locator(f'tr[data-client="{org_a.name}"][data-kind="training"]')
    assert "weight 2" in training.inner_text()
    assert page.get_by_role("link", name="Fairness").first.is_visible()
    assert "halved every 7 d" in page.get_by_test_id("fairness").inner_text()
    screenshot("fairness")
    page.watch.assert_clean()

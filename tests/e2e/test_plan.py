"""The plan page in a browser: operations follow the tile from the operations center to `/plan/`, where the
delivered-against-target and satisfaction figures are drawn (plotly SVG with traces) and the bottleneck is named; no
console error, no failed or external request. A screenshot is saved to test-artifacts/plan.png (not committed)."""

import pytest

from orders import services as order_services
from tests.e2e.conftest import sign_in
from tests.e2e.test_dashboards import _charts_drawn
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operations_open_the_plan_from_its_tile_and_see_the_figures_and_the_bottleneck(
    page, screenshot, factory_floor, client_a, move_clock
):
    order_services.order_rate(order=factory_floor["delivered"], actor=client_a, score=4)
    move_clock(hours=3)  # the gate waiting for review has waited three hours
    sign_in(page, "ops-user", PASSWORD)
    page.goto("/")

    page.locator('[data-tile="plan"]').click()

    page.wait_for_url("**/plan/")
    _charts_drawn(page, ("delivered", "satisfaction"))
    assert page.get_by_test_id("last-365-days").inner_text() == "1 of 800"
    bottleneck = page.get_by_test_id("bottleneck").inner_text()
    assert bottleneck.startswith("Bottleneck: Work waits longest at the gate of the Data workshop: orders waited 3 h")
    screenshot("plan")
    page.watch.assert_clean()

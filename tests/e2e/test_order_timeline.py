"""A long order page in a browser: the timeline's finished steps fold into a line per workshop that a click opens,
and the filter links keep the milestones only. The page heights go to test-artifacts/order-timeline.txt."""

import pytest

from orders.models import OrderStatus
from tests.e2e.conftest import ARTIFACTS, sign_in
from tests.factories import PASSWORD, order_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _height(page, selector="body") -> float:
    return page.locator(selector).bounding_box()["height"]


def test_a_delivered_orders_timeline_is_a_few_lines_that_open(page, screenshot, ops_user, org_a):
    order = order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a, product_type="model")
    sign_in(page, "ops-user", PASSWORD)
    page.goto(f"/orders/{order.pk}/")
    timeline = page.get_by_test_id("timeline")
    folds = timeline.locator("summary")
    fold_count = folds.count()
    rows = timeline.locator("tbody > tr").count()
    folded, page_folded = _height(page, '[data-testid="timeline"]'), _height(page)
    screenshot("order-timeline-folded")

    folds.first.click()
    assert timeline.locator("li[data-kind=step_finished]").first.is_visible()
    for index in range(1, fold_count):
        folds.nth(index).click()
    unfolded, page_unfolded = _height(page, '[data-testid="timeline"]'), _height(page)

    timeline.get_by_role("link", name="Milestones").click()
    page.wait_for_url("**timeline=milestones**")
    assert timeline.locator("summary").count() == 0
    assert timeline.get_by_text("Delivered", exact=True).is_visible()
    milestones = _height(page, '[data-testid="timeline"]')
    page.watch.assert_clean()

    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "order-timeline.txt").write_text(
        f"delivered order, {order.events.count()} events in {rows} rows, {fold_count} folds\n"
        f"timeline folded {folded:.0f} px, unfolded {unfolded:.0f} px, milestones {milestones:.0f} px\n"
        f"page folded {page_folded:.0f} px, unfolded {page_unfolded:.0f} px\n"
    )
    assert fold_count == order.stages.count()  # one line of finished steps per workshop
    assert rows < order.events.count() / 2
    assert folded < unfolded

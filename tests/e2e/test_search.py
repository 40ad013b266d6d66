"""The header search in a browser: operations type a fragment of a Chinese title into the box at the top of any page
and find the order, open it, then open its client's page. Both pages pass axe."""

import pytest

from tests.e2e.conftest import sign_in
from tests.e2e.test_accessibility import _blocking
from tests.factories import PASSWORD, UserFactory, place_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_chinese_title_fragment_typed_in_the_header_finds_the_order(page, screenshot, org_a):
    ops = UserFactory(username="ops-e2e", roles=["operations"])
    order = place_order(client=org_a, actor=ops, title="胸部影像辅助诊断模型")
    place_order(client=org_a, actor=ops, title="Loan risk model")
    sign_in(page, "ops-e2e", PASSWORD)

    page.goto("/orders/")
    box = page.get_by_role("searchbox", name="Search orders, clients, tickets and jobs")
    box.fill("影像辅助")
    box.press("Enter")

    found = page.get_by_test_id("found-orders")
    found.wait_for()
    assert found.locator("tr").count() == 1
    assert "胸部影像辅助诊断模型" in found.inner_text()
    assert page.get_by_role("searchbox", name="Search orders, clients, tickets and jobs").input_value() == "影像辅助"
    screenshot("search-chinese-fragment")
    assert _blocking(page, page.url) == []

    found.get_by_role("link", name=order.reference).click()
    page.wait_for_url(f"**/orders/{order.pk}/")

    # From the order, its client's page: the order among its latest, with the client's numbers above.
    page.get_by_test_id("order-header").get_by_role("link", name=org_a.name).click()
    page.wait_for_url(f"**/clients/{org_a.pk}/")
    assert page.locator(f'[data-testid="client-orders"] tr[data-order="{order.pk}"]').count() == 1
    assert page.locator('[data-tile="in_flight"] [data-tile-value]').inner_text() == "0"
    screenshot("client-page")
    assert _blocking(page, page.url) == []
    page.watch.assert_clean()

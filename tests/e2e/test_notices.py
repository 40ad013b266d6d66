"""Notices in a browser: the header's unread count updates while the page is open, and a client whose order's
delivery slips after a pool goes offline reads it in the inbox. The inbox passes axe."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from dispatch import forecast
from dispatch import services as dispatch_services
from factory import clock
from notifications.models import Notice
from orders import services as order_services
from orders.models import Order, OrderStatus
from tests.e2e.conftest import sign_in
from tests.e2e.test_accessibility import _blocking
from tests.factories import PASSWORD, client_user, compute_pool, order_at, place_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _quick_count(settings):
    settings.NOTICE_POLL_SECONDS = 1


def test_the_unread_count_updates_live_and_opening_a_notice_reads_it(page, screenshot, ops_user, org_a):
    client_user(organization=org_a, username="client-e2e")
    order = place_order(client=org_a, actor=ops_user, title="胸部影像辅助诊断模型")
    sign_in(page, "client-e2e", PASSWORD)
    page.goto("/portal/")
    count = page.locator("[data-unread-count]")
    expect(count).to_be_hidden()

    order_services.order_accept(order=order, actor=ops_user)  # meanwhile, operations accept the order

    expect(count).to_have_text("1", timeout=15_000)
    expect(page.get_by_role("link", name="Notices: 1 unread")).to_be_visible()
    page.get_by_role("link", name="Notices: 1 unread").click()
    page.wait_for_url("**/notifications/")
    notices = page.get_by_test_id("notices")
    assert f"Order {order.reference} accepted" in notices.inner_text()
    screenshot("inbox")
    assert _blocking(page, page.url) == []

    notices.get_by_role("button", name=f"Order {order.reference} accepted").click()
    page.wait_for_url(f"**/portal/orders/{order.pk}/")
    expect(count).to_be_hidden()
    page.watch.assert_clean()


def test_a_client_reads_of_a_slipped_delivery_after_a_pool_goes_offline(page, ops_user, dispatcher, org_a):
    client = client_user(organization=org_a, username="client-e2e")
    pools = {kind: compute_pool(kind=kind, capacity=1000) for kind in ("data_processing", "training", "inference")}
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, actor=client, product_type="model")
    dispatch_services.dispatch_tick(now=clock.now())
    forecast.forecast_etas()
    # The client was told the ETA the factory forecasts now; only a later slip is news.
    Order.objects.filter(pk=order.pk).update(eta_told=Order.objects.get(pk=order.pk).eta)
    Notice.objects.all().delete()
    sign_in(page, "client-e2e", PASSWORD)
    page.goto(f"/portal/orders/{order.pk}/")

    # The data pool goes offline for maintenance and comes back in four days.
    dispatch_services.pool_change_state(
        pool=pools["data_processing"], action="offline", actor=dispatcher, reason="Cooling loop repair"
    )
    dispatch_services.pool_change_schedule(
        actor=dispatcher,
        pool=pools["data_processing"],
        at=clock.now() + timedelta(days=4),
        state="active",
        reason="Cooling loop repaired",
    )
    forecast.forecast_etas()

    count = page.locator("[data-unread-count]")
    expect(count).to_have_text("1", timeout=15_000)
    page.get_by_role("link", name="Notices: 1 unread").click()
    slipped = page.locator('[data-notice="eta_slipped"]')
    expect(slipped).to_have_count(1)
    assert f"Order {order.reference}: delivery now expected on" in slipped.inner_text()
    assert "hours later than we last told you" in slipped.inner_text()
    page.watch.assert_clean()

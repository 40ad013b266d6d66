"""The control room in a browser, role by role: every main page draws its charts from real data (plotly SVG with
traces), with no console error and no failed or external request, in English and in Chinese; screenshots of each
page are saved to test-artifacts/ (not committed)."""

import pytest

from orders.models import OrderStatus
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, UserFactory, order_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _charts_drawn(page, keys):
    """Each chart's plotly SVG is in the page with at least one trace drawn."""
    for key in keys:
        page.locator(f'[data-chart="{key}"] .main-svg').first.wait_for()
        traces = page.locator(f'[data-chart="{key}"] .trace').count()
        assert traces > 0, f"chart {key} has no trace"


def _visit(page, screenshot, path, name, charts=()):
    page.goto(path)
    _charts_drawn(page, charts)
    screenshot(name)
    page.watch.assert_clean()


def test_operations_sees_the_operations_center_and_an_order(page, screenshot, factory_floor):
    sign_in(page, "ops-user", PASSWORD)
    _visit(page, screenshot, "/", "operations-center", charts=("gantt", "throughput"))
    assert page.locator('[data-tile="on_floor"] [data-tile-value]').inner_text() == "3"
    _visit(page, screenshot, f"/orders/{factory_floor['running'].pk}/", "order-page", charts=("steps", "compute"))
    _visit(page, screenshot, "/orders/", "order-list")


def test_the_operations_center_stays_live(page, factory_floor, ops_user, org_a, client_a):
    sign_in(page, "ops-user", PASSWORD)
    page.goto("/")
    _charts_drawn(page, ("gantt",))
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, actor=client_a)

    # The tile changes without a reload (the live endpoint refreshes every few seconds).
    page.locator('[data-tile="on_floor"] [data-tile-value]').filter(has_text="4").wait_for(timeout=15000)
    page.watch.assert_clean()


def test_a_dashboard_whose_session_ended_goes_to_the_sign_in_page(page, factory_floor):
    sign_in(page, "ops-user", PASSWORD)
    page.goto("/")
    _charts_drawn(page, ("gantt",))

    page.context.clear_cookies()  # the session ends (signed out elsewhere, or expired)

    # The next refresh is refused (401) and the page reloads to the sign-in page, not showing stale figures.
    page.wait_for_url("**/accounts/login/?next=/", timeout=15000)


def test_dispatch_sees_the_dispatch_center(page, screenshot, factory_floor):
    UserFactory(username="dispatch-e2e", roles=["dispatch"])
    sign_in(page, "dispatch-e2e", PASSWORD)
    _visit(
        page,
        screenshot,
        "/dispatch/",
        "dispatch-center",
        charts=("utilization", "pool-load", "queue-depth", "queue-wait", "cost"),
    )

    # From the pools table to a pool's own page, its drain form open, and the drain confirmed there.
    page.locator('[data-pool-action="drain"]').first.click()
    _charts_drawn(page, ("utilization",))
    page.get_by_label("Reason (kept in the pool's history)").first.fill("Cooling maintenance")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator('[data-action="drain"]').click()
    page.get_by_text("is now draining").wait_for()
    assert "Cooling maintenance" in page.locator('[data-testid="pool-history"]').inner_text()
    screenshot("dispatch-pool")
    page.watch.assert_clean()


def test_security_sees_the_review_queue(page, screenshot, factory_floor, reviewer):
    sign_in(page, "security-user", PASSWORD)
    _visit(page, screenshot, "/security/reviews/", "security-reviews")
    assert page.locator("table").first.is_visible()


def test_aftersales_sees_the_ticket_queue(page, screenshot, factory_floor, aftersales_user):
    sign_in(page, "aftersales-user", PASSWORD)
    _visit(page, screenshot, "/aftersales/tickets/", "aftersales-tickets")
    assert "Resolution in" in page.locator("table").first.inner_text() or "First response" in page.content()


def test_client_sees_progress_and_eta_in_the_portal(page, screenshot, factory_floor, client_a):
    sign_in(page, "client-a-user", PASSWORD)
    _visit(page, screenshot, "/portal/", "portal")
    assert page.locator(".workshops").count() >= 3
    _visit(page, screenshot, "/portal/tickets/", "portal-tickets")


def test_charts_read_in_chinese(page, screenshot, factory_floor):
    sign_in(page, "ops-user", PASSWORD)
    page.get_by_label("Language").select_option("zh-hans")
    page.get_by_role("heading", name="运营中心").wait_for()
    _charts_drawn(page, ("gantt", "throughput"))
    assert "订单" in page.locator('[data-chart="gantt"]').inner_text()
    screenshot("operations-center-zh")
    page.goto("/dispatch/")
    _charts_drawn(page, ("utilization",))
    assert "利用率" in page.locator('[data-chart="utilization"]').inner_text()
    screenshot("dispatch-center-zh")
    page.watch.assert_clean()

"""A maintenance window in a browser: a dispatcher books it on a pool's page, sees it listed and drawn as a band on the
pool's utilization chart, then cancels it with a reason. The page passes axe and fits a phone with the booking on it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch import services
from dispatch.models import Reservation
from factory import clock
from tests.e2e.conftest import sign_in
from tests.e2e.test_accessibility import _blocking
from tests.e2e.test_layout import OVERFLOW
from tests.factories import PASSWORD, UserFactory, compute_pool

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The shapes of the utilization figure plotly drew, as the browser holds them.
DRAWN_SHAPES = """() => (document.querySelector('[data-chart="utilization"]').layout.shapes || [])
    .filter((shape) => shape.type === 'rect').map((shape) => shape.label.text)"""


def test_a_dispatcher_books_a_maintenance_window_sees_it_as_a_band_and_cancels_it(page, screenshot):
    UserFactory(username="dispatch-e2e", roles=["dispatch"])
    pool = compute_pool(kind="training", capacity=400, name="gz-train-a")
    for back in range(6, -1, -1):
        services.dispatch_tick(now=clock.now() - timedelta(hours=back))
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, "dispatch-e2e", PASSWORD)

    page.goto(f"/dispatch/pools/{pool.pk}/")
    bookings = page.get_by_test_id("pool-bookings")
    bookings.get_by_text("Nothing booked ahead").wait_for()
    page.locator('[data-chart="utilization"] .main-svg').first.wait_for()
    assert page.evaluate(DRAWN_SHAPES) == []

    # Booked from the form: tomorrow night, eight hours.
    bookings.get_by_text("Book a reservation or maintenance window…").click()
    form = page.get_by_test_id("booking-form")
    start = timezone.localtime(clock.now() + timedelta(days=1)).replace(hour=22, minute=0)
    form.get_by_label("Kind").select_option(label="Maintenance window")
    form.get_by_label("Start").fill(start.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("End").fill((start + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("Reason").fill("Chiller replacement in hall B")
    form.get_by_role("button", name="Book").click()

    page.get_by_text("Maintenance window booked on pool gz-train-a").wait_for()
    window = Reservation.objects.get()
    row = page.locator(f'tr[data-booking="{window.pk}"]')
    assert row.locator("[data-status]").inner_text() == "Upcoming"
    assert "Chiller replacement in hall B" in row.inner_text()
    assert "Whole pool" in row.inner_text()
    page.locator('[data-chart="utilization"] .main-svg').first.wait_for()
    assert page.evaluate(DRAWN_SHAPES) == [f"Maintenance #{window.pk}"]
    assert page.locator('[data-chart="utilization"] .shapelayer path').count() >= 1
    assert page.locator('[data-chart="utilization"]').get_by_text(f"Maintenance #{window.pk}").count() == 1
    screenshot("pool-maintenance-window")
    assert _blocking(page, page.url) == []
    page.set_viewport_size({"width": 390, "height": 800})
    seen = page.evaluate(OVERFLOW)
    assert seen["page"] <= seen["window"], f"the pool's page is {seen['page']} px wide on a phone"
    page.set_viewport_size({"width": 1440, "height": 900})

    # Cancelled with a reason: listed under the past bookings, no longer drawn.
    row.get_by_text("Cancel…").click()
    row.get_by_label("Why cancel it").fill("Chillers delivered late")
    row.get_by_role("button", name="Cancel the booking").click()

    page.get_by_text(f"Maintenance window #{window.pk} cancelled.").wait_for()
    bookings.get_by_text("Nothing booked ahead").wait_for()
    bookings.get_by_text("Recently over or cancelled (1)").click()
    past = page.get_by_test_id("bookings-over")
    assert past.locator("[data-status]").inner_text() == "Cancelled"
    assert "Chillers delivered late" in past.inner_text()
    page.locator('[data-chart="utilization"] .main-svg').first.wait_for()
    assert page.evaluate(DRAWN_SHAPES) == []
    page.watch.assert_clean()

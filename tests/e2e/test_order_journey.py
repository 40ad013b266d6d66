"""An order's whole journey as its people live it in the browser: the client places it in the portal,
operations accepts it and finishes its steps by hand, two security reviewers approve the data gate
in the security center, operations delivers, the client confirms and rates it, and the public tracking
link shows the progress without private details."""

import re

import pytest

from security import services as security_services
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _accept_dialogs(page):
    page.on("dialog", lambda dialog: dialog.accept())


def test_order_journey_from_portal_to_rating(page, browser, live_server, screenshot, ops_user, client_a):
    first_reviewer = UserFactory(username="reviewer-one", roles=["security"])
    second_reviewer = UserFactory(username="reviewer-two", roles=["security"])
    _accept_dialogs(page)
    sign_in(page, "client-a-user", PASSWORD)
    page.goto("/portal/orders/new/")
    page.get_by_label("Title").fill("Ward discharge dataset")
    page.get_by_label("Product").select_option("dataset")
    page.get_by_label("Sector").select_option("healthcare")
    page.get_by_label("Requirements").fill("De-identified discharge summaries, 2019-2025.")
    page.get_by_label("Data sensitivity").select_option("sensitive")
    page.get_by_label("Size").select_option("small")
    page.get_by_label("Requested delivery").fill("2027-06-30")
    page.get_by_role("button", name="Review the delivery date and cost").click()
    page.get_by_role("button", name="Confirm and place the order").click()
    page.wait_for_url(re.compile(r"/portal/orders/\d+/$"))
    order_url = page.url
    order_id = re.search(r"/portal/orders/(\d+)/", order_url).group(1)
    tracking_url = page.get_by_role("textbox", name="Tracking link").input_value()
    screenshot("portal-order-placed")
    page.watch.assert_clean()

    staff = browser.new_context(base_url=live_server.url, viewport={"width": 1440, "height": 900}).new_page()
    _accept_dialogs(staff)
    sign_in(staff, "ops-user", PASSWORD)
    staff.goto(f"/orders/{order_id}/")
    staff.get_by_role("button", name="Accept").click()
    staff.get_by_role("button", name="Start production").click()
    finished = 0
    while staff.get_by_role("button", name="Finish step").count():
        staff.get_by_role("button", name="Finish step").first.click()
        staff.wait_for_load_state()
        finished += 1
    # Sensitive data: the data gate opens only after two different security reviewers approve it.
    security_services.reviews_open_for_waiting_gates()
    for reviewer in (first_reviewer, second_reviewer):
        _approve_in_browser(browser, live_server, reviewer.username)
    staff.reload()
    staff.get_by_role("button", name="Deliver").click()
    assert staff.get_by_text("Delivered").first.is_visible()
    staff.screenshot(path=str(_artifact("staff-order-delivered")), full_page=True)
    staff.watch = None

    page.goto(order_url)
    page.get_by_role("button", name="Confirm delivery").click()
    page.get_by_label("5", exact=True).check()
    page.get_by_label("Comment (optional)").fill("Delivered well ahead of the ward's deadline.")
    page.get_by_role("button", name="Send rating").click()
    page.get_by_text("Closed").first.wait_for()
    timeline = page.get_by_test_id("timeline").inner_text()
    assert "You rated this order 5 out of 5." in page.get_by_test_id("rating").inner_text()
    screenshot("portal-order-closed-and-rated")
    page.watch.assert_clean()

    anonymous = browser.new_context().new_page()
    anonymous.goto(tracking_url)
    public = anonymous.content()
    assert finished >= 10
    assert "Closed" in public
    assert "Ward discharge dataset" not in public
    assert "De-identified" not in public
    assert "ops-user" not in public
    assert "ops-user" not in timeline
    assert "Factory staff" in timeline


def _approve_in_browser(browser, live_server, username):
    """A reviewer opens the queue, the order's review, answers every checklist item and approves."""
    reviewer = browser.new_context(base_url=live_server.url, viewport={"width": 1440, "height": 900}).new_page()
    sign_in(reviewer, username, PASSWORD)
    reviewer.goto("/security/reviews/")
    reviewer.get_by_test_id("review-queue").get_by_role("link").first.click()
    for radio in reviewer.get_by_label("Passed", exact=True).all():
        radio.check()
    reviewer.get_by_role("button", name="Approve").click()
    reviewer.get_by_role("status").wait_for()
    reviewer.screenshot(path=str(_artifact(f"security-review-{username}")), full_page=True)
    reviewer.context.close()


def _artifact(name):
    from tests.e2e.conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{name}.png"

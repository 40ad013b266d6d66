"""After-sales as its people live it in the browser: a client opens a critical ticket on a delivered order,
the after-sales queue shows its SLA countdown, the SLA watch flags the breach once factory time passes,
staff answer, resolve and turn the ticket into a follow-up order, and the client rates the resolution."""

import re
from datetime import date, timedelta

import pytest

from aftersales import services as aftersales_services
from factory import clock
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, order_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_critical_ticket_from_portal_to_follow_up_order(
    page, browser, live_server, screenshot, monkeypatch, ops_user, aftersales_user, org_a, client_a
):
    order = order_at("delivered", staff=ops_user, client=org_a, actor=client_a, title="Discharge summary agent")
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, "client-a-user", PASSWORD)
    page.goto(f"/portal/orders/{order.pk}/")
    page.get_by_role("link", name="Open a ticket").click()
    page.get_by_label("What is it about?").select_option("defect")
    page.get_by_role("radio", name=re.compile("^Critical")).check()
    page.get_by_label("Subject").fill("Agent answers with last year's drug list")
    page.get_by_label("What happened?").fill("Since this morning every answer cites the 2025 formulary.")
    page.get_by_role("button", name="Open the ticket").click()
    page.wait_for_url(re.compile(r"/portal/tickets/\d+/$"))
    ticket_id = re.search(r"/portal/tickets/(\d+)/", page.url).group(1)
    assert page.get_by_text("Agent answers with last year's drug list").first.is_visible()
    screenshot("portal-ticket-opened")
    page.watch.assert_clean()

    staff = browser.new_context(base_url=live_server.url, viewport={"width": 1440, "height": 900}).new_page()
    staff.on("dialog", lambda dialog: dialog.accept())
    sign_in(staff, "aftersales-user", PASSWORD)
    staff.goto("/aftersales/tickets/")
    queue = staff.locator("table").first.inner_text()
    assert "First response in" in queue
    screenshot("aftersales-queue", of=staff)

    # Two factory hours later nobody has answered: the SLA watch flags the breach.
    later = clock.now() + timedelta(hours=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert aftersales_services.sla_watch()["breached"] == 1
    staff.goto("/aftersales/tickets/?breached=true")
    assert "First response overdue by" in staff.locator("table").first.inner_text()

    staff.goto(f"/aftersales/tickets/{ticket_id}/")
    staff.get_by_role("textbox", name="Message").fill("Sorry for the wait: we are rebuilding the formulary index now.")
    staff.get_by_role("button", name="Send").click()
    staff.get_by_text("Resolve…").click()
    staff.locator("#id_resolved_note").fill("Index rebuilt on the 2026 formulary.")
    staff.get_by_role("button", name="Resolve").click()
    assert staff.get_by_text("Resolved").first.is_visible()
    staff.get_by_text("Place a follow-up order…").click()
    staff.get_by_label("Requested delivery").fill((date.today() + timedelta(days=90)).isoformat())
    staff.get_by_role("button", name="Place the follow-up order").click()
    staff.wait_for_url(re.compile(r"/orders/\d+/$"))
    assert staff.get_by_text(f"Follow-up of {order.reference}").first.is_visible()
    screenshot("follow-up-order", of=staff)

    page.goto(f"/portal/tickets/{ticket_id}/")
    assert page.get_by_text("Index rebuilt on the 2026 formulary.").is_visible()
    assert "rebuilding the formulary index" in page.content()
    page.get_by_label("5").check()
    page.get_by_role("button", name="Accept and rate").click()
    assert page.get_by_text("Closed").first.is_visible()
    screenshot("portal-ticket-rated")
    page.watch.assert_clean()

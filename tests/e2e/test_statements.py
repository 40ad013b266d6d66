"""A client's statement in a browser: from "My statements", one for the month so far, then its PDF downloaded and
opened (read back). The pages pass axe."""

import pytest
from pypdf import PdfReader

from orders.models import OrderStatus
from tests.e2e.conftest import sign_in
from tests.e2e.test_accessibility import _blocking
from tests.factories import PASSWORD, client_user, order_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_client_issues_a_statement_and_its_pdf_downloads_and_opens(page, screenshot, ops_user, org_a, tmp_path):
    client = client_user(organization=org_a, username="client-e2e")
    order = order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a, actor=client, title="城市交通信号优化智能体")
    sign_in(page, "client-e2e", PASSWORD)

    page.goto("/portal/")
    page.get_by_role("link", name="My statements").click()
    page.wait_for_url("**/portal/statements/")
    assert _blocking(page, page.url) == []
    page.get_by_test_id("issue-statement").click()
    page.wait_for_url("**/statements/*/")

    orders = page.get_by_test_id("statement-orders")
    assert "城市交通信号优化智能体" in orders.inner_text()
    assert page.locator(f'[data-statement-order="{order.reference}"] tr[data-workshop]').count() == order.stages.count()
    screenshot("statement")
    assert _blocking(page, page.url) == []

    with page.expect_download() as downloading:
        page.get_by_test_id("statement-pdf").click()
    download = downloading.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    reference = page.get_by_role("heading", level=1).inner_text().split()[-1]
    assert download.suggested_filename == f"{reference}.pdf"
    # Table cells wrap long words: the text is compared without its line breaks.
    text = "".join("".join(sheet.extract_text() for sheet in PdfReader(saved).pages).split())
    assert reference in text
    assert order.reference in text
    assert "城市交通信号优化智能体" in text
    page.watch.assert_clean()

import pytest

from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operations_user_signs_in_and_sees_the_dashboard_shell(page, screenshot, ops_user):
    sign_in(page, "ops-user", PASSWORD)

    page.get_by_role("heading", name="Operations center").wait_for()
    assert page.get_by_role("navigation", name="Sections").get_by_role("link", name="Operations center").is_visible()
    assert page.get_by_text("ops-user").is_visible()
    assert page.get_by_text("Factory time").is_visible()
    screenshot("operations-center-shell")
    page.watch.assert_clean()


def test_language_switcher_turns_the_page_chinese(page, ops_user):
    sign_in(page, "ops-user", PASSWORD)

    page.get_by_label("Language").select_option("zh-hans")

    page.get_by_role("heading", name="运营中心").wait_for()
    page.watch.assert_clean()


def test_plotly_is_served_by_the_site_itself(page, live_server):
    response = page.request.get(f"{live_server.url}/static/plotly/plotly.min.js")

    assert response.ok
    assert "plotly" in response.text()[:2000].lower()


def test_the_api_docs_work_under_the_content_security_policy(page, ops_user):
    sign_in(page, "ops-user", PASSWORD)

    page.goto("/api/docs/")

    page.locator(".swagger-ui .opblock").first.wait_for()
    page.watch.assert_clean()

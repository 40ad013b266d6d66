"""Browser tests: headless Debian Chromium driven by Playwright, against pytest-django's live server.

Chromium is never downloaded: it must be the system package at /usr/bin/chromium (or CHROMIUM_PATH).
Where it is missing the tests skip with the reason, except under CI (CI=true), where that fails.
"""

import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command

from aftersales import services as aftersales_services
from dispatch import services as dispatch_services
from factory import clock
from orders.models import OrderStatus
from security import services as security_services
from tests.factories import compute_pool, open_ticket, order_at, reference_data_load

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM}: install the Debian package 'chromium'"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread, and Django refuses ORM calls from a
    # thread with a running loop; the fixtures that create users here are synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


class PageWatch:
    """Collects what a person would notice went wrong: console errors, failed or external requests."""

    def __init__(self, page, origin):
        self.console_errors, self.failed_requests, self.external_requests = [], [], []
        page.on("console", lambda msg: msg.type == "error" and self.console_errors.append(msg.text))
        page.on("pageerror", lambda error: self.console_errors.append(str(error)))
        # A request the browser itself abandoned (a favicon still loading when the test moves on) is no failure a
        # person meets; an answer of 400 or more is caught below.
        page.on(
            "requestfailed",
            lambda request: "ERR_ABORTED" not in (request.failure or "") and self.failed_requests.append(request.url),
        )
        page.on(
            "response",
            lambda response: (
                response.status >= 400 and self.failed_requests.append(f"{response.status} {response.url}")
            ),
        )
        page.on(
            "request",
            lambda request: (
                not request.url.startswith((origin, "data:", "blob:")) and self.external_requests.append(request.url)
            ),
        )

    def assert_clean(self):
        assert self.console_errors == []
        assert self.failed_requests == []
        assert self.external_requests == []


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.watch = PageWatch(page, live_server.url)
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    def take(name, of=None):
        """Save the whole page (the test's page, or `of`) as test-artifacts/<name>.png."""
        ARTIFACTS.mkdir(exist_ok=True)
        (of or page).screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    return take


@pytest.fixture
def factory_floor(settings, ops_user, org_a, client_a):
    """Orders in every phase, a day of dispatch history, a gate waiting for review and an open ticket."""
    settings.DISPATCH_BACKGROUND_LOAD = True
    for kind, capacity in (("data_processing", 200), ("training", 400), ("inference", 200)):
        compute_pool(kind=kind, capacity=capacity, background_seed=7)
    running = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, actor=client_a, product_type="model")
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, actor=client_a, product_type="dataset")
    order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user, client=org_a, actor=client_a)
    delivered = order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a, actor=client_a)
    start = clock.now() - timedelta(hours=20)
    for step in range(0, 20 * 60 + 1, 20):
        dispatch_services.dispatch_tick(now=start + timedelta(minutes=step))
    security_services.reviews_open_for_waiting_gates()
    open_ticket(order=delivered, actor=client_a, severity="high")
    aftersales_services.sla_watch()
    return {"running": running, "delivered": delivered}


@pytest.fixture(scope="module")
def busy_floor(django_db_setup, django_db_blocker):
    """The busy factory of tests/e2e/busy_factory.py, built once for the module and served by the one live server;
    emptied afterwards so that the next module starts from the migrations' reference data as usual."""
    from tests.e2e import busy_factory  # it signs in with this module's sign_in

    with django_db_blocker.unblock():
        reference_data_load()
        try:
            yield busy_factory.build()
        finally:
            call_command("flush", interactive=False, verbosity=0)
            reference_data_load()


def sign_in(page, username, password):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)

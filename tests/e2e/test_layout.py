"""Every main page of every role fits a 1,500 px and a 1,280 px screen and a 390 px phone: the page never scrolls
sideways; at 1,500 px no table hides columns in its own scroll box (narrower screens scroll the table in its box),
and on a phone the client's orders show their progress and delivery without scrolling. One data set (long names and
references, enough orders and pools to make every table wide) serves the whole module; each role's test visits its
pages at each width."""

from datetime import timedelta

import pytest
from django.core.management import call_command

from aftersales import services as aftersales_services
from catalog.models import Sector
from dispatch import services as dispatch_services
from dispatch.models import ComputePool
from factory import clock, roles
from orders.models import Order, OrderStatus
from security import services as security_services
from security.models import Review
from tests.e2e.conftest import sign_in
from tests.factories import (
    PASSWORD,
    ClientOrganizationFactory,
    UserFactory,
    client_user,
    compute_pool,
    open_ticket,
    order_at,
    reference_data_load,
)

# The module's data is committed once by `floor`; each test only reads it (through the live server).
pytestmark = [pytest.mark.browser, pytest.mark.django_db]

WIDTHS = (1500, 1280, 390)
WIDE = 1500
# Tables that fit even a phone: the client's orders, stacked as cards.
FIT_EVERYWHERE = ("portal-orders",)
LONG_TITLE = "Discharge-summary assistant for the cardiology, oncology and paediatric wards, with bilingual output"
LONG_CLIENT = "Qinghe Provincial People's Hospital, Department of Radiology and Interventional Imaging"
LONG_REASON = "Cooling maintenance in hall B until the vendor replaces the chiller; jobs move to the other pools"
# Reads what a person would see: the page wider than the window, and tables whose columns lie beyond their box.
OVERFLOW = """() => ({
  page: document.documentElement.scrollWidth,
  window: window.innerWidth,
  tables: [...document.querySelectorAll("table")]
    .map((table) => [table, table.closest(".table-scroll, .results")])
    .filter(([table, box]) => box && box.scrollWidth > box.clientWidth + 1)
    .map(([table, box]) => `${table.className || table.id} (${box.scrollWidth} px in ${box.clientWidth} px)`),
})"""
CHARTS_DRAWN = """() => [...document.querySelectorAll("[data-chart]")].every(
  (chart) => chart.hidden || chart.querySelector(".main-svg"))"""


@pytest.fixture(scope="module")
def floor(django_db_setup, django_db_blocker):
    """A busy factory, built once for the module and served by the one live server; emptied afterwards so that the
    next module starts from the migrations' reference data as usual."""
    with django_db_blocker.unblock():
        reference_data_load()
        try:
            yield _busy_factory()
        finally:
            call_command("flush", interactive=False, verbosity=0)
            reference_data_load()


def _busy_factory() -> dict:
    people = {
        "operations": UserFactory(
            username="ops-user",
            first_name="Alexandrina",
            last_name="Featherstonehaugh-Oyelaran",
            roles=[roles.OPERATIONS],
        ),
        "dispatch": UserFactory(username="dispatch-user", roles=[roles.DISPATCH]),
        "security": UserFactory(username="security-user", roles=[roles.SECURITY]),
        "aftersales": UserFactory(username="aftersales-user", roles=[roles.AFTERSALES]),
        "admin": UserFactory(username="admin-user", is_staff=True, is_superuser=True),
    }
    staff = people["operations"]
    hospital = ClientOrganizationFactory(name=LONG_CLIENT, sector=Sector.HEALTHCARE)
    bureau = ClientOrganizationFactory(
        name="Lanxi City Government Data Bureau, Open Data Office", sector=Sector.GOVERNMENT
    )
    people["client"] = client_user(organization=hospital, username="client-user")
    other = client_user(organization=bureau, username="bureau-user")

    for index, (kind, capacity) in enumerate(
        [("training", 420), ("data_processing", 160), ("inference", 180)] * 4, start=1
    ):
        compute_pool(
            kind=kind, capacity=capacity, background_seed=index, name=f"xinghe-provincial-{kind}-trusted-{index:02d}"
        )
    orders = []
    for status, count in (
        (OrderStatus.SUBMITTED, 3),
        (OrderStatus.ACCEPTED, 2),
        (OrderStatus.IN_PRODUCTION, 6),
        (OrderStatus.AWAITING_REVIEW, 2),
        (OrderStatus.DELIVERED, 2),
    ):
        for number in range(count):
            client, actor = (hospital, people["client"]) if number % 2 == 0 else (bureau, other)
            orders.append(
                order_at(
                    status,
                    staff=staff,
                    client=client,
                    actor=actor,
                    product_type="application",
                    title=f"{LONG_TITLE} ({status.label} {number + 1})",
                    priority=("normal", "high", "low")[number % 3],
                    data_sensitivity="sensitive" if number % 2 == 0 else "internal",
                )
            )
    start = clock.now() - timedelta(hours=12)
    for minutes in range(0, 12 * 60 + 1, 30):
        dispatch_services.dispatch_tick(now=start + timedelta(minutes=minutes))
    dispatch_services.pool_change_state(
        pool=ComputePool.objects.order_by("pk").last(), action="drain", actor=people["dispatch"], reason=LONG_REASON
    )
    security_services.reviews_open_for_waiting_gates()
    rejected = Review.objects.order_by("pk").first()
    security_services.review_reject(
        review=rejected,
        reviewer=people["security"],
        findings=[{"severity": "high", "text": "Patient identifiers remain in free-text notes of the labelled set."}],
        rework_steps=[rejected.stage.steps.order_by("position").last()],
    )
    delivered = [order for order in orders if order.status == OrderStatus.DELIVERED]
    tickets = [
        open_ticket(
            order=order,
            actor=people["client"] if order.client == hospital else other,
            severity="critical",
            subject="The agent cites the 2019 regulation on discharge letters instead of the 2024 revision",
        )
        for order in delivered
    ]
    aftersales_services.sla_watch()
    in_production = Order.objects.filter(status=OrderStatus.IN_PRODUCTION, client=hospital).first()
    mine = Order.objects.filter(client=hospital, status=OrderStatus.DELIVERED).first()
    return {
        "people": people,
        "order": in_production,
        "client_order": mine,
        "ticket": tickets[0],
        "review": Review.objects.filter(status="pending").order_by("pk").first(),
        "pool": ComputePool.objects.order_by("pk").last(),
    }


def _pages(role: str, floor: dict) -> list[str]:
    order, ticket, review, pool = floor["order"], floor["ticket"], floor["review"], floor["pool"]
    return {
        "operations": [
            "/",
            "/orders/",
            "/orders/new/",
            f"/orders/{order.pk}/",
            f"/orders/{order.pk}/compliance/",
            "/aftersales/tickets/",
            f"/aftersales/tickets/{ticket.pk}/",
            "/dispatch/",
        ],
        "dispatch": [
            "/dispatch/",
            "/dispatch/jobs/",
            f"/dispatch/pools/{pool.pk}/",
            f"/dispatch/orders/{order.pk}/priority/",
        ],
        "security": ["/security/reviews/", "/security/reviews/history/", f"/security/reviews/{review.pk}/"],
        "aftersales": ["/aftersales/tickets/", "/aftersales/tickets/new/", f"/aftersales/tickets/{ticket.pk}/"],
        "client": [
            "/portal/",
            "/portal/orders/new/",
            f"/portal/orders/{floor['client_order'].pk}/",
            f"/portal/orders/{order.pk}/",
            "/portal/tickets/",
            "/portal/tickets/new/",
            f"/portal/tickets/{ticket.pk}/",
            f"/track/{order.tracking_token}/",
        ],
        "anonymous": ["/accounts/login/", f"/track/{order.tracking_token}/"],
        "admin": [
            "/admin/",
            "/admin/orders/order/",
            f"/admin/orders/order/{order.pk}/change/",
            "/admin/dispatch/computepool/",
            "/admin/aftersales/ticket/",
        ],
    }[role]


def _overflows(browser, live_server, floor, role) -> list[str]:
    """What does not fit, page by page and width by width, for one role (all of it, not only the first)."""
    found = []
    for width in WIDTHS:
        context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": 900})
        page = context.new_page()
        if role != "anonymous":
            sign_in(page, floor["people"][role].username, PASSWORD)
        for path in _pages(role, floor):
            response = page.goto(path)
            assert response.ok, f"{path} answered {response.status}"
            page.wait_for_function(CHARTS_DRAWN)
            seen = page.evaluate(OVERFLOW)
            if seen["page"] > seen["window"]:
                found.append(f"{path} at {width} px: the page is {seen['page']} px wide")
            hidden = [
                table for table in seen["tables"] if width == WIDE or any(name in table for name in FIT_EVERYWHERE)
            ]
            if hidden:
                found.append(f"{path} at {width} px: columns beyond the table's box: {', '.join(hidden)}")
        context.close()
    return found


@pytest.mark.parametrize("role", ["operations", "dispatch", "security", "aftersales", "client", "admin", "anonymous"])
def test_every_page_of_the_role_fits_laptops_and_phones(browser, request, floor, role):
    # Asked for only now, after the module's data is in place: the live server then serves that data set.
    live_server = request.getfixturevalue("live_server")

    overflows = _overflows(browser, live_server, floor, role)

    assert not overflows, "\n".join(overflows)

"""One busy factory for the browser checks that visit every main page of every role (test_layout, test_accessibility):
long names and references, enough orders, pools and tickets to make every table wide and every chart full. The
`busy_floor` fixture (tests/e2e/conftest.py) builds it once per module; `main_pages` lists what each role visits."""

from datetime import timedelta

from aftersales import services as aftersales_services
from catalog.models import Sector
from dispatch import services as dispatch_services
from dispatch.models import ComputePool
from factory import clock
from orders.models import Order, OrderStatus
from security import services as security_services
from security.models import Review
from tests.e2e.conftest import sign_in
from tests.factories import (
    PASSWORD,
    ClientOrganizationFactory,
    client_user,
    compute_pool,
    open_ticket,
    order_at,
    user_per_role,
)

ROLES = ("operations", "dispatch", "security", "aftersales", "client", "admin", "anonymous")
LANGUAGES = ("en", "zh-hans")
LONG_TITLE = "Discharge-summary assistant for the cardiology, oncology and paediatric wards, with bilingual output"
LONG_CLIENT = "Qinghe Provincial People's Hospital, Department of Radiology and Interventional Imaging"
LONG_REASON = "Cooling maintenance in hall B until the vendor replaces the chiller; jobs move to the other pools"
# Every chart is drawn (or shows its empty state) before a page is read.
CHARTS_DRAWN = """() => [...document.querySelectorAll("[data-chart]")].every(
  (chart) => chart.hidden || chart.querySelector(".main-svg"))"""


def build() -> dict:
    people = user_per_role(operations={"first_name": "Alexandrina", "last_name": "Featherstonehaugh-Oyelaran"})
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


def main_pages(role: str, floor: dict) -> list[str]:
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
            "/plan/",
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


def role_context(browser, live_server, floor: dict, role: str, language: str, width: int = 1440):
    """A browser context signed in as `role` (none for "anonymous") that reads the site in `language`, as the
    language switcher leaves it (the django_language cookie)."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": 900})
    page = context.new_page()
    if role != "anonymous":
        sign_in(page, floor["people"][role].username, PASSWORD)
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    return context, page


def open_page(page, path: str, language: str) -> None:
    """Loads `path` and waits for its charts; the page answers in `language`."""
    response = page.goto(path)
    assert response.ok, f"{path} answered {response.status}"
    assert page.locator("html").get_attribute("lang") == language, f"{path} is not in {language}"
    page.wait_for_function(CHARTS_DRAWN)

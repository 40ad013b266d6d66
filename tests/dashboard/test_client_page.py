"""A client organization's page for the staff: what it shows of the client's orders, tickets, ratings and budget,
who may see it, and its query count."""

import re
from decimal import Decimal

import pytest

from dispatch import services as dispatch_services
from factory import clock
from orders import services as order_services
from orders.models import OrderStatus
from statements.models import Statement, StatementKind
from tests.factories import client_user, open_ticket, order_at, place_order

pytestmark = pytest.mark.django_db


def _page(client, org):
    return client.get(f"/clients/{org.pk}/")


def _tile(html: str, key: str) -> str:
    tile = re.search(rf'data-tile="{key}">(.*?)</a>', html, re.S).group(1)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", tile)).strip()


def test_the_staff_see_a_clients_orders_tickets_ratings_and_budget(client, ops_user, org_a, org_b):
    member = client_user(organization=org_a)
    delivered = order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a, actor=member)
    order_services.order_confirm(order=delivered, actor=member)
    order_services.order_rate(order=delivered, actor=member, score=4, comment="Clear reports")
    ticket = open_ticket(order=delivered, actor=member, subject="Model drift on night shifts")
    waiting = place_order(client=org_a, actor=member, title="Discharge summary assistant")
    elsewhere = place_order(client=org_b, actor=ops_user, title="Loan risk model")
    dispatch_services.client_budget_set(client=org_a, monthly_pflops_hours=Decimal(1000))
    client.force_login(ops_user)

    html = _page(client, org_a).content.decode()

    assert f'data-order="{waiting.pk}"' in html
    assert f'data-order="{delivered.pk}"' in html
    assert f'data-order="{elsewhere.pk}"' not in html
    assert f'data-ticket="{ticket.pk}"' in html
    assert "Clear reports" in html
    assert _tile(html, "rating").startswith("4.0 Satisfaction from 1 rating")
    assert _tile(html, "tickets").startswith("1 Open tickets")
    assert "of a 1,000 PFLOPS·h budget" in _tile(html, "budget")
    assert f'href="/orders/?client={org_a.pk}"' in html


def test_a_client_without_history_gets_empty_states_and_clients_get_no_staff_page(client, ops_user, org_a):
    client.force_login(ops_user)
    html = _page(client, org_a).content.decode()
    assert "No orders yet" in html
    assert "No budget set" in _tile(html, "budget")
    assert client.get("/clients/999999/").status_code == 404
    client.force_login(client_user(organization=org_a))
    assert _page(client, org_a).status_code == 403


def test_the_order_page_links_its_client(client, ops_user, org_a):
    order = place_order(client=org_a, actor=ops_user)
    client.force_login(ops_user)
    assert f'href="/clients/{org_a.pk}/"' in client.get(f"/orders/{order.pk}/").content.decode()


@pytest.mark.parametrize("orders", [1, 5])
def test_the_client_page_takes_a_fixed_number_of_queries(client, ops_user, org_a, django_assert_num_queries, orders):
    member = client_user(organization=org_a)
    for _number in range(orders):
        delivered = order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a, actor=member)
        open_ticket(order=delivered, actor=member)
        Statement.objects.create(
            reference=f"ST-TEST-{_number}",
            client=org_a,
            kind=StatementKind.ON_DEMAND,
            period_start=clock.now().date(),
            period_end=clock.now().date(),
            issued_at=clock.now(),
            issued_by=member,
            figures={},
        )
    client.force_login(ops_user)

    # 1 session, 2 user, 3 role groups, 4 the client, 5 its order numbers, 6 its ticket numbers, 7 its budget, 8 the
    # compute used this month, 9 its latest orders, 10 its latest tickets, 11 its latest ratings, 12 its latest
    # statements, 13 its people with their languages, 14 its webhooks with their failed and waiting deliveries.
    with django_assert_num_queries(14):
        response = _page(client, org_a)

    assert response.content.decode().count("data-order=") == orders
    assert response.content.decode().count("data-statement=") == orders
    assert response.content.decode().count("data-contact=") == 1

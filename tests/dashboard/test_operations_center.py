"""The operations center at `/`: tiles that add up, late orders first, charts with data or an empty state,
and a live endpoint; a fixed number of queries whatever the number of orders."""

import re
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aftersales import services as aftersales_services
from dashboard import operations
from factory import clock
from orders.models import Order, OrderStatus
from tests.factories import open_ticket, order_at, place_order

pytestmark = pytest.mark.django_db


def _tile(page: str, key: str) -> str:
    return re.search(rf'data-tile="{key}">\s*<span class="kpi__value" data-tile-value>([^<]*)<', page).group(1)


def test_an_empty_factory_shows_zeros_and_empty_states(client, ops_user):
    client.force_login(ops_user)
    page = client.get("/").content.decode()

    assert _tile(page, "on_floor") == "0"
    assert _tile(page, "on_time") == "—"
    assert "No order is on the factory floor" in page
    assert "No order is in production." in page
    assert "No order was delivered in the last 12 weeks." in page


def test_tiles_count_orders_gates_and_tickets(client, ops_user, org_a, client_a, aftersales_user, move_clock):
    place_order(client=org_a, actor=client_a)
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, actor=client_a)
    order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user, client=org_a, actor=client_a)
    delivered = order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a, actor=client_a)
    open_ticket(order=delivered, actor=client_a, severity="critical")
    open_ticket(order=delivered, actor=client_a, severity="low")
    move_clock(hours=2)
    aftersales_services.sla_watch()
    client.force_login(ops_user)

    page = client.get("/").content.decode()

    assert _tile(page, "on_floor") == "2"
    assert _tile(page, "submitted") == "1"
    assert _tile(page, "on_time") == "100%"
    assert _tile(page, "tickets") == "2"
    assert _tile(page, "breaches") == "1"
    assert 'href="/aftersales/tickets/?breached=true"' in page


def test_late_orders_come_first_with_how_late(client, ops_user, org_a, client_a):
    on_track = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, actor=client_a, title="On track")
    late = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, actor=client_a, title="Running late")
    Order.objects.filter(pk=late.pk).update(eta=clock.now() + timedelta(days=400))
    Order.objects.filter(pk=on_track.pk).update(eta=clock.now() + timedelta(days=1))
    client.force_login(ops_user)

    table = client.get("/").content.decode().split('data-testid="active-orders"')[1]

    assert table.index(late.reference) < table.index(on_track.reference)
    assert re.search(r"late by \d+ days", table)
    assert "on track" in table


def test_live_endpoint_returns_tiles_figures_and_the_table(client, ops_user, org_a, client_a):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, actor=client_a)
    client.force_login(ops_user)

    data = client.get("/live/operations/").json()

    assert data["tiles"]["on_floor"]["value"] == "1"
    gantt = data["charts"]["gantt"]
    assert gantt["layout"]["title"]["text"] == "Active orders through the workshops"
    assert gantt["layout"]["xaxis"]["title"]["text"] == "Factory time"
    assert order.reference in gantt["data"][0]["y"]
    assert data["charts"]["throughput"] is None
    assert order.reference in data["fragments"]["active"]


def test_only_staff_see_the_dashboard(client, client_a):
    ended = client.get("/live/operations/")
    assert ended.status_code == 401  # the page's script reloads, which leads to the sign-in page
    assert ended.json() == {"detail": "Your session has ended. Sign in again."}
    assert client.get("/").url.startswith("/accounts/login/")
    client.force_login(client_a)
    assert client.get("/").url == "/portal/"
    assert client.get("/live/operations/").status_code == 403


def test_query_count_does_not_grow_with_orders(client, ops_user, org_a, client_a):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/").status_code == 200
        return len(queries)

    for _ in range(2):
        order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, actor=client_a)
    order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a, actor=client_a)
    client.force_login(ops_user)
    small = count()
    for _ in range(2):
        order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, actor=client_a)
    order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a, actor=client_a)

    assert count() == small


def test_a_week_of_deliveries_is_labelled_with_its_monday(ops_user, org_a, client_a):
    delivered = order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a, actor=client_a)
    wednesday_morning = timezone.make_aware(datetime(2026, 12, 2, 1, 30))  # 01:30 in the factory's time zone
    Order.objects.filter(pk=delivered.pk).update(delivered_at=wednesday_morning)

    chart = operations.throughput(wednesday_morning + timedelta(days=1))

    assert chart["figure"]["data"][0]["x"] == ["2026-11-30"]

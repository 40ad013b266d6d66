"""Every chart has a text alternative (UI.md "Accessibility"): a screen reader finds the drawing as a figure named
by its title and described by one line summarising the data it draws,; the live endpoints
send the summary with each figure, so it stays true as the figure moves."""

import re
from datetime import timedelta

import pytest

from dispatch import services as dispatch_services
from factory import clock
from orders.models import OrderStatus
from tests.factories import compute_pool, order_at

pytestmark = pytest.mark.django_db


def _figure(page: str, key: str) -> dict:
    """The chart's name and the text its description points at, as a screen reader reads them."""
    element = re.search(rf'<div class="chart"[^>]*data-chart="{key}"[^>]*>', page).group(0)
    described_by = re.search(r'aria-describedby="([^"]+)"', element).group(1)
    return {
        "role": re.search(r'role="([^"]+)"', element).group(1),
        "name": re.search(r'aria-label="([^"]+)"', element).group(1),
        "summary": re.search(rf'<p [^>]*id="{described_by}"[^>]*>([^<]*)</p>', page).group(1),
    }


def test_the_gantt_is_a_figure_named_by_its_title_and_summarised_in_a_line(client, ops_user, org_a, client_a):
    for _ in range(2):
        order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, actor=client_a)
    client.force_login(ops_user)

    gantt = _figure(client.get("/").content.decode(), "gantt")

    assert gantt == {
        "role": "figure",
        "name": "Active orders through the workshops",
        "summary": "2 active orders through the workshops, 0 of them late.",
    }


def test_the_utilization_chart_summarises_load_against_capacity(client, dispatcher):
    for capacity in (400, 200):
        compute_pool(kind="training", capacity=capacity)
    start = clock.now() - timedelta(hours=2)
    for minutes in range(0, 121, 30):
        dispatch_services.dispatch_tick(now=start + timedelta(minutes=minutes))
    client.force_login(dispatcher)

    utilization = _figure(client.get("/dispatch/").content.decode(), "utilization")

    assert utilization["name"] == "Utilization over the last 24 h"
    assert utilization["summary"].startswith("2 pools over the last 24 h: ")
    assert " of 600 PFLOPS in use at the latest point" in utilization["summary"]  # the two pools' capacity


def test_the_live_endpoint_sends_each_figure_with_its_summary(client, ops_user, org_a, client_a):
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, actor=client_a)
    client.force_login(ops_user)

    data = client.get("/live/operations/").json()

    assert data["summaries"]["gantt"] == "1 active order through the workshops, 0 of them late."
    assert data["charts"]["throughput"] is None

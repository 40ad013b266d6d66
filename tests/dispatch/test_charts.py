"""The dispatch center's charts: what each tick records, and the figures drawn from it (or their empty state)."""

import json
import math
import re
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import combinations

import pytest
from django.db.models import Sum
from django.utils import timezone

from catalog.models import SIZE_FACTORS, ProcessStep, Size
from dispatch import services
from dispatch.models import ComputeSite, Job, QueueSample, UtilizationSample
from factory import clock
from orders.models import OrderStatus
from tests.factories import compute_pool, order_at

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_background_load(settings):
    settings.DISPATCH_BACKGROUND_LOAD = False


def _running_and_waiting(ops_user):
    """Two dataset orders and room on the one data pool for the first step of only one: one runs, one waits.

    Ticks every 30 minutes up to now, for less than the first step runs. Returns the pool's capacity (one
    and a half first steps).
    """
    first = ProcessStep.objects.get(workshop="data", position=1)
    capacity = int(first.demand_pflops * 3 / 2)
    run_minutes = int(first.nominal_hours * SIZE_FACTORS[Size.SMALL] * 60)  # the orders are small
    compute_pool(kind="data_processing", capacity=capacity, trusted=True)
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, product_type="dataset")
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, product_type="dataset", data_sensitivity="sensitive")
    ticks = range(0, run_minutes, 30)
    start = clock.now() - timedelta(minutes=ticks[-1])
    for minutes in ticks:
        services.dispatch_tick(now=start + timedelta(minutes=minutes))
    return capacity


def test_each_tick_records_the_queue_of_every_priority_and_what_each_pool_charged(ops_user):
    _running_and_waiting(ops_user)

    latest = QueueSample.objects.latest("at").at
    by_priority = {sample.priority: sample for sample in QueueSample.objects.filter(at=latest)}
    assert set(by_priority) == {"low", "normal", "high", "urgent"}
    assert by_priority["normal"].waiting_jobs >= 1
    assert by_priority["normal"].longest_wait_hours > 0
    charged = UtilizationSample.objects.aggregate(total=Sum("cost"))["total"]
    assert charged == Job.objects.aggregate(total=Sum("cost"))["total"] > Decimal(0)


def test_the_center_draws_utilization_load_queue_and_cost(client, dispatcher, ops_user):
    capacity = _running_and_waiting(ops_user)
    client.force_login(dispatcher)

    charts = client.get("/dispatch/live/").json()["charts"]

    utilization = charts["utilization"]
    names = [trace["name"] for trace in utilization["data"]]
    assert names[0] == "Background load (other tenants)"
    assert names[-1] == "Capacity"
    assert utilization["data"][-1]["y"][-1] == capacity  # the one pool's
    assert utilization["layout"]["yaxis"]["title"]["text"] == "PFLOPS"
    load = {trace["name"]: trace["x"] for trace in charts["pool-load"]["data"]}
    assert 0 < load["Our jobs"][0] <= capacity
    depth = {trace["name"]: trace["y"] for trace in charts["queue-depth"]["data"]}
    assert max(depth["Normal"]) >= 1
    assert sum(charts["cost"]["data"][0]["y"]) > 0


def _tile(kpis: str, key: str) -> float:
    value = re.search(rf'data-kpi="{key}">\s*<span class="kpi__value">([^<]+)<', kpis).group(1)
    return float(value.replace(",", ""))


def test_monitored_and_dispatchable_compute_are_drawn_on_one_figure_as_the_tiles_count_them(
    client, dispatcher, ops_user
):
    _running_and_waiting(ops_user)
    compute_pool(kind="training", capacity=400)
    compute_pool(kind="inference", capacity=100, state="offline")
    client.force_login(dispatcher)

    live = client.get("/dispatch/live/").json()

    kpis = live["fragments"]["kpis"]
    rows = defaultdict(dict)
    for trace in live["charts"]["capacity"]["data"]:
        rows[trace["y"][0]][trace["name"]] = trace["x"][0]
    monitored, dispatchable = rows["Monitored by the sites"], rows["Dispatchable to us"]
    assert (
        sum(monitored.values())
        == _tile(kpis, "monitored")
        == float(ComputeSite.objects.aggregate(total=Sum("monitored_pflops"))["total"])
    )
    assert monitored["Dispatchable to us"] == _tile(kpis, "dispatchable") == sum(dispatchable.values())
    assert monitored["Offline pools"] == 100
    assert dispatchable["Used by our jobs"] == _tile(kpis, "used") > 0
    assert dispatchable["Free"] == _tile(kpis, "free")


def test_a_figures_time_axis_reads_the_page_clock_not_utc(client, dispatcher, ops_user, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    _running_and_waiting(ops_user)
    client.force_login(dispatcher)

    capacity = client.get("/dispatch/live/").json()["charts"]["utilization"]["data"][-1]
    last = datetime.fromisoformat(capacity["x"][-1])

    header_clock = timezone.localtime(clock.now()).replace(tzinfo=None)
    assert last.tzinfo is None  # plotly.js would drop an offset and draw the wall time it was given
    assert timedelta(0) <= header_clock - last <= timedelta(minutes=30)  # the last sample, not 8 hours before


def test_without_history_the_charts_say_how_they_fill(client, dispatcher):
    client.force_login(dispatcher)

    page = client.get("/dispatch/").content.decode()

    assert "No utilization recorded yet." in page
    assert "No queue history yet." in page
    assert "No compute charged yet." in page
    assert "No compute pool is set up." in page


def test_the_live_endpoint_is_for_dispatch_and_operations(client, reviewer, client_a):
    assert client.get("/dispatch/live/").status_code == 401
    for user in (reviewer, client_a):
        client.force_login(user)
        assert client.get("/dispatch/live/").status_code == 403


def test_every_figure_of_the_dashboards_is_one_plotly_accepts(client, dispatcher, ops_user):
    from factory import charts as factory_charts

    _running_and_waiting(ops_user)
    order = Job.objects.filter(state="running").first().order
    client.force_login(ops_user)

    figures = [
        *client.get("/dispatch/live/").json()["charts"].values(),
        *client.get("/live/operations/").json()["charts"].values(),
        *client.get(f"/orders/{order.pk}/").context["figures"].values(),
    ]

    drawn = [figure for figure in figures if figure is not None]
    assert len(drawn) >= 6
    for figure in drawn:
        factory_charts.validate(figure)


def _lab(colour: str) -> tuple[float, float, float]:
    """An sRGB "#rrggbb" as CIELAB (D65): distances there follow what the eye tells apart."""

    def linear(channel):
        return ((channel + 0.055) / 1.055) ** 2.4 if channel > 0.04045 else channel / 12.92

    r, g, b = (linear(int(colour[i : i + 2], 16) / 255) for i in (1, 3, 5))
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t):
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def _closest_bands(traces) -> float:
    """The smallest colour difference (CIE76) between two of our load bands of the utilization chart."""
    bands = [
        trace["line"]["color"] for trace in traces if trace.get("stackgroup") and "other tenants" not in trace["name"]
    ]
    return min(math.dist(_lab(one), _lab(other)) for one, other in combinations(bands, 2))


def _utilization_samples(pools):
    now = clock.now()
    for minutes in (5, 10):  # two ticks in the same 15-minute bucket
        UtilizationSample.objects.bulk_create(
            UtilizationSample(
                pool=pool,
                at=now - timedelta(minutes=minutes),
                used_pflops=Decimal(index + 1),
                background_pflops=Decimal(1),
                capacity_pflops=Decimal(10),
            )
            for index, pool in enumerate(pools)
        )


def test_twelve_pools_are_twelve_bands_of_colours_a_person_tells_apart(client, dispatcher):
    _utilization_samples([compute_pool(capacity=10) for _ in range(12)])
    client.force_login(dispatcher)

    traces = client.get("/dispatch/live/").json()["charts"]["utilization"]["data"]

    assert len(traces) == 2 + 12
    # 25 is a difference seen at a glance between two adjacent bands; the old blues were 16 apart.
    assert _closest_bands(traces) >= 25


def test_beyond_twelve_pools_each_site_is_one_band_holding_its_pools_load(client, dispatcher):
    pools = [compute_pool(capacity=10) for _ in range(14)]
    # Two pools share the first pool's site: that site's band carries both.
    for pool in pools[1:3]:
        pool.site = pools[0].site
        pool.save()
    _utilization_samples(pools)
    client.force_login(dispatcher)

    traces = client.get("/dispatch/live/").json()["charts"]["utilization"]["data"]

    bands = {trace["name"]: trace["y"][-1] for trace in traces}
    assert len(bands) == 2 + 12  # background, capacity, and the 12 sites
    assert _closest_bands(traces) >= 25
    assert bands[pools[0].site.name] == 1 + 2 + 3
    assert bands[pools[13].site.name] == 14
    assert bands["Capacity"] == 140
    assert bands["Background load (other tenants)"] == 14


def test_beyond_twelve_sites_the_least_loaded_share_one_band_so_no_colour_repeats(client, dispatcher):
    pools = [compute_pool(capacity=10) for _ in range(14)]  # each at a site of its own
    _utilization_samples(pools)  # the n-th pool carries n PFLOPS
    client.force_login(dispatcher)

    traces = client.get("/dispatch/live/").json()["charts"]["utilization"]["data"]

    bands = {trace["name"]: trace["y"][-1] for trace in traces if "other tenants" not in trace["name"]}
    assert len(bands) == 1 + 12
    assert bands["3 other sites"] == 1 + 2 + 3
    assert all(pool.site.name in bands for pool in pools[3:])
    assert _closest_bands(traces) >= 25
    assert bands["Capacity"] == 140


def test_the_capacity_figure_reads_in_chinese(client, dispatcher):
    compute_pool(kind="training", capacity=400)
    client.force_login(dispatcher)

    figure = client.get("/dispatch/live/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()["charts"]["capacity"]

    assert figure["layout"]["title"]["text"] == "当前监测算力与可调度算力"
    assert {trace["y"][0] for trace in figure["data"]} == {"各站点监测", "可调度给我们"}


def test_a_chinese_chart_page_gives_plotly_a_chinese_locale_and_an_english_one_none(client, dispatcher):
    client.force_login(dispatcher)

    chinese = client.get("/dispatch/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    english = client.get("/dispatch/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    locale = json.loads(re.search(r'<script id="plotly-locale" type="application/json">(.*?)</script>', chinese)[1])
    assert locale["name"] == "zh-CN"
    assert locale["format"]["months"][11] == "十二月"
    assert locale["format"]["days"][0] == "星期日"
    assert {"Zoom in", "Reset axes", "Download plot as a PNG"} <= set(locale["dictionary"])
    assert 'id="plotly-locale"' not in english

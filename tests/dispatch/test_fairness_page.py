"""The fairness page: per client, entitlement, recent usage and share now per pool kind, the jobs waiting, and compute
per month against the budget. Who may open it is tested with the other dispatch pages (test_pages.PAGES)."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest

from dispatch import charts, selectors, services
from dispatch.models import Job, JobState
from factory import charts as factory_charts
from factory import clock
from orders.models import OrderStatus
from tests.factories import ClientOrganizationFactory, compute_pool, order_at

pytestmark = pytest.mark.django_db

FAIRNESS = "/dispatch/fairness/"


@pytest.fixture(autouse=True)
def _no_background_load(settings):
    settings.DISPATCH_BACKGROUND_LOAD = False


def _floor(clients: int, staff) -> list:
    """``clients`` clients, each with an order running, one waiting (sensitive, no trusted data pool), a finished job
    last month, an entitlement and a budget."""
    compute_pool(kind="data_processing", capacity=5000, trusted=False)
    compute_pool(kind="training", capacity=5000)
    made = []
    for number in range(clients):
        organization = ClientOrganizationFactory()
        order = order_at(OrderStatus.IN_PRODUCTION, staff=staff, client=organization, actor=staff)
        order_at(OrderStatus.IN_PRODUCTION, staff=staff, client=organization, actor=staff, data_sensitivity="sensitive")
        services.client_entitlement_set(client=organization, kind="data_processing", weight=number + 1)
        services.client_budget_set(client=organization, monthly_pflops_hours=Decimal("100"), enforce=False)
        made.append((organization, order))
    t0 = clock.now() - timedelta(hours=1)
    services.dispatch_tick(now=t0)
    for _organization, order in made:
        # Work finished 40 days ago: in the 12 months of budget use, long decayed for fair share.
        step = order.stages.order_by("position").first().steps.order_by("position").last()
        at = clock.now() - timedelta(days=40)
        Job.objects.create(
            order=order, step=step, state=JobState.DONE, priority="normal", kind="data_processing",
            demand_pflops=10, work_pflops_hours=150, done_pflops_hours=150, deadline=at, queued_at=at,
            started_at=at, finished_at=at,
        )  # fmt: skip
    return [organization for organization, _order in made]


def test_the_page_shows_each_clients_entitlement_share_now_waiting_jobs_and_budget_use(client, dispatcher, ops_user):
    first, second = _floor(2, ops_user)
    client.force_login(dispatcher)

    response = client.get(FAIRNESS)

    page = response.content.decode()
    assert response.status_code == 200
    # Weights 1 and 2 on data processing: a third and two thirds.
    assert re.search(rf'data-client="{first.name}" data-kind="data_processing">.*?data-entitled>33%', page, re.S)
    assert re.search(rf'data-client="{second.name}" data-kind="data_processing">.*?data-entitled>67%', page, re.S)
    # Each runs one data processing job of the same size: half of what runs now.
    assert re.search(rf'data-client="{first.name}" data-kind="data_processing">.*?data-running>50%', page, re.S)
    assert page.count('data-waiting="1"') == 2
    assert "halved every 7 d" in page
    assert "150 PFLOPS·h" in page
    assert "Months over budget: 1" in page
    figure = response.context["figures"]["fairness-months"]
    factory_charts.validate(figure)
    assert {trace["name"] for trace in figure["data"]} >= {first.name, f"{second.name}: budget"}


def test_the_page_says_what_would_appear_when_no_client_has_used_compute(client, dispatcher):
    client.force_login(dispatcher)

    response = client.get(FAIRNESS)

    assert 'data-testid="fairness-empty"' in response.content.decode()
    assert response.context["figures"]["fairness-months"] is None


def test_the_dispatch_center_links_to_the_fairness_page(client, dispatcher):
    client.force_login(dispatcher)

    page = client.get("/dispatch/").content.decode()

    assert f'href="{FAIRNESS}"' in page


@pytest.mark.parametrize("clients", [2, 5])
def test_the_fairness_page_takes_a_fixed_number_of_queries(
    client, dispatcher, ops_user, django_assert_num_queries, clients
):
    _floor(clients, ops_user)
    client.force_login(dispatcher)

    # 1 session, 2 user, 3 role groups, 4 entitlements, 5 recent usage per client and kind, 6 PFLOPS running per
    # client and kind, 7 waiting jobs per client, 8 PFLOPS·h finished per client and month, 9 the clients with
    # their budgets.
    with django_assert_num_queries(9):
        response = client.get(FAIRNESS)

    assert len(response.context["rows"]) == clients


def test_the_months_are_the_last_twelve_this_one_last(ops_user):
    data = selectors.fairness(now=clock.now())

    assert len(data.months) == 12
    assert data.months == sorted(data.months)
    assert charts.fairness_months(data)["figure"] is None

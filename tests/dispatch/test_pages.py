"""The dispatch center's pages: the center, the jobs list, a pool's page, pool actions and priority changes."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest

from dispatch import services
from dispatch.models import ComputePool, Job, JobState, PoolState, Preemption
from factory import clock
from orders.models import EventKind, OrderStatus
from tests.factories import ClientOrganizationFactory, compute_pool, order_at

pytestmark = pytest.mark.django_db

CENTER = "/dispatch/"
JOBS = "/dispatch/jobs/"


@pytest.fixture(autouse=True)
def _no_background_load(settings):
    settings.DISPATCH_BACKGROUND_LOAD = False


@pytest.fixture
def later(monkeypatch):
    """Move the factory clock forward (every module reads it through clock.now)."""
    real_now = clock.now

    def move(**delta):
        moment = real_now() + timedelta(**delta)
        monkeypatch.setattr(clock, "now", lambda: moment)
        return moment

    return move


def _text(response) -> str:
    return response.content.decode()


def _messages(response) -> str:
    return " ".join(str(message) for message in response.context["messages"]) if response.context else ""


def _rows(response, attribute: str) -> list[str]:
    return re.findall(rf'<tr [^>]*\b{attribute}="([^"]+)"', _text(response))


def _section(response, testid: str) -> str:
    """The HTML of one section of the page (up to the next section)."""
    page = _text(response)
    start = page.index(f'data-testid="{testid}"')
    end = page.find("<section", start)
    return page[start : end if end != -1 else len(page)]


def _tick(at=None):
    return services.dispatch_tick(now=at or clock.now())


def _pools():
    return {kind: compute_pool(kind=kind, capacity=1000) for kind in ("data_processing", "training", "inference")}


# --- Who may open the pages and act --------------------------------------------------------------------------


PAGES = [CENTER, JOBS, "pool", "priority", "/dispatch/fairness/"]


def _path(path: str, staff) -> str:
    """The page's address; a pool's page and an order's priority page need a pool and an order."""
    if path == "pool":
        return f"/dispatch/pools/{compute_pool().pk}/"
    if path == "priority":
        return f"/dispatch/orders/{order_at(OrderStatus.IN_PRODUCTION, staff=staff).pk}/priority/"
    return path


@pytest.mark.parametrize("path", PAGES)
def test_dispatch_and_operations_staff_can_open_the_pages(client, dispatcher, ops_user, path):
    path = _path(path, ops_user)
    for user in (dispatcher, ops_user):
        client.force_login(user)
        assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", PAGES)
def test_security_staff_and_client_users_are_refused_the_pages(
    client, reviewer, aftersales_user, client_a, ops_user, path
):
    path = _path(path, ops_user)
    for user in (reviewer, aftersales_user, client_a):
        client.force_login(user)
        assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page(client, ops_user, path):
    response = client.get(_path(path, ops_user))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_navigation_links_to_the_dispatch_center(client, ops_user):
    client.force_login(ops_user)

    assert f'href="{CENTER}"' in _text(client.get("/orders/"))


@pytest.mark.parametrize("action", ["drain", "offline"])
def test_operations_staff_see_pools_but_may_not_change_their_state(client, ops_user, action):
    pool = compute_pool()
    client.force_login(ops_user)

    page = client.get(CENTER)
    pool_page = client.get(f"/dispatch/pools/{pool.pk}/?action={action}")
    response = client.post(f"/dispatch/pools/{pool.pk}/{action}/", {"reason": "Cooling maintenance"})

    assert pool.name in _text(page)
    assert "data-pool-action" not in _text(page)
    assert "Only the dispatch role drains" in _text(page)
    assert "data-action" not in _text(pool_page)
    assert "Only the dispatch role drains" in _section(pool_page, "pool-actions")
    assert response.status_code == 403
    pool.refresh_from_db()
    assert pool.state == PoolState.ACTIVE
    assert not pool.state_changes.exists()


@pytest.mark.parametrize("user_fixture", ["reviewer", "client_a"])
def test_other_roles_and_clients_may_not_change_a_pool(client, request, user_fixture):
    pool = compute_pool()
    client.force_login(request.getfixturevalue(user_fixture))

    response = client.post(f"/dispatch/pools/{pool.pk}/drain/", {"reason": "Cooling maintenance"})

    assert response.status_code == 403
    pool.refresh_from_db()
    assert pool.state == PoolState.ACTIVE


def test_anonymous_posts_change_nothing_and_lead_to_the_login_page(client, ops_user):
    pool = compute_pool()
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)

    drain = client.post(f"/dispatch/pools/{pool.pk}/drain/", {"reason": "x"})
    priority = client.post(f"/dispatch/orders/{order.pk}/priority/", {"priority": "high", "reason": "x"})

    assert drain.status_code == priority.status_code == 302
    assert drain["Location"].startswith("/accounts/login/")
    pool.refresh_from_db()
    order.refresh_from_db()
    assert pool.state == PoolState.ACTIVE
    assert order.priority == "normal"


def test_pool_actions_only_take_posts(client, dispatcher):
    pool = compute_pool()
    client.force_login(dispatcher)

    assert client.get(f"/dispatch/pools/{pool.pk}/drain/").status_code == 405
    assert client.post("/dispatch/pools/999999/drain/", {"reason": "x"}).status_code == 404


# --- Pools ----------------------------------------------------------------------------------------------------


def test_pools_table_shows_site_flags_load_and_state_in_words(client, dispatcher, ops_user):
    compute_pool(kind="training", capacity=400, trusted=True, in_province=True, name="gz-train-a")
    compute_pool(kind="inference", capacity=200, trusted=False, in_province=False, name="sh-infer-b")
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    client.force_login(dispatcher)

    response = client.get(CENTER)

    pools = _section(response, "pools")
    assert _rows(response, "data-pool") == ["gz-train-a", "sh-infer-b"]
    assert "In province" in pools
    assert "Out of province" in pools
    assert "Trusted" in pools
    assert "Not trusted" in pools
    assert "may run sensitive data" in pools
    assert "Training" in pools
    assert "Inference" in pools
    assert 'data-status="active"' in pools
    assert ">Active<" in pools
    assert 'class="dispatch-bar' in pools
    assert 'data-pool-action="drain"' in pools
    assert 'data-pool-action="offline"' in pools
    assert 'data-pool-action="activate"' not in pools


def test_dispatcher_drains_a_pool_with_a_reason_and_the_page_says_so(client, dispatcher):
    pool = compute_pool(name="gz-data-a")
    client.force_login(dispatcher)

    response = client.post(
        f"/dispatch/pools/{pool.pk}/drain/", {"reason": "Cooling maintenance", "next": CENTER}, follow=True
    )

    pool.refresh_from_db()
    change = pool.state_changes.get()
    assert pool.state == PoolState.DRAINING
    assert (change.from_state, change.to_state, change.actor, change.reason) == (
        "active",
        "draining",
        dispatcher,
        "Cooling maintenance",
    )
    assert "Pool gz-data-a is now draining" in _messages(response)
    pools = _section(response, "pools")
    assert 'data-status="draining"' in pools
    assert "Draining" in pools
    assert "Cooling maintenance" in pools
    assert "by dispatch-user" in pools
    assert 'data-pool-action="activate"' in pools
    assert 'data-pool-action="drain"' not in pools


def test_taking_a_pool_offline_sends_its_jobs_back_to_the_queue_with_the_reason_in_words(client, dispatcher, ops_user):
    pool = compute_pool(kind="data_processing", capacity=1000)
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    t0 = clock.now()
    _tick(t0)
    client.force_login(dispatcher)

    client.post(f"/dispatch/pools/{pool.pk}/offline/", {"reason": "Power work"})
    _tick(t0 + timedelta(minutes=1))
    response = client.get(CENTER)

    pool.refresh_from_db()
    assert pool.state == PoolState.OFFLINE
    assert _rows(response, "data-reference") == [order.reference]
    assert "Pools draining or offline" in _section(response, "queue")
    assert "progress kept" in _section(response, "queue")


def test_a_job_sent_back_by_an_offline_pool_waits_from_when_it_was_sent_back(client, dispatcher, ops_user, later):
    pool = compute_pool(kind="data_processing", capacity=1000)
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    _tick()
    later(hours=6)  # the job runs for six hours, then its pool goes offline
    client.force_login(dispatcher)
    client.post(f"/dispatch/pools/{pool.pk}/offline/", {"reason": "Power work"})
    later(hours=6, minutes=50)

    queue = _section(client.get(CENTER), "queue")

    assert re.findall(r'data-testid="wait"><span>([^<]+)</span>', queue) == ["50 min"]


def test_a_pool_action_without_a_reason_is_refused_with_a_message_and_changes_nothing(client, dispatcher):
    pool = compute_pool()
    client.force_login(dispatcher)

    response = client.post(f"/dispatch/pools/{pool.pk}/drain/", {"reason": "   "}, follow=True)

    pool.refresh_from_db()
    assert pool.state == PoolState.ACTIVE
    assert not pool.state_changes.exists()
    assert response.status_code == 400
    assert "Say why the pool's state changes." in _messages(response)
    assert '<details class="staff-action" id="action-drain" open>' in _section(response, "pool-actions")


def test_an_illegal_pool_transition_is_refused_with_a_message_and_changes_nothing(client, dispatcher):
    pool = compute_pool(name="gz-data-a")
    client.force_login(dispatcher)

    response = client.post(f"/dispatch/pools/{pool.pk}/activate/", {"reason": "Back in service"}, follow=True)

    pool.refresh_from_db()
    assert pool.state == PoolState.ACTIVE
    assert not pool.state_changes.exists()
    assert response.status_code == 409
    assert "Pool gz-data-a is Active: it cannot be made Active." in _messages(response)
    assert 'data-action="drain"' in _section(response, "pool-actions")


def test_an_action_returns_to_the_page_it_came_from_but_never_to_another_site(client, dispatcher):
    first, second = compute_pool(), compute_pool()
    client.force_login(dispatcher)

    back = client.post(f"/dispatch/pools/{first.pk}/drain/", {"reason": "x", "next": "/dispatch/jobs/?state=running"})
    elsewhere = client.post(f"/dispatch/pools/{second.pk}/drain/", {"reason": "x", "next": "https://evil.example/"})

    assert back["Location"] == "/dispatch/jobs/?state=running"
    assert elsewhere["Location"] == f"/dispatch/pools/{second.pk}/"


def test_a_pool_page_shows_its_load_jobs_chart_and_history_of_changes(client, dispatcher, ops_user):
    pool = compute_pool(kind="data_processing", capacity=1000, name="gz-data-a")
    other = compute_pool(kind="data_processing", capacity=1000, name="gz-data-b", state="offline")
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    t0 = clock.now() - timedelta(minutes=5)
    _tick(t0)
    _tick(t0 + timedelta(minutes=1))
    services.pool_change_state(pool=pool, action="drain", actor=dispatcher, reason="Cooling maintenance")
    client.force_login(ops_user)

    response = client.get(f"/dispatch/pools/{pool.pk}/")

    header = _section(response, "pool-header")
    assert 'data-status="draining"' in header
    assert "Cooling maintenance" in header
    assert "1,000 PFLOPS" in header or "1000 PFLOPS" in header
    assert _rows(response, "data-reference") == [order.reference]
    assert Job.objects.get(order=order).pool == pool
    assert f'href="/dispatch/orders/{order.pk}/priority/?next=%2Fdispatch%2Fpools%2F{pool.pk}%2F%23running"' in (
        _section(response, "running")
    )
    history = _section(response, "pool-history")
    assert _rows(response, "data-change") == ["active-draining"]
    assert "dispatch-user" in history
    assert 'data-chart="utilization"' in _text(response)
    assert other.name not in _text(response)
    assert "{#" not in _text(response)  # template comments stay out of the page


def test_a_pool_page_without_jobs_or_changes_says_what_would_appear(client, dispatcher):
    pool = compute_pool()
    client.force_login(dispatcher)

    response = client.get(f"/dispatch/pools/{pool.pk}/")

    assert "No job runs on this pool" in _section(response, "running")
    assert "No state changes yet" in _section(response, "pool-history")
    assert "No utilization recorded yet" in _text(response)
    assert client.get("/dispatch/pools/999999/").status_code == 404


def test_the_center_links_each_pool_action_to_the_pools_page_with_its_form_open(client, dispatcher):
    pool = compute_pool(name="gz-data-a")
    client.force_login(dispatcher)

    pools = _section(client.get(CENTER), "pools")
    link = re.search(r'href="([^"]+)" data-pool-action="offline"', pools).group(1)
    page = client.get(link)

    assert link.startswith(f"/dispatch/pools/{pool.pk}/")
    actions = _section(page, "pool-actions")
    assert '<details class="staff-action" id="action-offline" open>' in actions
    assert '<details class="staff-action" id="action-drain">' in actions
    assert f'action="/dispatch/pools/{pool.pk}/offline/"' in actions
    assert f'name="next" value="/dispatch/pools/{pool.pk}/"' in actions


def test_a_pool_action_from_its_page_comes_back_to_it_with_the_change_listed(client, dispatcher):
    pool = compute_pool(name="gz-data-a")
    client.force_login(dispatcher)

    response = client.post(
        f"/dispatch/pools/{pool.pk}/offline/",
        {"reason": "Power work", "next": f"/dispatch/pools/{pool.pk}/"},
        follow=True,
    )

    assert response.redirect_chain == [(f"/dispatch/pools/{pool.pk}/", 302)]
    assert "Pool gz-data-a is now offline" in _messages(response)
    assert _rows(response, "data-change") == ["active-offline"]
    assert 'data-action="activate"' in _section(response, "pool-actions")


@pytest.mark.parametrize("changes", [1, 3])
def test_a_pool_page_takes_a_fixed_number_of_queries(client, dispatcher, ops_user, django_assert_num_queries, changes):
    _floor(changes, ops_user)
    pool = ComputePool.objects.get(kind="data_processing")
    for number in range(changes):
        services.pool_change_state(pool=pool, action="drain", actor=dispatcher, reason=f"Maintenance {number}")
        services.pool_change_state(pool=pool, action="activate", actor=dispatcher, reason=f"Back {number}")
    client.force_login(dispatcher)

    # 1 session, 2 user, 3 role groups, 4 the pool with its site and last change, 5 the utilization
    # history bucketed in Postgres, 6 its running jobs with orders, clients and steps, 7 its state changes
    # with who made them, 8 its bookings in force, 9 its last bookings over or cancelled, 10 its scheduled changes
    # to come, 11 the last carried out or cancelled, 12 the clients of the booking form
    # (tests/dispatch/test_reservation_pages.py counts it with bookings and scheduled changes).
    with django_assert_num_queries(12):
        response = client.get(f"/dispatch/pools/{pool.pk}/")

    assert len(_rows(response, "data-change")) == 2 * changes
    assert len(_rows(response, "data-reference")) == changes


@pytest.mark.parametrize("orders", [1, 3])
def test_a_priority_page_takes_a_fixed_number_of_queries(
    client, dispatcher, ops_user, django_assert_num_queries, orders
):
    _floor(orders, ops_user)
    order = Job.objects.filter(state=JobState.RUNNING).first().order
    client.force_login(dispatcher)

    # 1 session, 2 user, 3 role groups, 4 the order with its client, 5 its waiting and running jobs.
    with django_assert_num_queries(5):
        response = client.get(f"/dispatch/orders/{order.pk}/priority/")

    assert order.client.name in _section(response, "order-header")


def test_a_priority_page_never_sends_back_to_another_site(client, dispatcher, ops_user):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    client.force_login(dispatcher)

    page = client.get(f"/dispatch/orders/{order.pk}/priority/?next=https://evil.example/")

    assert 'name="next" value="/dispatch/#queue"' in _text(page)
    assert 'href="https://evil.example/"' not in _text(page)
    assert "No job of this order waits or runs now" in _section(page, "open-jobs")


# --- The queue, running jobs, preemptions ----------------------------------------------------------------------


def test_queue_shows_a_sensitive_order_waiting_for_residency_with_its_wait_time(client, dispatcher, ops_user, later):
    compute_pool(kind="data_processing", capacity=1000, trusted=False)
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, data_sensitivity="sensitive")
    queued_at = clock.now()
    _tick(queued_at)
    later(hours=3, minutes=5, seconds=30)
    client.force_login(dispatcher)

    response = client.get(CENTER)

    queue = _section(response, "queue")
    assert _rows(response, "data-reference") == [order.reference]
    assert 'data-reason="residency"' in queue
    assert "Data residency: no trusted in-province pool" in queue
    assert "Sensitive data may only be processed on trusted in-province pools" in queue
    assert "3 h 5 min" in queue
    assert "Sensitive data" in queue
    kpis = _section(response, "kpis")
    assert re.search(r'data-kpi="waiting">\s*<span class="kpi__value">1<', kpis)
    depth = re.search(r'<li data-priority="normal">.*?</li>', queue, re.S).group(0)
    assert "1 waiting" in depth
    assert "longest 3 h 5 min" in depth


def test_queue_lists_urgent_work_first_then_the_longest_waiting(client, dispatcher, ops_user):
    compute_pool(kind="data_processing", capacity=1000, trusted=False)
    t0 = clock.now() - timedelta(hours=1)
    first = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, data_sensitivity="sensitive")
    _tick(t0)
    second = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, data_sensitivity="sensitive")
    _tick(t0 + timedelta(minutes=1))
    urgent = order_at(
        OrderStatus.IN_PRODUCTION, staff=ops_user, actor=ops_user, data_sensitivity="sensitive", priority="urgent"
    )
    _tick(t0 + timedelta(minutes=2))
    client.force_login(dispatcher)

    response = client.get(CENTER)

    assert _rows(response, "data-reference") == [urgent.reference, first.reference, second.reference]


def test_running_jobs_show_their_pool_and_progress(client, dispatcher, ops_user):
    pools = _pools()
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    t0 = clock.now()
    _tick(t0)
    job = Job.objects.get()
    half = (job.work_pflops_hours / job.demand_pflops) / 2
    _tick(t0 + timedelta(hours=float(half)))
    client.force_login(dispatcher)

    response = client.get(CENTER)

    running = _section(response, "running")
    assert order.reference in running
    assert pools[job.kind].name in running
    assert re.search(r"\b(49|50)%", running)
    assert "No jobs waiting — every ready step has compute" in _text(response)


def test_recent_preemptions_name_both_orders_and_the_pool(client, dispatcher, ops_user, django_assert_num_queries):
    low = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, priority="low", size="large")
    step = low.stages.get(position=1).steps.get(position=1)
    pool = compute_pool(kind="data_processing", capacity=step.demand_pflops)
    t0 = clock.now()
    _tick(t0)
    urgent = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, actor=ops_user, priority="urgent", size="large")
    _tick(t0 + timedelta(minutes=1))
    _tick(t0 + timedelta(hours=1))
    assert Preemption.objects.exists()
    client.force_login(dispatcher)

    # The queries of the query-count tests, and the preempted and preempting jobs with their orders and steps.
    with django_assert_num_queries(17):
        response = client.get(CENTER)

    preemptions = _section(response, "preemptions")
    assert low.reference in preemptions
    assert urgent.reference in preemptions
    assert pool.name in preemptions
    assert "Urgent" in preemptions
    assert "Low" in preemptions


@pytest.mark.parametrize(("hours", "words"), [(2.5, "2.5 h later"), (-28.5, "28.5 h earlier"), (0.0, "0 h later")])
def test_a_preemption_says_which_way_it_moved_the_eta_of_the_order_it_hit(client, dispatcher, ops_user, hours, words):
    low = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, priority="low", size="large")
    compute_pool(kind="data_processing", capacity=low.stages.get(position=1).steps.get(position=1).demand_pflops)
    t0 = clock.now()
    _tick(t0)
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, actor=ops_user, priority="urgent", size="large")
    _tick(t0 + timedelta(minutes=1))
    _tick(t0 + timedelta(hours=1))
    assert Preemption.objects.update(eta_slips={str(low.pk): hours}) == 1
    client.force_login(dispatcher)

    preemptions = _section(client.get(CENTER), "preemptions")

    assert f"{low.reference}: {words}" in preemptions
    assert "+-" not in preemptions


def test_empty_center_says_what_would_appear_and_why(client, dispatcher):
    client.force_login(dispatcher)

    page = _text(client.get(CENTER))

    assert "No compute pools yet" in page
    assert "No jobs waiting — every ready step has compute" in page
    assert "Nothing running" in page
    assert "No preemptions" in page
    assert "No compute used this month, and no budgets" in page


def test_kpi_tiles_add_up_the_pools_and_link_to_what_explains_them(client, dispatcher, ops_user):
    compute_pool(kind="data_processing", capacity=300)
    compute_pool(kind="training", capacity=200, state="offline")
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    _tick()
    client.force_login(dispatcher)

    kpis = _section(client.get(CENTER), "kpis")
    used = Job.objects.get().demand_pflops

    def tile(name):
        return re.search(rf'data-kpi="{name}">\s*<span class="kpi__value">([^<]+)<', kpis).group(1)

    assert tile("dispatchable") == "300"
    assert "200 PFLOPS offline" in kpis
    assert tile("used") == f"{used:,.0f}"
    assert tile("monitored") == "1,500"
    assert tile("running") == "1"
    assert tile("waiting") == "0"
    assert tile("preemptions") == "0"
    assert 'href="/dispatch/jobs/?state=waiting"' in kpis


# --- Budgets --------------------------------------------------------------------------------------------------


def test_client_budgets_show_burn_down_with_warning_and_over_budget(client, dispatcher, ops_user):
    _pools()
    spender = ClientOrganizationFactory(name="Ruijin Hospital")
    careful = ClientOrganizationFactory(name="Tax Bureau")
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=spender, actor=ops_user)
    t0 = clock.now()
    _tick(t0)
    _tick(t0 + timedelta(minutes=30))
    used = float(Job.objects.get().done_pflops_hours)
    services.client_budget_set(client=spender, monthly_pflops_hours=Decimal(str(round(used / 2, 2))))
    services.client_budget_set(client=careful, monthly_pflops_hours=Decimal("1000"))
    client.force_login(dispatcher)

    budgets = _section(client.get(CENTER), "budgets")

    assert 'data-client="Ruijin Hospital" data-budget-status="over"' in budgets
    assert "Over budget" in budgets
    assert "non-urgent work waits" in budgets
    assert 'data-client="Tax Bureau" data-budget-status="ok"' in budgets
    assert budgets.index("Ruijin Hospital") < budgets.index("Tax Bureau")


def test_a_client_near_its_budget_is_warned(client, dispatcher, ops_user):
    _pools()
    org = ClientOrganizationFactory(name="Ruijin Hospital")
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org, actor=ops_user)
    t0 = clock.now()
    _tick(t0)
    _tick(t0 + timedelta(minutes=30))
    used = Job.objects.get().done_pflops_hours
    services.client_budget_set(client=org, monthly_pflops_hours=(used / Decimal("0.9")).quantize(Decimal("0.01")))
    client.force_login(dispatcher)

    budgets = _section(client.get(CENTER), "budgets")

    assert 'data-budget-status="warning"' in budgets
    assert "Near the budget" in budgets
    assert "90%" in budgets


# --- Priority changes -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("user_fixture", ["dispatcher", "ops_user"])
def test_a_priority_change_from_the_center_reaches_the_jobs_and_the_order_timeline(
    client, ops_user, request, user_fixture
):
    user = request.getfixturevalue(user_fixture)
    compute_pool(kind="data_processing", capacity=1000, trusted=False)
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, data_sensitivity="sensitive")
    _tick()
    client.force_login(user)
    center = _section(client.get(CENTER), "queue")
    link = re.search(rf'href="(/dispatch/orders/{order.pk}/priority/\?next=[^"]+)"', center).group(1)
    page = client.get(link.replace("&amp;", "&"))
    assert 'name="next" value="/dispatch/#queue"' in _text(page)
    assert 'data-job="' in _section(page, "open-jobs")

    response = client.post(
        f"/dispatch/orders/{order.pk}/priority/",
        {"priority": "high", "reason": "Ministry deadline", "next": "/dispatch/#queue"},
        follow=True,
    )

    order.refresh_from_db()
    assert order.priority == "high"
    assert Job.objects.get(order=order).priority == "high"
    event = order.events.get(kind=EventKind.PRIORITY_CHANGED)
    assert event.actor == user
    assert "Ministry deadline" in event.note
    assert f"{order.reference} now has high priority" in _messages(response)
    assert 'data-priority="high"' in _section(response, "queue")


def test_a_priority_change_without_a_reason_is_refused_and_changes_nothing(client, dispatcher, ops_user):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    client.force_login(dispatcher)

    response = client.post(f"/dispatch/orders/{order.pk}/priority/", {"priority": "high", "reason": ""}, follow=True)

    order.refresh_from_db()
    assert order.priority == "normal"
    assert not order.events.filter(kind=EventKind.PRIORITY_CHANGED).exists()
    assert response.status_code == 400
    assert "Say why the priority changes." in _messages(response)
    assert '<option value="high" selected>' in _section(response, "priority-form")


def test_an_unknown_priority_is_refused_with_a_message(client, dispatcher, ops_user):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    client.force_login(dispatcher)

    response = client.post(f"/dispatch/orders/{order.pk}/priority/", {"priority": "asap", "reason": "x"}, follow=True)

    order.refresh_from_db()
    assert order.priority == "normal"
    assert order.reference in _messages(response)
    assert "not a valid choice" in _messages(response)


def test_security_staff_may_not_change_priorities_and_unknown_orders_are_not_found(
    client, reviewer, dispatcher, ops_user
):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    client.force_login(reviewer)

    refused = client.post(f"/dispatch/orders/{order.pk}/priority/", {"priority": "high", "reason": "x"})
    client.force_login(dispatcher)
    missing = client.post("/dispatch/orders/999999/priority/", {"priority": "high", "reason": "x"})

    assert refused.status_code == 403
    assert missing.status_code == 404
    order.refresh_from_db()
    assert order.priority == "normal"


# --- The jobs list --------------------------------------------------------------------------------------------


def test_jobs_list_filters_by_state_and_search(client, dispatcher, ops_user):
    compute_pool(kind="data_processing", capacity=1000, trusted=False)
    running = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    waiting = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, data_sensitivity="sensitive")
    _tick()
    client.force_login(dispatcher)

    everything = client.get(JOBS)
    only_waiting = client.get(JOBS, {"state": "waiting"})
    only_running = client.get(JOBS, {"state": "running"})
    searched = client.get(JOBS, {"search": waiting.reference})

    assert _rows(everything, "data-reference") == [running.reference, waiting.reference]
    assert _rows(only_waiting, "data-reference") == [waiting.reference]
    assert "Data residency" in _text(only_waiting)
    assert _rows(only_running, "data-reference") == [running.reference]
    assert _rows(searched, "data-reference") == [waiting.reference]
    assert "No job matches these filters" in _text(client.get(JOBS, {"state": "done"}))


def test_jobs_list_when_empty_says_how_jobs_appear(client, dispatcher):
    client.force_login(dispatcher)

    assert "No jobs yet" in _text(client.get(JOBS))


# --- Query counts ---------------------------------------------------------------------------------------------


def _floor(orders: int, staff):
    """`orders` running jobs and `orders` sensitive jobs waiting (only an untrusted data pool), each its client."""
    if not ComputePool.objects.exists():
        compute_pool(kind="data_processing", capacity=5000, trusted=False)
        compute_pool(kind="training", capacity=5000)
    for _ in range(orders):
        client_org = ClientOrganizationFactory()
        order_at(OrderStatus.IN_PRODUCTION, staff=staff, client=client_org, actor=staff)
        order_at(OrderStatus.IN_PRODUCTION, staff=staff, client=client_org, actor=staff, data_sensitivity="sensitive")
        services.client_budget_set(client=client_org, monthly_pflops_hours=Decimal("100"))
    t0 = clock.now() - timedelta(hours=1)
    services.dispatch_tick(now=t0 - timedelta(minutes=1))
    services.dispatch_tick(now=t0)


@pytest.mark.parametrize("orders", [2, 4])
def test_center_page_takes_a_fixed_number_of_queries(client, dispatcher, ops_user, django_assert_num_queries, orders):
    _floor(orders, ops_user)
    client.force_login(dispatcher)

    # 1 session, 2 user, 3 the user's role groups, 4 pools with their sites, running-job counts and last
    # state changes, 5 the sites' monitored capacity, 6 job counts by state, 7 preemptions of the last 24 h,
    # 8 the queue with orders, clients and steps, 9 running jobs with their pools, 10 recent preemptions,
    # 11 compute per client this month, 12 clients with their budgets, and the charts' history bucketed in
    # Postgres: 13 utilization per pool, 14 the queue per priority, 15 cost per day.
    with django_assert_num_queries(15):
        response = client.get(CENTER)

    assert len(_rows(response, "data-job")) == 2 * orders
    assert Job.objects.filter(state=JobState.RUNNING).count() == orders


@pytest.mark.parametrize("orders", [2, 4])
def test_jobs_list_takes_a_fixed_number_of_queries(client, dispatcher, ops_user, django_assert_num_queries, orders):
    _floor(orders, ops_user)
    client.force_login(dispatcher)

    # 1 session, 2 user, 3 role groups, 4 count, 5 the page of jobs with orders, clients, steps and pools,
    # 6 the pools of the filter's select.
    with django_assert_num_queries(6):
        response = client.get(JOBS)

    assert len(_rows(response, "data-job")) == 2 * orders


# --- Admin ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model",
    [
        "computesite",
        "computepool",
        "job",
        "preemption",
        "utilizationsample",
        "clientbudget",
        "poolstatechange",
        "reservation",
    ],
)
def test_admin_lists_every_dispatch_record(client, admin_user, ops_user, model):
    _pools()
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    _tick()
    client.force_login(admin_user)

    assert client.get(f"/admin/dispatch/{model}/").status_code == 200


def test_admin_drains_pools_through_the_service_and_refuses_illegal_moves(client, admin_user):
    active, offline = compute_pool(), compute_pool(state="offline")
    client.force_login(admin_user)

    response = client.post(
        "/admin/dispatch/computepool/",
        {"action": "drain_pools", "_selected_action": [active.pk, offline.pk]},
        follow=True,
    )

    active.refresh_from_db()
    offline.refresh_from_db()
    assert active.state == PoolState.DRAINING
    assert active.state_changes.get().reason == "admin action"
    assert offline.state == PoolState.OFFLINE
    assert "1 pool changed state." in _messages(response)
    assert f"Pool {offline.name} is Offline: it cannot be made Draining." in _messages(response)


def test_admin_sets_a_client_budget_through_the_service(client, admin_user, org_a):
    client.force_login(admin_user)

    response = client.post(
        "/admin/dispatch/clientbudget/add/",
        {"client": org_a.pk, "monthly_pflops_hours": "500", "warn_at": "0.75", "enforce": "on"},
    )

    assert response.status_code == 302
    assert org_a.compute_budget.monthly_pflops_hours == Decimal("500")
    assert client.get(f"/admin/dispatch/computepool/{compute_pool().pk}/change/").status_code == 200


def test_center_renders_in_chinese_too(client, dispatcher, ops_user):
    compute_pool(kind="data_processing", capacity=1000, trusted=False)
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, data_sensitivity="sensitive")
    _tick()
    client.force_login(dispatcher)

    response = client.get(CENTER, headers={"accept-language": "zh-hans"})

    assert response.status_code == 200
    assert 'lang="zh-hans"' in _text(response)
    assert 'data-reason="residency"' in _text(response)

"""The plan page (`/plan/`) and its tile on the operations center: vertical models against the yearly target with the
year's projection, where work waits and the bottleneck named, rework and gate rejections, satisfaction per month; a
fixed number of queries whatever the history's length.

History is made through the services with the factory clock held (factory.clock.held) at the moments it happened,
in a fixed year, so that every figure can be worked out by hand."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from aftersales import services as aftersales_services
from dispatch import services as dispatch_services
from factory import charts, clock
from orders import services as order_services
from orders.models import OrderStatus, OrderStep
from security import services as security_services
from tests.factories import compute_pool, finish_current_stage, gate_reviewer, open_ticket, order_at

pytestmark = pytest.mark.django_db

FACTORY_TIME = ZoneInfo("Asia/Shanghai")
# Noon on 2 July 2025: 182.5 days are left in the year.
NOW = datetime(2025, 7, 2, 12, 0, tzinfo=FACTORY_TIME)


@pytest.fixture
def hands():
    """The factory clock, held at NOW; a test moves `hands.at` to make history, then sets it back."""
    with clock.held(NOW) as held:
        yield held


def _at(hands, *args):
    hands.at = datetime(*args, tzinfo=FACTORY_TIME)


def _section(page: str, testid: str) -> str:
    return page.split(f'data-testid="{testid}"')[1].split("</section>")[0]


def _row(page: str, testid: str, attribute: str, key: str) -> str:
    table = page.split(f'data-testid="{testid}"')[1].split("</table>")[0]
    return re.search(rf'<tr {attribute}="{key}".*?</tr>', table, re.S).group(0)


def _all_passed(review):
    return {answer.position: {"passed": True, "note": ""} for answer in review.answers.all()}


def test_vertical_models_of_the_last_365_days_are_counted_against_the_target_and_projected(
    client, hands, ops_user, org_a, client_a, settings
):
    settings.FACTORY_YEARLY_TARGET_MODELS = 10
    deliveries = [
        ((2024, 6, 1, 10), "model"),  # more than 365 days ago
        ((2024, 12, 15, 10), "agent"),  # in the last 365 days, last year
        ((2025, 3, 1, 10), "application"),  # this year, before the last 90 days
        ((2025, 5, 10, 10), "model"),  # the last 90 days (since 3 April, noon)
        ((2025, 6, 20, 10), "model"),
        ((2025, 6, 25, 10), "dataset"),  # no vertical model: its routing skips the model workshop
    ]
    for moment, product_type in deliveries:
        _at(hands, *moment)
        order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a, actor=client_a, product_type=product_type)
    hands.at = NOW
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, actor=client_a)  # not delivered yet
    client.force_login(ops_user)

    response = client.get("/plan/")
    page = response.content.decode()

    course = _section(page, "course")
    # 4 in the last 365 days; 3 this year; 2 in the last 90 days, so 2/90 a day for the 182.5 days left:
    # 3 + 2 / 90 * 182.5 = 7.06, short of 10.
    assert re.search(r'data-testid="last-365-days">4 of 10<', course)
    assert re.search(r'data-testid="projection">7 <span class="badge badge--amber">behind the target<', course)
    assert "0.02 a day" in course
    delivered = response.context["figures"]["delivered"]
    charts.validate(delivered)
    cumulative, target, projection = delivered["data"]
    assert cumulative["y"] == [0, 1, 2, 3, 3]
    assert target["y"] == [0, 10]
    assert projection["y"] == [3, 7.1]
    assert projection["x"] == ["2025-07-02T12:00:00", "2026-01-01T00:00:00"]

    home = client.get("/").content.decode()
    tile = re.search(r'<a class="kpi kpi--amber" href="/plan/" data-kpi="plan".*?</a>', home, re.S).group(0)
    assert "4 of 10" in tile
    assert "Vertical models, last 365 days" in tile
    assert "behind: 7 projected by the end of 2025" in tile


def test_the_target_reached_at_the_recent_rate_is_on_course(client, hands, ops_user, org_a, client_a, settings):
    settings.FACTORY_YEARLY_TARGET_MODELS = 3
    for day in (5, 20):
        _at(hands, 2025, 6, day, 9)
        order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a, actor=client_a)
    hands.at = NOW
    client.force_login(ops_user)

    # 2 + 2 / 90 * 182.5 = 6.06: past the target of 3.
    assert (
        'data-testid="projection">6 <span class="badge badge--green">on course<'
        in client.get("/plan/").content.decode()
    )


def test_the_bottleneck_is_the_workshop_whose_jobs_wait_longest(client, hands, ops_user, org_a, client_a):
    # Ten hours ago a dataset order's first data step and a model order's first model step were queued; no pool yet.
    _at(hands, 2025, 7, 2, 2)
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, actor=client_a, product_type="dataset")
    model = order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user, client=org_a, actor=client_a)
    order_services.stage_release_gate(stage=model.stages.get(workshop="data"), actor=gate_reviewer())
    dispatch_services.dispatch_tick(now=hands.at)
    # An hour later a data-processing pool comes: the data step starts; the model step (inference) still waits.
    compute_pool(kind="data_processing", capacity=500)
    dispatch_services.dispatch_tick(now=hands.at + timedelta(hours=1))
    hands.at = NOW
    client.force_login(ops_user)

    page = client.get("/plan/").content.decode()

    sentence = _section(page, "waits").split('data-testid="bottleneck">')[1].split("</p>")[0]
    assert "Work waits longest in the Model workshop: its jobs waited 10 h for compute on average." in sentence
    model_row = _row(page, "workshop-waits", "data-workshop", "model")
    assert 'data-bottleneck="queue"' in model_row
    assert "<strong>10 h</strong>" in model_row
    assert re.search(r'<td class="num">1</td>\s*<td class="num">0</td>\s*<td class="num"><strong>', model_row)
    data_row = _row(page, "workshop-waits", "data-workshop", "data")
    assert "bottleneck" not in data_row
    assert ">1 h<" in data_row
    assert ">1 h<" in _row(page, "pool-kind-waits", "data-pool-kind", "data_processing")
    assert ">10 h<" in _row(page, "pool-kind-waits", "data-pool-kind", "inference")


def test_rework_and_rejection_rates_per_workshop_count_the_gate_that_sent_work_back(
    client, hands, ops_user, reviewer, org_a, client_a
):
    _at(hands, 2025, 6, 1, 9)
    rejected = order_at(
        OrderStatus.AWAITING_REVIEW, staff=ops_user, client=org_a, actor=client_a, product_type="dataset"
    )
    (first,) = security_services.reviews_open_for_waiting_gates()
    security_services.review_reject(
        review=first,
        reviewer=reviewer,
        findings=[{"severity": "high", "text": "Names left in the free-text column."}],
        rework_steps=[first.stage.steps.order_by("position").first()],
    )
    finish_current_stage(rejected, ops_user)
    (second,) = security_services.reviews_open_for_waiting_gates()
    security_services.review_approve(review=second, reviewer=reviewer, answers=_all_passed(second))
    order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user, client=org_a, actor=client_a, product_type="dataset")
    (passed,) = security_services.reviews_open_for_waiting_gates()
    security_services.review_approve(review=passed, reviewer=reviewer, answers=_all_passed(passed))
    # A client's requirement change redoes a step at the gate too: not the gate's doing, so not counted as rework.
    changed = order_at(
        OrderStatus.AWAITING_REVIEW, staff=ops_user, client=org_a, actor=client_a, product_type="dataset"
    )
    order_services.order_record_requirement_change(
        order=changed,
        actor=ops_user,
        text="Add the 2024 discharge letters.",
        rework_steps=[OrderStep.objects.filter(stage__order=changed).order_by("position").first()],
    )
    hands.at = NOW
    steps = OrderStep.objects.filter(stage__workshop="data").count()
    client.force_login(ops_user)

    page = client.get("/plan/").content.decode()

    data = _row(page, "quality-rates", "data-workshop", "data")
    assert f'>{round(100 / steps)}%<br><small class="muted">1 of {steps} steps<' in data
    assert '>33%<br><small class="muted">1 of 3 reviews<' in data
    model = _row(page, "quality-rates", "data-workshop", "model")
    assert model.count(">—<") == 2  # no step nor review of the model workshop yet


def test_satisfaction_is_the_mean_rating_of_orders_and_tickets_per_month(
    client, hands, ops_user, aftersales_user, org_a, client_a
):
    ratings = [
        ((2024, 7, 15, 10), 1),  # twelve months back from July 2025 start in August 2024
        ((2025, 5, 5, 10), 4),
        ((2025, 5, 6, 10), 2),
        ((2025, 6, 10, 10), 5),
    ]
    delivered = None
    for moment, score in ratings:
        _at(hands, *moment)
        delivered = order_at(
            OrderStatus.DELIVERED, staff=ops_user, client=org_a, actor=client_a, product_type="dataset"
        )
        order_services.order_rate(order=delivered, actor=client_a, score=score)
    _at(hands, 2025, 6, 12, 10)
    ticket = open_ticket(order=delivered, actor=client_a)
    aftersales_services.ticket_change_status(ticket=ticket, actor=aftersales_user, status="resolved", note="Fixed.")
    aftersales_services.ticket_rate(ticket=ticket, actor=client_a, score=3)
    hands.at = NOW
    client.force_login(ops_user)

    response = client.get("/plan/")

    satisfaction = response.context["figures"]["satisfaction"]
    charts.validate(satisfaction)
    orders, tickets, every = satisfaction["data"]
    assert every["name"] == "All ratings"
    assert every["x"] == ["2025-05-01", "2025-06-01"]
    assert every["y"] == [3.0, 4.0]  # (4 + 2) / 2; (5 + 3) / 2
    assert every["customdata"] == [2, 2]
    assert orders["y"] == [3.0, 5.0]
    assert tickets["x"] == ["2025-06-01"]
    assert tickets["y"] == [3.0]
    assert "In June 2025 clients gave a mean rating of 4.0 of 5 (2 ratings)." in response.content.decode()


def test_an_empty_factory_shows_empty_states(client, ops_user):
    client.force_login(ops_user)

    response = client.get("/plan/")
    page = response.content.decode()

    assert response.context["figures"] == {"delivered": None, "satisfaction": None}
    assert "No vertical model was delivered in the last 365 days." in page
    assert "No order delivered and no ticket resolved in the last 12 months was rated." in page
    assert "No work waited in the last 30 days" in page
    assert re.search(r'data-testid="last-365-days">0 of 800<', page)
    assert _section(page, "quality").count(">—<") == 8


def _history(ops_user, reviewer, org_a, client_a, hands, copies):
    """`copies` times: a model order delivered and rated, a rejected and approved gate, and jobs waiting for pools."""
    for copy in range(copies):
        _at(hands, 2025, 6, 1 + copy, 9)
        delivered = order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a, actor=client_a)
        order_services.order_rate(order=delivered, actor=client_a, score=4)
        open_ticket(order=delivered, actor=client_a)
        order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, actor=client_a)
        gated = order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user, client=org_a, actor=client_a)
        (review,) = security_services.reviews_open_for_waiting_gates()
        security_services.review_reject(
            review=review,
            reviewer=reviewer,
            findings=[{"severity": "low", "text": "Consent record missing."}],
            rework_steps=[review.stage.steps.order_by("position").first()],
        )
        finish_current_stage(gated, ops_user)
        security_services.reviews_open_for_waiting_gates()
        dispatch_services.dispatch_tick(now=hands.at)
    hands.at = NOW


@pytest.mark.parametrize("copies", [1, 2])
def test_the_page_takes_a_fixed_number_of_queries(
    client, hands, ops_user, reviewer, org_a, client_a, django_assert_num_queries, copies
):
    _history(ops_user, reviewer, org_a, client_a, hands, copies)
    client.force_login(ops_user)

    # 1 session, 2 user, 3 roles; 4 vertical models delivered (365 days, this year, 90 days), 5 those of this year
    # per day; 6 jobs per workshop and pool kind, 7 gate waits, 8 stages on the floor; 9 steps per workshop, 10 the
    # steps a gate sent back, 11 decided reviews; 12 order ratings per month, 13 ticket ratings per month.
    with django_assert_num_queries(13):
        response = client.get("/plan/")
    assert response.status_code == 200
    assert f"{copies} of 800" in response.content.decode()


def test_operations_and_dispatch_read_the_plan_others_are_refused(
    client, ops_user, dispatcher, reviewer, aftersales_user, client_a
):
    assert client.get("/plan/").url.startswith("/accounts/login/")
    for user in (reviewer, aftersales_user, client_a):
        client.force_login(user)
        assert client.get("/plan/").status_code == 403
        assert 'href="/plan/"' not in client.get("/orders/" if user != client_a else "/portal/").content.decode()
    for user in (ops_user, dispatcher):
        client.force_login(user)
        page = client.get("/plan/").content.decode()
        assert '<a href="/plan/" class="nav__link is-active" aria-current="page">Yearly plan</a>' in page

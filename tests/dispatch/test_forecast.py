"""Queue-aware forecasts: ETAs of orders in the factory, and promised dates of orders not yet placed."""

import math
from datetime import timedelta

import pytest

from catalog.models import ProcessStep
from dispatch import forecast, services
from dispatch.models import Preemption
from factory import clock
from orders import selectors as order_selectors
from orders.models import Order, OrderStatus
from orders.quotes import quote
from tests.factories import compute_pool, order_at

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_background_load(settings):
    settings.DISPATCH_BACKGROUND_LOAD = False


def _largest_demand(kind):
    return max(ProcessStep.objects.filter(pool_kind=kind).values_list("demand_pflops", flat=True))


def _factory(data=100, training=500, inference=200):
    compute_pool(kind="data_processing", capacity=data)
    compute_pool(kind="training", capacity=training)
    compute_pool(kind="inference", capacity=inference)


def test_forecast_writes_an_eta_for_every_order_in_the_factory(ops_user):
    _factory()
    orders = [order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, product_type=kind) for kind in ("dataset", "agent")]
    services.dispatch_tick(now=clock.now())

    report = forecast.forecast_etas()

    assert report.orders == 2
    for order in orders:
        order.refresh_from_db()
        assert order.eta > clock.now()
    dataset, agent = (order.eta for order in orders)
    assert agent > dataset  # three workshops and two more gates take longer than one


def test_an_order_waiting_at_its_gate_is_forecast_after_the_review(ops_user):
    _factory()
    order = order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user, product_type="dataset")

    forecast.forecast_etas()

    order.refresh_from_db()
    assert clock.now() < order.eta <= clock.now() + timedelta(hours=services.expected_gate_hours() + 1)


def test_a_busy_factory_promises_a_later_date_than_an_idle_one(ops_user):
    _factory(data=_largest_demand("data_processing"))  # fits the largest data step, one at a time
    fields = {"product_type": "model", "size": "large", "priority": "normal", "data_sensitivity": "internal"}
    idle = quote(**fields)
    for _ in range(6):
        order_at(
            OrderStatus.IN_PRODUCTION,
            staff=ops_user,
            actor=ops_user,
            product_type="model",
            size="large",
            priority="high",
        )
    services.dispatch_tick(now=clock.now())

    busy = quote(**fields)

    assert busy.promised_delivery > idle.promised_delivery
    assert busy.estimated_cost == idle.estimated_cost > 0


def test_a_quote_promises_the_date_the_forecast_then_gives_the_placed_order(ops_user):
    # One data pool that runs one large step at a time, and a queue of work already promised: the placed order
    # is due on its promise, turns at risk as the date nears and overtakes work that is not. Its quote must
    # have counted on that, or the promise runs days late.
    _factory(data=_largest_demand("data_processing"))
    fields = {"product_type": "dataset", "size": "large", "priority": "normal", "data_sensitivity": "internal"}
    for _ in range(4):
        order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, **fields)
    services.dispatch_tick(now=clock.now())

    promised = quote(**fields).promised_delivery
    placed = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, **fields)
    forecast.forecast_etas()

    placed.refresh_from_db()
    assert placed.promised_delivery == promised
    assert (placed.eta + timedelta(days=1)).date() == promised


def test_a_quote_expects_the_orders_of_the_last_four_weeks_to_come_again(ops_user, settings):
    # Each pool fits the largest step of its kind, one at a time.
    _factory(*(_largest_demand(kind) for kind in ("data_processing", "training", "inference")))
    fields = {"product_type": "model", "size": "large", "priority": "normal", "data_sensitivity": "internal"}
    limit = settings.FORECAST_EXPECTED_DEMAND_UP_TO
    settings.FORECAST_EXPECTED_DEMAND_UP_TO = 0  # more in flight than that: no expected demand
    alone = quote(**fields)
    settings.FORECAST_EXPECTED_DEMAND_UP_TO = limit
    quiet = quote(**fields)  # expects only the order itself to come again, as a forecast will once it is accepted
    recent = [
        order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, actor=ops_user, product_type="model", priority="high")
        for _ in range(4)
    ]
    # Delivered since, so not in the factory: only as the demand to expect.
    Order.objects.filter(pk__in=[order.pk for order in recent]).update(
        status=OrderStatus.DELIVERED, accepted_at=clock.now() - timedelta(days=27)
    )

    expecting = quote(**fields)
    settings.FORECAST_EXPECTED_DEMAND_UP_TO = 0
    not_expecting = quote(**fields)

    assert alone.promised_delivery <= quiet.promised_delivery < expecting.promised_delivery
    assert not_expecting.promised_delivery == alone.promised_delivery


def test_the_expected_demand_gets_no_eta_and_a_cancelled_order_is_not_expected_again(ops_user):
    _factory()
    in_flight = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, product_type="dataset")
    cancelled = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, product_type="model", priority="high")
    Order.objects.filter(pk=cancelled.pk).update(status=OrderStatus.CANCELLED, eta=None)
    delivered = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, product_type="model", priority="high")
    Order.objects.filter(pk=delivered.pk).update(status=OrderStatus.DELIVERED, eta=None)

    report = forecast.forecast_etas()

    assert report.orders == report.updated == 1
    assert Order.objects.exclude(eta=None).get().pk == in_flight.pk
    recent = order_selectors.orders_accepted_between(start=clock.now() - timedelta(days=28), end=clock.now())
    assert {order.pk for order in recent} == {in_flight.pk, delivered.pk}


def test_without_pools_a_quote_falls_back_to_the_catalogs_nominal_figures():
    answer = quote(product_type="dataset", size="small", priority="normal", data_sensitivity="public")

    assert answer.promised_delivery > clock.now().date()
    assert answer.estimated_compute_pflops_hours > 0


def test_a_preemption_learns_how_far_it_pushed_the_eta_of_the_order_it_hit(ops_user):
    first = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, priority="low", product_type="dataset")
    demand = first.stages.get().steps.get(status="ready").demand_pflops
    # The data pool fits the largest data step, and low-priority first steps fill it to the brim.
    capacity = demand * math.ceil(_largest_demand("data_processing") / demand)
    _factory(data=capacity)
    lows = [first] + [
        order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, priority="low", product_type="dataset")
        for _ in range(int(capacity // demand) - 1)
    ]
    t0 = clock.now()
    services.dispatch_tick(now=t0)
    forecast.forecast_etas(now=t0)
    before = dict(Order.objects.values_list("pk", "eta"))
    order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, actor=ops_user, priority="urgent", product_type="dataset")
    services.dispatch_tick(now=t0 + timedelta(minutes=1))
    services.dispatch_tick(now=t0 + timedelta(hours=1))

    forecast.forecast_etas(now=t0 + timedelta(hours=1))

    preemption = Preemption.objects.get()
    hit = preemption.preempted.order_id
    assert hit in {order.pk for order in lows}
    # The slip is what the forecast after the preemption says, whatever its sign. Started at 8 hours of the day, it
    # came out earlier at 3: the lows' later steps are ranked by date, and the urgent work pushes the most pressed
    # lows past saving; they lose their at-risk boost, and the hit order (due later) takes their slots.
    after = Order.objects.get(pk=hit).eta
    assert preemption.eta_slips[str(hit)] == round((after - before[hit]).total_seconds() / 3600, 2)

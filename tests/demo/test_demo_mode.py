"""Demo mode: simulated staff keep the factory moving through the same services, under simulation users,
and never override what a real person did or is doing."""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from aftersales import services as aftersales_services
from aftersales.models import Ticket, TicketEvent, TicketMessage
from catalog.models import Sector
from demo import staff as demo
from demo import tasks
from dispatch import services as dispatch_services
from factory import clock
from orders.models import EventKind, Order, OrderEvent, OrderStatus, StageStatus
from security import services as security_services
from security.models import Review, ReviewStatus
from tests.factories import ClientOrganizationFactory, UserFactory, compute_pool, order_at, place_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_mode(settings):
    settings.DEMO_MODE = True


@pytest.fixture
def bank(db):
    """A demo organization: the simulation acts for the demo organizations only."""
    return ClientOrganizationFactory(name="Jinhai Rural Commercial Bank", sector=Sector.FINANCE)


@pytest.fixture
def bank_client(bank):
    return demo.sim_client(bank)


@pytest.fixture
def no_arrivals(monkeypatch):
    """Keep simulated clients from placing new orders, so a test sees only its own."""
    monkeypatch.setattr(demo, "MAX_ORDERS_IN_FACTORY", 0)


def _actors(order, kind):
    return set(order.events.filter(kind=kind).values_list("actor__username", flat=True))


def _at_gate(ops_user, bank, bank_client, **overrides):
    order = order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user, client=bank, actor=bank_client, **overrides)
    (review,) = security_services.reviews_open_for_waiting_gates()
    return order, review


def test_nothing_happens_outside_demo_mode(settings, bank, bank_client, move_clock):
    settings.DEMO_MODE = False
    order = place_order(client=bank, actor=bank_client)
    move_clock(hours=48)

    report = demo.simulate_round()

    order.refresh_from_db()
    assert report.skipped
    assert order.status == OrderStatus.SUBMITTED
    assert Order.objects.count() == 1
    assert not get_user_model().objects.filter(username=demo.SIM_OPERATIONS).exists()


def test_operations_accepts_a_submitted_order_after_a_while_then_starts_it(
    demo_mode, no_arrivals, bank, bank_client, move_clock, monkeypatch
):
    monkeypatch.setattr(demo, "ORDER_REJECT_SHARE", 0)
    order = place_order(client=bank, actor=bank_client)

    demo.simulate_round()
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED  # nobody accepts an order the minute it arrives

    move_clock(hours=demo.ACCEPT_DELAY[1] + 0.1)
    report = demo.simulate_round()
    order.refresh_from_db()
    assert order.status == OrderStatus.ACCEPTED
    assert report.actions == {"order_accepted": 1}
    assert _actors(order, EventKind.ACCEPTED) == {demo.SIM_OPERATIONS}

    move_clock(hours=demo.START_DELAY[1] + 0.1)
    demo.simulate_round()
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_PRODUCTION
    assert _actors(order, EventKind.PRODUCTION_STARTED) == {demo.SIM_OPERATIONS}


def test_rounds_decide_the_same_way_whenever_they_run(
    demo_mode, no_arrivals, bank, bank_client, move_clock, monkeypatch
):
    """Delays are drawn per object from the seed, not per round: running rounds more often changes nothing."""
    monkeypatch.setattr(demo, "ORDER_REJECT_SHARE", 0)
    orders = [place_order(client=bank, actor=bank_client, title=f"Order {n}") for n in range(demo.PER_ROUND)]
    low, high = demo.ACCEPT_DELAY

    for _hour in range(int(high) + 1):
        move_clock(hours=1)
        demo.simulate_round()
        assert demo.simulate_round().actions == {}

    for order in orders:
        accepted = order.events.get(kind=EventKind.ACCEPTED).at
        assert low <= (accepted - order.created_at).total_seconds() / 3600 <= high + 1


def test_a_reviewer_decides_a_waiting_gate_after_a_realistic_delay(
    demo_mode, no_arrivals, ops_user, bank, bank_client, move_clock, monkeypatch
):
    monkeypatch.setattr(demo, "REVIEW_REJECT_SHARE", 0)
    order, review = _at_gate(ops_user, bank, bank_client)
    move_clock(hours=demo.REVIEW_DELAY[0] / 2)
    demo.simulate_round()
    review.refresh_from_db()
    assert review.status == ReviewStatus.PENDING

    move_clock(hours=max(demo.REVIEW_DELAY[1], demo.HUMAN_GRACE.total_seconds() / 3600))
    demo.simulate_round()

    review.refresh_from_db()
    order.refresh_from_db()
    assert review.status == ReviewStatus.APPROVED
    assert review.reviewer.username in demo.SIM_REVIEWERS
    assert all(answer.passed for answer in review.answers.all())
    assert order.status == OrderStatus.IN_PRODUCTION
    assert order.current_workshop == "model"
    assert _actors(order, EventKind.GATE_RELEASED) <= set(demo.SIM_REVIEWERS)


def test_a_rejection_names_a_finding_and_sends_one_step_back(
    demo_mode, no_arrivals, ops_user, bank, bank_client, move_clock, monkeypatch
):
    monkeypatch.setattr(demo, "REVIEW_REJECT_SHARE", 1)
    order, review = _at_gate(ops_user, bank, bank_client)
    move_clock(hours=max(demo.REVIEW_DELAY[1], demo.HUMAN_GRACE.total_seconds() / 3600) + 0.1)

    demo.simulate_round()

    review.refresh_from_db()
    order.refresh_from_db()
    stage = order.stages.get(workshop="data")
    assert review.status == ReviewStatus.REJECTED
    assert review.findings.count() == 1
    assert [answer.passed for answer in review.answers.all()].count(False) == 1
    assert stage.status == StageStatus.REWORK
    assert stage.steps.filter(rework_count=1).count() == 1
    assert order.status == OrderStatus.IN_PRODUCTION


def test_a_sensitive_gate_gets_two_different_simulated_reviewers(
    demo_mode, no_arrivals, ops_user, bank, bank_client, move_clock, monkeypatch
):
    monkeypatch.setattr(demo, "REVIEW_REJECT_SHARE", 0)
    _order, review = _at_gate(ops_user, bank, bank_client, data_sensitivity="sensitive", sector="finance")
    move_clock(hours=max(demo.REVIEW_DELAY[1], demo.HUMAN_GRACE.total_seconds() / 3600) + 0.1)

    demo.simulate_round()
    review.refresh_from_db()
    assert review.status == ReviewStatus.PENDING
    assert review.approvals.count() == 1

    move_clock(hours=demo.SECOND_APPROVAL_DELAY[1] + 0.1)
    demo.simulate_round()
    review.refresh_from_db()
    assert review.status == ReviewStatus.APPROVED
    assert set(review.approvals.values_list("reviewer__username", flat=True)) == set(demo.SIM_REVIEWERS)


def test_a_real_reviewers_approval_is_never_completed_by_the_simulation(
    demo_mode, no_arrivals, ops_user, reviewer, bank, bank_client, move_clock
):
    _order, review = _at_gate(ops_user, bank, bank_client, data_sensitivity="sensitive", sector="finance")
    answers = {answer.position: {"passed": True, "note": ""} for answer in review.answers.all()}
    security_services.review_approve(review=review, reviewer=reviewer, answers=answers)

    for _hour in range(4):
        move_clock(hours=24)
        demo.simulate_round()

    review.refresh_from_db()
    assert review.status == ReviewStatus.PENDING
    assert list(review.approvals.values_list("reviewer__username", flat=True)) == [reviewer.username]


def test_a_real_persons_recent_action_keeps_the_simulation_off_the_order(
    demo_mode, no_arrivals, ops_user, bank, bank_client, move_clock
):
    from orders.services import order_accept

    order = place_order(client=bank, actor=bank_client)
    move_clock(hours=1)
    order_accept(order=order, actor=ops_user)  # a real person accepts before the simulation does

    move_clock(hours=demo.START_DELAY[1] + 0.1)
    demo.simulate_round()
    order.refresh_from_db()
    assert order.status == OrderStatus.ACCEPTED  # within the grace: theirs to start

    move_clock(hours=demo.HUMAN_GRACE.total_seconds() / 3600)
    demo.simulate_round()
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_PRODUCTION
    assert _actors(order, EventKind.ACCEPTED) == {ops_user.username}
    assert _actors(order, EventKind.PRODUCTION_STARTED) == {demo.SIM_OPERATIONS}


def test_orders_real_clients_placed_are_theirs_to_confirm(
    demo_mode, no_arrivals, ops_user, bank, bank_client, move_clock
):
    from tests.factories import client_user

    person = client_user(organization=bank, username="bank-person")
    theirs = order_at(OrderStatus.DELIVERED, staff=ops_user, client=bank, actor=person, title="Theirs")
    simulated = order_at(OrderStatus.DELIVERED, staff=ops_user, client=bank, actor=bank_client, title="Simulated")

    move_clock(hours=demo.CONFIRM_DELAY[1] + 0.1)
    demo.simulate_round()

    theirs.refresh_from_db()
    simulated.refresh_from_db()
    assert theirs.status == OrderStatus.DELIVERED
    assert theirs.rating is None
    assert simulated.status == OrderStatus.CLOSED
    assert 1 <= simulated.rating <= 5
    assert _actors(simulated, EventKind.CONFIRMED) == _actors(simulated, EventKind.RATED) == {bank_client.username}


@pytest.mark.django_db(transaction=True)
def test_an_order_someone_is_working_on_right_now_is_skipped(settings, move_clock, monkeypatch):
    settings.DEMO_MODE = True
    monkeypatch.setattr(demo, "MAX_ORDERS_IN_FACTORY", 0)
    monkeypatch.setattr(demo, "ORDER_REJECT_SHARE", 0)
    bank = ClientOrganizationFactory(name="Jinhai Rural Commercial Bank", sector=Sector.FINANCE)
    order = place_order(client=bank, actor=demo.sim_client(bank))
    move_clock(hours=demo.ACCEPT_DELAY[1] + 0.1)
    held, release = threading.Event(), threading.Event()

    def someone_holds_the_order():
        try:
            with transaction.atomic():
                Order.objects.select_for_update().get(pk=order.pk)
                held.set()
                release.wait(10)
        finally:
            connection.close()

    person = threading.Thread(target=someone_holds_the_order)
    person.start()
    try:
        assert held.wait(10)
        report = demo.simulate_round()  # must not wait for the lock either
    finally:
        release.set()
        person.join()

    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED
    assert report.actions == {}
    demo.simulate_round()
    order.refresh_from_db()
    assert order.status == OrderStatus.ACCEPTED


def test_the_factory_keeps_flowing_and_every_simulated_action_has_a_simulation_user(
    demo_mode, ops_user, bank, bank_client, move_clock, monkeypatch, settings
):
    settings.DISPATCH_BACKGROUND_LOAD = False
    monkeypatch.setattr(demo, "ARRIVAL_MEAN_HOURS", 30.0)
    monkeypatch.setattr(demo, "TICKET_SHARE", 1.0)
    monkeypatch.setattr(demo, "ORDER_REJECT_SHARE", 0)
    for kind in ("data_processing", "training", "inference"):
        compute_pool(kind=kind, capacity=2000)
    submitted = place_order(client=bank, actor=bank_client, product_type="dataset")
    at_gate, _review = _at_gate(ops_user, bank, bank_client, product_type="dataset")
    delivered = order_at(OrderStatus.DELIVERED, staff=ops_user, client=bank, actor=bank_client)
    start = clock.now()

    for hour in range(6 * 24):
        move_clock(hours=1)
        dispatch_services.dispatch_tick()
        security_services.reviews_open_for_waiting_gates()
        demo.simulate_round()
        if hour % 4 == 0:
            aftersales_services.sla_watch()

    for order in (submitted, at_gate, delivered):
        order.refresh_from_db()
    assert submitted.status != OrderStatus.SUBMITTED
    assert _actors(submitted, EventKind.ACCEPTED) == {demo.SIM_OPERATIONS}
    assert at_gate.status in (OrderStatus.DELIVERED, OrderStatus.CLOSED)
    assert delivered.status == OrderStatus.CLOSED
    assert delivered.rating is not None
    ticket = Ticket.objects.get(order=delivered)
    assert ticket.opened_by == bank_client
    assert ticket.first_responded_at is not None
    new_orders = Order.objects.filter(created_at__gt=start)
    assert new_orders.exists()
    assert all(demo.is_simulation_user(order.placed_by) for order in new_orders)
    assert Review.objects.filter(decided_at__gt=start).exists()
    # Everything after the start was done by the dispatcher (no actor) or a simulation user.
    actors = {event.actor for event in OrderEvent.objects.filter(at__gt=start).select_related("actor")}
    actors |= {event.actor for event in TicketEvent.objects.filter(at__gt=start).select_related("actor")}
    actors |= {message.author for message in TicketMessage.objects.filter(at__gt=start).select_related("author")}
    actors.discard(None)
    assert actors
    assert all(demo.is_simulation_user(actor) for actor in actors)
    for actor in actors:
        assert not actor.has_usable_password()
        assert not actor.check_password("")


def test_simulation_users_cannot_sign_in(db):
    user = demo.sim_staff(demo.SIM_OPERATIONS)

    assert not user.has_usable_password()
    assert demo.is_simulation_user(user)
    assert not demo.is_simulation_user(UserFactory(username="sim-lookalike"))  # a real person with that name


def test_the_celery_task_runs_one_round(demo_mode, no_arrivals, bank, bank_client, move_clock, monkeypatch):
    monkeypatch.setattr(demo, "ORDER_REJECT_SHARE", 0)
    order = place_order(client=bank, actor=bank_client)
    move_clock(hours=demo.ACCEPT_DELAY[1] + 0.1)

    tasks.simulate_staff()

    order.refresh_from_db()
    assert tasks.simulate_staff.name == "demo.tasks.simulate_staff"
    assert order.status == OrderStatus.ACCEPTED

"""The order workflow, driven through orders.services as dispatch, security and staff will drive it."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from factory import clock
from orders import quotes, services
from orders.errors import OrderActionNotPermitted, OrderInvalid, OrderTransitionNotAllowed, QuoteNoLongerHolds
from orders.models import WORKING_STEP_STATUSES, EventKind, Order, OrderStatus, OrderStep, StageStatus, StepStatus
from tests.factories import (
    ClientOrganizationFactory,
    client_user,
    compute_pool,
    finish_current_stage,
    gate_reviewer,
    order_at,
    order_fields,
    place_order,
)

pytestmark = pytest.mark.django_db


def test_placed_order_gets_a_reference_a_promise_and_a_first_event(org_a, client_a):
    order = place_order(client=org_a, actor=client_a)

    assert re.fullmatch(rf"AF-{clock.now().year}-\d{{5}}", order.reference)
    assert order.status == OrderStatus.SUBMITTED
    assert order.promised_delivery > clock.now().date()
    assert list(order.events.values_list("kind", flat=True)) == [EventKind.SUBMITTED]
    assert order.tracking_token


def test_a_placed_order_keeps_the_quote_it_was_placed_with(org_a, client_a):
    fields = order_fields()
    expected = quotes.quote(**{name: fields[name] for name in quotes.QUOTED_FIELDS})

    order = place_order(client=org_a, actor=client_a)

    assert (order.promised_delivery, order.quoted_compute_pflops_hours, order.quoted_cost) == (
        expected.promised_delivery,
        expected.estimated_compute_pflops_hours,
        expected.estimated_cost,
    )


def test_an_order_is_promised_what_the_estimator_the_settings_name_answers(org_a, client_a, settings):
    settings.ORDER_ESTIMATOR = "tests.orders.test_services.estimate_in_thirty_days"

    order = place_order(client=org_a, actor=client_a)

    assert order.promised_delivery == clock.now().date() + timedelta(days=30)
    assert order.quoted_cost == Decimal("1000.00")


def estimate_in_thirty_days(**fields) -> quotes.Quote:
    return _quote(30)


def test_with_no_estimator_named_quotes_come_from_the_catalogs_nominal_figures(settings):
    settings.ORDER_ESTIMATOR = None
    fields = {"product_type": "model", "size": "small", "priority": "normal", "data_sensitivity": "internal"}

    assert quotes.quote(**fields) == quotes.nominal_quote(**fields, start=clock.now())


def _quote(days: int, cost="1000.00") -> quotes.Quote:
    return quotes.Quote(
        promised_delivery=clock.now().date() + timedelta(days=days),
        estimated_compute_pflops_hours=Decimal("42.00"),
        estimated_cost=Decimal(cost),
    )


def test_the_quote_the_client_confirmed_is_stored_when_the_factory_can_still_meet_it(org_a, client_a):
    today = quotes.quote(product_type="model", size="small", priority="normal", data_sensitivity="internal")
    seen = _quote((today.promised_delivery - clock.now().date()).days + 3)

    order = services.order_submit(client=org_a, actor=client_a, quoted=seen, **order_fields())

    assert (order.promised_delivery, order.quoted_compute_pflops_hours, order.quoted_cost) == (
        seen.promised_delivery,
        Decimal("42.00"),
        Decimal("1000.00"),
    )


def test_a_confirmed_quote_the_factory_can_no_longer_meet_places_nothing(org_a, client_a):
    seen = _quote(1)  # earlier than any quote today

    with pytest.raises(QuoteNoLongerHolds) as refused:
        services.order_submit(client=org_a, actor=client_a, quoted=seen, **order_fields())

    assert refused.value.quote.promised_delivery > seen.promised_delivery
    assert not Order.objects.exists()


def test_references_count_up_without_gaps(org_a, client_a):
    first = place_order(client=org_a, actor=client_a)
    second = place_order(client=org_a, actor=client_a)

    assert int(second.reference[-5:]) == int(first.reference[-5:]) + 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": "  "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"product_type": "spaceship"}, "product_type"),
        ({"sector": "mining"}, "sector"),
        ({"size": "huge"}, "size"),
        ({"requirements": "x" * 10001}, "requirements"),
        ({"requested_delivery": clock.now().date() - timedelta(days=1)}, "requested_delivery"),
    ],
)
def test_bad_order_input_is_refused_on_its_field_and_nothing_is_created(org_a, client_a, overrides, field):
    with pytest.raises(OrderInvalid) as refused:
        place_order(client=org_a, actor=client_a, **overrides)

    assert refused.value.field == field
    assert Order.objects.count() == 0


def test_client_cannot_mark_an_order_urgent_but_staff_can(org_a, client_a, ops_user):
    with pytest.raises(OrderInvalid) as refused:
        place_order(client=org_a, actor=client_a, priority="urgent")

    assert refused.value.field == "priority"
    assert place_order(client=org_a, actor=ops_user, priority="urgent").priority == "urgent"


def test_client_cannot_place_an_order_for_another_organization(org_a, org_b, client_a):
    with pytest.raises(OrderActionNotPermitted):
        place_order(client=org_b, actor=client_a)


def test_accepting_instantiates_the_routing_scaled_by_size(ops_user, org_a, client_a):
    small = place_order(client=org_a, actor=client_a, product_type="application", size="small")
    large = place_order(client=org_a, actor=client_a, product_type="application", size="large")

    services.order_accept(order=small, actor=ops_user)
    services.order_accept(order=large, actor=ops_user)

    assert list(small.stages.values_list("workshop", flat=True)) == ["data", "model", "agent", "integration"]
    small_step = small.stages.get(workshop="model").steps.get(position=1)
    large_step = large.stages.get(workshop="model").steps.get(code=small_step.code)
    assert large_step.work_pflops_hours == small_step.work_pflops_hours * 5
    # Steps optional by size are only in the larger order.
    assert large.stages.get(workshop="model").steps.count() >= small.stages.get(workshop="model").steps.count()
    small.refresh_from_db()
    assert small.status == OrderStatus.ACCEPTED
    assert small.eta is not None


def test_dataset_order_passes_through_the_data_workshop_only(ops_user):
    order = order_at(OrderStatus.ACCEPTED, staff=ops_user, product_type="dataset")

    assert list(order.stages.values_list("workshop", flat=True)) == ["data"]


def test_steps_of_a_stage_run_one_after_another(ops_user):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    data = order.stages.get(workshop="data")

    statuses = list(data.steps.order_by("position").values_list("status", flat=True))

    assert statuses[0] == StepStatus.READY
    assert set(statuses[1:]) == {StepStatus.PENDING}
    assert order.current_workshop == "data"


def test_finishing_every_step_puts_the_stage_at_its_gate(ops_user):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)

    finish_current_stage(order, ops_user)

    stage = order.stages.get(workshop="data")
    assert stage.status == StageStatus.AWAITING_REVIEW
    assert stage.progress == 100
    assert order.status == OrderStatus.AWAITING_REVIEW


def test_releasing_the_gate_starts_the_next_workshop_and_makes_a_dataset(ops_user):
    order = order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user)

    services.stage_release_gate(stage=order.stages.get(workshop="data"), actor=gate_reviewer())

    order.refresh_from_db()
    assert order.status == OrderStatus.IN_PRODUCTION
    assert order.current_workshop == "model"
    assert order.stages.get(workshop="model").status == StageStatus.IN_PROGRESS
    assert order.artifacts.get().kind == "dataset"


def test_an_application_shows_its_lineage_back_to_the_dataset(ops_user):
    order = order_at(OrderStatus.READY, staff=ops_user, product_type="application")

    application = order.artifacts.get(kind="application")

    assert [artifact.kind for artifact in application.lineage()] == ["application", "agent", "model", "dataset"]
    assert order.progress == 100


def test_rework_sends_steps_back_and_the_gate_reopens_after_them(ops_user):
    order = order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user)
    stage = order.stages.get(workshop="data")
    redo = list(stage.steps.order_by("position")[1:3])

    services.stage_send_back(stage=stage, steps=redo, actor=gate_reviewer(), reason="Residual identifiers found")

    stage.refresh_from_db()
    order.refresh_from_db()
    assert stage.status == StageStatus.REWORK
    assert stage.gate_passage == 1
    assert order.status == OrderStatus.IN_PRODUCTION
    assert stage.steps.get(pk=redo[0].pk).status == StepStatus.READY
    assert stage.steps.get(pk=redo[0].pk).rework_count == 1
    finish_current_stage(order, ops_user)
    stage.refresh_from_db()
    assert stage.status == StageStatus.AWAITING_REVIEW
    assert order.events.filter(kind=EventKind.REWORK).exists()


def test_rework_needs_steps_of_the_stage_and_a_reason(ops_user):
    order = order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user)
    stage = order.stages.get(workshop="data")

    with pytest.raises(OrderInvalid):
        services.stage_send_back(stage=stage, steps=[], actor=gate_reviewer(), reason="x")
    with pytest.raises(OrderInvalid):
        services.stage_send_back(stage=stage, steps=list(stage.steps.all()[:1]), actor=gate_reviewer(), reason=" ")
    stage.refresh_from_db()
    assert stage.status == StageStatus.AWAITING_REVIEW


def test_full_journey_writes_a_complete_timeline(ops_user, org_a, client_a):
    order = order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a, actor=client_a)
    services.order_confirm(order=order, actor=client_a)
    services.order_rate(order=order, actor=client_a, score=5, comment="Delivered in a month")

    order.refresh_from_db()
    kinds = list(order.events.values_list("kind", flat=True))
    assert order.status == OrderStatus.CLOSED
    assert order.rating == 5
    assert kinds[:3] == [EventKind.SUBMITTED, EventKind.ACCEPTED, EventKind.PRODUCTION_STARTED]
    assert kinds[-4:] == [EventKind.READY, EventKind.DELIVERED, EventKind.CONFIRMED, EventKind.RATED]
    assert kinds.count(EventKind.GATE_RELEASED) == 2


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (OrderStatus.SUBMITTED, lambda order, staff: services.order_deliver(order=order, actor=staff)),
        (OrderStatus.SUBMITTED, lambda order, staff: services.order_start_production(order=order, actor=staff)),
        (OrderStatus.ACCEPTED, lambda order, staff: services.order_accept(order=order, actor=staff)),
        (OrderStatus.ACCEPTED, lambda order, staff: services.order_reject(order=order, actor=staff, reason="late")),
        (OrderStatus.IN_PRODUCTION, lambda order, staff: services.order_deliver(order=order, actor=staff)),
        (
            OrderStatus.IN_PRODUCTION,
            lambda order, staff: services.stage_release_gate(stage=order.stages.first(), actor=gate_reviewer()),
        ),
        (OrderStatus.DELIVERED, lambda order, staff: services.order_cancel(order=order, actor=staff, reason="x")),
    ],
)
def test_illegal_transitions_are_refused_and_change_nothing(ops_user, status, action):
    order = order_at(status, staff=ops_user)
    events_before = order.events.count()

    with pytest.raises(OrderTransitionNotAllowed) as refused:
        action(order, ops_user)

    order.refresh_from_db()
    assert order.status == status
    assert order.events.count() == events_before
    # The refusal names the state that forbids it (the order's, or the stage's for a gate).
    assert re.search(r"is (Submitted|Accepted|In production|In progress|Delivered)\.", refused.value.message)


def test_client_may_cancel_only_before_acceptance(ops_user, org_a, client_a):
    waiting = place_order(client=org_a, actor=client_a)
    accepted = order_at(OrderStatus.ACCEPTED, staff=ops_user, client=org_a, actor=client_a)

    services.order_cancel(order=waiting, actor=client_a, reason="Budget moved")
    with pytest.raises(OrderTransitionNotAllowed):
        services.order_cancel(order=accepted, actor=client_a, reason="Changed our mind")

    waiting.refresh_from_db()
    accepted.refresh_from_db()
    assert waiting.status == OrderStatus.CANCELLED
    assert accepted.status == OrderStatus.ACCEPTED


def test_staff_cancel_stops_the_steps_waiting_for_compute(ops_user):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)

    services.order_cancel(order=order, actor=ops_user, reason="Client withdrew")

    assert not order.stages.filter(steps__status__in=[StepStatus.READY, StepStatus.RUNNING]).exists()


def test_only_the_client_confirms_and_rates_once(ops_user, org_a, client_a):
    order = order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a, actor=client_a)
    outsider = client_user(organization=ClientOrganizationFactory())

    with pytest.raises(OrderActionNotPermitted):
        services.order_confirm(order=order, actor=ops_user)
    with pytest.raises(OrderActionNotPermitted):
        services.order_rate(order=order, actor=outsider, score=1)
    with pytest.raises(OrderInvalid):
        services.order_rate(order=order, actor=client_a, score=6)
    services.order_rate(order=order, actor=client_a, score=4)
    with pytest.raises(OrderTransitionNotAllowed):
        services.order_rate(order=order, actor=client_a, score=5)
    order.refresh_from_db()
    assert order.rating == 4


def test_requirement_change_can_send_finished_steps_back(ops_user):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    first = order.stages.get(workshop="data").steps.get(position=1)
    services.step_finish(step=first, actor=ops_user)

    change = services.order_record_requirement_change(
        order=order, actor=ops_user, text="Add the 2024 wards", rework_steps=[first]
    )

    first.refresh_from_db()
    assert list(change.rework_steps.all()) == [first]
    assert first.status == StepStatus.READY
    assert first.rework_count == 1
    assert order.events.filter(kind=EventKind.REQUIREMENT_CHANGE, note="Add the 2024 wards").exists()


def test_requirement_change_needs_text_and_an_open_order(ops_user):
    order = order_at(OrderStatus.DELIVERED, staff=ops_user)

    with pytest.raises(OrderInvalid):
        services.order_record_requirement_change(order=order, actor=ops_user, text="")
    with pytest.raises(OrderTransitionNotAllowed):
        services.order_record_requirement_change(order=order, actor=ops_user, text="More data")


def test_finishing_a_step_that_is_not_ready_is_refused(ops_user):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    waiting = order.stages.get(workshop="data").steps.get(position=2)

    with pytest.raises(OrderTransitionNotAllowed):
        services.step_finish(step=waiting, actor=ops_user)

    waiting.refresh_from_db()
    assert waiting.status == StepStatus.PENDING


def _working_steps(*orders):
    return list(OrderStep.objects.filter(stage__order__in=orders, status__in=WORKING_STEP_STATUSES).order_by("pk"))


def _state(order) -> dict:
    order.refresh_from_db()
    return {
        "order": (order.status, order.progress, order.current_workshop),
        "stages": list(order.stages.values_list("status", "steps_done", "steps_total", "progress")),
        "steps": list(OrderStep.objects.filter(stage__order=order).values_list("status", flat=True)),
        "events": list(order.events.values_list("kind", "from_status", "to_status", "workshop", "note")),
    }


def test_finishing_steps_in_bulk_moves_each_order_as_finishing_them_one_by_one_does(ops_user, settings):
    settings.ORDER_ETA_FROM_FORECAST = False
    by_hand = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    in_bulk = [order_at(OrderStatus.IN_PRODUCTION, staff=ops_user) for _ in range(3)]
    finish_current_stage(by_hand, ops_user)

    while steps := _working_steps(*in_bulk):
        finished = services.steps_finish(step_ids=[step.pk for step in steps], at=clock.now())
        assert finished == [step.pk for step in steps]

    expected = _state(by_hand)
    assert expected["order"][0] == OrderStatus.AWAITING_REVIEW
    assert expected["events"][-1][0] == EventKind.STAGE_DONE
    for order in in_bulk:
        assert _state(order) == expected
        assert abs(order.eta - by_hand.eta) < timedelta(minutes=1)


def test_a_stage_redone_in_bulk_reopens_its_gate_with_a_note(ops_user):
    order = order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user)
    stage = order.stages.get(workshop="data")
    services.stage_send_back(stage=stage, steps=[stage.steps.get(position=2)], actor=gate_reviewer(), reason="Leaks")

    services.steps_finish(step_ids=[step.pk for step in _working_steps(order)], at=clock.now())

    stage.refresh_from_db()
    order.refresh_from_db()
    assert stage.status == StageStatus.AWAITING_REVIEW
    assert order.status == OrderStatus.AWAITING_REVIEW
    assert order.events.last().note == "Rework done; the gate is open for review again."


def test_steps_no_longer_working_or_of_orders_out_of_production_are_left_as_they_are(ops_user):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    cancelled = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    [running] = _working_steps(cancelled)
    services.order_cancel(order=cancelled, actor=ops_user, reason="Client withdrew")
    [ready] = _working_steps(order)
    waiting = order.stages.get(workshop="data").steps.get(position=2)
    events = order.events.count()

    finished = services.steps_finish(step_ids=[waiting.pk, running.pk, ready.pk], at=clock.now())

    assert finished == [ready.pk]
    waiting.refresh_from_db()
    running.refresh_from_db()
    assert waiting.status == StepStatus.READY  # made ready by the step before it, not finished
    assert running.status == StepStatus.PENDING
    assert order.events.count() == events + 1


def test_nominal_eta_moves_closer_as_steps_finish(ops_user, settings):
    # Without a queue-aware forecaster (the dispatch center), the workflow keeps a nominal ETA itself.
    settings.ORDER_ETA_FROM_FORECAST = False
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    before = order.eta

    step = order.stages.get(workshop="data").steps.get(position=1)
    services.step_finish(step=step, actor=ops_user)

    order.refresh_from_db()
    assert order.eta < before
    assert 0 < order.progress < 100


def test_accepting_an_order_keeps_its_promise_as_the_eta_until_the_forecast_runs(ops_user, move_clock, settings):
    # The queue-aware forecast owns ETAs (the dispatch center is installed) but has not run yet. Accepted two
    # days after it was placed, the catalog's nominal duration counted from now would end after the promise.
    settings.DISPATCH_BACKGROUND_LOAD = False
    for kind in ("data_processing", "training", "inference"):
        compute_pool(kind=kind, capacity=1000)
    order = place_order()
    move_clock(days=2)

    services.order_accept(order=order, actor=ops_user)
    services.order_start_production(order=order, actor=ops_user)

    order.refresh_from_db()
    assert order.eta == quotes.promise_due(order.promised_delivery)
    assert timezone.localtime(order.eta).date() == order.promised_delivery
    assert not order.is_overdue


def test_an_order_accepted_after_its_promised_day_shows_as_late(ops_user, move_clock):
    order = place_order()
    move_clock(days=(order.promised_delivery - clock.now().date()).days + 2)

    services.order_accept(order=order, actor=ops_user)

    order.refresh_from_db()
    assert order.eta >= clock.now() - timedelta(seconds=1)
    assert order.is_overdue


def test_revoked_tracking_link_can_be_renewed(ops_user):
    order = order_at(OrderStatus.SUBMITTED, staff=ops_user)
    old = order.tracking_token

    services.order_revoke_tracking_link(order=order, actor=ops_user)
    order.refresh_from_db()
    assert order.tracking_token is None
    services.order_renew_tracking_link(order=order, actor=ops_user)

    order.refresh_from_db()
    assert order.tracking_token not in (None, old)


def test_staff_cannot_be_made_a_client_user(ops_user, org_a):
    with pytest.raises(OrderInvalid):
        services.client_user_attach(user=ops_user, organization=org_a)

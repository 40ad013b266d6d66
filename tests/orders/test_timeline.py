"""The order page's timeline: runs of step events fold into one line per workshop, and a filter keeps all events,
the milestones, or what people did. Server-side: it works without JavaScript."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from factory import clock
from orders.models import EventKind, OrderStatus, OrderStep, StepStatus
from orders.services import steps_finish
from tests.factories import finish_current_stage, order_at

pytestmark = pytest.mark.django_db


def _timeline(client, order, query="") -> str:
    page = client.get(f"/orders/{order.pk}/{query}").content.decode()
    return page.split('data-testid="timeline"')[1].split("</section>")[0]


def _rows(timeline: str) -> list[str]:
    """The kinds of the timeline's own rows (a fold is one row, marked data-fold)."""
    return re.findall(r'<tr (?:data-kind|class="staff-timeline__fold" data-fold)="([^"]+)"', timeline)


def _finish_ready_steps_by_the_dispatch_tick(order):
    """What a dispatch tick does when jobs end: the steps are finished by the system, with no actor."""
    while ready := list(
        OrderStep.objects.filter(stage__order=order, status__in=[StepStatus.READY, StepStatus.RUNNING]).values_list(
            "pk", flat=True
        )[:1]
    ):
        steps_finish(step_ids=ready, at=clock.now(), actor=None)


@pytest.fixture
def data_done(ops_user, org_a):
    """An order whose data workshop's steps were all finished, one by one, by operations."""
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, product_type="model")
    finish_current_stage(order, ops_user)
    return order


def test_a_workshops_finished_steps_read_as_one_line_that_opens(client, ops_user, data_done):
    steps = data_done.stages.get(workshop="data").steps.count()
    client.force_login(ops_user)

    timeline = _timeline(client, data_done)

    assert steps > 2
    assert _rows(timeline).count(EventKind.STEP_FINISHED) == 1
    assert f"{steps} steps finished in Data" in timeline
    # Folded by default, and each finished step is still there when the line is opened.
    assert "<details>" in timeline
    assert "<details open" not in timeline
    assert len(re.findall(r'<li data-kind="step_finished"', timeline)) == steps
    assert _rows(timeline)[:3] == [EventKind.SUBMITTED, EventKind.ACCEPTED, EventKind.PRODUCTION_STARTED]
    assert EventKind.STAGE_DONE in _rows(timeline)


def test_milestones_leave_out_the_steps(client, ops_user, data_done):
    client.force_login(ops_user)

    timeline = _timeline(client, data_done, "?timeline=milestones")

    assert _rows(timeline) == [
        EventKind.SUBMITTED,
        EventKind.ACCEPTED,
        EventKind.PRODUCTION_STARTED,
        EventKind.STAGE_STARTED,
        EventKind.STAGE_DONE,
    ]
    assert 'aria-current="true">Milestones' in timeline


def test_peoples_actions_leave_out_what_the_system_did(client, ops_user, org_a):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, product_type="model")
    _finish_ready_steps_by_the_dispatch_tick(order)
    client.force_login(ops_user)

    everything = _rows(_timeline(client, order))
    people = _rows(_timeline(client, order, "?timeline=people"))

    assert EventKind.STEP_FINISHED in everything
    assert EventKind.STEP_FINISHED not in people
    assert EventKind.ACCEPTED in people


def test_the_filter_says_how_many_events_each_keeps(client, ops_user, data_done):
    client.force_login(ops_user)
    events = data_done.events.count()
    steps = data_done.events.filter(kind=EventKind.STEP_FINISHED).count()

    timeline = _timeline(client, data_done)

    assert f'aria-current="true">All <span class="muted">({events})' in timeline
    assert f'Milestones <span class="muted">({events - steps})' in timeline


def test_an_unknown_filter_shows_everything(client, ops_user, data_done):
    client.force_login(ops_user)

    assert _rows(_timeline(client, data_done, "?timeline=nonsense")) == _rows(_timeline(client, data_done))


def test_the_order_pages_queries_do_not_grow_with_its_timeline(client, ops_user, org_a):
    order = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user, client=org_a, product_type="model")
    client.force_login(ops_user)
    client.get(f"/orders/{order.pk}/")  # the session and the caches the first visit fills

    with CaptureQueriesContext(connection) as short:
        client.get(f"/orders/{order.pk}/")
    finish_current_stage(order, ops_user)
    with CaptureQueriesContext(connection) as long:
        client.get(f"/orders/{order.pk}/?timeline=people")

    assert order.events.count() > 10
    assert len(long) == len(short)


def test_the_folded_line_and_the_filter_read_in_chinese(client, ops_user, data_done):
    steps = data_done.stages.get(workshop="data").steps.count()
    client.force_login(ops_user)

    page = client.get(f"/orders/{data_done.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert f"数据车间完成 {steps} 道工序" in page
    assert "里程碑" in page

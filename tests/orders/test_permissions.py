"""Who may act on an order is decided by orders.permissions and enforced by the services themselves: an actor
without the role is refused (403) whoever calls — a page, the API, a task — and nothing changes."""

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from dispatch import services as dispatch_services
from orders import permissions, services
from orders.errors import OrderActionNotPermitted, OrderTransitionNotAllowed
from orders.models import EventKind, OrderStatus, Priority, StageStatus
from tests.factories import gate_reviewer, order_at

pytestmark = pytest.mark.django_db


def _api(user) -> APIClient:
    api = APIClient()
    token, _created = Token.objects.get_or_create(user=user)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api


def _unchanged(order, status):
    """The order is still at `status` and its timeline did not grow."""
    events = order.events.count()

    def check():
        order.refresh_from_db()
        assert order.status == status
        assert order.events.count() == events

    return check


@pytest.fixture
def submitted(ops_user, org_a, client_a):
    return order_at(OrderStatus.SUBMITTED, staff=ops_user, client=org_a, actor=client_a)


@pytest.fixture
def at_gate(ops_user, org_a, client_a):
    return order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user, client=org_a, actor=client_a)


def test_a_security_reviewer_cannot_accept_an_order_through_the_service(submitted, reviewer):
    unchanged = _unchanged(submitted, OrderStatus.SUBMITTED)

    with pytest.raises(OrderActionNotPermitted):
        services.order_accept(order=submitted, actor=reviewer)

    unchanged()
    assert not submitted.stages.exists()


@pytest.mark.parametrize("who", ["reviewer", "dispatcher", "aftersales_user", "client_a"])
@pytest.mark.parametrize(
    ("status", "action"),
    [
        (OrderStatus.SUBMITTED, lambda order, actor: services.order_accept(order=order, actor=actor)),
        (OrderStatus.SUBMITTED, lambda order, actor: services.order_reject(order=order, actor=actor, reason="No")),
        (OrderStatus.ACCEPTED, lambda order, actor: services.order_start_production(order=order, actor=actor)),
        (OrderStatus.READY, lambda order, actor: services.order_deliver(order=order, actor=actor)),
    ],
)
def test_only_operations_accept_reject_start_and_deliver(request, ops_user, org_a, client_a, who, status, action):
    order = order_at(status, staff=ops_user, client=org_a, actor=client_a)
    unchanged = _unchanged(order, status)

    with pytest.raises(OrderActionNotPermitted):
        action(order, request.getfixturevalue(who))

    unchanged()


def test_nobody_acts_on_an_order_as_the_system(submitted):
    with pytest.raises(OrderActionNotPermitted):
        services.order_accept(order=submitted, actor=None)
    submitted.refresh_from_db()
    assert submitted.status == OrderStatus.SUBMITTED


@pytest.mark.parametrize("who", ["ops_user", "client_a", "aftersales_user", "dispatcher"])
def test_only_the_security_center_releases_a_gate_or_sends_steps_back(request, at_gate, who):
    actor = request.getfixturevalue(who)
    stage = at_gate.stages.get(workshop="data")
    unchanged = _unchanged(at_gate, OrderStatus.AWAITING_REVIEW)

    with pytest.raises(OrderActionNotPermitted):
        services.stage_release_gate(stage=stage, actor=actor)
    with pytest.raises(OrderActionNotPermitted):
        services.stage_send_back(stage=stage, steps=list(stage.steps.all()[:1]), actor=actor, reason="Leak")
    with pytest.raises(OrderActionNotPermitted):
        services.order_note_review_decision(order=at_gate, actor=actor, workshop="data", note="Approval 1 of 2.")

    unchanged()
    stage.refresh_from_db()
    assert stage.status == StageStatus.AWAITING_REVIEW


def test_a_security_reviewer_releases_the_gate(at_gate, reviewer):
    services.stage_release_gate(stage=at_gate.stages.get(workshop="data"), actor=reviewer)

    at_gate.refresh_from_db()
    assert at_gate.status == OrderStatus.IN_PRODUCTION
    assert at_gate.events.filter(kind=EventKind.GATE_RELEASED, actor=reviewer).exists()


@pytest.mark.parametrize("who", ["reviewer", "dispatcher", "aftersales_user", "client_b"])
def test_only_operations_and_the_orders_own_client_cancel(request, submitted, who):
    """A security reviewer used to count as staff here, and could cancel any order up to delivery."""
    unchanged = _unchanged(submitted, OrderStatus.SUBMITTED)

    with pytest.raises(OrderActionNotPermitted):
        services.order_cancel(order=submitted, actor=request.getfixturevalue(who), reason="Not needed")

    unchanged()


def test_the_client_cancels_its_own_order_only_before_it_is_accepted(ops_user, org_a, client_a):
    accepted = order_at(OrderStatus.ACCEPTED, staff=ops_user, client=org_a, actor=client_a)
    submitted = order_at(OrderStatus.SUBMITTED, staff=ops_user, client=org_a, actor=client_a)

    with pytest.raises(OrderTransitionNotAllowed):
        services.order_cancel(order=accepted, actor=client_a, reason="Not needed")
    services.order_cancel(order=submitted, actor=client_a, reason="Not needed")
    services.order_cancel(order=accepted, actor=ops_user, reason="Client asked")

    accepted.refresh_from_db()
    submitted.refresh_from_db()
    assert (accepted.status, submitted.status) == (OrderStatus.CANCELLED, OrderStatus.CANCELLED)


def test_tracking_links_are_for_operations_after_sales_and_the_orders_client(submitted, dispatcher, client_a, client_b):
    token = submitted.tracking_token

    for outsider in (dispatcher, client_b):
        with pytest.raises(OrderActionNotPermitted):
            services.order_renew_tracking_link(order=submitted, actor=outsider)
        with pytest.raises(OrderActionNotPermitted):
            services.order_revoke_tracking_link(order=submitted, actor=outsider)
    submitted.refresh_from_db()
    assert submitted.tracking_token == token

    services.order_renew_tracking_link(order=submitted, actor=client_a)
    submitted.refresh_from_db()
    assert submitted.tracking_token not in (None, token)


@pytest.mark.parametrize("who", ["aftersales_user", "reviewer", "client_a"])
def test_only_operations_and_dispatch_change_a_priority(request, submitted, who):
    actor = request.getfixturevalue(who)

    with pytest.raises(OrderActionNotPermitted):
        services.order_set_priority(order=submitted, actor=actor, priority=Priority.HIGH, reason="Board asked")
    with pytest.raises(OrderActionNotPermitted):
        dispatch_services.order_reprioritize(order=submitted, actor=actor, priority=Priority.HIGH, reason="Board")

    submitted.refresh_from_db()
    assert submitted.priority == Priority.NORMAL


def test_the_api_answers_403_to_a_security_reviewer_accepting_and_changes_nothing(submitted, reviewer):
    unchanged = _unchanged(submitted, OrderStatus.SUBMITTED)

    response = _api(reviewer).post(f"/api/v1/orders/{submitted.pk}/accept/")

    assert response.status_code == 403
    unchanged()


def test_the_api_answers_403_to_a_security_reviewer_cancelling_and_changes_nothing(submitted, reviewer):
    unchanged = _unchanged(submitted, OrderStatus.SUBMITTED)

    response = _api(reviewer).post(f"/api/v1/orders/{submitted.pk}/cancel/", {"reason": "x"}, format="json")

    assert response.status_code == 403
    unchanged()


def test_the_order_page_answers_403_to_a_security_reviewer_accepting_and_changes_nothing(client, submitted, reviewer):
    unchanged = _unchanged(submitted, OrderStatus.SUBMITTED)
    client.force_login(reviewer)

    response = client.post(reverse("orders:accept", args=[submitted.pk]))

    assert response.status_code == 403
    unchanged()


def test_the_rules_name_a_refusal_for_every_action():
    assert set(permissions.REFUSALS) == set(permissions.ACTION_ROLES)
    assert set(permissions.ACTION_ROLES) >= permissions.CLIENT_ACTIONS


def test_the_factories_release_gates_as_a_security_reviewer(ops_user):
    order = order_at(OrderStatus.READY, staff=ops_user)

    released_by = set(order.events.filter(kind=EventKind.GATE_RELEASED).values_list("actor", flat=True))
    assert released_by == {gate_reviewer().pk}

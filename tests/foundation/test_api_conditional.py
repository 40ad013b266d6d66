"""Conditional requests on the objects clients read and act on (orders, tickets, reviews): an unchanged object
is not sent again (304), and an action based on a version someone else has since changed is refused (412)."""

import pytest
from rest_framework.test import APIClient

from orders.models import OrderStatus
from security import services as security_services
from security.models import ReviewStatus
from tests.factories import UserFactory, open_ticket, order_at

pytestmark = pytest.mark.django_db


def _api(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(type(user).objects.get(pk=user.pk))  # roles read afresh, as each request does
    return api


def _is_stale(answer) -> bool:
    return answer.status_code == 412 and list(answer.json()) == ["detail"]


@pytest.fixture
def order(ops_user, org_a, client_a):
    return order_at(OrderStatus.SUBMITTED, staff=ops_user, client=org_a, actor=client_a)


def test_an_unchanged_order_answers_304_without_a_body_and_a_changed_one_its_new_version(order, ops_user, client_a):
    url = f"/api/v1/orders/{order.pk}/"
    first = _api(client_a).get(url)
    tag = first["ETag"]

    again = _api(client_a).get(url, HTTP_IF_NONE_MATCH=tag)
    _api(ops_user).post(f"{url}accept/")
    after = _api(client_a).get(url, HTTP_IF_NONE_MATCH=tag)

    assert first.status_code == 200
    assert tag.startswith('"')
    assert (again.status_code, again.content, again["ETag"]) == (304, b"", tag)
    assert after.status_code == 200
    assert after.json()["status"] == "accepted"
    assert after["ETag"] != tag


def test_an_action_on_a_stale_order_version_is_refused_and_changes_nothing(order, ops_user, client_a):
    url = f"/api/v1/orders/{order.pk}/"
    stale = _api(client_a).get(url)["ETag"]
    _api(ops_user).post(f"{url}priority/", {"priority": "high", "reason": "Board request"})
    # The client decided to cancel on the version it read, before staff raised the priority.

    refused = _api(client_a).post(f"{url}cancel/", {"reason": "Changed our plans"}, HTTP_IF_MATCH=stale)
    order.refresh_from_db()

    assert _is_stale(refused)
    assert order.status == OrderStatus.SUBMITTED
    assert order.events.filter(note="Changed our plans").count() == 0


def test_what_would_refuse_the_action_anyway_is_answered_before_a_stale_version(order, ops_user, client_a):
    """RFC 9110 13.2.1: a precondition is weighed only for a request that would otherwise succeed."""
    url = f"/api/v1/orders/{order.pk}/"
    stale = _api(ops_user).get(url)["ETag"]
    _api(client_a).post(f"{url}cancel/", {"reason": "Changed our plans"})

    wrong_role = _api(client_a).post(f"{url}accept/", HTTP_IF_MATCH=stale)
    bad_body = _api(ops_user).post(f"{url}priority/", {"priority": "sky-high", "reason": "x"}, HTTP_IF_MATCH=stale)
    wrong_state = _api(ops_user).post(f"{url}reject/", {"reason": "Out of scope"}, HTTP_IF_MATCH=stale)

    assert wrong_role.status_code == 403
    assert bad_body.status_code == 400
    assert wrong_state.status_code == 409


def test_an_action_with_the_current_version_or_none_proceeds(order, ops_user):
    url = f"/api/v1/orders/{order.pk}/"
    fresh = _api(ops_user).get(url)["ETag"]

    accepted = _api(ops_user).post(f"{url}accept/", HTTP_IF_MATCH=fresh)
    priority = _api(ops_user).post(f"{url}priority/", {"priority": "high", "reason": "Board request"})

    assert accepted.status_code == 200
    assert priority.status_code == 200


def test_a_priority_change_on_a_stale_order_version_is_refused(order, ops_user):
    url = f"/api/v1/orders/{order.pk}/"
    stale = _api(ops_user).get(url)["ETag"]
    _api(ops_user).post(f"{url}accept/")

    refused = _api(ops_user).post(
        f"{url}priority/", {"priority": "high", "reason": "Board request"}, HTTP_IF_MATCH=stale
    )
    order.refresh_from_db()

    assert _is_stale(refused)
    assert order.priority != "high"


def test_a_reply_on_a_ticket_that_moved_on_is_refused_until_read_again(ops_user, org_a, client_a, aftersales_user):
    delivered = order_at(OrderStatus.DELIVERED, staff=ops_user, client=org_a, actor=client_a)
    ticket = open_ticket(order=delivered, actor=client_a)
    url = f"/api/v1/tickets/{ticket.pk}/"
    read = _api(client_a).get(url)
    assert _api(client_a).get(url, HTTP_IF_NONE_MATCH=read["ETag"]).status_code == 304
    _api(aftersales_user).post(f"{url}messages/", {"body": "We are on it."})

    stale = _api(client_a).post(f"{url}messages/", {"body": "Any news?"}, HTTP_IF_MATCH=read["ETag"])
    fresh = _api(client_a).get(url)
    sent = _api(client_a).post(f"{url}messages/", {"body": "Thanks, seen it."}, HTTP_IF_MATCH=fresh["ETag"])

    assert _is_stale(stale)
    assert fresh["ETag"] != read["ETag"]
    assert sent.status_code == 201
    assert [m["body"] for m in sent.json()["messages"]][-2:] == ["We are on it.", "Thanks, seen it."]


def test_a_second_reviewer_approving_a_stale_review_version_is_refused(ops_user, reviewer):
    order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user, data_sensitivity="sensitive")
    (review,) = security_services.reviews_open_for_waiting_gates()
    other = UserFactory(username="reviewer-two", roles=["security"])
    url = f"/api/v1/reviews/{review.pk}/"
    checklist = {"checklist": [{"position": a.position, "passed": True, "note": ""} for a in review.answers.all()]}
    stale = _api(reviewer).get(url)["ETag"]
    assert _api(other).post(f"{url}approve/", checklist).status_code == 200  # the first of two approvals

    refused = _api(reviewer).post(f"{url}approve/", checklist, HTTP_IF_MATCH=stale)
    fresh = _api(reviewer).get(url)["ETag"]
    approved = _api(reviewer).post(f"{url}approve/", checklist, HTTP_IF_MATCH=fresh)

    assert _is_stale(refused)
    assert fresh != stale
    assert approved.status_code == 200
    assert approved.json()["status"] == ReviewStatus.APPROVED

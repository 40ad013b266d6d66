"""The security center's pages, used as reviewers use them."""

import pytest
from django.urls import reverse

from orders.models import EventKind, OrderStatus
from security import services
from security.models import ReviewStatus
from tests.factories import UserFactory, order_at

pytestmark = pytest.mark.django_db


def _gate(ops_user, **overrides):
    order = order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user, **overrides)
    (review,) = services.reviews_open_for_waiting_gates()
    return order, review


def _all_passed(review):
    data = {f"passed_{answer.position}": "yes" for answer in review.answers.all()}
    data.update({f"note_{answer.position}": "" for answer in review.answers.all()})
    return data


@pytest.mark.parametrize("path", ["/security/reviews/", "/security/reviews/history/"])
def test_only_security_sees_the_review_pages(client, ops_user, dispatcher, client_a, reviewer, path):
    assert client.get(path).status_code == 302
    for user in (ops_user, dispatcher, client_a):
        client.force_login(user)
        assert client.get(path).status_code == 403
    client.force_login(reviewer)
    assert client.get(path).status_code == 200


def test_the_queue_lists_open_reviews_oldest_first_with_sensitive_flagged(client, ops_user, reviewer):
    first, _ = _gate(ops_user, data_sensitivity="sensitive")
    second = order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user)
    services.reviews_open_for_waiting_gates()
    client.force_login(reviewer)

    page = client.get("/security/reviews/").content.decode()

    assert page.index(first.reference) < page.index(second.reference)
    assert "Sensitive data" in page


def test_an_empty_queue_says_what_would_appear(client, reviewer):
    client.force_login(reviewer)

    assert "No review waits here" in client.get("/security/reviews/").content.decode()


def test_approving_on_the_page_releases_the_gate(client, ops_user, reviewer):
    order, review = _gate(ops_user)
    client.force_login(reviewer)

    response = client.post(reverse("security:approve", args=[review.pk]), _all_passed(review), follow=True)

    order.refresh_from_db()
    assert "gate of" in response.content.decode()
    assert order.status == OrderStatus.IN_PRODUCTION
    assert order.current_workshop == "model"


def test_an_unanswered_item_is_refused_on_the_page_and_nothing_changes(client, ops_user, reviewer):
    _order, review = _gate(ops_user)
    data = _all_passed(review)
    data.pop("passed_2")
    client.force_login(reviewer)

    response = client.post(reverse("security:approve", args=[review.pk]), data)

    review.refresh_from_db()
    assert response.status_code == 200
    assert "item 2 is unanswered" in response.content.decode()
    assert review.status == ReviewStatus.PENDING


def test_rejecting_needs_a_finding_and_steps(client, ops_user, reviewer):
    _order, review = _gate(ops_user)
    client.force_login(reviewer)

    response = client.post(reverse("security:reject", args=[review.pk]), {"severity_1": "", "finding_1": ""})

    review.refresh_from_db()
    assert "Record at least one finding." in response.content.decode()
    assert review.status == ReviewStatus.PENDING


def test_rejecting_on_the_page_sends_steps_back(client, ops_user, reviewer):
    order, review = _gate(ops_user)
    step = review.stage.steps.order_by("position").first()
    client.force_login(reviewer)

    client.post(
        reverse("security:reject", args=[review.pk]),
        {"severity_1": "high", "finding_1": "Residual names in notes", "rework_steps": [str(step.pk)]},
    )

    order.refresh_from_db()
    review.refresh_from_db()
    assert review.status == ReviewStatus.REJECTED
    assert order.status == OrderStatus.IN_PRODUCTION
    assert order.events.filter(kind=EventKind.REWORK).exists()


def test_a_reviewer_who_acted_as_operations_sees_no_decision_forms(client, ops_user):
    both = UserFactory(username="ops-security", roles=["operations", "security"])
    order, review = _gate(ops_user)
    order.events.model.objects.create(order=order, at=order.created_at, actor=both, kind=EventKind.STEP_FINISHED)
    client.force_login(both)

    page = client.get(reverse("security:review", args=[review.pk])).content.decode()

    assert "another reviewer must decide" in page
    assert 'data-testid="approve-form"' not in page


def test_the_sensitive_order_shows_the_second_approval_is_needed(client, ops_user, reviewer):
    order, review = _gate(ops_user, data_sensitivity="sensitive")
    client.force_login(reviewer)

    response = client.post(reverse("security:approve", args=[review.pk]), _all_passed(review), follow=True)

    order.refresh_from_db()
    assert "second reviewer must approve" in response.content.decode()
    assert order.status == OrderStatus.AWAITING_REVIEW


@pytest.mark.parametrize("reviews", [2, 4])
def test_the_queue_takes_a_fixed_number_of_queries(client, ops_user, reviewer, django_assert_num_queries, reviews):
    for _ in range(reviews):
        order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user)
    services.reviews_open_for_waiting_gates()
    client.force_login(reviewer)

    # 1 session, 2 user, 3 roles, 4 count, 5 the page of reviews with orders, clients and approval counts.
    with django_assert_num_queries(5):
        client.get("/security/reviews/")


def test_the_admin_shows_reviews_read_only_and_checklists_editable(client, admin_user, ops_user):
    _gate(ops_user)
    client.force_login(admin_user)

    reviews = client.get("/admin/security/review/").content.decode()
    checklist = client.get("/admin/security/checklistitem/")

    assert "Add security review" not in reviews
    assert checklist.status_code == 200
    assert "de-identified" in checklist.content.decode()

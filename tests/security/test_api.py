"""The security API (API.md "Security")."""

import pytest
from rest_framework.test import APIClient

from orders.models import OrderStatus
from security import services
from security.models import ReviewStatus
from tests.factories import order_at

pytestmark = pytest.mark.django_db


def _api(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def _gate(ops_user, **overrides):
    order = order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user, **overrides)
    (review,) = services.reviews_open_for_waiting_gates()
    return order, review


def _checklist(review, passed=True):
    return [{"position": answer.position, "passed": passed, "note": ""} for answer in review.answers.all()]


def test_reviews_are_listed_with_their_checklist(ops_user, reviewer):
    _gate(ops_user)

    body = _api(reviewer).get("/api/v1/reviews/").json()

    assert body["count"] == 1
    row = body["results"][0]
    assert row["status"] == "pending"
    assert row["workshop"] == "data"
    assert [item["position"] for item in row["checklist"]] == [1, 2, 3, 4, 5]


def test_reading_reviews_is_for_security_and_operations(ops_user, dispatcher, client_a, reviewer):
    _gate(ops_user)

    assert APIClient().get("/api/v1/reviews/").status_code == 401
    assert _api(dispatcher).get("/api/v1/reviews/").status_code == 403
    assert _api(client_a).get("/api/v1/reviews/").status_code == 403
    assert _api(ops_user).get("/api/v1/reviews/").status_code == 200


def test_approving_through_the_api_releases_the_gate(ops_user, reviewer):
    order, review = _gate(ops_user)

    response = _api(reviewer).post(
        f"/api/v1/reviews/{review.pk}/approve/", {"checklist": _checklist(review)}, format="json"
    )

    order.refresh_from_db()
    assert response.status_code == 200
    assert response.json()["status"] == "approved"
    assert order.status == OrderStatus.IN_PRODUCTION


def test_only_security_decides_through_the_api(ops_user, reviewer):
    _order, review = _gate(ops_user)

    response = _api(ops_user).post(
        f"/api/v1/reviews/{review.pk}/approve/", {"checklist": _checklist(review)}, format="json"
    )

    review.refresh_from_db()
    assert response.status_code == 403
    assert review.status == ReviewStatus.PENDING


def test_bad_decisions_answer_400_and_409(ops_user, reviewer):
    _order, review = _gate(ops_user)
    api = _api(reviewer)
    url = f"/api/v1/reviews/{review.pk}/"

    unanswered = api.post(url + "approve/", {"checklist": _checklist(review)[:2]}, format="json")
    no_findings = api.post(url + "reject/", {"findings": [], "rework_steps": [1]}, format="json")
    no_steps = api.post(
        url + "reject/", {"findings": [{"severity": "low", "text": "x"}], "rework_steps": []}, format="json"
    )
    api.post(url + "approve/", {"checklist": _checklist(review)}, format="json")
    again = api.post(url + "approve/", {"checklist": _checklist(review)}, format="json")

    assert unanswered.status_code == 400
    assert "checklist" in unanswered.json()
    assert no_findings.status_code == 400
    assert "findings" in no_findings.json()
    assert no_steps.status_code == 400
    assert "rework_steps" in no_steps.json()
    assert again.status_code == 409


def test_rejecting_through_the_api_records_findings(ops_user, reviewer):
    order, review = _gate(ops_user)
    step = review.stage.steps.order_by("position").first()

    response = _api(reviewer).post(
        f"/api/v1/reviews/{review.pk}/reject/",
        {"findings": [{"severity": "critical", "text": "Consent records missing"}], "rework_steps": [step.pk]},
        format="json",
    )

    order.refresh_from_db()
    assert response.status_code == 200
    assert response.json()["findings"] == [{"severity": "critical", "text": "Consent records missing"}]
    assert order.status == OrderStatus.IN_PRODUCTION


@pytest.mark.parametrize("reviews", [2, 4])
def test_the_review_list_takes_a_fixed_number_of_queries(ops_user, reviewer, django_assert_num_queries, reviews):
    for _ in range(reviews):
        order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user)
    services.reviews_open_for_waiting_gates()
    api = _api(reviewer)

    # 1 roles, 2 count, 3 page of reviews, 4 answers, 5 findings, 6 approvals with reviewers.
    with django_assert_num_queries(6):
        api.get("/api/v1/reviews/")

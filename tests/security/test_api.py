"""The security API (API.md "Security"), /api/v1/reviews/, as scripts and other systems use it."""

import pytest
from rest_framework.test import APIClient

from orders.models import EventKind, OrderStatus
from security import services
from security.models import ReviewStatus
from tests.factories import UserFactory, finish_current_stage, order_at

pytestmark = pytest.mark.django_db

REVIEWS = "/api/v1/reviews/"


@pytest.fixture
def reviewer_two(db):
    return UserFactory(username="reviewer-two", roles=["security"])


def _api(user=None):
    """An API client signed in as `user`, read afresh as each request reads its user in production (roles and
    all: a user object the services already asked about keeps its roles)."""
    api = APIClient()
    if user is not None:
        api.force_authenticate(type(user).objects.get(pk=user.pk))
    return api


def _gate(ops_user, **overrides):
    order = order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user, **overrides)
    (review,) = services.reviews_open_for_waiting_gates()
    return order, review


def _checklist(review, passed=True):
    return [{"position": answer.position, "passed": passed, "note": ""} for answer in review.answers.all()]


def _approve(api, review, checklist=None):
    body = {"checklist": _checklist(review) if checklist is None else checklist}
    return api.post(f"{REVIEWS}{review.pk}/approve/", body, format="json")


def _reject(api, review, **body):
    return api.post(f"{REVIEWS}{review.pk}/reject/", body, format="json")


def _unchanged(order, review, *, events):
    order.refresh_from_db()
    review.refresh_from_db()
    assert review.status == ReviewStatus.PENDING
    assert not review.approvals.exists()
    assert not review.findings.exists()
    assert order.status == OrderStatus.AWAITING_REVIEW
    assert order.events.count() == events


# --- Reading ----------------------------------------------------------------------------------------


def test_a_review_is_listed_with_the_fields_of_the_contract(ops_user, reviewer):
    order, review = _gate(ops_user, data_sensitivity="sensitive")

    body = _api(reviewer).get(REVIEWS).json()

    assert body["count"] == 1
    assert {"next", "previous", "results"} <= body.keys()
    row = body["results"][0]
    assert row["id"] == review.pk
    assert row["order"] == order.pk
    assert row["order_reference"] == order.reference
    assert row["workshop"] == "data"
    assert row["status"] == "pending"
    assert row["sensitive"] is True
    assert row["gate_passage"] == 1
    assert row["approvals_required"] == 2
    assert row["approvals"] == []
    assert row["approvals_given"] == 0
    assert row["reviewer"] is None
    assert row["decided_at"] is None
    assert row["opened_at"]
    assert row["findings"] == []
    assert [item["position"] for item in row["checklist"]] == [1, 2, 3, 4, 5]
    assert set(row["checklist"][0]) == {"position", "item", "passed", "note"}
    assert row["checklist"][0]["passed"] is None


def test_one_review_is_read_by_its_id_and_an_unknown_one_is_not_found(ops_user, reviewer):
    _order, review = _gate(ops_user)

    assert _api(reviewer).get(f"{REVIEWS}{review.pk}/").json()["id"] == review.pk
    assert _api(reviewer).get(f"{REVIEWS}999999/").status_code == 404


def test_reading_reviews_is_for_the_security_and_operations_roles(
    ops_user, dispatcher, aftersales_user, client_a, reviewer
):
    _order, review = _gate(ops_user)

    assert _api().get(REVIEWS).status_code == 401
    for outsider in (dispatcher, aftersales_user, client_a):
        assert _api(outsider).get(REVIEWS).status_code == 403
        assert _api(outsider).get(f"{REVIEWS}{review.pk}/").status_code == 403
    assert _api(ops_user).get(REVIEWS).status_code == 200
    assert _api(reviewer).get(REVIEWS).status_code == 200


def test_reviews_are_filtered_by_status_workshop_and_order(ops_user, reviewer):
    first, review = _gate(ops_user)
    services.review_approve(
        review=review, reviewer=reviewer, answers={a.position: {"passed": True} for a in review.answers.all()}
    )
    second, _other = _gate(ops_user)
    services.reviews_open_for_waiting_gates()
    api = _api(reviewer)

    def orders(**params):
        return [row["order"] for row in api.get(REVIEWS, params).json()["results"]]

    assert orders(status="pending") == [second.pk]
    assert orders(status="approved") == [first.pk]
    assert orders(workshop="model") == []
    assert orders(order=first.pk) == [first.pk]
    assert orders(order=second.reference) == [second.pk]
    assert api.get(REVIEWS, {"status": "maybe"}).status_code == 400


@pytest.mark.parametrize("gates", [2, 4])
def test_the_review_list_takes_a_fixed_number_of_queries(ops_user, reviewer, django_assert_num_queries, gates):
    for _ in range(gates):
        order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user, data_sensitivity="sensitive")
    for review in services.reviews_open_for_waiting_gates():
        services.review_approve(
            review=review, reviewer=reviewer, answers={a.position: {"passed": True} for a in review.answers.all()}
        )
    api = _api(ops_user)

    # 1 the user's roles, 2 count, 3 the page of reviews with orders, reviewers and approval counts,
    # 4 checklist answers, 5 findings, 6 approvals with their reviewers. Doubling the reviews adds none.
    with django_assert_num_queries(6):
        response = api.get(REVIEWS)
    assert len(response.json()["results"]) == gates


# --- Deciding ---------------------------------------------------------------------------------------


def test_approving_with_every_item_passed_releases_the_gate(ops_user, reviewer):
    order, review = _gate(ops_user)

    response = _approve(_api(reviewer), review)

    order.refresh_from_db()
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "approved"
    assert body["reviewer"] == "security-user"
    assert body["decided_at"]
    assert body["approvals"] == ["security-user"]
    assert all(item["passed"] is True for item in body["checklist"])
    assert order.status == OrderStatus.IN_PRODUCTION
    assert order.current_workshop == "model"
    assert order.events.filter(kind=EventKind.GATE_RELEASED, actor=reviewer).exists()


def test_the_checklist_may_be_given_in_item_order_without_positions(ops_user, reviewer):
    order, review = _gate(ops_user, product_type="dataset")
    checklist = [{"passed": True} for _ in review.answers.all()]

    response = _approve(_api(reviewer), review, checklist)

    order.refresh_from_db()
    assert response.status_code == 200
    assert order.status == OrderStatus.READY  # the dataset's only gate: ready for delivery


@pytest.mark.parametrize("persona", ["ops_user", "dispatcher", "client_a"])
def test_only_the_security_role_decides(ops_user, request, persona):
    order, review = _gate(ops_user)
    events = order.events.count()
    api = _api(request.getfixturevalue(persona))
    step = review.stage.steps.first()

    approved = _approve(api, review)
    rejected = _reject(api, review, findings=[{"severity": "low", "text": "x"}], rework_steps=[step.pk])

    assert approved.status_code == 403
    assert rejected.status_code == 403
    _unchanged(order, review, events=events)


def test_approving_with_an_unanswered_item_answers_400_and_changes_nothing(ops_user, reviewer):
    order, review = _gate(ops_user)
    events = order.events.count()
    checklist = _checklist(review)
    checklist[1]["passed"] = None

    response = _approve(_api(reviewer), review, checklist[:4])

    assert response.status_code == 400
    assert response.json() == {"checklist": ["Answer every checklist item (item 2 is unanswered)."]}
    _unchanged(order, review, events=events)


def test_approving_with_a_failed_item_answers_400_and_changes_nothing(ops_user, reviewer):
    order, review = _gate(ops_user)
    events = order.events.count()
    checklist = _checklist(review)
    checklist[2]["passed"] = False

    response = _approve(_api(reviewer), review, checklist)

    assert response.status_code == 400
    assert "did not pass" in response.json()["checklist"][0]
    _unchanged(order, review, events=events)


def test_the_same_item_answered_twice_answers_400(ops_user, reviewer):
    order, review = _gate(ops_user)
    events = order.events.count()

    response = _approve(_api(reviewer), review, [*_checklist(review), {"position": 1, "passed": True}])

    assert response.status_code == 400
    assert response.json() == {"checklist": ["Answer each checklist item once."]}
    _unchanged(order, review, events=events)


def test_rejecting_without_findings_answers_400_and_changes_nothing(ops_user, reviewer):
    order, review = _gate(ops_user)
    events = order.events.count()
    step = review.stage.steps.first()

    response = _reject(_api(reviewer), review, findings=[], rework_steps=[step.pk])

    assert response.status_code == 400
    assert response.json() == {"findings": ["Record at least one finding."]}
    _unchanged(order, review, events=events)


def test_rejecting_without_rework_steps_answers_400_and_changes_nothing(ops_user, reviewer):
    order, review = _gate(ops_user)
    events = order.events.count()

    response = _reject(_api(reviewer), review, findings=[{"severity": "high", "text": "PII left"}], rework_steps=[])

    assert response.status_code == 400
    assert response.json() == {"rework_steps": ["Name the steps of this workshop to redo."]}
    _unchanged(order, review, events=events)


def test_rework_steps_of_another_order_or_a_bad_severity_answer_400(ops_user, reviewer):
    order, review = _gate(ops_user)
    _other_order, other = _gate(ops_user)
    events = order.events.count()
    api = _api(reviewer)

    foreign = _reject(
        api, review, findings=[{"severity": "high", "text": "PII left"}], rework_steps=[other.stage.steps.first().pk]
    )
    bad_severity = _reject(
        api, review, findings=[{"severity": "dire", "text": "PII left"}], rework_steps=[review.stage.steps.first().pk]
    )

    assert foreign.status_code == 400
    assert "rework_steps" in foreign.json()
    assert bad_severity.status_code == 400
    assert bad_severity.json()["findings"] == ['#1 severity: "dire" is not a valid choice.']
    _unchanged(order, review, events=events)


def test_rejecting_records_findings_sends_steps_back_and_a_new_passage_opens_after_rework(ops_user, reviewer):
    order, review = _gate(ops_user)
    step = review.stage.steps.order_by("position").first()

    response = _reject(
        _api(reviewer),
        review,
        findings=[{"severity": "critical", "text": "Consent records missing"}],
        rework_steps=[step.pk],
        checklist=_checklist(review),
    )

    order.refresh_from_db()
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "rejected"
    assert body["reviewer"] == "security-user"
    assert body["findings"] == [{"severity": "critical", "text": "Consent records missing"}]
    assert order.status == OrderStatus.IN_PRODUCTION
    assert order.events.filter(kind=EventKind.REWORK, actor=reviewer).exists()

    finish_current_stage(order, ops_user)
    services.reviews_open_for_waiting_gates()
    pending = _api(reviewer).get(REVIEWS, {"status": "pending", "order": order.pk}).json()["results"]

    assert [row["gate_passage"] for row in pending] == [2]


def test_deciding_an_already_decided_review_answers_409_and_changes_nothing(ops_user, reviewer):
    order, review = _gate(ops_user)
    api = _api(reviewer)
    _approve(api, review)
    events = order.events.count()

    again = _approve(api, review)
    rejected = _reject(
        api, review, findings=[{"severity": "low", "text": "late"}], rework_steps=[review.stage.steps.first().pk]
    )

    review.refresh_from_db()
    assert again.status_code == 409
    assert again.json() == {"detail": "This review is already approved."}
    assert rejected.status_code == 409
    assert review.status == ReviewStatus.APPROVED
    assert not review.findings.exists()
    assert order.events.count() == events


def test_a_reviewer_who_acted_as_operations_on_the_order_is_refused_with_403(ops_user, reviewer):
    both = UserFactory(username="ops-and-security", roles=["security", "operations"])
    order, review = _gate(ops_user, product_type="model")
    _approve(_api(reviewer), review)
    finish_current_stage(order, both)  # finishes the model workshop's steps as operations staff
    (review,) = services.reviews_open_for_waiting_gates()
    events = order.events.count()

    response = _approve(_api(both), review)

    assert response.status_code == 403
    assert "acted on this order as operations staff" in response.json()["detail"]
    _unchanged(order, review, events=events)


def test_a_sensitive_order_needs_two_approvals_by_two_different_reviewers(ops_user, reviewer, reviewer_two):
    order, review = _gate(ops_user, data_sensitivity="sensitive")

    first = _approve(_api(reviewer), review)
    order.refresh_from_db()
    assert first.status_code == 200
    assert first.json()["status"] == "pending"
    assert first.json()["approvals"] == ["security-user"]
    assert order.status == OrderStatus.AWAITING_REVIEW
    assert order.events.filter(kind=EventKind.REVIEW_DECISION, actor=reviewer, note="Approval 1 of 2.").exists()

    same_again = _approve(_api(reviewer), review)
    assert same_again.status_code == 403
    assert review.approvals.count() == 1

    second = _approve(_api(reviewer_two), review)
    order.refresh_from_db()
    assert second.json()["status"] == "approved"
    assert second.json()["approvals"] == ["security-user", "reviewer-two"]
    assert order.status == OrderStatus.IN_PRODUCTION


def test_every_decision_writes_an_order_event(ops_user, reviewer, reviewer_two):
    sensitive, four_eyes = _gate(ops_user, data_sensitivity="sensitive")
    refused, rejected = _gate(ops_user)
    _approve(_api(reviewer), four_eyes)
    _approve(_api(reviewer_two), four_eyes)
    _reject(
        _api(reviewer),
        rejected,
        findings=[{"severity": "medium", "text": "Licence unclear"}],
        rework_steps=[rejected.stage.steps.first().pk],
    )

    def kinds(order):
        return list(
            order.events.filter(kind__in=[EventKind.REVIEW_DECISION, EventKind.GATE_RELEASED, EventKind.REWORK])
            .order_by("at", "id")
            .values_list("kind", "actor__username")
        )

    assert kinds(sensitive) == [
        (EventKind.REVIEW_DECISION, "security-user"),
        (EventKind.GATE_RELEASED, "reviewer-two"),
    ]
    assert kinds(refused) == [(EventKind.REWORK, "security-user")]


def test_the_schema_documents_the_review_endpoints(reviewer):
    schema = _api(reviewer).get("/api/schema/", {"format": "json"}).json()

    for path in ("/api/v1/reviews/", "/api/v1/reviews/{id}/", "/api/v1/reviews/{id}/approve/"):
        assert path in schema["paths"]
    reject = schema["paths"]["/api/v1/reviews/{id}/reject/"]["post"]
    assert {"200", "400", "403", "404", "409"} <= reject["responses"].keys()
    parameters = {parameter["name"] for parameter in schema["paths"]["/api/v1/reviews/"]["get"]["parameters"]}
    assert {"status", "workshop", "order", "sensitive", "page"} <= parameters

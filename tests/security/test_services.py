"""Security gates through security.services: no order passes a gate without an approved review."""

import pytest

from orders.models import EventKind, OrderStatus, StageStatus, StepStatus
from security import services
from security.errors import ReviewAlreadyDecided, ReviewerNotPermitted, ReviewInvalid
from security.models import Review, ReviewStatus
from tests.factories import UserFactory, finish_current_stage, order_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer_two(db):
    return UserFactory(username="security-two", roles=["security"])


def _all_passed(review):
    return {answer.position: {"passed": True, "note": ""} for answer in review.answers.all()}


def _gate(ops_user, **overrides):
    order = order_at(OrderStatus.AWAITING_REVIEW, staff=ops_user, **overrides)
    (review,) = services.reviews_open_for_waiting_gates()
    return order, review


def test_a_review_opens_once_for_a_gate_awaiting_review(ops_user):
    order, review = _gate(ops_user)

    assert services.reviews_open_for_waiting_gates() == []
    assert review.workshop == "data"
    assert review.answers.count() == 5
    assert review.approvals_required == 1
    assert Review.objects.filter(order=order).count() == 1


def test_approving_releases_the_gate_into_the_next_workshop(ops_user, reviewer):
    order, review = _gate(ops_user)

    services.review_approve(review=review, reviewer=reviewer, answers=_all_passed(review))

    order.refresh_from_db()
    review.refresh_from_db()
    assert review.status == ReviewStatus.APPROVED
    assert review.reviewer == reviewer
    assert order.status == OrderStatus.IN_PRODUCTION
    assert order.current_workshop == "model"
    assert order.events.filter(kind=EventKind.GATE_RELEASED, actor=reviewer).exists()


def test_an_unanswered_item_refuses_the_approval_and_changes_nothing(ops_user, reviewer):
    order, review = _gate(ops_user)
    answers = _all_passed(review)
    answers.pop(3)

    with pytest.raises(ReviewInvalid, match="item 3 is unanswered"):
        services.review_approve(review=review, reviewer=reviewer, answers=answers)

    review.refresh_from_db()
    order.refresh_from_db()
    assert review.status == ReviewStatus.PENDING
    assert not review.approvals.exists()
    assert order.status == OrderStatus.AWAITING_REVIEW


def test_a_failed_item_must_be_rejected_not_approved(ops_user, reviewer):
    _order, review = _gate(ops_user)
    answers = _all_passed(review)
    answers[2] = {"passed": False, "note": "Licence of source 3 missing"}

    with pytest.raises(ReviewInvalid, match="did not pass"):
        services.review_approve(review=review, reviewer=reviewer, answers=answers)


def test_a_sensitive_order_needs_two_different_reviewers(ops_user, reviewer, reviewer_two):
    order, review = _gate(ops_user, data_sensitivity="sensitive", sector="healthcare")

    services.review_approve(review=review, reviewer=reviewer, answers=_all_passed(review))
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_REVIEW
    assert order.events.filter(kind=EventKind.REVIEW_DECISION, note="Approval 1 of 2.").exists()
    with pytest.raises(ReviewerNotPermitted):
        services.review_approve(review=review, reviewer=reviewer, answers=_all_passed(review))

    services.review_approve(review=review, reviewer=reviewer_two, answers=_all_passed(review))

    order.refresh_from_db()
    assert order.status == OrderStatus.IN_PRODUCTION
    assert review.approvals.count() == 2


def test_rejection_sends_steps_back_and_the_gate_reopens_after_the_rework(ops_user, reviewer):
    order, review = _gate(ops_user)
    redo = list(review.stage.steps.order_by("position")[3:5])

    services.review_reject(
        review=review,
        reviewer=reviewer,
        findings=[{"severity": "high", "text": "Names remain in free-text notes"}],
        rework_steps=[step.pk for step in redo],
    )

    order.refresh_from_db()
    assert order.status == OrderStatus.IN_PRODUCTION
    assert review.stage.steps.get(pk=redo[0].pk).status == StepStatus.READY
    assert order.events.filter(kind=EventKind.REWORK, actor=reviewer).exists()
    finish_current_stage(order, ops_user)
    (second,) = services.reviews_open_for_waiting_gates()
    assert second.gate_passage == 1
    assert second.stage.status == StageStatus.AWAITING_REVIEW


@pytest.mark.parametrize(
    ("findings", "steps", "field"),
    [
        ([], "some", "findings"),
        ([{"severity": "high", "text": " "}], "some", "findings"),
        ([{"severity": "apocalyptic", "text": "x"}], "some", "findings"),
        ([{"severity": "low", "text": "Typo in card"}], "none", "rework_steps"),
        ([{"severity": "low", "text": "Typo in card"}], "foreign", "rework_steps"),
    ],
)
def test_a_rejection_needs_findings_and_steps_of_the_stage(ops_user, reviewer, findings, steps, field):
    _order, review = _gate(ops_user)
    other = order_at(OrderStatus.IN_PRODUCTION, staff=ops_user)
    step_ids = {
        "some": [review.stage.steps.first().pk],
        "none": [],
        "foreign": [other.stages.first().steps.first().pk],
    }[steps]

    with pytest.raises(ReviewInvalid) as refused:
        services.review_reject(review=review, reviewer=reviewer, findings=findings, rework_steps=step_ids)

    assert refused.value.field == field
    review.refresh_from_db()
    assert review.status == ReviewStatus.PENDING
    assert not review.findings.exists()


def test_a_decided_review_cannot_be_decided_again(ops_user, reviewer):
    _order, review = _gate(ops_user)
    services.review_approve(review=review, reviewer=reviewer, answers=_all_passed(review))

    with pytest.raises(ReviewAlreadyDecided):
        services.review_reject(
            review=review, reviewer=reviewer, findings=[{"severity": "low", "text": "late"}], rework_steps=[1]
        )


def test_only_security_decides(ops_user, dispatcher):
    _order, review = _gate(ops_user)

    with pytest.raises(ReviewerNotPermitted):
        services.review_approve(review=review, reviewer=dispatcher, answers=_all_passed(review))


def test_a_reviewer_who_acted_as_operations_on_the_order_may_not_review_it(ops_user):
    both = UserFactory(username="ops-and-security", roles=["operations", "security"])
    order, review = _gate(ops_user, actor=ops_user)
    order.events.model.objects.create(order=order, at=order.created_at, actor=both, kind=EventKind.STEP_FINISHED)

    with pytest.raises(ReviewerNotPermitted, match="acted on this order as operations"):
        services.review_approve(review=review, reviewer=both, answers=_all_passed(review))

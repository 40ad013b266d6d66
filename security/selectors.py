"""Reads of the security center for its pages and API, each with its joins in place (no N+1 queries)."""

from dataclasses import dataclass

from django.db.models import (
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Prefetch,
    QuerySet,
    Value,
)
from django.db.models.functions import Coalesce

from factory import clock
from orders import selectors as order_selectors
from orders.models import Order, OrderStep
from security.models import DECIDED_STATUSES, Approval, Review

# --- Lists ------------------------------------------------------------------------------------------


def reviews() -> QuerySet[Review]:
    """Reviews with what a list row needs, in the same query: order, client, deciding reviewer, and

    `approvals_given`, `passage` (1-based gate passage: "passage 2" after a rework) and `waited` (how long
    the gate waited: until the decision, or until now while pending, by the factory clock).
    """
    now = Value(clock.now(), output_field=DateTimeField())
    return Review.objects.select_related("order__client", "reviewer").annotate(
        approvals_given=Count("approvals", distinct=True),
        passage=F("gate_passage") + 1,
        waited=ExpressionWrapper(Coalesce("decided_at", now) - F("opened_at"), output_field=DurationField()),
    )


def reviews_with_details() -> QuerySet[Review]:
    """Reviews with their checklist answers, findings and approvals (with reviewers), for the API."""
    return reviews().prefetch_related(
        "answers", "findings", Prefetch("approvals", queryset=Approval.objects.select_related("reviewer"))
    )


def review_history() -> QuerySet[Review]:
    """Decided reviews (in the order of ReviewFilter's sort)."""
    return reviews().filter(status__in=DECIDED_STATUSES)


# --- One review -------------------------------------------------------------------------------------


def review_detail(pk) -> Review:
    """One review with its checklist, approvals (with reviewers), findings and stage; DoesNotExist if none."""
    return (
        Review.objects.select_related("stage", "reviewer")
        .prefetch_related(
            "answers",
            Prefetch("approvals", queryset=Approval.objects.select_related("reviewer")),
            "findings",
            Prefetch("stage__steps", queryset=OrderStep.objects.order_by("position")),
        )
        .get(pk=int(pk))
    )


@dataclass
class ReviewPage:
    """What the review page shows: the review, the order in full, the steps that could be redone, history."""

    review: Review
    order: Order  # with stages, steps, events (actors), requirement changes: orders.selectors.order_detail
    steps: list[OrderStep]
    history: list[Review]
    barred: bool  # the user acted on the order as operations staff and may not review it
    already_approved: bool
    approvals: list[Approval]


def review_page(*, user, pk) -> ReviewPage:
    review = review_detail(pk)
    order = order_selectors.order_detail(user=user, pk=review.order_id)
    approvals = list(review.approvals.all())
    history = list(
        reviews()
        .filter(order_id=review.order_id)
        .exclude(pk=review.pk)
        .prefetch_related("findings")
        .order_by("opened_at", "id")
    )
    return ReviewPage(
        review=review,
        order=order,
        steps=list(review.stage.steps.all()),
        history=history,
        barred=order_selectors.acted_as_operations(order_id=review.order_id, user=user),
        already_approved=any(approval.reviewer_id == user.pk for approval in approvals),
        approvals=approvals,
    )


@dataclass(frozen=True)
class Outcome:
    """Where a decision left the review and its order, for the message after it."""

    status: str
    approvals_given: int
    approvals_required: int
    reference: str
    order_status: str
    order_workshop: str


def decision_outcome(pk) -> Outcome:
    row = (
        Review.objects.filter(pk=pk)
        .annotate(approvals_given=Count("approvals"))
        .values(
            "status",
            "approvals_given",
            "approvals_required",
            "order__reference",
            "order__status",
            "order__current_workshop",
        )
        .get()
    )
    return Outcome(
        status=row["status"],
        approvals_given=row["approvals_given"],
        approvals_required=row["approvals_required"],
        reference=row["order__reference"],
        order_status=row["order__status"],
        order_workshop=row["order__current_workshop"],
    )

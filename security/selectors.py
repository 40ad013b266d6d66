"""Reads of the security center for its pages and API (each free of N+1 queries)."""

from django.db.models import Count, Prefetch, QuerySet

from security.models import Approval, Review, ReviewStatus


def reviews() -> QuerySet[Review]:
    """Reviews with what a queue row needs: the order and client, and how many approvals were given."""
    return Review.objects.select_related("order__client", "reviewer").annotate(approvals_given=Count("approvals"))


def review_queue(*, workshop: str = "", status: str = ReviewStatus.PENDING, sensitive: bool | None = None):
    """The reviewers' queue: oldest first, so no gate waits longer than it must."""
    queryset = reviews().order_by("opened_at", "id")
    if status:
        queryset = queryset.filter(status=status)
    if workshop:
        queryset = queryset.filter(workshop=workshop)
    if sensitive is not None:
        queryset = queryset.filter(sensitive=sensitive)
    return queryset


def review_history(*, workshop: str = ""):
    queryset = reviews().exclude(status=ReviewStatus.PENDING).order_by("-decided_at", "-id")
    return queryset.filter(workshop=workshop) if workshop else queryset


def review_detail(pk) -> Review:
    """One review with its checklist, approvals, findings, its stage's steps and the order's other reviews."""
    return (
        Review.objects.select_related("order__client", "stage", "reviewer")
        .prefetch_related(
            "answers",
            Prefetch("approvals", queryset=Approval.objects.select_related("reviewer")),
            "findings",
            "stage__steps",
        )
        .get(pk=pk)
    )


def order_reviews(order_id: int, *, exclude: int | None = None) -> list[Review]:
    """The order's reviews, oldest first: its history at every gate."""
    queryset = reviews().filter(order_id=order_id).prefetch_related("findings").order_by("opened_at", "id")
    if exclude is not None:
        queryset = queryset.exclude(pk=exclude)
    return list(queryset)

"""What the security center tells its reviewers without being asked (notifications.kinds): a gate review waiting
longer than REVIEW_WAIT_NOTICE_HOURS."""

from datetime import datetime, timedelta

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from catalog.models import Workshop
from factory import roles
from notifications.kinds import STAFF, Kind, register
from notifications.selectors import events_told
from notifications.services import notify, staff_holding
from security.models import Review, ReviewStatus

REVIEW_WAITING = "review_waiting"

register(
    Kind(
        REVIEW_WAITING,
        STAFF,
        label=_("A gate review waits too long"),
        title=_("The %(workshop)s gate of order %(reference)s has waited %(hours)s hours for review"),
        choices={"workshop": Workshop},
    ),
)


def tell_of_long_waits(*, now: datetime) -> int:
    """Tell the security staff of each pending review open longer than REVIEW_WAIT_NOTICE_HOURS, once per review."""
    waited = timedelta(hours=settings.REVIEW_WAIT_NOTICE_HOURS)
    waiting = list(
        Review.objects.filter(status=ReviewStatus.PENDING, opened_at__lte=now - waited).select_related("order")
    )
    told = events_told(f"review-waiting:{review.pk}" for review in waiting)
    fresh = [review for review in waiting if f"review-waiting:{review.pk}" not in told]
    reviewers = staff_holding(roles.SECURITY) if fresh else []
    for review in fresh:
        notify(
            kind=REVIEW_WAITING,
            event=f"review-waiting:{review.pk}",
            recipients=reviewers,
            params={
                "reference": review.order.reference,
                "workshop": review.workshop,
                "hours": round((now - review.opened_at).total_seconds() / 3600),
            },
            url=reverse("security:review", args=[review.pk]),
        )
    return len(fresh)

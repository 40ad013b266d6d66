"""How orders look and read on every page (UI.md: one visual language), shared by staff, portal and tracking."""

from datetime import datetime, timedelta

from django.utils.translation import gettext as _

from factory import clock
from orders.models import OrderStatus, StageStatus

# Status colours mean the same everywhere (UI.md); the word always goes with the colour.
ORDER_STATUS_TONE = {
    OrderStatus.SUBMITTED: "grey",
    OrderStatus.ACCEPTED: "grey",
    OrderStatus.IN_PRODUCTION: "green",
    OrderStatus.AWAITING_REVIEW: "amber",
    OrderStatus.READY: "green",
    OrderStatus.DELIVERED: "green",
    OrderStatus.CLOSED: "green",
    OrderStatus.REJECTED: "red",
    OrderStatus.CANCELLED: "grey",
}
STAGE_STATUS_TONE = {
    StageStatus.PENDING: "grey",
    StageStatus.IN_PROGRESS: "green",
    StageStatus.AWAITING_REVIEW: "amber",
    StageStatus.REWORK: "red",
    StageStatus.APPROVED: "green",
}


# --- Durations and relative time, in the factory's words ("3 d 4 h", "in 2 h", "5 min ago") ---------------


def duration_words(delta: timedelta) -> str:
    """A duration as people read it on a control-room screen: "3 d 4 h", "2 h 30 min", "5 min"."""
    minutes = int(abs(delta.total_seconds()) // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days and hours:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if days:
        return _("%(days)d d") % {"days": days}
    if hours and minutes:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    if hours:
        return _("%(hours)d h") % {"hours": hours}
    return _("%(minutes)d min") % {"minutes": minutes}


def relative_to_now(moment: datetime, now: datetime | None = None) -> str:
    delta = moment - (now or clock.now())
    if abs(delta) < timedelta(minutes=1):
        return _("now")
    if delta > timedelta(0):
        return _("in %(duration)s") % {"duration": duration_words(delta)}
    return _("%(duration)s ago") % {"duration": duration_words(delta)}

"""How tickets look and read on every page: status and severity colours, SLA countdowns."""

from datetime import datetime

from django.utils.translation import gettext as _

from aftersales.models import RESOLVED_STATUSES, Severity, Ticket, TicketStatus
from aftersales.services import sla_breaches
from orders.display import duration_words

# Colour with a word, as everywhere (UI.md): waiting = amber, breached = red, done = green.
STATUS_TONE = {
    TicketStatus.OPEN: "amber",
    TicketStatus.IN_PROGRESS: "green",
    TicketStatus.WAITING_CLIENT: "amber",
    TicketStatus.RESOLVED: "green",
    TicketStatus.CLOSED: "grey",
}
SEVERITY_TONE = {Severity.LOW: "grey", Severity.MEDIUM: "grey", Severity.HIGH: "amber", Severity.CRITICAL: "red"}


def sla_countdown(ticket: Ticket, now: datetime) -> dict:
    """The SLA deadline running now, in words with its tone: "First response in 45 min" (amber when at risk),
    "Resolution overdue by 3 h" (red), "Paused: waiting for the client", "Resolved in 2 d 4 h"; and, on a
    breached ticket, which promise it broke."""
    return {**_running_clock(ticket, now), "breach": breach_words(ticket, now)}


def breach_words(ticket: Ticket, now: datetime) -> str:
    """Which clock a breached ticket ran out of: "First response SLA breached" ("" when not breached)."""
    if not ticket.breached:
        return ""
    broken = tuple(sla_breaches(ticket, now))
    if broken == ("first_response",):
        return _("First response SLA breached")
    if broken == ("resolution",):
        return _("Resolution SLA breached")
    if broken == ("first_response", "resolution"):
        return _("First response and resolution SLAs breached")
    # A breach stays a fact after a new severity moves the due times past it; the clock is not known then.
    return _("SLA breached")


def _running_clock(ticket: Ticket, now: datetime) -> dict:
    if ticket.status in RESOLVED_STATUSES:
        took = duration_words(ticket.resolved_at - ticket.opened_at) if ticket.resolved_at else ""
        return {
            "text": _("Resolved in %(duration)s") % {"duration": took} if took else _("Closed"),
            "tone": "red" if ticket.breached else "green",
            "due": None,
        }
    if ticket.first_responded_at is None:
        due, what = ticket.first_response_due, "first_response"
    elif ticket.paused_at is not None:
        return {"text": _("Paused: waiting for the client"), "tone": "red" if ticket.breached else "grey", "due": None}
    else:
        due, what = ticket.resolution_due, "resolution"
    left = due - now
    if left.total_seconds() < 0:
        text = (
            _("First response overdue by %(duration)s")
            if what == "first_response"
            else _("Resolution overdue by %(duration)s")
        )
        return {"text": text % {"duration": duration_words(left)}, "tone": "red", "due": due}
    text = _("First response in %(duration)s") if what == "first_response" else _("Resolution in %(duration)s")
    tone = "red" if ticket.breached else ("amber" if ticket.at_risk else "green")
    return {"text": text % {"duration": duration_words(left)}, "tone": tone, "due": due}

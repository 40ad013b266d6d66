"""Every state change of after-sales: opening tickets, the thread, status moves, severity, SLA watch,
satisfaction, follow-up orders.

Tickets belong to delivered orders. The client users of the order's organization and the after-sales and
operations staff act on them; follow-up orders are placed through orders' own services.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales import notices, permissions
from aftersales.errors import TicketActionNotPermitted, TicketInvalid, TicketTransitionNotAllowed
from aftersales.models import (
    ACTIVE_STATUSES,
    RESOLVED_STATUSES,
    Category,
    Severity,
    SlaPolicy,
    Ticket,
    TicketEvent,
    TicketEventKind,
    TicketMessage,
    TicketReferenceCounter,
    TicketStatus,
)
from factory import clock, notes, submissions
from factory.limits import MESSAGE_MAX, NOTE_MAX, TITLE_MAX, clean_text
from orders import services as order_services
from orders.models import HANDED_OVER_STATUSES, Order

# Orders the client has received: only these can have tickets.

# Where a ticket may go from each status. Resolved tickets reopen (in progress) or close; closed is final.
TRANSITIONS = {
    TicketStatus.OPEN: {TicketStatus.IN_PROGRESS, TicketStatus.WAITING_CLIENT, TicketStatus.RESOLVED},
    TicketStatus.IN_PROGRESS: {TicketStatus.WAITING_CLIENT, TicketStatus.RESOLVED},
    TicketStatus.WAITING_CLIENT: {TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED},
    TicketStatus.RESOLVED: {TicketStatus.IN_PROGRESS, TicketStatus.CLOSED},
    TicketStatus.CLOSED: set(),
}
# Moves that need a word to the client, which becomes a message of the thread.
NOTE_REQUIRED = {
    TicketStatus.WAITING_CLIENT: gettext_lazy("Say what you need from the client."),
    TicketStatus.RESOLVED: gettext_lazy("Say how the ticket was resolved."),
}


# --- Helpers ------------------------------------------------------------------------------------------


def _choice(value, *, field: str, allowed) -> str:
    if value not in allowed:
        raise TicketInvalid(_("“%(value)s” is not a valid choice.") % {"value": value}, field=field)
    return value


def _lock(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().select_related("order").get(pk=ticket.pk)


def _event(ticket, *, actor, kind, from_value="", to_value="", note="", at=None) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket,
        at=at or clock.now(),
        actor=actor,
        kind=kind,
        from_value=from_value,
        to_value=to_value,
        note=note,
    )


def _message(ticket, *, author, staff: bool, body: str, internal=False, at=None, **stamp):
    """`stamp`: the submission's key and digest (factory.submissions.create_once), for a message posted once."""
    return TicketMessage.objects.create(
        ticket=ticket, author=author, from_staff=staff, internal=internal, body=body, at=at or clock.now(), **stamp
    )


def _policy(severity: str) -> SlaPolicy:
    try:
        return SlaPolicy.objects.get(severity=severity)
    except SlaPolicy.DoesNotExist:
        raise TicketInvalid(
            _("No SLA policy is set for %(severity)s tickets; ask an admin to add one.")
            % {"severity": Severity(severity).label},
            field="severity",
        ) from None


def _set_due_times(ticket: Ticket, policy: SlaPolicy) -> None:
    """Due times from the opening, the policy's windows and the time spent waiting for the client.

    A pause still running is not in `paused_total` yet: it is added to resolution_due when it ends."""
    ticket.first_response_due = ticket.opened_at + timedelta(hours=float(policy.first_response_hours))
    ticket.resolution_due = ticket.opened_at + timedelta(hours=float(policy.resolution_hours)) + ticket.paused_total


def _next_reference(year: int) -> str:
    counter, _created = TicketReferenceCounter.objects.select_for_update().get_or_create(year=year)
    TicketReferenceCounter.objects.filter(pk=year).update(last_number=F("last_number") + 1)
    return f"TK-{year}-{counter.last_number + 1:05d}"


# --- SLA ----------------------------------------------------------------------------------------------


def sla_breaches(ticket: Ticket, now: datetime) -> list[str]:
    """Which promises the ticket broke by `now`: "first_response", "resolution" (its clock stops while paused)."""
    broken = []
    responded = ticket.first_responded_at
    if (responded or now) > ticket.first_response_due:
        broken.append("first_response")
    resolution_clock = ticket.resolved_at or ticket.paused_at or now
    if resolution_clock > ticket.resolution_due:
        broken.append("resolution")
    return broken


def _sla_at_risk(ticket: Ticket, policy: SlaPolicy, now: datetime) -> bool:
    """Less than the policy's share of the running window is left (and nothing is broken yet)."""
    if not ticket.is_active:
        return False
    share = float(policy.at_risk_share)
    if ticket.first_responded_at is None:
        window = timedelta(hours=float(policy.first_response_hours))
        if ticket.first_response_due - now < window * share:
            return True
    if ticket.paused_at is None:
        window = timedelta(hours=float(policy.resolution_hours))
        if ticket.resolution_due - now < window * share:
            return True
    return False


def _refresh_sla(ticket: Ticket, *, now: datetime, policy: SlaPolicy | None = None) -> bool:
    """Bring the at-risk and breached flags up to date; record a breach or a new risk once. True if changed."""
    policy = policy or _policy(ticket.severity)
    broken = sla_breaches(ticket, now)
    # A breach is a fact of the ticket's history: re-grading it later does not undo it.
    breached = bool(broken) or ticket.breached
    at_risk = not breached and _sla_at_risk(ticket, policy, now)
    changed = breached != ticket.breached or at_risk != ticket.at_risk
    if broken and not ticket.breached:
        missed = {
            ("first_response",): notes.MISSED_FIRST_RESPONSE,
            ("resolution",): notes.MISSED_RESOLUTION,
            ("first_response", "resolution"): notes.MISSED_BOTH,
        }
        _event(ticket, actor=None, kind=TicketEventKind.BREACHED, note=missed[tuple(broken)].stored(), at=now)
        notices.tell_staff(ticket, kind=notices.SLA_BREACHED, event=f"sla-breached:{ticket.pk}")
    elif at_risk and not ticket.at_risk:
        risk = _event(ticket, actor=None, kind=TicketEventKind.AT_RISK, at=now)
        notices.tell_staff(ticket, kind=notices.SLA_AT_RISK, event=f"sla-at-risk:{risk.pk}")
    ticket.breached, ticket.at_risk = breached, at_risk
    ticket.breached_at = (ticket.breached_at or now) if breached else None
    return changed


def _save(ticket: Ticket, *fields: str) -> None:
    ticket.save(update_fields=[*fields, "at_risk", "breached", "breached_at"])


# --- Opening and the thread ---------------------------------------------------------------------------


@transaction.atomic
def ticket_open(
    *,
    order: Order,
    actor,
    category: str,
    severity: str,
    subject: str,
    body: str,
    submission_key: str | None = None,
) -> Ticket:
    """Open a ticket on a delivered order, by its client or by staff on the client's behalf. The same
    `submission_key` twice (a double click, a retried request) opens one ticket (factory.submissions.replayed
    says which call opened it); with other fields the second time, it opens nothing: SubmissionKeyReused."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    staff = permissions.check_opener(actor, order)
    if order.status not in HANDED_OVER_STATUSES:
        raise TicketInvalid(
            _("Tickets can be opened on delivered orders only; %(reference)s is %(status)s.")
            % {"reference": order.reference, "status": order.get_status_display().lower()},
            field="order",
        )
    cleaned = {
        "category": _choice(category, field="category", allowed=Category.values),
        "severity": _choice(severity, field="severity", allowed=Severity.values),
        "subject": clean_text(
            subject, field="subject", maximum=TITLE_MAX, invalid=TicketInvalid, required=_("Give the ticket a subject.")
        ),
    }
    body = clean_text(
        body, field="body", maximum=MESSAGE_MAX, invalid=TicketInvalid, required=_("Describe what happened.")
    )
    policy = _policy(cleaned["severity"])

    def open_it(stamp: dict) -> Ticket:
        now = clock.now()
        ticket = Ticket(
            reference=_next_reference(timezone.localtime(now).year),
            order=order,
            opened_by=actor,
            opened_at=now,
            **stamp,
            **cleaned,
        )
        _set_due_times(ticket, policy)
        _refresh_sla(ticket, now=now, policy=policy)
        ticket.save()
        _message(ticket, author=actor, staff=staff, body=body, at=now)
        _event(ticket, actor=actor, kind=TicketEventKind.OPENED, to_value=TicketStatus.OPEN, at=now)
        return ticket

    request = {"order": order, **cleaned, "body": body}
    return submissions.create_once(
        Ticket, key=submission_key, owner={"opened_by": actor}, request=request, create=open_it
    )


def _check_move(ticket: Ticket, to: str) -> None:
    if to not in TRANSITIONS[ticket.status]:
        raise TicketTransitionNotAllowed(
            _("A ticket that is %(from)s cannot become %(to)s.")
            % {"from": ticket.get_status_display().lower(), "to": TicketStatus(to).label.lower()}
        )


def _move(ticket: Ticket, *, to: str, actor, now: datetime, note: str = "") -> None:
    """Change the status, keeping the SLA clocks right: paused while waiting for the client."""
    previous = ticket.status
    _check_move(ticket, to)
    if ticket.paused_at is not None:
        waited = now - ticket.paused_at
        ticket.paused_total += waited
        ticket.resolution_due += waited
        ticket.paused_at = None
    if to == TicketStatus.WAITING_CLIENT:
        ticket.paused_at = now
    if to == TicketStatus.RESOLVED:
        ticket.resolved_at = now
    elif to == TicketStatus.IN_PROGRESS:
        ticket.resolved_at = None  # reopened
    if to == TicketStatus.CLOSED:
        ticket.closed_at = now
    ticket.status = to
    change = _event(
        ticket, actor=actor, kind=TicketEventKind.STATUS_CHANGED, from_value=previous, to_value=to, note=note, at=now
    )
    if to == TicketStatus.WAITING_CLIENT:
        notices.tell_client(ticket, kind=notices.TICKET_WAITING, event=f"ticket-waiting:{change.pk}")


def _first_response(ticket: Ticket, *, actor, now: datetime) -> None:
    if ticket.first_responded_at is None:
        ticket.first_responded_at = now
        _event(ticket, actor=actor, kind=TicketEventKind.FIRST_RESPONSE, at=now)


STATUS_FIELDS = ("status", "paused_at", "paused_total", "resolution_due", "resolved_at", "closed_at")


@transaction.atomic
def ticket_post_message(
    *, ticket: Ticket, actor, body: str, internal: bool = False, submission_key: str | None = None
) -> TicketMessage:
    """Add to the thread. A staff reply is the first response and starts work on an open ticket; a client's
    reply brings a ticket waiting for them (or resolved) back to work. Internal notes change nothing else.
    The same `submission_key` twice posts the message once (factory.submissions.replayed says which call posted
    it), even once the ticket is closed; with another text, note flag or ticket, SubmissionKeyReused."""
    ticket = _lock(ticket)
    staff = permissions.check_party(actor, ticket)
    if internal and not staff:
        raise TicketActionNotPermitted(_("Only factory staff can write internal notes."))

    def post(stamp: dict) -> TicketMessage:
        if ticket.status == TicketStatus.CLOSED:
            raise TicketTransitionNotAllowed(_("This ticket is closed; open a new ticket instead."))
        text = clean_text(
            body, field="body", maximum=MESSAGE_MAX, invalid=TicketInvalid, required=_("Write a message.")
        )
        now = clock.now()
        message = _message(ticket, author=actor, staff=staff, body=text, internal=internal, at=now, **stamp)
        if internal:
            return message
        if staff:
            _first_response(ticket, actor=actor, now=now)
            if ticket.status == TicketStatus.OPEN:
                _move(ticket, to=TicketStatus.IN_PROGRESS, actor=actor, now=now)
            notices.tell_client(ticket, kind=notices.TICKET_ANSWERED, event=f"ticket-answered:{message.pk}")
        elif ticket.status in (TicketStatus.WAITING_CLIENT, TicketStatus.RESOLVED):
            _move(ticket, to=TicketStatus.IN_PROGRESS, actor=actor, now=now, note=notes.CLIENT_REPLIED.stored())
        _refresh_sla(ticket, now=now)
        _save(ticket, "first_responded_at", *STATUS_FIELDS)
        return message

    # The key is unique per author across tickets: the ticket is part of the request.
    request = {"ticket": ticket, "body": body, "internal": internal}
    return submissions.create_once(
        TicketMessage, key=submission_key, owner={"author": actor}, request=request, create=post
    )


@transaction.atomic
def ticket_change_status(*, ticket: Ticket, actor, status: str, note: str = "") -> Ticket:
    """Move a ticket along its flow. Staff move it anywhere the flow allows; the client may close a resolved
    ticket (accepting the resolution) or reopen it with a reason. A note goes to the client as a message."""
    ticket = _lock(ticket)
    staff = permissions.check_party(actor, ticket)
    status = _choice(status, field="status", allowed=TicketStatus.values)
    reopening = ticket.status == TicketStatus.RESOLVED and status == TicketStatus.IN_PROGRESS
    if not staff and not (reopening or status == TicketStatus.CLOSED):
        raise TicketActionNotPermitted(_("Only factory staff can change this ticket's status."))
    if status == ticket.status:
        raise TicketTransitionNotAllowed(
            _("The ticket is already %(status)s.") % {"status": ticket.get_status_display().lower()}
        )
    _check_move(ticket, status)  # an illegal move is refused as such, before its note is asked for
    required = NOTE_REQUIRED.get(status) or (_("Say why the ticket is reopened.") if reopening else "")
    note = clean_text(note, field="note", maximum=MESSAGE_MAX, invalid=TicketInvalid, required=required)
    now = clock.now()
    _move(ticket, to=status, actor=actor, now=now)
    if note:
        _message(ticket, author=actor, staff=staff, body=note, at=now)
        if staff:
            _first_response(ticket, actor=actor, now=now)
    _refresh_sla(ticket, now=now)
    _save(ticket, "first_responded_at", *STATUS_FIELDS)
    return ticket


@transaction.atomic
def ticket_change_severity(*, ticket: Ticket, actor, severity: str, reason: str) -> Ticket:
    """Staff re-grade an active ticket; its due times follow the new severity's policy from the opening."""
    permissions.check_staff(actor)
    ticket = _lock(ticket)
    if not ticket.is_active:
        raise TicketTransitionNotAllowed(
            _("The severity of a %(status)s ticket cannot change.") % {"status": ticket.get_status_display().lower()}
        )
    severity = _choice(severity, field="severity", allowed=Severity.values)
    if severity == ticket.severity:  # a conflict with the ticket as it is now (409), not a bad value
        raise TicketTransitionNotAllowed(_("The ticket already has this severity."))
    reason = clean_text(
        reason, field="reason", maximum=NOTE_MAX, invalid=TicketInvalid, required=_("Say why the severity changes.")
    )
    policy = _policy(severity)
    now = clock.now()
    previous, ticket.severity = ticket.severity, severity
    _set_due_times(ticket, policy)
    _event(
        ticket,
        actor=actor,
        kind=TicketEventKind.SEVERITY_CHANGED,
        from_value=previous,
        to_value=severity,
        note=reason,
        at=now,
    )
    _refresh_sla(ticket, now=now, policy=policy)
    _save(ticket, "severity", "first_response_due", "resolution_due")
    return ticket


# --- Satisfaction and follow-up -----------------------------------------------------------------------


@transaction.atomic
def ticket_rate(*, ticket: Ticket, actor, score, comment: str = "") -> Ticket:
    """The client rates a resolved ticket once (1 to 5); rating a resolved ticket also closes it."""
    ticket = _lock(ticket)
    permissions.check_client(actor, ticket)
    if ticket.status not in RESOLVED_STATUSES or ticket.resolved_at is None:
        raise TicketTransitionNotAllowed(_("A ticket can be rated once it is resolved."))
    if ticket.rating is not None:
        raise TicketTransitionNotAllowed(_("This ticket has already been rated."))
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise TicketInvalid(_("Give a score from 1 to 5."), field="score")
    comment = clean_text(comment, field="comment", maximum=NOTE_MAX, invalid=TicketInvalid)
    now = clock.now()
    ticket.rating, ticket.rating_comment = score, comment
    _event(ticket, actor=actor, kind=TicketEventKind.RATED, to_value=str(score), note=comment, at=now)
    if ticket.status == TicketStatus.RESOLVED:
        _move(ticket, to=TicketStatus.CLOSED, actor=actor, now=now)
    _save(ticket, "rating", "rating_comment", *STATUS_FIELDS)
    return ticket


@transaction.atomic
def ticket_create_follow_up_order(*, ticket: Ticket, actor, **fields) -> Order:
    """Turn a ticket into a new order for the same client, linked to the ticket's order as its parent.

    `fields` are the order's fields (orders.services.order_validate); product type, sector, data
    sensitivity, size and priority default to the parent order's.
    """
    permissions.check_staff(actor)
    ticket = _lock(ticket)
    if ticket.follow_up_order_id is not None:
        raise TicketTransitionNotAllowed(_("This ticket already has a follow-up order."))
    parent = ticket.order
    for name in ("product_type", "sector", "data_sensitivity", "size", "priority"):
        if fields.get(name) in (None, ""):
            fields[name] = getattr(parent, name)
    order = order_services.order_submit(
        client=parent.client,
        actor=actor,
        parent_order=parent,
        origin=_("From ticket %(reference)s.") % {"reference": ticket.reference},
        **fields,
    )
    ticket.follow_up_order = order
    ticket.save(update_fields=["follow_up_order"])
    _event(ticket, actor=actor, kind=TicketEventKind.FOLLOW_UP_ORDER, to_value=order.reference)
    return order


# --- The SLA watch (Celery beat) ----------------------------------------------------------------------


def sla_watch() -> dict:
    """Flag tickets whose SLA is at risk or breached, and close tickets resolved long ago without a word.

    Idempotent; each ticket is locked with SKIP LOCKED so a person acting on it is never blocked.
    """
    now = clock.now()
    policies = {policy.severity: policy for policy in SlaPolicy.objects.all()}
    # The earliest any ticket can be at risk: the largest at-risk share of the longest window before due.
    horizon = now + max(
        (timedelta(hours=float(p.resolution_hours)) * float(p.at_risk_share) for p in policies.values()),
        default=timedelta(0),
    )
    flagged = {"at_risk": 0, "breached": 0, "closed": 0}
    with transaction.atomic():
        candidates = (
            Ticket.objects.select_for_update(skip_locked=True)
            .filter(status__in=ACTIVE_STATUSES, breached=False)
            .filter(
                Q(first_responded_at__isnull=True, first_response_due__lte=horizon) | Q(resolution_due__lte=horizon)
            )
        )
        for ticket in candidates:
            policy = policies.get(ticket.severity)
            if policy is None:
                continue
            was_at_risk = ticket.at_risk
            if _refresh_sla(ticket, now=now, policy=policy):
                _save(ticket)
                if ticket.breached:
                    flagged["breached"] += 1
                elif ticket.at_risk and not was_at_risk:
                    flagged["at_risk"] += 1
    cutoff = now - timedelta(days=settings.TICKET_AUTO_CLOSE_DAYS)
    with transaction.atomic():
        for ticket in Ticket.objects.select_for_update(skip_locked=True).filter(
            status=TicketStatus.RESOLVED, resolved_at__lte=cutoff
        ):
            _move(
                ticket,
                to=TicketStatus.CLOSED,
                actor=None,
                now=now,
                note=notes.TICKET_AUTO_CLOSED.stored(count=settings.TICKET_AUTO_CLOSE_DAYS),
            )
            _save(ticket, *STATUS_FIELDS)
            flagged["closed"] += 1
    return flagged

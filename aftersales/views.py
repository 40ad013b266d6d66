"""The staff after-sales pages: the ticket queue, opening a ticket for a client, one ticket with its actions.

After-sales and operations staff read and act; other staff roles and client users get 403 (clients have the
portal), anonymous visitors the login page. Each action is one POST to its own URL calling one service: bad
input comes back next to its field (400) and changes nothing; a move the ticket's state does not allow is a
message, and changes nothing either.
"""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from aftersales import exports, permissions, selectors, services
from aftersales.display import SEVERITY_TONE, STATUS_TONE, sla_countdown
from aftersales.filters import TicketFilter
from aftersales.forms import FollowUpOrderForm, ReplyForm, SeverityForm, StatusForm, TicketOpenForm
from aftersales.models import Severity, Ticket, TicketEventKind, TicketStatus
from factory import clock, roles, submissions
from factory.actions import act
from factory.errors import DomainError, InvalidRequest, SubmissionKeyReused
from factory.exports import export_columns, export_format, export_links
from factory.limits import TITLE_MAX
from factory.people import person_name
from orders.display import ORDER_STATUS_TONE, relative_to_now

PAGE_SIZE = 25
# Filters that narrow the queue beyond its default (active tickets): for the "clear filters" empty state.
NARROWING_FILTERS = ("severity", "category", "client", "breached", "order", "search")
# The order in which status moves are offered on the ticket page.
MOVE_ORDER = (TicketStatus.IN_PROGRESS, TicketStatus.WAITING_CLIENT, TicketStatus.RESOLVED, TicketStatus.CLOSED)

staff_only = roles.role_required(*permissions.TICKET_ROLES)


# --- The queue -----------------------------------------------------------------------------------------


def _row(ticket: Ticket, now) -> dict:
    return {
        "ticket": ticket,
        "severity_tone": SEVERITY_TONE.get(ticket.severity, "grey"),
        "status_tone": STATUS_TONE.get(ticket.status, "grey"),
        "countdown": sla_countdown(ticket, now),
        "opened_relative": relative_to_now(ticket.opened_at, now),
    }


def _label_filter_form(form) -> None:
    search = form.fields["search"].widget
    search.input_type = "search"
    search.attrs["placeholder"] = gettext_lazy("Ticket, subject or order reference")
    form.fields["order"].widget.attrs["placeholder"] = "AF-2026-00042"


@staff_only
def ticket_queue(request):
    """Active tickets by default, the running SLA deadline soonest first; filters shared with the API."""
    data = request.GET.copy()
    if "status" not in data:
        data["status"] = "active"
    if not data.get("sort"):
        data["sort"] = "urgency"
    ticket_filter = TicketFilter(data, queryset=selectors.tickets_visible_to(request.user))
    if (fmt := export_format(request)) is not None and ticket_filter.is_valid():
        return export_columns(name="tickets", fmt=fmt, columns=exports.TICKET_COLUMNS, queryset=ticket_filter.qs)
    _label_filter_form(ticket_filter.form)
    page = Paginator(ticket_filter.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    now = clock.now()
    filtered = any(data.get(name, "") for name in NARROWING_FILTERS) or data["status"] not in ("active", "")
    return render(
        request,
        "aftersales/queue.html",
        {
            "filter": ticket_filter,
            "page": page,
            "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
            "rows": [_row(ticket, now) for ticket in page.object_list],
            "counts": selectors.ticket_counts(),
            "filtered": filtered,
            # Only active tickets are shown by default: say how to see the others when none is active.
            "active_only": data["status"] == "active",
            "export": export_links(request),
        },
    )


# --- Opening a ticket for a client ---------------------------------------------------------------------


def _render_new(request, form, *, status=200):
    return render(request, "aftersales/ticket_new.html", {"form": form}, status=status)


@staff_only
def ticket_new(request):
    """Staff open a ticket on a delivered order for its client (e.g. after a phone call)."""
    orders = selectors.orders_open_to_tickets(request.user)
    if request.method != "POST":
        initial = {"order": request.GET["order"]} if request.GET.get("order", "").isdigit() else {}
        return _render_new(request, TicketOpenForm(orders=orders, initial=initial))
    form = TicketOpenForm(request.POST, orders=orders)
    if not form.is_valid():
        return _render_new(request, form, status=400)
    try:
        ticket = services.ticket_open(actor=request.user, **form.service_fields())
    except SubmissionKeyReused:
        submissions.show_again(form)
        return _render_new(request, form, status=400)
    except InvalidRequest as error:
        form.add_domain_error(error)
        return _render_new(request, form, status=400)
    except DomainError as error:
        messages.error(request, error.message)
        return _render_new(request, form, status=400)
    messages.success(
        request,
        _("Ticket %(reference)s is open for %(client)s; the first response is due %(due)s.")
        % {
            "reference": ticket.reference,
            "client": ticket.order.client.name,
            "due": relative_to_now(ticket.first_response_due),
        },
    )
    return redirect("aftersales:ticket", pk=ticket.pk)


# --- One ticket ----------------------------------------------------------------------------------------


def _note_required(ticket: Ticket, target: str) -> bool:
    reopening = ticket.status == TicketStatus.RESOLVED and target == TicketStatus.IN_PROGRESS
    return target in services.NOTE_REQUIRED or reopening


def _move_words(ticket: Ticket, target: str) -> dict:
    """The button and what will happen, for one status move offered from the ticket's current status."""
    if target == TicketStatus.IN_PROGRESS and ticket.status == TicketStatus.RESOLVED:
        return {
            "label": _("Reopen"),
            "explain": _(
                "The ticket goes back to work and its resolution clock runs again. Say why: the client sees your note."
            ),
        }
    if target == TicketStatus.IN_PROGRESS and ticket.status == TicketStatus.WAITING_CLIENT:
        return {
            "label": _("Resume work"),
            "explain": _("Work resumes without the client's answer; the resolution clock runs again."),
        }
    if target == TicketStatus.IN_PROGRESS:
        return {
            "label": _("Start work"),
            "explain": _(
                "Marks the ticket as being worked on. A note, if you write one, is sent to the client and counts "
                "as the first response."
            ),
        }
    if target == TicketStatus.WAITING_CLIENT:
        return {
            "label": _("Wait for the client"),
            "explain": _(
                "Your note is sent to the client, and the resolution clock pauses until they answer; their reply "
                "brings the ticket back to work."
            ),
        }
    if target == TicketStatus.RESOLVED:
        return {
            "label": _("Resolve"),
            "explain": ngettext(
                "The ticket is marked resolved and its resolution clock stops; your note is sent to the client, who "
                "can confirm and rate it or reopen it. Without an answer it closes on its own after %(days)d day.",
                "The ticket is marked resolved and its resolution clock stops; your note is sent to the client, who "
                "can confirm and rate it or reopen it. Without an answer it closes on its own after %(days)d days.",
                settings.TICKET_AUTO_CLOSE_DAYS,
            )
            % {"days": settings.TICKET_AUTO_CLOSE_DAYS},
            "confirm": _("Resolve this ticket? The client is told it is resolved and the SLA clock stops."),
        }
    return {
        "label": _("Close"),
        "explain": _(
            "Closes the ticket for good: nobody can write to it or reopen it any more, and a new problem needs "
            "a new ticket."
        ),
        "confirm": _("Close this ticket? This cannot be undone."),
        "danger": True,
    }


def _moves(ticket: Ticket, bound: dict) -> list[dict]:
    allowed = services.TRANSITIONS[TicketStatus(ticket.status)]
    moves = []
    for target in MOVE_ORDER:
        if target not in allowed:
            continue
        required = _note_required(ticket, target)
        form = bound.get(("status", target)) or StatusForm(target=target, note_required=required)
        moves.append({"target": target, "form": form, "note_required": required, **_move_words(ticket, target)})
    return moves


def _follow_up_form(ticket: Ticket, thread: list) -> FollowUpOrderForm:
    parent = ticket.order
    title = _("Follow-up: %(subject)s") % {"subject": ticket.subject}
    return FollowUpOrderForm(
        initial={
            "title": title[:TITLE_MAX],
            "requirements": thread[0].body if thread else "",
            "product_type": parent.product_type,
            "size": parent.size,
            "priority": parent.priority,
        }
    )


def _value_label(kind: str, value: str) -> str:
    """A history entry's from/to value in words (statuses and severities are stored as codes)."""
    if kind in (TicketEventKind.OPENED, TicketEventKind.STATUS_CHANGED) and value in TicketStatus.values:
        return TicketStatus(value).label
    if kind == TicketEventKind.SEVERITY_CHANGED and value in Severity.values:
        return Severity(value).label
    return value


def _history(ticket: Ticket) -> list[dict]:
    return [
        {
            "event": event,
            "actor": person_name(event.actor) if event.actor else _("SLA watch"),
            "from_value": _value_label(event.kind, event.from_value),
            "to_value": _value_label(event.kind, event.to_value),
        }
        for event in ticket.events.all()
    ]


def _error_summary(forms) -> list[tuple[str, str, str]]:
    """(anchor, label, message) of every error of the bound forms, for the summary at the top of the page."""
    summary = []
    for form in forms:
        # Errors of hidden fields (a status move that does not exist) have no field to sit next to.
        hidden = [error for field in form.hidden_fields() for error in field.errors]
        summary += [("ticket-actions", "", error) for error in [*form.non_field_errors(), *hidden]]
        for field in form.visible_fields():
            summary += [(field.id_for_label, field.label, error) for error in field.errors]
    return summary


def _render_ticket(request, pk, *, bound=None, status=200):
    bound = bound or {}
    ticket = selectors.ticket_detail(user=request.user, pk=pk)
    now = clock.now()
    thread = list(ticket.messages.all())
    active = ticket.is_active
    context = {
        "ticket": ticket,
        "order": ticket.order,
        "order_tone": ORDER_STATUS_TONE.get(ticket.order.status, "grey"),
        "severity_tone": SEVERITY_TONE.get(ticket.severity, "grey"),
        "status_tone": STATUS_TONE.get(ticket.status, "grey"),
        "countdown": sla_countdown(ticket, now),
        "opened_relative": relative_to_now(ticket.opened_at, now),
        "first_response_relative": relative_to_now(ticket.first_response_due, now),
        "resolution_relative": relative_to_now(ticket.resolution_due, now),
        "thread": thread,
        "history": _history(ticket),
        "moves": _moves(ticket, bound),
        "reply_form": bound.get("reply") or ReplyForm(),
        "severity_form": (bound.get("severity") or SeverityForm(initial={"severity": ticket.severity}))
        if active
        else None,
        "follow_up_form": (bound.get("follow_up") or _follow_up_form(ticket, thread))
        if ticket.follow_up_order_id is None
        else None,
        "errors": _error_summary(form for form in bound.values() if form.is_bound),
    }
    return render(request, "aftersales/ticket.html", context, status=status)


@staff_only
def ticket_page(request, pk):
    """Header with the SLA, the thread, the actions the status allows, the follow-up order and the history."""
    return _render_ticket(request, pk)


def _again(request, pk, key):
    """The ticket page again with the action's form (`key` among the page's forms) showing its errors."""
    return lambda form: _render_ticket(request, pk, bound={key: form})


def _back(pk) -> str:
    return reverse("aftersales:ticket", args=[pk])


@staff_only
@require_POST
def ticket_message(request, pk):
    ticket = selectors.ticket_detail(user=request.user, pk=pk)
    return act(
        request,
        back=_back(pk),
        form=ReplyForm(request.POST),
        again=_again(request, pk, "reply"),
        perform=lambda data: services.ticket_post_message(
            ticket=ticket,
            actor=request.user,
            body=data["body"],
            internal=data["internal"],
            submission_key=submissions.clean_key(data["submission_key"]),
        ),
        success=lambda message: (
            _("Internal note added; the client does not see it.")
            if message.internal
            else _("Reply sent; the client sees it on the ticket in the portal.")
        ),
    )


@staff_only
@require_POST
def ticket_status(request, pk):
    ticket = selectors.ticket_detail(user=request.user, pk=pk)
    target = request.POST.get("status", "")
    return act(
        request,
        back=_back(pk),
        form=StatusForm(request.POST, target=target, note_required=_note_required(ticket, target)),
        again=_again(request, pk, ("status", target)),
        perform=lambda data: services.ticket_change_status(
            ticket=ticket, actor=request.user, status=data["status"], note=data["note"]
        ),
        success=lambda moved: (
            _("Ticket %(reference)s is now %(status)s.")
            % {"reference": moved.reference, "status": moved.get_status_display().lower()}
        ),
    )


@staff_only
@require_POST
def ticket_severity(request, pk):
    ticket = selectors.ticket_detail(user=request.user, pk=pk)
    return act(
        request,
        back=_back(pk),
        form=SeverityForm(request.POST),
        again=_again(request, pk, "severity"),
        perform=lambda data: services.ticket_change_severity(
            ticket=ticket, actor=request.user, severity=data["severity"], reason=data["reason"]
        ),
        success=lambda changed: (
            _("Severity is now %(severity)s; the resolution is due %(due)s.")
            % {"severity": changed.get_severity_display().lower(), "due": relative_to_now(changed.resolution_due)}
        ),
    )


@staff_only
@require_POST
def ticket_follow_up(request, pk):
    ticket = selectors.ticket_detail(user=request.user, pk=pk)
    return act(
        request,
        back=_back(pk),
        form=FollowUpOrderForm(request.POST),
        again=_again(request, pk, "follow_up"),
        perform=lambda data: services.ticket_create_follow_up_order(ticket=ticket, actor=request.user, **data),
        success=lambda order: (
            _(
                "Follow-up order %(order)s is placed from ticket %(ticket)s, as a follow-up of %(parent)s; "
                "operations accept it on this page."
            )
            % {"order": order.reference, "ticket": ticket.reference, "parent": ticket.order.reference}
        ),
        then=lambda order: reverse("orders:detail", args=[order.pk]),
    )

"""The client portal's tickets: the organization's tickets, opening one on a delivered order, one ticket's thread.

Every page is for client users only (staff get 403, anonymous visitors the login page) and shows only the
organization's own tickets (another organization's ticket answers 404). Clients never see staff names,
internal notes or SLA flags: staff are "Factory support". Views stay thin: read through
aftersales.selectors, call one service, render or redirect. A refused action is a form error next to its
field (400) or a message, and changes nothing.
"""

from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales import selectors, services
from aftersales.display import SEVERITY_TONE, STATUS_TONE
from aftersales.errors import TicketError
from aftersales.models import RESOLVED_STATUSES, Severity, Ticket, TicketEventKind, TicketStatus
from aftersales.portal_forms import ClientTicketFilter, MessageForm, ReopenForm, TicketOpenForm, TicketRateForm
from factory import clock, submissions
from factory.actions import act
from factory.dates import moment_words
from factory.errors import SubmissionKeyReused
from factory.notes import note_words
from factory.people import person_name
from orders.access import require_organization
from orders.display import duration_words, relative_to_now

PAGE_SIZE = 25

# --- How a ticket reads to its client -----------------------------------------------------------------


def client_status(ticket: Ticket) -> dict:
    """The status in the client's words with its colour: a ticket waiting for them is their call to act."""
    if ticket.status == TicketStatus.WAITING_CLIENT:
        return {"label": _("Waiting for you"), "tone": "amber", "waiting": True}
    return {"label": ticket.get_status_display(), "tone": STATUS_TONE.get(ticket.status, "grey"), "waiting": False}


def ticket_row(ticket: Ticket, now: datetime) -> dict:
    return {
        "ticket": ticket,
        "status": client_status(ticket),
        "severity_tone": SEVERITY_TONE.get(ticket.severity, "grey"),
        "updated": relative_to_now(ticket.last_update, now),
    }


@dataclass(frozen=True)
class Promise:
    """What the factory promised for this ticket and where it stands, in plain words (no SLA jargon)."""

    text: str  # "We answer critical tickets within 1 h and aim to resolve them within 1 d."
    due_label: str  # "First answer due", "Resolution due", "" when no clock runs
    due: datetime | None
    relative: str  # "in 45 min" / "15 min ago"
    late: bool
    note: str  # what happens now, when no clock runs (waiting for the client, resolved, closed)


def ticket_promise(ticket: Ticket, now: datetime) -> Promise:
    """From the ticket's own due times (they follow its severity's policy), no query."""
    first_window = ticket.first_response_due - ticket.opened_at
    resolution_window = ticket.resolution_due - ticket.opened_at - ticket.paused_total
    text = _("We answer %(severity)s tickets within %(first)s and aim to resolve them within %(resolution)s.") % {
        "severity": ticket.get_severity_display().lower(),
        "first": duration_words(first_window),
        "resolution": duration_words(resolution_window),
    }
    if ticket.status == TicketStatus.CLOSED:
        return Promise(text, "", None, "", False, _("This ticket is closed."))
    if ticket.status == TicketStatus.RESOLVED:
        note = _(
            "We consider this resolved. Accept the resolution and rate it, or reopen the ticket if it is not fixed."
        )
        return Promise(text, "", None, "", False, note)
    if ticket.first_responded_at is None:
        due, label = ticket.first_response_due, _("First answer due")
    elif ticket.paused_at is not None:
        note = _("We are waiting for your answer: the time to resolve stops until you reply.")
        return Promise(text, "", None, "", False, note)
    else:
        due, label = ticket.resolution_due, _("Resolution due")
    return Promise(text, label, due, relative_to_now(due, now), due < now, "")


def _author_label(message, user) -> str:
    if message.from_staff:
        return _("Factory support")
    if message.author_id == user.pk:
        return _("You")
    # A colleague of the same organization (only they and staff can write on the ticket).
    return person_name(message.author)


def _thread(ticket: Ticket, user) -> list[dict]:
    return [
        {"message": message, "author": _author_label(message, user), "own": not message.from_staff}
        for message in ticket.messages.all()  # prefetched as the client may read them (aftersales.selectors)
    ]


def _history(ticket: Ticket, user) -> list[dict]:
    """Status, severity and follow-up changes, newest first; actors as "You", a colleague or "Factory support"."""
    events = list(ticket.events.all())  # prefetched as the client may read them (aftersales.selectors)
    members = selectors.organization_member_ids(
        organization_id=ticket.order.client_id, user_ids={event.actor_id for event in events if event.actor_id}
    )
    labels = {**dict(TicketStatus.choices), **dict(Severity.choices)}
    rows = []
    for event in reversed(events):
        if event.actor_id == user.pk:
            actor = _("You")
        elif event.actor_id in members:
            actor = person_name(event.actor)
        else:
            actor = _("Factory support")  # staff, or the factory itself (automatic closing)
        change = " → ".join(str(labels[value]) for value in (event.from_value, event.to_value) if value in labels)
        if event.kind == TicketEventKind.FOLLOW_UP_ORDER:
            change = event.to_value
        # A severity change's reason is written by staff for staff; the client sees the change itself.
        note = "" if event.kind == TicketEventKind.SEVERITY_CHANGED else note_words(event.note)
        rows.append({"event": event, "actor": actor, "change": change, "note": note})
    return rows


# --- The list -----------------------------------------------------------------------------------------


@login_required
def ticket_list(request):
    """The organization's tickets, newest first or most urgent first, filtered by status and order."""
    organization = require_organization(request.user)
    tickets = selectors.tickets_visible_to(request.user)
    filters = ClientTicketFilter(request.GET, queryset=selectors.with_last_update(tickets, user=request.user))
    page = Paginator(filters.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    now = clock.now()
    # The order the rows come in narrows nothing.
    filtered = filters.form.is_valid() and any(
        value for name, value in filters.form.cleaned_data.items() if name != "sort"
    )
    return render(
        request,
        "aftersales/portal/list.html",
        {
            "organization": organization,
            "filters": filters.form,
            "filtered": filtered,
            "page": page,
            "rows": [ticket_row(ticket, now) for ticket in page.object_list],
            "can_open": selectors.orders_open_to_tickets(request.user).exists(),
        },
    )


# --- Opening a ticket ---------------------------------------------------------------------------------


def _render_new(request, form, *, status=200):
    return render(request, "aftersales/portal/new.html", {"form": form}, status=status)


@login_required
def ticket_new(request):
    """One of the organization's delivered orders, what it is about, how serious, and what happened."""
    require_organization(request.user)
    orders = selectors.orders_open_to_tickets(request.user)
    if not orders.exists():
        # Said plainly instead of a form with nothing to choose.
        return _render_new(request, None)
    policies = selectors.sla_policies()
    if request.method != "POST":
        initial = {}
        preselected = request.GET.get("order", "")
        # Another organization's or an undelivered order is simply not among the choices.
        if preselected.isdigit() and orders.filter(pk=int(preselected)).exists():
            initial["order"] = int(preselected)
        form = TicketOpenForm(orders=orders, policies=policies, initial=initial)
        return _render_new(request, form)
    form = TicketOpenForm(request.POST, orders=orders, policies=policies)
    if not form.is_valid():
        return _render_new(request, form, status=400)
    data = form.cleaned_data
    try:
        ticket = services.ticket_open(
            order=data["order"],
            actor=request.user,
            category=data["category"],
            severity=data["severity"],
            subject=data["subject"],
            body=data["body"],
            submission_key=submissions.clean_key(data["submission_key"]),
        )
    except SubmissionKeyReused:
        submissions.show_again(form)
        return _render_new(request, form, status=400)
    except TicketError as error:
        form.add_error(error.field if error.field in form.fields else None, error.message)
        return _render_new(request, form, status=400)
    messages.success(
        request,
        _("Ticket %(reference)s is open. Our first answer is due by %(due)s.")
        % {
            "reference": ticket.reference,
            "due": moment_words(ticket.first_response_due),
        },
    )
    return redirect("client_tickets:ticket", pk=ticket.pk)


# --- One ticket ---------------------------------------------------------------------------------------


def _render_ticket(request, pk, *, status=200, **forms):
    require_organization(request.user)
    ticket = selectors.ticket_detail(user=request.user, pk=pk)
    resolved = ticket.status in RESOLVED_STATUSES and ticket.resolved_at is not None
    context = {
        "ticket": ticket,
        "status": client_status(ticket),
        "severity_tone": SEVERITY_TONE.get(ticket.severity, "grey"),
        "promise": ticket_promise(ticket, clock.now()),
        "thread": _thread(ticket, request.user),
        "history": _history(ticket, request.user),
        "can_reply": ticket.is_active,
        "can_rate": resolved and ticket.rating is None,
        "can_reopen": ticket.status == TicketStatus.RESOLVED,
        "message_form": forms.get("message_form") or MessageForm(),
        "rate_form": forms.get("rate_form") or TicketRateForm(),
        "reopen_form": forms.get("reopen_form") or ReopenForm(),
    }
    return render(request, "aftersales/portal/ticket.html", context, status=status)


@login_required
def ticket_page(request, pk):
    """One ticket as its client sees it: the promise, the thread without internal notes, and their actions."""
    return _render_ticket(request, pk)


def _own_ticket(request, pk) -> Ticket:
    """The organization's own ticket (404 for another organization's); 403 for anyone who is not a client user."""
    require_organization(request.user)
    return selectors.ticket_detail(user=request.user, pk=pk)


def _back(ticket: Ticket) -> str:
    return reverse("client_tickets:ticket", args=[ticket.pk])


@login_required
@require_POST
def ticket_message(request, pk):
    ticket = _own_ticket(request, pk)
    return act(
        request,
        back=_back(ticket),
        form=MessageForm(request.POST),
        again=lambda form: _render_ticket(request, pk, message_form=form),
        perform=lambda data: services.ticket_post_message(
            ticket=ticket,
            actor=request.user,
            body=data["body"],
            submission_key=submissions.clean_key(data["submission_key"]),
        ),
        success=_("Your message is sent."),
    )


@login_required
@require_POST
def ticket_rate(request, pk):
    ticket = _own_ticket(request, pk)
    return act(
        request,
        back=_back(ticket),
        form=TicketRateForm(request.POST),
        again=lambda form: _render_ticket(request, pk, rate_form=form),
        perform=lambda data: services.ticket_rate(
            ticket=ticket, actor=request.user, score=data["score"], comment=data["comment"]
        ),
        success=_("Thank you for your rating. The ticket is closed."),
    )


@login_required
@require_POST
def ticket_status(request, pk):
    """Reopen a resolved ticket that is still not fixed; the reason goes to the factory as a message."""
    ticket = _own_ticket(request, pk)
    return act(
        request,
        back=_back(ticket),
        form=ReopenForm(request.POST),
        again=lambda form: _render_ticket(request, pk, reopen_form=form),
        perform=lambda data: services.ticket_change_status(
            ticket=ticket, actor=request.user, status=data["status"], note=data["note"]
        ),
        success=_("The ticket is reopened; we are on it again."),
    )

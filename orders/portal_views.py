"""The client portal: a client organization's orders, placing an order, and the client's own actions.

Every page is for client users only (staff get 403, anonymous visitors the login page) and shows only
the organization's own orders (another organization's order answers 404). Views stay thin: find the
order through orders.access / orders.selectors, call one service, render or redirect. A refused action
becomes a message or a form error and changes nothing.
"""

from dataclasses import dataclass
from datetime import date

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from factory import clock, submissions
from factory.actions import act
from factory.dates import day_words
from factory.errors import SubmissionKeyReused
from factory.limits import NOTE_MAX
from orders import costs, quotes, related, services
from orders.access import order_for_user, require_organization
from orders.display import ORDER_STATUS_TONE, STAGE_STATUS_TONE
from orders.errors import OrderError, QuoteNoLongerHolds
from orders.forms import ClientOrderForm
from orders.models import HANDED_OVER_STATUSES, STOPPED_STATUSES, EventKind, Order, OrderStatus, StageStatus
from orders.selectors import client_events, order_detail, order_list, workshop_bar

PAGE_SIZE = 25

# --- What a client reads in five seconds: where the order is and when it arrives ---------------------


def clock_date(moment) -> date:
    """The calendar day of an instant in the site's time zone (how people read dates)."""
    return timezone.localtime(moment).date()


def _relative_days(day: date, today: date) -> str:
    days = (day - today).days
    if days == 0:
        return _("today")
    if days > 0:
        return ngettext("in %(count)d day", "in %(count)d days", days) % {"count": days}
    return ngettext("%(count)d day ago", "%(count)d days ago", -days) % {"count": -days}


@dataclass(frozen=True)
class DeliveryOutlook:
    """The delivery line of an order: the date to expect (or the day it came), and the promise."""

    label: str
    day: date | None
    relative: str
    promised: date | None
    late: bool


def delivery_outlook(order: Order, today: date | None = None) -> DeliveryOutlook:
    """When the client can expect the order, in words; no query (reads the order's own fields)."""
    today = today or clock_date(clock.now())
    promised = order.promised_delivery
    if order.status in HANDED_OVER_STATUSES and order.delivered_at:
        day = clock_date(order.delivered_at)
        return DeliveryOutlook(_("Delivered"), day, _relative_days(day, today), promised, order.is_overdue)
    if order.status in STOPPED_STATUSES:
        return DeliveryOutlook(_("No delivery"), None, "", None, False)
    if order.eta:
        day = clock_date(order.eta)
        return DeliveryOutlook(_("Expected delivery"), day, _relative_days(day, today), promised, order.is_overdue)
    if promised:
        return DeliveryOutlook(
            _("Promised delivery"), promised, _relative_days(promised, today), promised, order.is_overdue
        )
    day = order.requested_delivery
    return DeliveryOutlook(_("Requested delivery"), day, _relative_days(day, today), None, order.is_overdue)


def stage_rows(segments, stages: dict | None = None) -> list[dict]:
    """Each workshop of the bar with its status in words, a status colour and its stage (no query)."""
    rows = []
    for segment in segments:
        stage = (stages or {}).get(segment.workshop)
        if not segment.in_routing:
            rows.append({"segment": segment, "stage": None, "status": _("Not ordered"), "tone": "grey"})
            continue
        rows.append(
            {
                "segment": segment,
                "stage": stage,
                "status": StageStatus(segment.status).label,
                "tone": STAGE_STATUS_TONE.get(segment.status, "grey"),
            }
        )
    return rows


def order_summary(order: Order, today: date) -> dict:
    return {
        "order": order,
        "tone": ORDER_STATUS_TONE.get(order.status, "grey"),
        "segments": workshop_bar(order),
        "delivery": delivery_outlook(order, today),
    }


# --- Pages ---------------------------------------------------------------------------------------


@login_required
def portal_home(request):
    """The organization's orders, newest first, each with its workshop bar and delivery date."""
    organization = require_organization(request.user)
    page = Paginator(order_list(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    today = clock_date(clock.now())
    return render(
        request,
        "orders/portal_home.html",
        {
            "organization": organization,
            "page": page,
            "rows": [order_summary(order, today) for order in page.object_list],
        },
    )


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why do you cancel this order?"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=NOTE_MAX,
    )


class RateForm(forms.Form):
    score = forms.TypedChoiceField(
        label=gettext_lazy("Your rating"),
        choices=[(score, str(score)) for score in range(1, 6)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=gettext_lazy("Comment (optional)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=NOTE_MAX,
        required=False,
    )


# Step-level entries are many (one per finished step); the page folds them under the milestones.
STEP_EVENTS = (EventKind.STEP_FINISHED,)


def _timeline(order: Order) -> tuple[list[dict], list[dict]]:
    """The client's timeline, newest first: (milestones, finished steps)."""
    events = client_events(order)
    milestones, steps = [], []
    for event in reversed(events):
        row = {
            "event": event,
            "actor": event.actor_label,
            "from_status": _status_label(event.from_status),
            "to_status": _status_label(event.to_status),
        }
        (steps if event.kind in STEP_EVENTS else milestones).append(row)
    return milestones, steps


def _status_label(value: str) -> str:
    return OrderStatus(value).label if value in OrderStatus.values else value


def _render_detail(request, pk, *, cancel_form=None, rate_form=None, status=200):
    require_organization(request.user)
    order = order_detail(user=request.user, pk=pk)
    segments = workshop_bar(order)
    deliverables = list(order.artifacts.all()) if order.status in HANDED_OVER_STATUSES else []
    final = deliverables[-1] if deliverables else None
    tracking_url = (
        request.build_absolute_uri(reverse("tracking:order", args=[order.tracking_token]))
        if order.tracking_token
        else ""
    )
    milestones, step_events = _timeline(order)
    context = {
        "order": order,
        "tone": ORDER_STATUS_TONE.get(order.status, "grey"),
        "segments": segments,
        "stages": stage_rows(segments, {stage.workshop: stage for stage in order.stages.all()}),
        "delivery": delivery_outlook(order),
        "workshop_costs": costs.workshop_costs(order),
        "timeline": milestones,
        "step_events": step_events,
        "deliverables": deliverables,
        "lineage": final.lineage() if final else [],
        "tracking_url": tracking_url,
        "can_cancel": order.status == OrderStatus.SUBMITTED,
        "can_confirm": order.status == OrderStatus.DELIVERED,
        "can_rate": order.status in HANDED_OVER_STATUSES and order.rating is None,
        "cancel_form": cancel_form or CancelForm(),
        "rate_form": rate_form or RateForm(),
        "related_sections": related.sections_for(user=request.user, order=order, audience=related.CLIENT),
    }
    return render(request, "orders/portal/order_detail.html", context, status=status)


@login_required
def order_page(request, pk):
    """One order as its client sees it: progress, stages, timeline, deliverables, tracking link, actions."""
    return _render_detail(request, pk)


# --- Placing an order: fill in, review the quote, confirm ------------------------------------------


def _order_form(request, data=None):
    return ClientOrderForm(data, actor=request.user)


def _review(request, form, estimate: quotes.Quote | None = None):
    """The review page: the quote for the form's answers, which the confirmation posts back signed."""
    fields = form.placed_fields()
    estimate = estimate or quotes.quote(**{name: fields[name] for name in quotes.QUOTED_FIELDS})
    return render(
        request,
        "orders/portal/order_review.html",
        {"form": form, "quote": estimate, "quote_token": quotes.sign(estimate, fields=fields)},
    )


@login_required
def order_new(request):
    """Two steps: the first POST shows the promised date and the estimate; `confirm=1` places the order.

    The quote shown travels with the confirmation (signed, `quote`), and the order keeps it as its promise.
    When it cannot be kept (too old, or the factory can no longer meet its date), nothing is placed: the review
    page shows today's quote, to confirm again."""
    organization = require_organization(request.user)
    if request.method != "POST":
        return render(request, "orders/portal/order_form.html", {"form": _order_form(request)})
    form = _order_form(request, request.POST)
    if "edit" in request.POST:
        # Back from the review page: the same answers, to change before reviewing again.
        return render(request, "orders/portal/order_form.html", {"form": form})
    if not form.is_valid():
        return render(request, "orders/portal/order_form.html", {"form": form})
    if request.POST.get("confirm") != "1":
        return _review(request, form)
    fields = form.placed_fields()
    quoted = quotes.unsign(request.POST.get("quote", ""), fields=fields)
    if quoted is None:
        messages.warning(
            request,
            _("The delivery date you reviewed is no longer current. Check today's date and cost, then confirm."),
        )
        return _review(request, form)
    try:
        order = services.order_submit(client=organization, actor=request.user, quoted=quoted, **fields)
    except QuoteNoLongerHolds as error:
        messages.warning(request, error.message)
        return _review(request, form, error.quote)
    except SubmissionKeyReused:
        submissions.show_again(form)
        return render(request, "orders/portal/order_form.html", {"form": form})
    except OrderError as error:
        form.add_error(error.field if error.field in form.fields else None, error.message)
        return render(request, "orders/portal/order_form.html", {"form": form})
    messages.success(
        request,
        _("Order %(reference)s is placed. We promise delivery by %(date)s.")
        % {"reference": order.reference, "date": day_words(order.promised_delivery)},
    )
    return redirect("portal:order", pk=order.pk)


# --- The client's actions on an order: one POST, one service -------------------------------------


def _own_order(request, pk) -> Order:
    """The client's own order (404 for another organization's); 403 for anyone who is not a client user."""
    require_organization(request.user)
    return order_for_user(request.user, pk)


def _back(order: Order) -> str:
    return reverse("portal:order", args=[order.pk])


@login_required
@require_POST
def order_cancel(request, pk):
    order = _own_order(request, pk)
    return act(
        request,
        back=_back(order),
        form=CancelForm(request.POST),
        again=lambda form: _render_detail(request, pk, cancel_form=form),
        perform=lambda data: services.order_cancel(order=order, actor=request.user, reason=data["reason"]),
        success=_("The order is cancelled."),
    )


@login_required
@require_POST
def order_confirm(request, pk):
    order = _own_order(request, pk)
    return act(
        request,
        back=_back(order),
        perform=lambda data: services.order_confirm(order=order, actor=request.user),
        success=_("Thank you: the delivery is confirmed and the order is closed."),
    )


@login_required
@require_POST
def order_rate(request, pk):
    order = _own_order(request, pk)
    return act(
        request,
        back=_back(order),
        form=RateForm(request.POST),
        again=lambda form: _render_detail(request, pk, rate_form=form),
        perform=lambda data: services.order_rate(
            order=order, actor=request.user, score=data["score"], comment=data["comment"]
        ),
        success=_("Thank you for your rating."),
    )


@login_required
@require_POST
def tracking_renew(request, pk):
    order = _own_order(request, pk)
    return act(
        request,
        back=_back(order),
        perform=lambda data: services.order_renew_tracking_link(order=order, actor=request.user),
        success=_("A new tracking link is issued; the previous link no longer works."),
    )


@login_required
@require_POST
def tracking_revoke(request, pk):
    order = _own_order(request, pk)
    return act(
        request,
        back=_back(order),
        perform=lambda data: services.order_revoke_tracking_link(order=order, actor=request.user),
        success=_("The tracking link is revoked; nobody can open it any more."),
    )

"""The staff order pages: the order list, one order's page with the actions its state allows, placing an order.

Every page is for staff (any role may read; client users get 403, anonymous visitors the login page).
Each action is one POST to its own URL, allowed to the roles orders.permissions names, and calls one service;
a refused request becomes a form error or a message and changes nothing. Actions done on another app's
page (the order's priority, on the dispatch center's priority page) are links that app provides through
orders.related, with its own rule of who may. Views stay thin: the order comes from orders.selectors,
every change from orders.services.
"""

from datetime import datetime, timedelta

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from factory import charts as factory_charts
from factory import clock, roles, submissions
from factory.actions import act
from factory.dates import day_words
from factory.errors import DomainError, SubmissionKeyReused
from factory.exports import (
    EXPORT_CHUNK,
    EXPORT_FORMATS,
    export_columns,
    export_format,
    export_links,
    export_response,
)
from factory.limits import MESSAGE_MAX, NOTE_MAX
from factory.people import person_name
from orders import charts, costs, permissions, related, selectors, services
from orders.display import ORDER_STATUS_TONE, STAGE_STATUS_TONE, duration_words, relative_to_now
from orders.exports import ORDER_COLUMNS, timeline_header, timeline_row
from orders.filters import OrderFilter
from orders.forms import StaffOrderForm
from orders.models import (
    ACTIVE_STATUSES,
    CHANGEABLE_STATUSES,
    OPEN_STAGE_STATUSES,
    WORKING_STEP_STATUSES,
    Order,
    OrderStatus,
    Priority,
    StageStatus,
    StepStatus,
)

PAGE_SIZE = 25

# Who may do what on the order page: orders.permissions (reading is open to every staff role). Gates are not
# among the page's actions: only the security center's reviews release a gate or send steps back.
# Colour with a word, as everywhere (UI.md): waiting = amber, urgent = red, the rest neutral.
PRIORITY_TONE = {Priority.LOW: "grey", Priority.NORMAL: "grey", Priority.HIGH: "amber", Priority.URGENT: "red"}
STEP_STATUS_TONE = {
    StepStatus.PENDING: "grey",
    StepStatus.READY: "amber",
    StepStatus.RUNNING: "green",
    StepStatus.DONE: "green",
}
# Filters that narrow the list (the sort and the page do not): used for the "clear filters" empty state.
FILTER_PARAMS = ("status", "product_type", "sector", "client", "current_workshop", "overdue", "search")


def _status_label(value: str) -> str:
    return OrderStatus(value).label if value in OrderStatus.values else value


# --- The order list ------------------------------------------------------------------------------------


def _label_filter_form(form) -> None:
    """Words for the empty choices of the filter selects (django-filter's default is a dash)."""
    empty_labels = {
        "status": gettext_lazy("All"),
        "product_type": gettext_lazy("All"),
        "sector": gettext_lazy("All"),
        "current_workshop": gettext_lazy("All"),
        "client": gettext_lazy("All clients"),
    }
    for name, label in empty_labels.items():
        field = form.fields[name]
        field.empty_label = label
        # The widget keeps a copy of the choices made with the old label.
        field.widget.choices = field.choices
    form.fields["overdue"].widget.choices = [
        ("unknown", gettext_lazy("Any")),
        ("true", gettext_lazy("Overdue only")),
        ("false", gettext_lazy("Not overdue")),
    ]
    search = form.fields["search"].widget
    search.input_type = "search"
    search.attrs["placeholder"] = gettext_lazy("Reference, title or client")


def _list_row(order: Order, now: datetime) -> dict:
    return {
        "order": order,
        "tone": ORDER_STATUS_TONE.get(order.status, "grey"),
        "priority_tone": PRIORITY_TONE.get(order.priority, "grey"),
        "segments": selectors.workshop_bar(order),
        "eta_relative": relative_to_now(order.eta, now) if order.eta else "",
        "overdue": order.is_overdue,
    }


@roles.role_required()
def order_list(request):
    """Every order, filtered, searched and sorted through the shared OrderFilter; 25 a page."""
    order_filter = OrderFilter(request.GET, queryset=selectors.order_list(user=request.user))
    if (fmt := export_format(request)) is not None and order_filter.is_valid():
        return export_columns(name="orders", fmt=fmt, columns=ORDER_COLUMNS, queryset=order_filter.qs)
    _label_filter_form(order_filter.form)
    page = Paginator(order_filter.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    now = clock.now()
    return render(
        request,
        "orders/staff/order_list.html",
        {
            "filter": order_filter,
            "page": page,
            "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
            "rows": [_list_row(order, now) for order in page.object_list],
            "filtered": any(request.GET.get(name, "") not in ("", "unknown") for name in FILTER_PARAMS),
            "can_create": permissions.has_staff_role(request.user, permissions.PLACE),
            "export": export_links(request),
        },
    )


# --- The forms of the order page's actions -------------------------------------------------------------


class ActionForm(forms.Form):
    """The form of one action on the order page; labels are questions, so no colon after them."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def _reason_field(label):
    return forms.CharField(label=label, widget=forms.Textarea(attrs={"rows": 3}), max_length=NOTE_MAX)


class RejectForm(ActionForm):
    reason = _reason_field(gettext_lazy("Why is the order rejected? (the client sees this)"))


class CancelForm(ActionForm):
    reason = _reason_field(gettext_lazy("Why is the order cancelled? (the client sees this)"))


def _step_choices(steps) -> list[tuple[str, str]]:
    return [(str(step.pk), f"{step.position}. {step.display_name}") for step in steps]


class RequirementChangeForm(ActionForm):
    text = forms.CharField(
        label=gettext_lazy("What changes in the requirements?"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=MESSAGE_MAX,
    )
    rework_steps = forms.MultipleChoiceField(
        label=gettext_lazy("Finished steps of the current workshop to redo (optional)"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def __init__(self, *args, steps, **kwargs):
        super().__init__(*args, **kwargs)
        if steps:
            self.fields["rework_steps"].choices = _step_choices(steps)
        else:
            # Nothing of the current workshop is finished yet: there is nothing to redo.
            del self.fields["rework_steps"]


# --- The order page ------------------------------------------------------------------------------------


def _reviewable(stage) -> bool:
    return stage.status == StageStatus.AWAITING_REVIEW


def _current_stage(order: Order):
    return next((stage for stage in order.stages.all() if stage.workshop == order.current_workshop), None)


def _redoable_steps(order: Order) -> list:
    """Finished steps of the workshop in production, which a requirement change may send back."""
    stage = _current_stage(order)
    if stage is None or stage.status not in OPEN_STAGE_STATUSES:
        return []
    return [step for step in stage.steps.all() if step.status == StepStatus.DONE]


def _may(user, action: str) -> bool:
    return permissions.has_staff_role(user, action)


def _can(order: Order, user) -> dict:
    """The order-level actions allowed now: by the order's state AND the user's role."""
    status = order.status
    return {
        "accept": status == OrderStatus.SUBMITTED and _may(user, "accept"),
        "reject": status == OrderStatus.SUBMITTED and _may(user, "reject"),
        "start": status == OrderStatus.ACCEPTED and _may(user, "start"),
        "deliver": status == OrderStatus.READY and _may(user, "deliver"),
        "cancel": status in ACTIVE_STATUSES and _may(user, "cancel"),
        "requirement_change": status in CHANGEABLE_STATUSES and _may(user, "requirement_change"),
        "finish_step": status == OrderStatus.IN_PRODUCTION and _may(user, "finish_step"),
        "tracking": _may(user, "tracking"),
    }


def _stage_rows(order: Order, can: dict) -> list[dict]:
    rows = []
    for stage in order.stages.all():
        rows.append(
            {
                "stage": stage,
                "tone": STAGE_STATUS_TONE.get(stage.status, "grey"),
                "steps": [
                    {
                        "step": step,
                        "tone": STEP_STATUS_TONE.get(step.status, "grey"),
                        "duration": duration_words(timedelta(hours=float(step.nominal_hours))),
                        "can_finish": can["finish_step"] and step.status in WORKING_STEP_STATUSES,
                    }
                    for step in stage.steps.all()
                ],
                "open": stage.status in OPEN_STAGE_STATUSES,  # unfolded: the workshop in production and its gate
                # Gates are decided by the security center only; the order page says where.
                "at_gate": _reviewable(stage),
            }
        )
    return rows


def _timeline(order: Order) -> list[dict]:
    return [
        {
            "event": event,
            "from_status": _status_label(event.from_status),
            "to_status": _status_label(event.to_status),
            "actor": person_name(event.actor) if event.actor else _("System"),
        }
        for event in order.events.all()
    ]


def _render_detail(request, pk, *, bound=None, status=200):
    bound = bound or {}
    order = selectors.order_detail(user=request.user, pk=pk)
    changes = list(order.requirement_changes.all())
    can = _can(order, request.user)
    now = clock.now()
    redoable = _redoable_steps(order)
    artifacts = list(order.artifacts.all())
    stages = _stage_rows(order, can)
    order_charts = [charts.step_gantt(order, now), *related.charts_for(order=order, now=now)]
    # What waits for this user further down the page (a step to finish), to link to it. Gates wait for
    # the security center, not for the people of this page.
    steps = [item["step"] for row in stages for item in row["steps"] if item["can_finish"]]
    other_actions = related.actions_for(user=request.user, order=order)
    context = {
        "order": order,
        "tone": ORDER_STATUS_TONE.get(order.status, "grey"),
        "priority_tone": PRIORITY_TONE.get(order.priority, "grey"),
        "segments": selectors.workshop_bar(order),
        "stages": stages,
        "workshop_costs": costs.workshop_costs(order),
        "finishable_steps": steps,
        "timeline": selectors.order_timeline(_timeline(order), show=request.GET.get("timeline", "")),
        "changes": changes,
        "artifacts": [{"artifact": artifact, "lineage": artifact.lineage()[1:]} for artifact in artifacts],
        "eta_relative": relative_to_now(order.eta, now) if order.eta else "",
        "overdue": order.is_overdue,
        "export": {fmt: f"{reverse('orders:detail', args=[order.pk])}?export={fmt}" for fmt in EXPORT_FORMATS},
        "tracking_url": (
            request.build_absolute_uri(reverse("tracking:order", args=[order.tracking_token]))
            if order.tracking_token
            else ""
        ),
        "can": can,
        "related_sections": related.sections_for(user=request.user, order=order, audience=related.STAFF),
        "charts": order_charts,
        "figures": factory_charts.figures_by_key(order_charts),
        "other_actions": other_actions,
        "has_actions": bool(steps or other_actions)
        or any(can[name] for name in ("accept", "reject", "start", "deliver", "cancel", "requirement_change")),
        "reject_form": bound.get("reject") or RejectForm(prefix="reject"),
        "cancel_form": bound.get("cancel") or CancelForm(prefix="cancel"),
        "change_form": bound.get("change") or RequirementChangeForm(steps=redoable, prefix="change"),
    }
    return render(request, "orders/staff/order_detail.html", context, status=status)


@roles.role_required()
def order_detail(request, pk):
    """One order: header, workshop bar, stages and steps, timeline, changes, deliverables and actions; its audit
    timeline as a download with `?export=`."""
    if (fmt := export_format(request)) is not None:
        order = _order(request, pk)
        events = selectors.order_events(user=request.user, order=order).order_by("at", "id")
        return export_response(
            name=f"{order.reference}-timeline",
            fmt=fmt,
            header=timeline_header(),
            rows=map(timeline_row, events.iterator(chunk_size=EXPORT_CHUNK)),
        )
    return _render_detail(request, pk)


# --- The actions: one POST, one service ----------------------------------------------------------------


def _again(request, pk, *, key: str, title: str):
    """The order page again with the action's form (`key` in the page's forms) showing its errors."""

    def render_again(form):
        messages.error(request, _("%(action)s: nothing was changed; correct the form below.") % {"action": title})
        return _render_detail(request, pk, bound={key: form})

    return render_again


def _back(pk) -> str:
    return reverse("orders:detail", args=[pk])


def _order(request, pk) -> Order:
    return selectors.order_detail(user=request.user, pk=pk)


def _step_of(order: Order, step_pk):
    step = next((step for stage in order.stages.all() for step in stage.steps.all() if step.pk == step_pk), None)
    if step is None:
        raise Http404(_("No such step in this order."))
    return step


def _chosen(steps, values) -> list:
    chosen = {str(value) for value in values}
    return [step for step in steps if str(step.pk) in chosen]


@roles.role_required(*permissions.ACTION_ROLES[permissions.ACCEPT])
@require_POST
def order_accept(request, pk):
    order = _order(request, pk)
    return act(
        request,
        back=_back(pk),
        perform=lambda data: services.order_accept(order=order, actor=request.user),
        success=_("Order %(reference)s is accepted; its workshops and steps are planned.")
        % {"reference": order.reference},
    )


@roles.role_required(*permissions.ACTION_ROLES[permissions.REJECT])
@require_POST
def order_reject(request, pk):
    order = _order(request, pk)
    return act(
        request,
        back=_back(pk),
        form=RejectForm(request.POST, prefix="reject"),
        again=_again(request, pk, key="reject", title=_("Reject")),
        perform=lambda data: services.order_reject(order=order, actor=request.user, reason=data["reason"]),
        success=_("Order %(reference)s is rejected.") % {"reference": order.reference},
    )


@roles.role_required(*permissions.ACTION_ROLES[permissions.START])
@require_POST
def order_start_production(request, pk):
    order = _order(request, pk)
    return act(
        request,
        back=_back(pk),
        perform=lambda data: services.order_start_production(order=order, actor=request.user),
        success=_("Production started: the order entered its first workshop."),
    )


@roles.role_required(*permissions.ACTION_ROLES[permissions.FINISH_STEP])
@require_POST
def step_finish(request, pk, step_pk):
    step = _step_of(_order(request, pk), step_pk)
    return act(
        request,
        back=_back(pk),
        perform=lambda data: services.step_finish(step=step, actor=request.user),
        success=_("Step “%(step)s” is finished.") % {"step": step.display_name},
    )


@roles.role_required(*permissions.ACTION_ROLES[permissions.REQUIREMENT_CHANGE])
@require_POST
def order_requirement_change(request, pk):
    order = _order(request, pk)
    redoable = _redoable_steps(order)
    return act(
        request,
        back=_back(pk),
        form=RequirementChangeForm(request.POST, steps=redoable, prefix="change"),
        again=_again(request, pk, key="change", title=_("Record a requirement change")),
        perform=lambda data: services.order_record_requirement_change(
            order=order,
            actor=request.user,
            text=data["text"],
            rework_steps=_chosen(redoable, data.get("rework_steps", ())),
        ),
        success=_("The requirement change is recorded."),
    )


@roles.role_required(*permissions.ACTION_ROLES[permissions.DELIVER])
@require_POST
def order_deliver(request, pk):
    order = _order(request, pk)
    return act(
        request,
        back=_back(pk),
        perform=lambda data: services.order_deliver(order=order, actor=request.user),
        success=_("Order %(reference)s is delivered; the client can now see its deliverables.")
        % {"reference": order.reference},
    )


@roles.role_required(*permissions.ACTION_ROLES[permissions.CANCEL])
@require_POST
def order_cancel(request, pk):
    order = _order(request, pk)
    return act(
        request,
        back=_back(pk),
        form=CancelForm(request.POST, prefix="cancel"),
        again=_again(request, pk, key="cancel", title=_("Cancel the order")),
        perform=lambda data: services.order_cancel(order=order, actor=request.user, reason=data["reason"]),
        success=_("Order %(reference)s is cancelled.") % {"reference": order.reference},
    )


@roles.role_required(*permissions.ACTION_ROLES[permissions.TRACKING])
@require_POST
def tracking_renew(request, pk):
    order = _order(request, pk)
    return act(
        request,
        back=_back(pk),
        perform=lambda data: services.order_renew_tracking_link(order=order, actor=request.user),
        success=_("A new tracking link is issued; the previous link no longer works."),
    )


@roles.role_required(*permissions.ACTION_ROLES[permissions.TRACKING])
@require_POST
def tracking_revoke(request, pk):
    order = _order(request, pk)
    return act(
        request,
        back=_back(pk),
        perform=lambda data: services.order_revoke_tracking_link(order=order, actor=request.user),
        success=_("The tracking link is revoked; nobody can open it any more."),
    )


# --- Placing an order for a client ----------------------------------------------------------------------


def _staff_order_form(request, data=None):
    form = StaffOrderForm(data, actor=request.user)
    # A date input needs ISO dates whatever the language.
    form.fields["requested_delivery"].widget.format = "%Y-%m-%d"
    form.fields["client"].empty_label = gettext_lazy("Choose a client")
    return form


@roles.role_required(*permissions.ACTION_ROLES[permissions.PLACE])
def order_create(request):
    """Operations (or after-sales) staff place an order on behalf of a client organization."""
    if request.method != "POST":
        return render(request, "orders/staff/order_form.html", {"form": _staff_order_form(request)})
    form = _staff_order_form(request, request.POST)
    if not form.is_valid():
        return render(request, "orders/staff/order_form.html", {"form": form}, status=400)
    try:
        order = services.order_submit(client=form.cleaned_data["client"], actor=request.user, **form.placed_fields())
    except SubmissionKeyReused:
        submissions.show_again(form)
        return render(request, "orders/staff/order_form.html", {"form": form}, status=400)
    except DomainError as error:
        form.add_error(error.field if error.field in form.fields else None, error.message)
        return render(request, "orders/staff/order_form.html", {"form": form}, status=400)
    promised = day_words(order.promised_delivery) if order.promised_delivery else "—"
    messages.success(
        request,
        _("Order %(reference)s is placed for %(client)s. Promised delivery: %(date)s.")
        % {"reference": order.reference, "client": order.client.name, "date": promised},
    )
    return redirect("orders:detail", pk=order.pk)

"""The dispatch center's pages under /dispatch/: the center itself, the jobs list, a page per pool, and one
URL per action.

Dispatch and operations staff may read every page and change an order's priority; only the dispatch
role drains, takes offline or activates a pool (the rules: dispatch.permissions). The order's priority page
is the one page where an order's priority changes; the staff order page links to it (dispatch.related).
Anonymous visitors go to the login page, other roles get 403. Each action is a POST that calls one
service; a refused request is answered with the form again and the reason in words, and changes nothing.
The actions' forms live on their own pages (the pool's page, the order's priority page), not in every row
of the center: the center stays quick to draw and its live refresh never replaces a form being filled.
A pool's page also lists its reservations and maintenance windows (dispatch.services.reservation_create) and, for
the dispatch role, books and cancels them; operations see them read-only.
Reads come from dispatch.selectors, changes from dispatch.services.
"""

from datetime import datetime, timedelta

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from dispatch import charts, display, exports, selectors, services
from dispatch.errors import ReservationConflict
from dispatch.filters import JobFilter
from dispatch.models import (
    WINDOW_STATES,
    ComputePool,
    Job,
    JobState,
    PoolState,
    Reservation,
    ReservationKind,
    ScheduledPoolChange,
)
from dispatch.permissions import POOL_ACTION_ROLES, REPRIORITIZE_ROLES, VIEW_ROLES, may_act_on_pools, may_reprioritize
from factory import charts as factory_charts
from factory import clock, roles, submissions
from factory.actions import act
from factory.dates import moment_words
from factory.errors import DomainError, http_status
from factory.exports import (
    EXPORT_FORMATS,
    EXPORT_PARAM,
    export_columns,
    export_format,
    export_links,
)
from factory.limits import NOTE_MAX
from orders.access import order_for_user
from orders.display import duration_words, relative_to_now
from orders.models import IN_FLIGHT_STATUSES, Order, Priority

CENTER_ROWS = 20  # rows of each list on the center page; the jobs page lists everything
POOL_PAGE_ROWS = 50  # running jobs and state changes on a pool's page; the jobs page lists every job
JOBS_PAGE_SIZE = 50
JOB_FILTER_PARAMS = ("state", "pool", "order", "priority", "kind", "search")

# What each pool action does, said before the dispatcher confirms it (UI.md: say what will happen).
POOL_ACTIONS = {
    "drain": {
        "label": gettext_lazy("Drain"),
        "confirm": gettext_lazy("Drain pool %(pool)s?"),
        "explanation": gettext_lazy("Running jobs finish; no new job starts on this pool."),
        "danger": False,
    },
    "offline": {
        "label": gettext_lazy("Take offline"),
        "confirm": gettext_lazy("Take pool %(pool)s offline?"),
        "explanation": gettext_lazy(
            "Running jobs stop at once and go back to the queue with their progress kept; nothing runs here "
            "until the pool is activated again."
        ),
        "danger": True,
    },
    "activate": {
        "label": gettext_lazy("Activate"),
        "confirm": gettext_lazy("Activate pool %(pool)s?"),
        "explanation": gettext_lazy("The pool takes new jobs again at the next dispatch tick."),
        "danger": False,
    },
}


def _percent(part, whole) -> int:
    return max(0, min(100, round(float(part) / float(whole) * 100))) if whole else 0


def _safe_next(request, default: str) -> str:
    """The page an action should return to (`next`, posted or in the query), when it is on this site."""
    target = request.POST.get("next", "") or request.GET.get("next", "")
    # A path on this site only: anything else would be taken for a view name by redirect().
    on_site = target.startswith("/") and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    )
    if on_site:
        return target
    return default


def _back(request, default: str):
    """Where an action returns to: the page it was posted from (when on this site), else `default`."""
    return redirect(_safe_next(request, default))


# --- Rows, as the templates show them -------------------------------------------------------------------


def _pool_row(pool: ComputePool, *, can_act: bool) -> dict:
    page = reverse("dispatch:pool", args=[pool.pk])
    actions = []
    if can_act:
        for name, (_target, allowed_from) in services.POOL_TRANSITIONS.items():
            if pool.state in allowed_from:
                meta = POOL_ACTIONS[name]
                question = meta["confirm"] % {"pool": pool.name}
                actions.append(
                    {
                        "name": name,
                        "label": meta["label"],
                        "explanation": meta["explanation"],
                        "danger": meta["danger"],
                        "url": reverse(f"dispatch:pool-{name}", args=[pool.pk]),
                        # The pool's page with this action's form open, as the center's tables link to it.
                        "page_url": f"{page}?action={name}#action-{name}",
                        "confirm": f"{question} {meta['explanation']}",
                    }
                )
    used, background = (
        _percent(pool.used_pflops, pool.capacity_pflops),
        _percent(pool.background_pflops, pool.capacity_pflops),
    )
    return {
        "pool": pool,
        "tone": display.POOL_STATE_TONE.get(pool.state, "grey"),
        "used_pct": used,
        "background_pct": min(background, 100 - used),
        "load_pct": min(100, used + background),
        "free": pool.free_pflops,
        "actions": actions,
        "url": page,
    }


def _priority_url(job: Job, back: str) -> str:
    return f"{reverse('dispatch:order-priority', args=[job.order_id])}?{urlencode({'next': back})}"


def _waiting_row(job: Job, now: datetime) -> dict:
    return {
        "job": job,
        "state_tone": display.JOB_STATE_TONE.get(job.state, "grey"),
        "priority_tone": display.PRIORITY_TONE.get(job.priority, "grey"),
        "reason": display.pending_reason(job.pending_reason),
        "wait": duration_words(now - job.queued_at),
        "expected_relative": relative_to_now(job.expected_start, now) if job.expected_start else "",
    }


def _running_row(job: Job, now: datetime) -> dict:
    remaining = job.work_pflops_hours - job.done_pflops_hours
    hours = float(remaining / job.demand_pflops) if job.demand_pflops else 0.0
    ends_at = now + timedelta(hours=hours)
    return {
        "job": job,
        "priority_tone": display.PRIORITY_TONE.get(job.priority, "grey"),
        "progress": _percent(job.done_pflops_hours, job.work_pflops_hours),
        "started_relative": relative_to_now(job.started_at, now) if job.started_at else "",
        "ends_at": ends_at,
        "ends_relative": relative_to_now(ends_at, now),
    }


def _preemption_row(preemption) -> dict:
    orders = {
        str(preemption.preempted.order_id): preemption.preempted.order,
        str(preemption.preempted_by.order_id): preemption.preempted_by.order,
    }
    slips = []
    for order_id, hours in (preemption.eta_slips or {}).items():
        order = orders.get(str(order_id))
        # An ETA can come out earlier after a preemption: the ranks are by date, and the delay the preempting
        # work causes can push other orders past saving, whose slots the hit order then takes.
        slips.append(
            {"reference": order.reference if order else f"#{order_id}", "hours": abs(hours), "later": hours >= 0}
        )
    return {
        "preemption": preemption,
        "victim_tone": display.PRIORITY_TONE.get(preemption.preempted.priority, "grey"),
        "by_tone": display.PRIORITY_TONE.get(preemption.preempted_by.priority, "grey"),
        "slips": slips,
    }


BUDGET_TONE = {"ok": "green", "warning": "amber", "over": "red", "none": "grey"}
BUDGET_WORDS = {
    "ok": gettext_lazy("Within budget"),
    "warning": gettext_lazy("Near the budget"),
    "over": gettext_lazy("Over budget"),
    "none": gettext_lazy("No budget"),
}


def _budget_row(row: selectors.BudgetRow) -> dict:
    return {
        "row": row,
        "tone": BUDGET_TONE[row.status],
        "words": BUDGET_WORDS[row.status],
        "bar_pct": min(100, row.percent or 0),
    }


# Where a booking stands, as its badge shows it (UI.md: the word goes with the colour): waiting to begin = amber,
# under way = green, over or cancelled = grey (nothing left to watch).
BOOKING_STATE_TONE = {
    selectors.BookingState.UPCOMING: "amber",
    selectors.BookingState.UNDER_WAY: "green",
    selectors.BookingState.OVER: "grey",
    selectors.BookingState.CANCELLED: "grey",
}


class BookingForm(forms.Form):
    """A reservation or maintenance window booked on a pool's page. dispatch.services.reservation_create holds the
    rules (an end after the start and after now, room within the pool, a client or an order for a reservation,
    nothing held by a window), and its refusals come back on these fields; a conflict with another booking above
    them."""

    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=ReservationKind.choices)
    start = forms.DateTimeField(
        label=gettext_lazy("Start"), widget=forms.DateTimeInput({"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    end = forms.DateTimeField(
        label=gettext_lazy("End"), widget=forms.DateTimeInput({"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    closes_to = forms.ChoiceField(
        label=gettext_lazy("Pool during a window"),
        choices=WINDOW_STATES,
        required=False,
        help_text=gettext_lazy(
            "Offline: running jobs are checkpointed and requeued when it begins. Draining: they finish, nothing new "
            "starts. Only for a maintenance window."
        ),
    )
    pflops = forms.DecimalField(
        label=gettext_lazy("PFLOPS held"),
        required=False,
        help_text=gettext_lazy("For a reservation; leave empty for a maintenance window, which closes the whole pool."),
        widget=forms.NumberInput({"step": "0.01", "min": "0.01"}),
    )
    client = forms.ModelChoiceField(
        label=gettext_lazy("Client"),
        queryset=selectors.booking_clients(),
        required=False,
        empty_label=gettext_lazy("No client (a window, or an order's)"),
        help_text=gettext_lazy("A reservation holds its room for one client, or for one order below."),
    )
    order = forms.CharField(
        label=gettext_lazy("Order reference"),
        required=False,
        max_length=20,
        help_text=gettext_lazy("To hold the room for this order's jobs alone, e.g. AF-2026-00042."),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        required=False,
        widget=forms.Textarea({"rows": 2, "maxlength": NOTE_MAX}),
    )
    submission_key = submissions.key_field()

    def clean_closes_to(self) -> str | None:
        # A reservation closes nothing: the choice only counts for a window (the select always shows one).
        return self.cleaned_data["closes_to"] if self.data.get("kind") == ReservationKind.MAINTENANCE else None

    def clean_order(self) -> Order | None:
        reference = self.cleaned_data["order"]
        if not reference.strip():
            return None
        order = selectors.order_by_reference(reference)
        if order is None:
            raise forms.ValidationError(_("No order has the reference %(reference)s.") % {"reference": reference})
        return order


class PoolScheduleForm(forms.Form):
    """A pool's capacity and/or state set from a time on, scheduled on its page. dispatch.services.pool_change_schedule
    holds the rules (something to change, a positive capacity, no cut below what its reservations hold), and its
    refusals come back on these fields."""

    at = forms.DateTimeField(
        label=gettext_lazy("From"), widget=forms.DateTimeInput({"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    capacity_pflops = forms.DecimalField(
        label=gettext_lazy("New capacity (PFLOPS)"),
        required=False,
        help_text=gettext_lazy("Leave empty to keep it. A cut below what runs then requeues the least urgent jobs."),
        widget=forms.NumberInput({"step": "0.01", "min": "0.01"}),
    )
    state = forms.ChoiceField(
        label=gettext_lazy("New state"),
        choices=[("", gettext_lazy("Keep it")), *PoolState.choices],
        required=False,
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        required=False,
        widget=forms.Textarea({"rows": 2, "maxlength": NOTE_MAX}),
    )
    submission_key = submissions.key_field()


def _pool_change_row(change: ScheduledPoolChange, *, can_act: bool) -> dict:
    pending = change.carried_out_at is None and change.cancelled_at is None
    return {
        "change": change,
        "pending": pending,
        "tone": "amber" if pending else "grey",
        "status": _("Scheduled") if pending else (_("Cancelled") if change.cancelled_at else _("Carried out")),
        "cancel_url": reverse("dispatch:pool-change-cancel", args=[change.pk]) if can_act and pending else "",
    }


def _booking_row(booking: Reservation, *, now: datetime, can_act: bool) -> dict:
    in_force = booking.state in selectors.IN_FORCE_STATES
    if booking.state == selectors.BookingState.UPCOMING:
        relative = relative_to_now(booking.start, now)
    elif booking.state == selectors.BookingState.UNDER_WAY:
        relative = _("ends %(when)s") % {"when": relative_to_now(booking.end, now)}
    else:
        relative = ""
    return {
        "booking": booking,
        "maintenance": booking.kind == ReservationKind.MAINTENANCE,
        "state": selectors.BookingState(booking.state),
        "tone": BOOKING_STATE_TONE[booking.state],
        "duration": duration_words(booking.end - booking.start),
        "relative": relative,
        "order_url": reverse("orders:detail", args=[booking.order_id]) if booking.order_id else "",
        # Room held for an order that has left production holds nothing any more (dispatch.models.BOOKING_IN_EFFECT).
        "released": bool(booking.order_id) and booking.order.status not in IN_FLIGHT_STATUSES,
        "cancel_url": reverse("dispatch:booking-cancel", args=[booking.pk]) if can_act and in_force else "",
    }


# --- Pages ----------------------------------------------------------------------------------------------


def _center_context(request) -> dict:
    now = clock.now()
    data = selectors.dispatch_center(now=now, rows=CENTER_ROWS)
    can_act = may_act_on_pools(request.user)
    chart_list = charts.dispatch_charts(data.pools, totals=data.totals, now=now)
    center = reverse("dispatch:center")
    return {
        "data": data,
        "totals": data.totals,
        "pool_rows": [_pool_row(pool, can_act=can_act) for pool in data.pools],
        "queue_depth": [
            {
                "priority": depth.priority,
                "label": depth.label,
                "tone": display.PRIORITY_TONE.get(depth.priority, "grey"),
                "waiting": depth.waiting,
                "longest_wait": duration_words(depth.longest_wait) if depth.longest_wait is not None else "",
            }
            for depth in data.queue_by_priority
        ],
        "waiting_rows": [
            {**_waiting_row(job, now), "priority_url": _priority_url(job, f"{center}#queue")} for job in data.waiting
        ],
        "running_rows": [
            {**_running_row(job, now), "priority_url": _priority_url(job, f"{center}#running")} for job in data.running
        ],
        "preemption_rows": [_preemption_row(preemption) for preemption in data.preemptions],
        "budget_rows": [_budget_row(row) for row in data.budgets],
        "can_act_on_pools": can_act,
        "can_reprioritize": may_reprioritize(request.user),
        "center_rows": CENTER_ROWS,
        "charts": chart_list,
        "figures": factory_charts.figures_by_key(chart_list),
    }


@roles.role_required(*VIEW_ROLES)
def center(request):
    """The dispatch center: KPI tiles, charts, pools, the queue, running jobs, preemptions and client budgets."""
    return render(request, "dispatch/center.html", _center_context(request))


@roles.role_required(*VIEW_ROLES, live=True)
def center_live(request):
    """What the dispatch center redraws every few seconds: figures, tiles and tables."""
    context = _center_context(request)
    return JsonResponse(
        {
            "at": context["data"].now.isoformat(),
            "charts": context["figures"],
            "summaries": factory_charts.summaries_by_key(context["charts"]),
            "fragments": {
                "kpis": render_to_string("dispatch/_kpis.html", context, request=request),
                "tables": render_to_string("dispatch/_tables.html", context, request=request),
            },
        }
    )


def _label_filter_form(form) -> None:
    """Words for the empty choices of the filter selects (django-filter's default is a dash)."""
    form.label_suffix = ""
    for name, label in (
        ("state", gettext_lazy("Any state")),
        ("pool", gettext_lazy("Any pool")),
        ("priority", gettext_lazy("Any priority")),
        ("kind", gettext_lazy("Any kind")),
    ):
        field = form.fields[name]
        field.empty_label = label
        field.widget.choices = field.choices
    search = form.fields["search"].widget
    search.input_type = "search"
    search.attrs["placeholder"] = gettext_lazy("Order reference, title or client")
    form.fields["order"].widget = form.fields["order"].hidden_widget()


@roles.role_required(*VIEW_ROLES)
def job_list(request):
    """Every job, filtered through the shared JobFilter; running first, then the queue by priority."""
    job_filter = JobFilter(request.GET, queryset=selectors.job_list())
    if (fmt := export_format(request)) is not None and job_filter.is_valid():
        return export_columns(name="jobs", fmt=fmt, columns=exports.JOB_COLUMNS, queryset=job_filter.qs)
    _label_filter_form(job_filter.form)
    page = Paginator(job_filter.qs, JOBS_PAGE_SIZE).get_page(request.GET.get("page"))
    now = clock.now()
    rows = []
    for job in page.object_list:
        row = _running_row(job, now) if job.state == JobState.RUNNING else _waiting_row(job, now)
        row["state_tone"] = display.JOB_STATE_TONE.get(job.state, "grey")
        rows.append(row)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "dispatch/job_list.html",
        {
            "filter": job_filter,
            "page": page,
            "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
            "rows": rows,
            "query": query.urlencode(),
            "filtered": any(request.GET.get(name, "") for name in JOB_FILTER_PARAMS),
            "export": export_links(request),
        },
    )


def _pool_page(
    request,
    pool: ComputePool,
    *,
    failed: dict | None = None,
    booking_form: BookingForm | None = None,
    schedule_form: "PoolScheduleForm | None" = None,
    status: int = 200,
):
    """A pool's page; `failed` is the refused action (`name`, `reason`) whose form opens again, filled in;
    `booking_form` a refused booking and `schedule_form` a refused scheduled change, shown again open with their
    errors."""
    now = clock.now()
    can_act = may_act_on_pools(request.user)
    bookings = selectors.pool_bookings(pool=pool, now=now, rows=POOL_PAGE_ROWS)
    scheduled = selectors.pool_scheduled_changes(pool=pool, rows=POOL_PAGE_ROWS)
    chart_list = [charts.utilization([pool], now=now, one_pool=True, bookings=bookings.drawn())]
    page = reverse("dispatch:pool", args=[pool.pk])
    running = selectors.running_jobs().filter(pool=pool)[:POOL_PAGE_ROWS]
    return render(
        request,
        "dispatch/pool_detail.html",
        {
            "pool": pool,
            "row": _pool_row(pool, can_act=can_act),
            "running_rows": [
                {**_running_row(job, now), "priority_url": _priority_url(job, f"{page}#running")} for job in running
            ],
            "can_reprioritize": may_reprioritize(request.user),
            "changes": selectors.pool_history(pool=pool)[:POOL_PAGE_ROWS],
            "booking_rows": [_booking_row(booking, now=now, can_act=can_act) for booking in bookings.ahead],
            "past_booking_rows": [_booking_row(booking, now=now, can_act=False) for booking in bookings.recent],
            # The form only for those who may book: its select of clients is a query the others need not pay for.
            "booking_form": (booking_form or BookingForm()) if can_act else None,
            "booking_open": booking_form is not None,
            "change_rows": [_pool_change_row(change, can_act=can_act) for change in scheduled.ahead],
            "past_change_rows": [_pool_change_row(change, can_act=False) for change in scheduled.recent],
            "schedule_form": (schedule_form or PoolScheduleForm()) if can_act else None,
            "schedule_open": schedule_form is not None,
            "page_rows": POOL_PAGE_ROWS,
            "can_act_on_pools": can_act,
            "open_action": (failed or {}).get("name") or request.GET.get("action", ""),
            "failed_reason": (failed or {}).get("reason", ""),
            "reason_max": NOTE_MAX,
            "charts": chart_list,
            "figures": factory_charts.figures_by_key(chart_list),
            "export": {fmt: f"{page}?{EXPORT_PARAM}={fmt}" for fmt in EXPORT_FORMATS},
        },
        status=status,
    )


@roles.role_required(*VIEW_ROLES)
def pool_detail(request, pk):
    """One pool: its load now and over the last day, the jobs it runs, its state changes, and (for the
    dispatch role) the forms that drain it, take it offline or activate it; `?export=` its last 30 days of samples."""
    pool = selectors.pool_for(pk)
    if (fmt := export_format(request)) is not None:
        samples = selectors.pool_samples(pool=pool, now=clock.now())
        return export_columns(
            name=f"{pool.name}-utilization", fmt=fmt, columns=exports.UTILIZATION_COLUMNS, queryset=samples
        )
    return _pool_page(request, pool)


@roles.role_required(*VIEW_ROLES)
def fairness(request):
    """Fair share by client: entitlement, recent usage and running share per pool kind, the jobs waiting and when
    they are expected to start, and compute per month against the budget over the last 12 months."""
    now = clock.now()
    data = selectors.fairness(now=now)
    chart_list = [charts.fairness_months(data)]
    rows = [
        {
            "row": row,
            "next_relative": relative_to_now(row.next_start, now) if row.next_start else "",
            "budget_pct": _percent(row.year_pflops_hours, row.budget_pflops_hours * len(row.months))
            if row.budget_pflops_hours
            else None,
        }
        for row in data.rows
    ]
    return render(
        request,
        "dispatch/fairness.html",
        {
            "data": data,
            "rows": rows,
            "half_life": duration_words(data.half_life),
            "charts": chart_list,
            "figures": factory_charts.figures_by_key(chart_list),
        },
    )


# --- Actions --------------------------------------------------------------------------------------------


@roles.role_required(*POOL_ACTION_ROLES)
@require_POST
def pool_action(request, pk, action):
    """Drain, take offline or activate a pool, with the reason the dispatcher gives."""
    pool = selectors.pool_for(pk)
    reason = request.POST.get("reason", "")
    try:
        changed = services.pool_change_state(pool=pool, action=action, actor=request.user, reason=reason)
    except DomainError as error:
        messages.error(request, error.message)
        return _pool_page(request, pool, failed={"name": action, "reason": reason}, status=http_status(error))
    messages.success(
        request,
        _("Pool %(pool)s is now %(state)s. %(explanation)s")
        % {
            "pool": changed.name,
            "state": changed.get_state_display().lower(),
            "explanation": POOL_ACTIONS[action]["explanation"],
        },
    )
    return _back(request, reverse("dispatch:pool", args=[pool.pk]))


def _booked_words(booking: Reservation) -> str:
    span = {"pool": booking.pool.name, "start": moment_words(booking.start), "end": moment_words(booking.end)}
    if booking.kind == ReservationKind.MAINTENANCE and booking.closes_to == PoolState.DRAINING:
        return (
            _(
                "Maintenance window booked on pool %(pool)s from %(start)s to %(end)s: the pool drains then (its "
                "running jobs finish, nothing new starts) and comes back at its end."
            )
            % span
        )
    if booking.kind == ReservationKind.MAINTENANCE:
        return (
            _(
                "Maintenance window booked on pool %(pool)s from %(start)s to %(end)s: no job starts there that would "
                "still run then, and the pool closes for it and comes back at its end."
            )
            % span
        )
    owner = booking.order.reference if booking.order_id else booking.client.name
    return _("%(pflops)s PFLOPS of pool %(pool)s held for %(owner)s from %(start)s to %(end)s.") % {
        **span,
        "pflops": booking.pflops,
        "owner": owner,
    }


@roles.role_required(*POOL_ACTION_ROLES)
@require_POST
def pool_book(request, pk):
    """Book a reservation or a maintenance window on a pool (dispatch role)."""
    pool = selectors.pool_for(pk)
    back = reverse("dispatch:pool", args=[pool.pk]) + "#bookings"
    return act(
        request,
        form=BookingForm(request.POST),
        again=lambda form: _pool_page(request, pool, booking_form=form),
        perform=lambda data: services.reservation_create(
            actor=request.user,
            pool=pool,
            **{**data, "submission_key": submissions.clean_key(data["submission_key"])},
        ),
        success=_booked_words,
        back=back,
        on_form=(ReservationConflict,),
    )


def _scheduled_words(change: ScheduledPoolChange) -> str:
    what = []
    if change.capacity_pflops is not None:
        what.append(_("%(capacity)s PFLOPS") % {"capacity": change.capacity_pflops})
    if change.state:
        what.append(PoolState(change.state).label.lower())
    return _("Pool %(pool)s scheduled to be %(what)s from %(at)s: the forecast counts it from now.") % {
        "pool": change.pool.name,
        "what": ", ".join(what),
        "at": moment_words(change.at),
    }


@roles.role_required(*POOL_ACTION_ROLES)
@require_POST
def pool_schedule(request, pk):
    """Schedule a pool's capacity and/or state from a time on (dispatch role)."""
    pool = selectors.pool_for(pk)
    return act(
        request,
        form=PoolScheduleForm(request.POST),
        again=lambda form: _pool_page(request, pool, schedule_form=form),
        perform=lambda data: services.pool_change_schedule(
            actor=request.user,
            pool=pool,
            **{**data, "submission_key": submissions.clean_key(data["submission_key"])},
        ),
        success=_scheduled_words,
        back=reverse("dispatch:pool", args=[pool.pk]) + "#scheduled",
        on_form=(ReservationConflict,),
    )


@roles.role_required(*POOL_ACTION_ROLES)
@require_POST
def pool_change_cancel(request, pk):
    """Cancel a scheduled pool change, with the reason the dispatcher gives; back to its pool's page."""
    change = selectors.scheduled_change_for(pk)
    return act(
        request,
        perform=lambda data: services.pool_change_cancel(
            change=change, actor=request.user, reason=request.POST.get("reason", "")
        ),
        success=lambda cancelled: _("Scheduled change #%(id)d cancelled.") % {"id": cancelled.pk},
        back=reverse("dispatch:pool", args=[change.pool_id]) + "#scheduled",
    )


def _cancelled_words(booking: Reservation) -> str:
    if booking.kind == ReservationKind.RESERVATION:
        return _("Reservation #%(id)d cancelled: its room is open to any work again.") % {"id": booking.pk}
    if booking.began_at is not None:
        return _(
            "Maintenance window #%(id)d cancelled: it ended now, and pool %(pool)s is back in the state it had before."
        ) % {"id": booking.pk, "pool": booking.pool.name}
    return _("Maintenance window #%(id)d cancelled.") % {"id": booking.pk}


@roles.role_required(*POOL_ACTION_ROLES)
@require_POST
def booking_cancel(request, pk):
    """Cancel a reservation or maintenance window, with the reason the dispatcher gives; back to its pool's page."""
    booking = selectors.reservation_for(pk, now=clock.now())
    return act(
        request,
        perform=lambda data: services.reservation_cancel(
            reservation=booking, actor=request.user, reason=request.POST.get("reason", "")
        ),
        success=_cancelled_words,
        back=reverse("dispatch:pool", args=[booking.pool_id]) + "#bookings",
    )


def _priority_page(request, order, *, reason: str = "", priority: str = "", status: int = 200):
    return render(
        request,
        "dispatch/order_priority.html",
        {
            "order": order,
            "jobs": selectors.open_jobs_of(order_id=order.pk),
            "priorities": Priority.choices,
            "chosen": priority or order.priority,
            "reason": reason,
            "reason_max": NOTE_MAX,
            "next": _safe_next(request, reverse("dispatch:center") + "#queue"),
        },
        status=status,
    )


@roles.role_required(*REPRIORITIZE_ROLES)
@require_http_methods(["GET", "POST"])
def order_priority(request, pk):
    """Change an order's priority (and that of its jobs) with a reason; logged on the order's timeline.

    GET shows the form with the jobs the change moves; a refused POST shows it again, filled in."""
    order = order_for_user(request.user, pk, Order.objects.select_related("client"))
    if request.method == "GET":
        return _priority_page(request, order)
    priority, reason = request.POST.get("priority", ""), request.POST.get("reason", "")
    try:
        changed = services.order_reprioritize(order=order, actor=request.user, priority=priority, reason=reason)
    except DomainError as error:
        messages.error(
            request, _("%(reference)s: %(message)s") % {"reference": order.reference, "message": error.message}
        )
        return _priority_page(request, order, reason=reason, priority=priority, status=http_status(error))
    messages.success(
        request,
        _("%(reference)s now has %(priority)s priority; the next dispatch tick places its jobs accordingly.")
        % {"reference": changed.reference, "priority": changed.get_priority_display().lower()},
    )
    return _back(request, reverse("dispatch:center") + "#queue")

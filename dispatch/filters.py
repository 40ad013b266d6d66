"""The one filter set of jobs, shared by the jobs page (/dispatch/jobs/) and the API (/api/v1/jobs/).

Pool actions and priority changes need no form class: their input is a choice and a reason, which the
services (dispatch.services.pool_change_state, order_reprioritize) validate themselves, so the page, the
API and the services never disagree about what is acceptable.
"""

import django_filters
from django import forms
from django.db.models import Case, F, IntegerField, Value, When
from django.utils.translation import gettext_lazy as _

from catalog.models import PoolKind
from dispatch.models import (
    PENDING_POOL_CHANGE,
    WAITING_STATES,
    ComputePool,
    Job,
    JobState,
    Reservation,
    ReservationKind,
    Scenario,
    ScheduledPoolChange,
)
from dispatch.selectors import IN_FORCE_STATES, BookingState, in_use_or_archived, priority_rank
from factory.api import Sort
from orders.models import Priority
from orders.selectors import order_text_matches

WAITING = "waiting"
# Running first, then waiting, then done.
STATE_RANK = Case(
    When(state=JobState.RUNNING, then=Value(0)),
    When(state__in=WAITING_STATES, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)
# The share of a pool's capacity in use, ours and other tenants' (capacity is positive: a constraint).
LOAD = (F("used_pflops") + F("background_pflops")) / F("capacity_pflops")


class IdFilter(django_filters.NumberFilter):
    """An object's id: a whole number (0.5 is refused, not looked for)."""

    field_class = forms.IntegerField


class JobFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(
        choices=[(WAITING, _("Waiting (queued or preempted)")), *JobState.choices],
        method="filter_state",
        label=_("State"),
    )
    pool = django_filters.ModelChoiceFilter(queryset=ComputePool.objects.all(), label=_("Pool"))
    order = IdFilter(field_name="order", label=_("Order id"))
    priority = django_filters.ChoiceFilter(choices=Priority.choices, label=_("Priority"))
    kind = django_filters.ChoiceFilter(choices=PoolKind.choices, label=_("Pool kind"))
    search = django_filters.CharFilter(method="filter_search", label=_("Search"))
    sort = Sort(
        {
            "state": (
                _("Running, then waiting by priority, then done"),
                (STATE_RANK, priority_rank().desc(), "queued_at"),
            ),
            "queued": (_("Longest waiting first"), ("queued_at",)),
            "priority": (_("Most urgent first"), (priority_rank().desc(), "queued_at")),
            "deadline": (_("Soonest deadline first"), ("deadline", "queued_at")),
        }
    )

    class Meta:
        model = Job
        fields = ["state", "pool", "order", "priority", "kind"]

    def filter_state(self, queryset, name, value):
        if value == WAITING:
            return queryset.filter(state__in=WAITING_STATES)
        return queryset.filter(state=value)

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(order_text_matches(value, via="order__"))


class PoolFilter(django_filters.FilterSet):
    """The pools' list (API only): its sort."""

    sort = Sort(
        {
            "site": (_("In-province sites first, then by site"), ("-site__in_province", "site__name", "kind", "name")),
            "name": (_("Name"), ("name",)),
            "load": (_("Busiest first"), (LOAD.desc(), "name")),
        }
    )

    class Meta:
        model = ComputePool
        fields = []


class ScenarioFilter(django_filters.FilterSet):
    """The scenarios' list (API): in use or archived, and its sort."""

    archived = django_filters.BooleanFilter(
        method="filter_archived",
        label=_("Archived"),
        help_text=_("true: the archived scenarios; false (the default): those in use."),
    )
    sort = Sort(
        {
            "newest": (_("Newest first"), ("-created_at", "-id")),
            "name": (_("Name"), ("name",)),
        }
    )

    class Meta:
        model = Scenario
        fields = []

    def filter_archived(self, queryset, name, value):
        return in_use_or_archived(queryset, archived=value)

    def filter_queryset(self, queryset):
        if self.form.cleaned_data.get("archived") is None:
            queryset = in_use_or_archived(queryset, archived=False)
        return super().filter_queryset(queryset)


class ReservationFilter(django_filters.FilterSet):
    """The reservations' and maintenance windows' list (API): what a dispatcher asks of the bookings, such as
    what is booked on this pool from now on (`pool`, `in_force=true`), which windows close pools next week (`kind`,
    `starts_before`, `ends_after`), or what a client or an order holds. The rows carry their `state`
    (dispatch.selectors.reservations)."""

    pool = django_filters.ModelChoiceFilter(queryset=ComputePool.objects.all(), label=_("Pool"))
    kind = django_filters.ChoiceFilter(choices=ReservationKind.choices, label=_("Kind"))
    state = django_filters.ChoiceFilter(choices=BookingState.choices, label=_("State"))
    in_force = django_filters.BooleanFilter(
        method="filter_in_force",
        label=_("In force"),
        help_text=_("true: upcoming and under way (neither over nor cancelled); false: over or cancelled."),
    )
    client = IdFilter(field_name="client", label=_("Client id"))
    order = IdFilter(field_name="order", label=_("Order id"))
    starts_before = django_filters.IsoDateTimeFilter(
        field_name="start",
        lookup_expr="lt",
        label=_("Starts before"),
        help_text=_("Bookings that begin before this moment; with `ends_after`, those overlapping a span."),
    )
    ends_after = django_filters.IsoDateTimeFilter(
        field_name="end",
        lookup_expr="gt",
        label=_("Ends after"),
        help_text=_("Bookings that end after this moment."),
    )
    sort = Sort(
        {
            "start": (_("Soonest start first"), ("start", "id")),
            "latest": (_("Latest start first"), ("-start", "-id")),
            "newest": (_("Booked most recently first"), ("-created_at", "-id")),
        }
    )

    class Meta:
        model = Reservation
        fields = ["pool", "kind", "state", "client", "order"]

    def filter_in_force(self, queryset, name, value):
        if value:
            return queryset.filter(state__in=IN_FORCE_STATES)
        return queryset.exclude(state__in=IN_FORCE_STATES)


class PoolChangeFilter(django_filters.FilterSet):
    """The scheduled pool changes' list (API): what is to change on a pool (`pool`, `pending=true`), what was carried
    out or cancelled, or what a scenario run was made into (`promoted_from`)."""

    pool = django_filters.ModelChoiceFilter(queryset=ComputePool.objects.all(), label=_("Pool"))
    pending = django_filters.BooleanFilter(
        method="filter_pending",
        label=_("Pending"),
        help_text=_("true: neither carried out nor cancelled; false: carried out or cancelled."),
    )
    promoted_from = IdFilter(field_name="promoted_from", label=_("Scenario run id"))
    sort = Sort(
        {
            "at": (_("Soonest first"), ("at", "id")),
            "latest": (_("Latest first"), ("-at", "-id")),
            "newest": (_("Scheduled most recently first"), ("-created_at", "-id")),
        }
    )

    class Meta:
        model = ScheduledPoolChange
        fields = ["pool", "promoted_from"]

    def filter_pending(self, queryset, name, value):
        return queryset.filter(PENDING_POOL_CHANGE) if value else queryset.exclude(PENDING_POOL_CHANGE)

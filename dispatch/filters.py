"""The one filter set of jobs, shared by the jobs page (/dispatch/jobs/) and the API (/api/v1/jobs/).

Pool actions and priority changes need no form class: their input is a choice and a reason, which the
services (dispatch.services.pool_change_state, order_reprioritize) validate themselves, so the page, the
API and the services never disagree about what is acceptable.
"""

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models import PoolKind
from dispatch.models import WAITING_STATES, ComputePool, Job, JobState
from orders.models import Priority

WAITING = "waiting"


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
        return queryset.filter(
            Q(order__reference__icontains=value)
            | Q(order__title__icontains=value)
            | Q(order__client__name__icontains=value)
        )

"""The one filter set of reviews, shared by the queue and history pages and the API (like orders.filters)."""

import django_filters
from django import forms
from django.db.models import Case, F, IntegerField, Value, When
from django.utils.translation import gettext_lazy as _

from catalog.models import Workshop
from factory.api import Sort
from security.models import Review, ReviewStatus

PENDING_FIRST = Case(When(status=ReviewStatus.PENDING, then=Value(0)), default=Value(1), output_field=IntegerField())
SENSITIVE_CHOICES = [("", _("All orders")), ("true", _("Sensitive data only")), ("false", _("Not sensitive"))]


class ReviewFilter(django_filters.FilterSet):
    """The one filter set of reviews, shared by the queue and history pages and the API."""

    status = django_filters.ChoiceFilter(choices=ReviewStatus.choices, label=_("Status"), empty_label=_("Any status"))
    workshop = django_filters.ChoiceFilter(
        choices=Workshop.choices, label=_("Workshop"), empty_label=_("Every workshop")
    )
    sensitive = django_filters.BooleanFilter(label=_("Sensitive data"), widget=forms.Select(choices=SENSITIVE_CHOICES))
    # An order id (the API's habit) or its reference such as AF-2026-00042 (what people type, and what the
    # order page links to).
    order = django_filters.CharFilter(method="filter_order", label=_("Order (id or reference)"))
    # pending is the reviewers' queue: no gate waits longer than it must.
    sort = Sort(
        {
            "opened": (_("Oldest first"), ("opened_at", "id")),
            "pending": (_("Pending first, then oldest first"), (PENDING_FIRST, "opened_at", "id")),
            "decided": (_("Latest decision first"), (F("decided_at").desc(nulls_last=True), "-id")),
        }
    )

    class Meta:
        model = Review
        fields = ["status", "workshop", "sensitive", "order"]

    def filter_order(self, queryset, name, value):
        value = value.strip()
        if value.isdigit():
            return queryset.filter(order_id=int(value))
        return queryset.filter(order__reference__iexact=value) if value else queryset

"""The one filter set of reviews, shared by the queue and history pages and the API (like orders.filters)."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from catalog.models import Workshop
from security.models import Review, ReviewStatus

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

    class Meta:
        model = Review
        fields = ["status", "workshop", "sensitive", "order"]

    def filter_order(self, queryset, name, value):
        value = value.strip()
        if value.isdigit():
            return queryset.filter(order_id=int(value))
        return queryset.filter(order__reference__iexact=value) if value else queryset

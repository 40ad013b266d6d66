"""The one filter set of tickets, shared by the staff queue, the portal list and the API."""

import django_filters
from django import forms
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from aftersales.models import ACTIVE_STATUSES, Category, Severity, Ticket, TicketStatus
from aftersales.selectors import ticket_text_matches
from factory.api import Sort
from orders.filters import scope_client_filter
from orders.models import ClientOrganization

# "active" is every status in which the factory still owes the client something.
STATUS_CHOICES = [("active", _("Active (open, in progress, waiting)")), *TicketStatus.choices]
BREACHED_CHOICES = [("", _("Any SLA state")), ("true", _("SLA breached")), ("false", _("Within SLA"))]


class TicketFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=STATUS_CHOICES, method="filter_status", label=_("Status"), empty_label=_("Any status")
    )
    severity = django_filters.ChoiceFilter(choices=Severity.choices, label=_("Severity"), empty_label=_("Any severity"))
    category = django_filters.ChoiceFilter(choices=Category.choices, label=_("Category"), empty_label=_("Any category"))
    client = django_filters.ModelChoiceFilter(
        field_name="order__client",
        queryset=ClientOrganization.objects.order_by("name"),
        label=_("Client"),
        empty_label=_("Every client"),
    )
    breached = django_filters.BooleanFilter(label=_("SLA"), widget=forms.Select(choices=BREACHED_CHOICES))
    # An order id (the API's habit) or its reference such as AF-2026-00042 (what the order page links to);
    # matches the ticket's order and the follow-up order it placed.
    order = django_filters.CharFilter(method="filter_order", label=_("Order (id or reference)"))
    search = django_filters.CharFilter(method="filter_search", label=_("Search"))
    # urgency is the staff queue's order (by the annotations of aftersales.selectors.tickets): running SLA
    # deadline soonest first, then tickets waiting for the client, then the rest.
    sort = Sort(
        {
            "newest": (_("Newest first"), ("-opened_at", "-id")),
            "oldest": (_("Oldest first"), ("opened_at", "id")),
            "urgency": (
                _("Most urgent first"),
                ("urgency_rank", F("next_due").asc(nulls_last=True), "-opened_at", "-id"),
            ),
        }
    )

    class Meta:
        model = Ticket
        fields = ["status", "severity", "category", "client", "breached", "order", "search"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        scope_client_filter(self)

    def filter_status(self, queryset, name, value):
        if value == "active":
            return queryset.filter(status__in=ACTIVE_STATUSES)
        return queryset.filter(status=value)

    def filter_order(self, queryset, name, value):
        value = value.strip()
        if value.isdigit():
            return queryset.filter(Q(order_id=int(value)) | Q(follow_up_order_id=int(value)))
        if not value:
            return queryset
        return queryset.filter(Q(order__reference__iexact=value) | Q(follow_up_order__reference__iexact=value))

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(ticket_text_matches(value))

"""The one filter set of orders, shared by the staff order list and the API."""

import django_filters
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.db.models.functions import Coalesce, TruncDate
from django.utils.translation import gettext_lazy as _

from catalog.models import ProductType, Sector, Workshop
from factory import clock, roles
from factory.api import Sort
from orders.access import organization_of
from orders.models import (
    ACTIVE_STATUSES,
    HANDED_OVER_STATUSES,
    ClientOrganization,
    Order,
    OrderEvent,
    OrderStatus,
    Priority,
)
from orders.selectors import order_text_matches

# Urgent first: the priorities' rank, as they are listed (low … urgent).
PRIORITY_RANK = Case(
    *(When(priority=priority, then=Value(rank)) for rank, priority in enumerate(Priority.values)),
    output_field=IntegerField(),
)


def overdue_q() -> Q:
    """Orders late against their due date (promised, else requested): by ETA while active, by delivery after.

    Needs the annotations of `with_due_dates`.
    """
    today = clock.now().date()
    active_late = Q(status__in=ACTIVE_STATUSES) & (Q(due_date__lt=today) | Q(eta_date__gt=F("due_date")))
    delivered_late = Q(status__in=HANDED_OVER_STATUSES, delivered_date__gt=F("due_date"))
    return active_late | delivered_late


def with_due_dates(queryset):
    return queryset.annotate(
        due_date=Coalesce("promised_delivery", "requested_delivery"),
        eta_date=TruncDate("eta"),
        delivered_date=TruncDate("delivered_at"),
    )


def scope_client_filter(filterset, name: str = "client") -> None:
    """A client may only name its own organization in a filter set: other ids are unknown, not "empty"."""
    request = filterset.request
    user = request.user if request is not None else None
    if user is not None and not roles.has_role(user) and (organization := organization_of(user)) is not None:
        filterset.filters[name].queryset = ClientOrganization.objects.filter(pk=organization.pk)


class OrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices, label=_("Status"))
    product_type = django_filters.ChoiceFilter(choices=ProductType.choices, label=_("Product type"))
    sector = django_filters.ChoiceFilter(choices=Sector.choices, label=_("Sector"))
    client = django_filters.ModelChoiceFilter(queryset=ClientOrganization.objects.all(), label=_("Client"))
    current_workshop = django_filters.ChoiceFilter(choices=Workshop.choices, label=_("Current workshop"))
    overdue = django_filters.BooleanFilter(method="filter_overdue", label=_("Overdue"))
    search = django_filters.CharFilter(method="filter_search", label=_("Search"))
    sort = Sort(
        {
            "newest": (_("Newest first"), ("-created_at", "-id")),
            "oldest": (_("Oldest first"), ("created_at", "id")),
            "due": (_("Requested delivery"), ("requested_delivery", "-created_at")),
            "eta": (_("ETA"), ("eta", "-created_at")),
            "priority": (_("Priority"), (PRIORITY_RANK.desc(), "-created_at")),
            "progress": (_("Progress"), ("-progress", "-created_at")),
            "reference": (_("Reference"), ("reference",)),
        }
    )

    class Meta:
        model = Order
        fields = ["status", "product_type", "sector", "client", "current_workshop"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        scope_client_filter(self)

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        overdue = with_due_dates(queryset).filter(overdue_q())
        # Excluding by id, not by the negated condition: a missing ETA is "not late", not "unknown".
        return overdue if value else queryset.exclude(pk__in=overdue.values("pk"))

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(order_text_matches(value))


class OrderEventFilter(django_filters.FilterSet):
    """An order's timeline (API only): its sort."""

    sort = Sort({"oldest": (_("Oldest first"), ("at", "id")), "newest": (_("Newest first"), ("-at", "-id"))})

    class Meta:
        model = OrderEvent
        fields = []

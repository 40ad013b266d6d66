"""The sorts of the webhook lists, shared by the API (the portal shows them newest first)."""

import django_filters
from django.utils.translation import gettext_lazy as _

from factory.api import Sort
from webhooks.models import Delivery, Endpoint


class EndpointFilter(django_filters.FilterSet):
    sort = Sort(
        {
            "newest": (_("Newest first"), ("-created_at", "-id")),
            "oldest": (_("Oldest first"), ("created_at", "id")),
        }
    )

    class Meta:
        model = Endpoint
        fields = []


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=Delivery._meta.get_field("status").choices, label=_("Status"), empty_label=_("Any status")
    )
    sort = Sort(
        {
            "newest": (_("Newest first"), ("-at", "-id")),
            "oldest": (_("Oldest first"), ("at", "id")),
        }
    )

    class Meta:
        model = Delivery
        fields = ["status"]

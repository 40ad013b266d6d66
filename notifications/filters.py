"""The API inbox's filter and sort (notifications.api)."""

import django_filters
from django.utils.translation import gettext_lazy as _

from factory.api import Sort
from notifications.models import Notice


class NoticeFilter(django_filters.FilterSet):
    unread = django_filters.BooleanFilter(
        field_name="read_at",
        lookup_expr="isnull",
        label=_("Unread"),
        help_text=_("true: the notices not read yet; false: those read."),
    )
    sort = Sort(
        {
            "newest": (_("Newest first"), ("-created_at", "-id")),
            "oldest": (_("Oldest first"), ("created_at", "id")),
        }
    )

    class Meta:
        model = Notice
        fields = []

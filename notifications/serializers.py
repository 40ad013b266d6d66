"""Shapes of the notifications API (API.md "Notifications and webhooks"): a notice as its recipient reads it."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from notifications import selectors
from notifications.models import Notice


class NoticeSerializer(serializers.ModelSerializer):
    """A notice with its words in the caller's language (the active one: Accept-Language, or the language chosen
    in the header), read from its kind when answered, so that a person reads every notice in their language now."""

    kind = serializers.CharField(
        read_only=True, help_text=_("What kind of notice it is, e.g. order_accepted or ticket_answered.")
    )
    event = serializers.CharField(
        read_only=True,
        help_text=_("What happened, named once, e.g. order-accepted:12: one notice per event and person."),
    )
    title = serializers.SerializerMethodField(help_text=_("The notice's title, in the caller's language."))
    line = serializers.SerializerMethodField(
        help_text=_("One more line of detail, in the caller's language; may be empty.")
    )
    url = serializers.CharField(
        read_only=True,
        help_text=_("Where the notice leads, as a path of the site (e.g. /portal/orders/12/); may be empty."),
    )
    created_at = serializers.DateTimeField(read_only=True, help_text=_("When the notice was made."))
    read_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text=_("When it was read; null while unread.")
    )

    class Meta:
        model = Notice
        fields = ["id", "kind", "event", "title", "line", "url", "created_at", "read_at"]
        read_only_fields = fields

    def get_title(self, notice) -> str:
        return selectors.words_of(notice)[0]

    def get_line(self, notice) -> str:
        return selectors.words_of(notice)[1]


class MarkedReadSerializer(serializers.Serializer):
    marked = serializers.IntegerField(
        read_only=True, min_value=0, help_text=_("How many notices were unread and are now read.")
    )

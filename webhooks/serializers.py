"""Shapes of the webhooks API (API.md "Notifications and webhooks"). Input serializers only parse types and shapes;
the URL rule and who may register are webhooks.services'."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from factory.api import InputSerializer, NonBlankCharField
from notifications.kinds import CLIENTS, kinds_for
from webhooks.models import URL_MAX, Delivery, Endpoint


def _event_choices() -> list[tuple[str, str]]:
    return [(kind.name, str(kind.label)) for kind in kinds_for(CLIENTS)]


class EndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(
        source="kinds", child=serializers.CharField(), read_only=True, help_text=_("The events sent to it.")
    )
    active = serializers.BooleanField(read_only=True, help_text=_("False once disabled: nothing more is sent."))
    secret = serializers.CharField(
        read_only=True,
        help_text=_(
            "The key of the HMAC-SHA256 in each delivery's Factory-Signature header: "
            '`t=<unix seconds>,v1=<hex HMAC of "<t>.<raw body>">`.'
        ),
    )

    class Meta:
        model = Endpoint
        fields = ["id", "url", "events", "active", "secret", "created_at", "disabled_at"]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    event = serializers.CharField(source="kind", read_only=True, help_text=_("The event's kind, e.g. order_accepted."))
    event_id = serializers.CharField(
        read_only=True, help_text=_("The same on every attempt and resend (the body's id): de-duplicate by it.")
    )
    at = serializers.DateTimeField(read_only=True, help_text=_("When the event happened."))

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event_id",
            "event",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "at",
            "next_attempt_at",
            "delivered_at",
        ]
        read_only_fields = fields


class EndpointCreateSerializer(InputSerializer):
    url = NonBlankCharField(
        max_length=URL_MAX,
        help_text=_("An http or https URL of a public host: addresses of private networks are refused."),
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=[]),
        allow_empty=False,
        help_text=_("The kinds of event to send to it, at least one."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The kinds are declared by the apps' notices modules as they start: read when asked, not at import.
        self.fields["events"].child.choices = _event_choices()

"""Shapes of the webhooks API (API.md "Notifications and webhooks"). Input serializers only parse types and shapes;
the URL rule, the secret's rule and who may register are webhooks.services'. The signing secret is write-only: the
registration takes it, and no answer ever holds it."""

from django.core.validators import RegexValidator
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from factory.api import InputSerializer, NonBlankCharField
from notifications.kinds import CLIENTS, kinds_for
from webhooks.models import SECRET_MAX, SECRET_MIN, URL_MAX, Delivery, Endpoint
from webhooks.services import KEY_CONTROL_CHARACTERS

# The secret's rule as a pattern a client generator can follow (webhooks.services.check_secret): no control
# characters, and something besides white space.
SECRET_PATTERN = rf"^[^{KEY_CONTROL_CHARACTERS}]*[^\s{KEY_CONTROL_CHARACTERS}][^{KEY_CONTROL_CHARACTERS}]*$"


class SecretField(serializers.CharField):
    """A signing secret: taken as given (a key is not trimmed), never answered, and stated in the schema by its own
    rule's pattern rather than a free text's (factory.schema.AutoSchema patterns the plain texts only)."""

    def __init__(self, **kwargs):
        kwargs.update(write_only=True, trim_whitespace=False)
        kwargs.setdefault("validators", []).append(
            RegexValidator(
                SECRET_PATTERN,
                _("Remove the control characters (such as tabs and line breaks) from the signing secret."),
            )
        )
        super().__init__(**kwargs)


def _event_choices() -> list[tuple[str, str]]:
    return [(kind.name, str(kind.label)) for kind in kinds_for(CLIENTS)]


class EndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(
        source="kinds", child=serializers.CharField(), read_only=True, help_text=_("The events sent to it.")
    )
    active = serializers.BooleanField(read_only=True, help_text=_("False once disabled: nothing more is sent."))

    class Meta:
        model = Endpoint
        # Never the secret: it was the client's to give, and is the client's to keep.
        fields = ["id", "url", "events", "active", "created_at", "disabled_at"]
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
    secret = SecretField(
        min_length=SECRET_MIN,
        max_length=SECRET_MAX,
        help_text=format_lazy(
            _(
                "Your own secret, {min} to {max} characters: the key of the HMAC-SHA256 in each delivery's "
                'Factory-Signature header, `t=<unix seconds>,v1=<hex HMAC of "<t>.<raw body>">`. Keep it: it is '
                "never answered or shown again."
            ),
            min=SECRET_MIN,
            max=SECRET_MAX,
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The kinds are declared by the apps' notices modules as they start: read when asked, not at import.
        self.fields["events"].child.choices = _event_choices()

"""Shapes of the after-sales API (API.md "After-sales"). Input serializers only parse types and shapes; what a
ticket may become, who may do it and what a message must say are aftersales.services' rules."""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from aftersales.models import Category, Severity, Ticket, TicketMessage, TicketStatus
from catalog.models import ProductType, Sector, Size
from factory.api import InputSerializer, NonBlankCharField
from factory.limits import MESSAGE_MAX, NOTE_MAX, REQUIREMENTS_MAX, TITLE_MAX
from orders.models import DataSensitivity, Order, Priority

# --- Output -----------------------------------------------------------------------------------------


class TicketMessageSerializer(serializers.ModelSerializer):
    """One message of the thread. Clients never get internal notes (the view's queryset leaves them out), and
    read staff authors as "Factory support": staff usernames are the factory's business."""

    author = serializers.SerializerMethodField(
        help_text=_('Username; for client users, staff authors read "Factory support".')
    )

    class Meta:
        model = TicketMessage
        fields = ["id", "at", "author", "from_staff", "internal", "body"]
        read_only_fields = fields

    def get_author(self, message) -> str:
        if message.from_staff and not self.context.get("staff", False):
            return gettext("Factory support")
        return message.author.get_username()


class TicketSerializer(serializers.ModelSerializer):
    order = serializers.IntegerField(source="order_id", read_only=True, help_text=_("The delivered order's id."))
    order_reference = serializers.CharField(source="order.reference", read_only=True)
    follow_up_order = serializers.IntegerField(
        source="follow_up_order_id",
        read_only=True,
        allow_null=True,
        help_text=_("Id of the order placed from this ticket; null until staff place one."),
    )
    breached = serializers.BooleanField(
        read_only=True, help_text=_("A first-response or resolution target was missed.")
    )
    at_risk = serializers.BooleanField(
        read_only=True, help_text=_("Less than the SLA policy's share of the running window is left.")
    )
    messages = TicketMessageSerializer(
        many=True, read_only=True, help_text=_("Oldest first; internal notes only for staff.")
    )

    class Meta:
        model = Ticket
        fields = [
            "id",
            "reference",
            "order",
            "order_reference",
            "category",
            "severity",
            "status",
            "subject",
            "opened_at",
            "first_response_due",
            "first_responded_at",
            "resolution_due",
            "resolved_at",
            "closed_at",
            "breached",
            "at_risk",
            "follow_up_order",
            "rating",
            "rating_comment",
            "messages",
        ]
        read_only_fields = fields


# --- Input ------------------------------------------------------------------------------------------


class TicketCreateSerializer(InputSerializer):
    order = serializers.PrimaryKeyRelatedField(
        queryset=Order.objects.all(),
        error_messages={"does_not_exist": _("No such order."), "incorrect_type": _("No such order.")},
        help_text=_("Id of a delivered order: the client's own, or any for after-sales and operations staff."),
    )
    category = serializers.ChoiceField(choices=Category.choices)
    severity = serializers.ChoiceField(
        choices=Severity.choices, help_text=_("Sets the SLA; only staff can change it afterwards.")
    )
    subject = NonBlankCharField(max_length=TITLE_MAX)
    body = NonBlankCharField(max_length=MESSAGE_MAX, help_text=_("The first message."))

    def __init__(self, *args, orders=None, **kwargs):
        super().__init__(*args, **kwargs)
        if orders is not None:
            # Orders the caller cannot see read as unknown ids, so their existence is not revealed.
            self.fields["order"].queryset = orders


class TicketMessageCreateSerializer(InputSerializer):
    body = NonBlankCharField(max_length=MESSAGE_MAX)
    internal = serializers.BooleanField(
        default=False, help_text=_("A staff note the client never sees; it does not count as a response.")
    )


# Where a move can lead: no move ever leads back to "open".
MOVE_TARGETS = [(value, label) for value, label in TicketStatus.choices if value != TicketStatus.OPEN]


class TicketMoveSerializer(InputSerializer):
    status = serializers.ChoiceField(choices=MOVE_TARGETS)
    note = serializers.CharField(
        max_length=MESSAGE_MAX,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Sent to the client as a message. Required when waiting for the client, resolving and reopening."),
    )


class TicketSeveritySerializer(InputSerializer):
    severity = serializers.ChoiceField(choices=Severity.choices)
    reason = NonBlankCharField(max_length=NOTE_MAX, help_text=_("Seen by staff only."))


class TicketRateSerializer(InputSerializer):
    score = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(max_length=NOTE_MAX, required=False, allow_blank=True, default="")


class FollowUpOrderCreateSerializer(InputSerializer):
    """The new order's fields; those left out are the ticket's order's."""

    title = NonBlankCharField(max_length=TITLE_MAX)
    requirements = serializers.CharField(max_length=REQUIREMENTS_MAX, required=False, allow_blank=True, default="")
    requested_delivery = serializers.DateField(help_text=_("A date after today."))
    product_type = serializers.ChoiceField(choices=ProductType.choices, required=False)
    size = serializers.ChoiceField(choices=Size.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    data_sensitivity = serializers.ChoiceField(choices=DataSensitivity.choices, required=False)
    sector = serializers.ChoiceField(choices=Sector.choices, required=False)

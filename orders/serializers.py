"""Shapes of the orders API (API.md "Orders"): small input serializers and the read representations.

Input serializers only parse types and shapes (required fields, lengths, choices, dates). What makes
an order valid in the factory (a future delivery date, `urgent` being staff-only, a status that allows
the action) is decided by orders.services, so the API, the forms and the services never disagree.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from catalog.models import ProductType, Sector, Size, Workshop
from factory.api import InputSerializer, QuerySerializer
from factory.limits import MESSAGE_MAX, NOTE_MAX, REQUIREMENTS_MAX, TITLE_MAX
from orders.models import (
    ClientOrganization,
    DataSensitivity,
    Order,
    OrderEvent,
    OrderStage,
    OrderStatus,
    Priority,
    RequirementChange,
)

# --- Representations --------------------------------------------------------------------------------


class BlankAsNullChoiceField(serializers.ChoiceField):
    """A read-only choice the model keeps as "" when there is none, answered as null: a generated client then
    reads one of the enum's values or None, never a blank the enum does not have."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def to_representation(self, value):
        return super().to_representation(value) or None


class OrderStageSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderStage
        fields = ["workshop", "status", "progress", "started_at", "finished_at", "steps_total", "steps_done"]
        read_only_fields = fields


class OrderSerializer(serializers.ModelSerializer):
    """An order as API.md lists it, plus a few fields a client of the API needs alongside."""

    client_name = serializers.CharField(source="client.name", read_only=True)
    current_workshop = BlankAsNullChoiceField(
        choices=Workshop.choices,
        help_text=_("The workshop the order is in; null before production and after the last gate."),
    )
    stages = OrderStageSerializer(many=True, read_only=True)
    compute_pflops_hours = serializers.DecimalField(
        max_digits=14, decimal_places=2, coerce_to_string=False, read_only=True
    )
    compute_cost = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, help_text=_("CNY, as a decimal string.")
    )
    tracking_url = serializers.SerializerMethodField(
        help_text=_("Public read-only tracking page; null when the client revoked the link.")
    )
    quoted_compute_pflops_hours = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        coerce_to_string=False,
        read_only=True,
        allow_null=True,
        help_text=_("The compute quoted with the promised delivery when the order was placed."),
    )
    quoted_cost = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        read_only=True,
        allow_null=True,
        help_text=_("The cost quoted with the promised delivery when the order was placed (CNY, a decimal string)."),
    )

    class Meta:
        model = Order
        fields = [
            "id",
            "reference",
            "title",
            "client",
            "client_name",
            "product_type",
            "sector",
            "status",
            "priority",
            "data_sensitivity",
            "size",
            "requirements",
            "requested_delivery",
            "promised_delivery",
            "quoted_compute_pflops_hours",
            "quoted_cost",
            "eta",
            "progress",
            "current_workshop",
            "stages",
            "compute_pflops_hours",
            "compute_cost",
            "tracking_url",
            "created_at",
            "accepted_at",
            "delivered_at",
            "closed_at",
            "rating",
            "rating_comment",
            "parent_order",
        ]
        read_only_fields = fields

    def get_tracking_url(self, order) -> str | None:
        if not order.tracking_token:
            return None
        path = f"/track/{order.tracking_token}/"
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class OrderEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(
        source="actor_label",
        allow_null=True,
        read_only=True,
        help_text=_(
            'Staff read the username (null for the system); clients read "You" for their organization\'s people '
            'and "Factory staff" for everyone else, as on the portal.'
        ),
    )
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    from_status = BlankAsNullChoiceField(
        choices=OrderStatus.choices, help_text=_("null when the status did not change.")
    )
    to_status = BlankAsNullChoiceField(choices=OrderStatus.choices, help_text=_("null when the status did not change."))
    workshop = BlankAsNullChoiceField(choices=Workshop.choices, help_text=_("null for an event of the whole order."))

    class Meta:
        model = OrderEvent
        fields = ["id", "at", "actor", "kind", "kind_display", "from_status", "to_status", "workshop", "note"]
        read_only_fields = fields


class RequirementChangeSerializer(serializers.ModelSerializer):
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True)

    class Meta:
        model = RequirementChange
        fields = ["id", "order", "text", "recorded_by", "recorded_at", "rework_steps"]
        read_only_fields = fields


class QuoteSerializer(serializers.Serializer):
    promised_delivery = serializers.DateField()
    estimated_compute_pflops_hours = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=False)
    estimated_cost = serializers.DecimalField(max_digits=14, decimal_places=2, help_text=_("CNY, as a decimal string."))


# --- Inputs -----------------------------------------------------------------------------------------


class OrderCreateSerializer(InputSerializer):
    client = serializers.PrimaryKeyRelatedField(
        queryset=ClientOrganization.objects.all(),
        required=False,
        help_text=_("Client organization id: required from staff; client users order for their own organization."),
    )
    title = serializers.CharField(max_length=TITLE_MAX)
    product_type = serializers.ChoiceField(choices=ProductType.choices)
    sector = serializers.ChoiceField(choices=Sector.choices)
    requirements = serializers.CharField(max_length=REQUIREMENTS_MAX, required=False, allow_blank=True, default="")
    data_sensitivity = serializers.ChoiceField(choices=DataSensitivity.choices)
    size = serializers.ChoiceField(choices=Size.choices)
    priority = serializers.ChoiceField(
        choices=Priority.choices, default=Priority.NORMAL, help_text=_("Client users may not set urgent.")
    )
    requested_delivery = serializers.DateField(help_text=_("A date after today."))


class QuoteQuerySerializer(QuerySerializer):
    product_type = serializers.ChoiceField(choices=ProductType.choices)
    size = serializers.ChoiceField(choices=Size.choices)
    priority = serializers.ChoiceField(choices=Priority.choices, help_text=_("Client users may not quote urgent."))
    data_sensitivity = serializers.ChoiceField(choices=DataSensitivity.choices)


class ReasonSerializer(InputSerializer):
    reason = serializers.CharField(max_length=NOTE_MAX)


class RateSerializer(InputSerializer):
    score = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(max_length=NOTE_MAX, required=False, allow_blank=True, default="")


class RequirementChangeCreateSerializer(InputSerializer):
    text = serializers.CharField(max_length=MESSAGE_MAX)
    rework_steps = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        default=list,
        max_length=100,
        help_text=_("Ids of finished steps of the workshop in production to redo."),
    )

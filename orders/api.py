"""The orders REST API (API.md "Orders"), under /api/v1/orders/.

Thin on purpose: each endpoint parses its input, finds the order through orders.access /
orders.selectors (another organization's order answers 404), checks the caller's role, calls one
service and answers with the order. Domain errors become 400/403/409/422 in factory.api.exception_handler.
"""

from collections.abc import Mapping

from django.http import Http404
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from factory import roles, submissions
from factory.api import IDEMPOTENCY_KEY, ConditionalDetail, created, validated
from orders import permissions, read_cache, selectors, services
from orders.access import order_for_user, organization_of, sees_orders_of
from orders.filters import OrderEventFilter, OrderFilter
from orders.models import Order, OrderEvent, OrderStep
from orders.quotes import quote
from orders.serializers import (
    OrderCreateSerializer,
    OrderEventSerializer,
    OrderSerializer,
    QuoteQuerySerializer,
    QuoteSerializer,
    RateSerializer,
    ReasonSerializer,
    RequirementChangeCreateSerializer,
    RequirementChangeSerializer,
)


class HasOrderAccess(BasePermission):
    """Staff of any role and client users; an account that is neither is refused (403)."""

    message = _("Your account does not have access to orders.")

    def has_permission(self, request, view):
        user = request.user
        return roles.has_role(user) or organization_of(user) is not None


def _order_id(pk) -> int | None:
    try:
        return int(pk)
    except (TypeError, ValueError):
        return None


def _order_json(request, order_id: int, queryset) -> tuple[int, bytes]:
    """(client id, the order as JSON): from its kept copy (orders.read_cache), or read, rendered and kept.
    Rendered without the request, so its tracking URL is a path; the caller's origin is put in front."""
    language = get_language()
    copy = read_cache.copy_of(read_cache.ORDER_API, order_id, language, request=request)
    if copy is None:
        read_at = read_cache.reading_starts()
        order = order_for_user(request.user, order_id, queryset)
        copy = (order.client_id, JSONRenderer().render(OrderSerializer(order).data))
        read_cache.keep(read_cache.ORDER_API, order_id, language, copy, read_at=read_at)
    return copy


def order_detail_json(request, pk, queryset) -> bytes:
    """The order's detail as the caller reads it (GET /api/v1/orders/{id}/): its ETag's source too."""
    order_id = _order_id(pk)
    if order_id is None:
        raise Http404(_("No such order."))
    client_id, body = _order_json(request, order_id, queryset)
    if not sees_orders_of(request.user, client_id):
        raise Http404(_("No such order."))
    # A JSON string never holds an unescaped quote: this finds the key, never text a client wrote.
    origin = request.build_absolute_uri("/")[:-1].encode()
    return body.replace(b'"tracking_url":"/', b'"tracking_url":"' + origin + b"/", 1)


def _steps_of(order: Order, ids: list[int]) -> list[OrderStep]:
    """The steps `ids` of `order`; 400 when one is not a step of this order."""
    steps = selectors.order_steps(order=order, ids=ids)
    if len(steps) != len(set(ids)):
        raise ValidationError({"rework_steps": [_("Name steps of this order.")]})
    return steps


def _action_schema(*, request=None, responses=None, summary, description=""):
    """An order action's schema; its error statuses are factory.schema's."""
    return extend_schema(
        summary=summary, description=description, request=request, responses=responses or {200: OrderSerializer}
    )


@extend_schema_view(
    list=extend_schema(
        summary=_("Orders the caller may see"), description=_("Staff see every order; clients their own.")
    ),
    retrieve=extend_schema(summary=_("One order"), responses=OrderSerializer),
)
class OrderViewSet(ConditionalDetail, mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, HasOrderAccess]
    serializer_class = OrderSerializer
    filterset_class = OrderFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Order.objects.none()
        return selectors.order_list(user=self.request.user)

    def _order(self, pk) -> Response:
        order = order_for_user(self.request.user, pk, self.get_queryset())
        return Response(self.get_serializer(order).data)

    def initial(self, request, *args, **kwargs):
        if self.action == "retrieve" and (order_id := _order_id(kwargs.get("pk"))) is not None:
            # The most-read call: the caller's kept token and this order's kept answer in one round trip.
            read_cache.read_ahead(request, read_cache.ORDER_API, order_id, get_language())
        super().initial(request, *args, **kwargs)

    def detail_json(self, pk) -> bytes:
        return order_detail_json(self.request, pk, self.get_queryset())

    @extend_schema(
        summary=_("Place an order"),
        description=_("Client users place orders for their own organization; staff name the `client`."),
        request=OrderCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: OrderSerializer},
    )
    def create(self, request):
        organization = organization_of(request.user)
        if organization is not None:
            given = request.data.get("client") if isinstance(request.data, Mapping) else None
            if given not in (None, "") and str(given) != str(organization.pk):
                raise ValidationError({"client": [_("You can only place orders for your own organization.")]})
        fields = dict(validated(OrderCreateSerializer(data=request.data)))
        named_client = fields.pop("client", None)
        client = organization or named_client
        if client is None:
            raise ValidationError({"client": [_("Name the client organization the order is for.")]})
        order = services.order_submit(
            client=client, actor=request.user, submission_key=submissions.key_of_request(request), **fields
        )
        answer = self._order(order.pk).data
        return created(request, answer, at="api-order-detail", pk=order.pk, replayed=submissions.replayed(order))

    @extend_schema(
        summary=_("Quote an order before placing it"),
        description=_("The promised delivery date, compute and cost an order would get now. Places nothing."),
        parameters=[QuoteQuerySerializer],
        responses=QuoteSerializer,
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def quote(self, request):
        params = validated(QuoteQuerySerializer(data=request.query_params))
        services.check_priority_allowed(actor=request.user, priority=params["priority"])
        return Response(QuoteSerializer(quote(**params)).data)

    @extend_schema(
        summary=_("The order's timeline"),
        description=_("Oldest first unless sorted otherwise. Clients do not see the factory's internal events."),
        responses=OrderEventSerializer(many=True),
    )
    # The rows listed are the order's events: their filter set and their model (for the schema).
    @action(detail=True, methods=["get"], queryset=OrderEvent.objects.none(), filterset_class=OrderEventFilter)
    def events(self, request, pk=None):
        order = order_for_user(request.user, pk)
        page = self.paginate_queryset(self.filter_queryset(selectors.order_events(user=request.user, order=order)))
        rows = selectors.events_as_seen_by(user=request.user, order=order, events=page)
        return self.get_paginated_response(OrderEventSerializer(rows, many=True).data)

    # --- Operations -----------------------------------------------------------------------------------

    @_action_schema(summary=_("Accept a submitted order (operations)"))
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        order = order_for_user(request.user, pk)
        permissions.check(request.user, permissions.ACCEPT)
        services.order_accept(order=order, actor=request.user)
        return self._order(order.pk)

    @_action_schema(
        summary=_("Reject a submitted order (operations)"),
        request=ReasonSerializer,
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        order = order_for_user(request.user, pk)
        permissions.check(request.user, permissions.REJECT)
        services.order_reject(order=order, actor=request.user, **validated(ReasonSerializer(data=request.data)))
        return self._order(order.pk)

    @_action_schema(
        summary=_("Cancel an order"),
        description=_("Operations until delivery; the owning client only before the order is accepted."),
        request=ReasonSerializer,
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        order = order_for_user(request.user, pk)
        permissions.check(request.user, permissions.CANCEL, order)
        services.order_cancel(order=order, actor=request.user, **validated(ReasonSerializer(data=request.data)))
        return self._order(order.pk)

    @_action_schema(summary=_("Start production of an accepted order (operations)"))
    @action(detail=True, methods=["post"], url_path="start-production")
    def start_production(self, request, pk=None):
        order = order_for_user(request.user, pk)
        permissions.check(request.user, permissions.START)
        services.order_start_production(order=order, actor=request.user)
        return self._order(order.pk)

    @_action_schema(summary=_("Deliver an order ready for delivery (operations)"))
    @action(detail=True, methods=["post"])
    def deliver(self, request, pk=None):
        order = order_for_user(request.user, pk)
        permissions.check(request.user, permissions.DELIVER)
        services.order_deliver(order=order, actor=request.user)
        return self._order(order.pk)

    @_action_schema(
        summary=_("Record a requirement change (operations, after-sales)"),
        description=_("Named finished steps of the workshop in production are redone."),
        request=RequirementChangeCreateSerializer,
        responses={201: RequirementChangeSerializer},
    )
    @action(detail=True, methods=["post"], url_path="requirement-changes")
    def requirement_changes(self, request, pk=None):
        order = order_for_user(request.user, pk)
        permissions.check(request.user, permissions.REQUIREMENT_CHANGE)
        change = validated(RequirementChangeCreateSerializer(data=request.data))
        recorded = services.order_record_requirement_change(
            order=order,
            actor=request.user,
            text=change["text"],
            rework_steps=_steps_of(order, change["rework_steps"]),
        )
        # Read back as the newest requirement_change event of the order's timeline.
        body = RequirementChangeSerializer(recorded).data
        return created(request, body, at="api-order-events", pk=order.pk, query={"sort": "newest"})

    # --- The client ----------------------------------------------------------------------------------

    @_action_schema(summary=_("Confirm receipt of a delivered order (client)"))
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        order = order_for_user(request.user, pk)
        permissions.check(request.user, permissions.CONFIRM, order)
        services.order_confirm(order=order, actor=request.user)
        return self._order(order.pk)

    @_action_schema(
        summary=_("Rate a delivered order once, 1 to 5 (client)"),
        request=RateSerializer,
    )
    @action(detail=True, methods=["post"])
    def rate(self, request, pk=None):
        order = order_for_user(request.user, pk)
        permissions.check(request.user, permissions.RATE, order)
        services.order_rate(order=order, actor=request.user, **validated(RateSerializer(data=request.data)))
        return self._order(order.pk)


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    organization = serializers.CharField(allow_null=True)


class MeView(APIView):
    """Who the API caller is: username, staff roles and client organization."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        organization = organization_of(request.user)
        return Response(
            MeSerializer(
                {
                    "username": request.user.get_username(),
                    "roles": sorted(roles.roles_of(request.user)),
                    "organization": organization.name if organization else None,
                }
            ).data
        )

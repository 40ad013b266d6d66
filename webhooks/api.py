"""The webhooks API (API.md "Notifications and webhooks"), under /api/v1/webhooks/ and /api/v1/webhook-deliveries/.

Client users manage their organization's endpoints; another organization's endpoint or delivery answers 404. Staff
are refused (403): a client's integrations, their URLs and secrets, are the client's. An endpoint's signing secret is
write-only: the client gives it when registering, and no answer holds it. Each operation parses its
input, finds the object through webhooks.selectors, calls one service and answers; domain errors become 400
{"field": [...]}, 403 or 409 in factory.api.exception_handler.
"""

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from factory import submissions
from factory.api import IDEMPOTENCY_KEY, created, validated
from orders.access import organization_of
from webhooks import selectors, services
from webhooks.filters import DeliveryFilter, EndpointFilter
from webhooks.models import SECRET_MAX, SECRET_MIN, Delivery, Endpoint
from webhooks.serializers import DeliverySerializer, EndpointCreateSerializer, EndpointSerializer


class IsClientUser(BasePermission):
    """Client users only; staff roles are refused (403)."""

    message = _("Webhooks are managed by the client organization's own people.")

    def has_permission(self, request, view):
        return organization_of(request.user) is not None


@extend_schema_view(
    list=extend_schema(
        summary=_("Your organization's webhook endpoints"),
        description=_("Newest first; disabled endpoints included (`active` false)."),
        responses=EndpointSerializer(many=True),
    ),
    retrieve=extend_schema(summary=_("One webhook endpoint"), responses=EndpointSerializer),
)
class EndpointViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, IsClientUser]
    serializer_class = EndpointSerializer
    filterset_class = EndpointFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Endpoint.objects.none()
        return selectors.endpoints_visible_to(self.request.user)

    def retrieve(self, request, pk=None):
        return Response(EndpointSerializer(selectors.endpoint_detail(user=request.user, pk=pk)).data)

    @extend_schema(
        summary=_("Register an endpoint"),
        description=format_lazy(
            _(
                'The factory POSTs each event of the kinds in `events` to `url` as JSON `{{"id", "event", '
                '"created_at", "data"}}`, signed in the `Factory-Signature` header with the `secret` you give here '
                "({min} to {max} characters, yours to keep: it is never answered or shown again). A URL that is not "
                "http or https, or whose host is an address of a private network, answers 400, as does a secret too "
                "short."
            ),
            min=SECRET_MIN,
            max=SECRET_MAX,
        ),
        request=EndpointCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: EndpointSerializer},
    )
    def create(self, request):
        data = validated(EndpointCreateSerializer(data=request.data))
        endpoint = services.endpoint_register(
            client=organization_of(request.user),
            actor=request.user,
            url=data["url"],
            kinds=data["events"],
            secret=data["secret"],
            submission_key=submissions.key_of_request(request),
        )
        answer = EndpointSerializer(endpoint).data
        return created(
            request, answer, at="api-webhook-detail", pk=endpoint.pk, replayed=submissions.replayed(endpoint)
        )

    @extend_schema(
        summary=_("Disable an endpoint"),
        description=_(
            "Nothing more is sent to it; deliveries still waiting are recorded as failed. An endpoint already "
            "disabled answers 409."
        ),
        request=None,
        responses=EndpointSerializer,
    )
    @action(detail=True, methods=["post"])
    def disable(self, request, pk=None):
        endpoint = selectors.endpoint_detail(user=request.user, pk=pk)
        return Response(EndpointSerializer(services.endpoint_disable(endpoint=endpoint, actor=request.user)).data)

    @extend_schema(
        summary=_("The endpoint's deliveries"),
        description=_("Newest event first: each event's delivery with its attempts and the last answer."),
        responses=DeliverySerializer(many=True),
    )
    # The rows listed are the endpoint's deliveries: their filter set and their model (for the schema).
    @action(detail=True, methods=["get"], queryset=Delivery.objects.none(), filterset_class=DeliveryFilter)
    def deliveries(self, request, pk=None):
        endpoint = selectors.endpoint_detail(user=request.user, pk=pk)
        page = self.paginate_queryset(self.filter_queryset(selectors.deliveries_of(endpoint)))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)


class DeliveryViewSet(viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, IsClientUser]
    serializer_class = DeliverySerializer

    def get_queryset(self):
        return Delivery.objects.none()  # each operation finds its delivery through webhooks.selectors

    @extend_schema(
        summary=_("Send a delivery again"),
        description=_(
            "A delivered or failed delivery is sent again now, with the same event id, and retried for another day "
            "if it fails. One still waiting to be sent, or to a disabled endpoint, answers 409."
        ),
        request=None,
        responses=DeliverySerializer,
    )
    @action(detail=True, methods=["post"])
    def resend(self, request, pk=None):
        delivery = selectors.delivery_detail(user=request.user, pk=pk)
        return Response(DeliverySerializer(services.delivery_resend(delivery=delivery, actor=request.user)).data)

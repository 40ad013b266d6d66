"""The after-sales API (API.md "After-sales"), under /api/v1/tickets/.

After-sales and operations staff see every ticket; a client user sees their organization's (another
organization's ticket answers 404); other staff roles are refused (403). Each action parses its input, finds
the ticket through aftersales.selectors, calls one service and answers with the ticket; domain errors become
400 {"field": [...]}, 403 or 409 in factory.api.exception_handler. Nothing is edited or deleted directly: the
severity changes through /severity/ (staff only), so a client can never re-grade their own ticket.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from aftersales import permissions, selectors, services
from aftersales.filters import TicketFilter
from aftersales.models import Ticket
from aftersales.serializers import (
    FollowUpOrderCreateSerializer,
    TicketCreateSerializer,
    TicketMessageCreateSerializer,
    TicketMoveSerializer,
    TicketRateSerializer,
    TicketSerializer,
    TicketSeveritySerializer,
)
from factory import submissions
from factory.api import IDEMPOTENCY_KEY, ConditionalDetail, created, validated
from orders import selectors as order_selectors
from orders.access import orders_visible_to, organization_of
from orders.models import Order
from orders.serializers import OrderSerializer


class HasTicketAccess(BasePermission):
    """After-sales and operations staff, and client users; other staff roles are refused (403)."""

    message = _("Your account does not have access to tickets.")

    def has_permission(self, request, view):
        user = request.user
        return permissions.is_ticket_staff(user) or organization_of(user) is not None


@extend_schema_view(
    list=extend_schema(
        summary=_("Tickets the caller may see"),
        description=_(
            "After-sales and operations staff see every ticket; client users their organization's. Newest first, "
            "or `sort=urgency` for the staff queue's order (the running SLA deadline soonest first)."
        ),
        responses=TicketSerializer(many=True),
    ),
    retrieve=extend_schema(
        summary=_("One ticket with its thread"),
        description=_('Client users do not get internal notes, and read staff authors as "Factory support".'),
        responses=TicketSerializer,
    ),
)
class TicketViewSet(ConditionalDetail, mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, HasTicketAccess]
    serializer_class = TicketSerializer
    filterset_class = TicketFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Ticket.objects.none()
        user = self.request.user
        return selectors.tickets_visible_to(user).prefetch_related(selectors.thread_for(user))

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["staff"] = permissions.is_ticket_staff(self.request.user)
        return context

    def _ticket(self, pk) -> Response:
        ticket = selectors.ticket_detail(user=self.request.user, pk=pk)
        return Response(self.get_serializer(ticket).data)

    def detail_json(self, pk) -> bytes:
        return JSONRenderer().render(self._ticket(pk).data)

    @extend_schema(
        summary=_("Open a ticket on a delivered order"),
        description=_(
            "Client users open tickets on their own organization's delivered orders; after-sales and operations "
            "staff on any delivered order, for its client. The due times follow the severity's SLA policy. An "
            'order the caller cannot see answers 400 {"order": ["No such order."]}, as an unknown id does.'
        ),
        request=TicketCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: TicketSerializer},
    )
    def create(self, request):
        orders = orders_visible_to(request.user, Order.objects.all())
        data = validated(TicketCreateSerializer(data=request.data, orders=orders))
        ticket = services.ticket_open(actor=request.user, submission_key=submissions.key_of_request(request), **data)
        answer = self._ticket(ticket.pk).data
        return created(request, answer, at="api-ticket-detail", pk=ticket.pk, replayed=submissions.replayed(ticket))

    @extend_schema(
        summary=_("Write to the thread"),
        description=_(
            "A staff reply is the first response and starts work on an open ticket; a client's reply brings a ticket "
            "waiting for them (or resolved) back to work. `internal` notes are for staff only (403 for clients). "
            "Answers with the ticket."
        ),
        request=TicketMessageCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: TicketSerializer},
    )
    @action(detail=True, methods=["post"])
    def messages(self, request, pk=None):
        ticket = selectors.ticket_detail(user=request.user, pk=pk)
        data = validated(TicketMessageCreateSerializer(data=request.data))
        message = services.ticket_post_message(
            ticket=ticket, actor=request.user, submission_key=submissions.key_of_request(request), **data
        )
        answer = self._ticket(ticket.pk).data
        return created(request, answer, at="api-ticket-detail", pk=ticket.pk, replayed=submissions.replayed(message))

    @extend_schema(
        summary=_("Move a ticket along its status flow"),
        description=_(
            "Staff move it wherever the flow allows; the client may close a resolved ticket or reopen it with a "
            "note. A move the flow does not allow answers 409. The note goes to the client as a message."
        ),
        request=TicketMoveSerializer,
        responses=TicketSerializer,
    )
    @action(detail=True, methods=["post"])
    def status(self, request, pk=None):
        ticket = selectors.ticket_detail(user=request.user, pk=pk)
        data = validated(TicketMoveSerializer(data=request.data))
        services.ticket_change_status(ticket=ticket, actor=request.user, **data)
        return self._ticket(ticket.pk)

    @extend_schema(
        summary=_("Change an active ticket's severity (staff)"),
        description=_("The due times follow the new severity's SLA policy, counted from the opening."),
        request=TicketSeveritySerializer,
        responses=TicketSerializer,
    )
    @action(detail=True, methods=["post"])
    def severity(self, request, pk=None):
        ticket = selectors.ticket_detail(user=request.user, pk=pk)
        permissions.check_staff(request.user)
        data = validated(TicketSeveritySerializer(data=request.data))
        services.ticket_change_severity(ticket=ticket, actor=request.user, **data)
        return self._ticket(ticket.pk)

    @extend_schema(
        summary=_("Rate a resolved ticket once, 1 to 5 (client)"),
        description=_("Rating a resolved ticket also closes it. A second rating answers 409."),
        request=TicketRateSerializer,
        responses=TicketSerializer,
    )
    @action(detail=True, methods=["post"])
    def rate(self, request, pk=None):
        ticket = selectors.ticket_detail(user=request.user, pk=pk)
        permissions.check_client(request.user, ticket)
        data = validated(TicketRateSerializer(data=request.data))
        services.ticket_rate(ticket=ticket, actor=request.user, **data)
        return self._ticket(ticket.pk)

    @extend_schema(
        summary=_("Place a follow-up order from a ticket (staff)"),
        description=_(
            "A new order for the ticket's client, linked to the ticket's order as its parent. Product type, size, "
            "priority, data sensitivity and sector default to the parent order's. Answers with the new order; a "
            "ticket that already has a follow-up order answers 409."
        ),
        request=FollowUpOrderCreateSerializer,
        responses={201: OrderSerializer},
    )
    @action(detail=True, methods=["post"], url_path="follow-up-order")
    def follow_up_order(self, request, pk=None):
        ticket = selectors.ticket_detail(user=request.user, pk=pk)
        permissions.check_staff(request.user)
        data = validated(FollowUpOrderCreateSerializer(data=request.data))
        order = services.ticket_create_follow_up_order(ticket=ticket, actor=request.user, **data)
        order = order_selectors.order_list(user=request.user).get(pk=order.pk)
        body = OrderSerializer(order, context=self.get_serializer_context()).data
        return created(request, body, at="api-order-detail", pk=order.pk)

"""The dispatch REST API (API.md "Dispatch"): /api/v1/pools/ and /api/v1/jobs/, and the orders' priority
action POST /api/v1/orders/{id}/priority/ (API.md "Orders"), served here because it moves the order's jobs and
orders does not import dispatch; the schema lists it with the orders' endpoints.

Staff of any role may read; client users get 403, anonymous callers 401. Changing a pool's state is for
the dispatch role, an order's priority for the roles of dispatch.permissions. Thin on purpose: parse the
input, find the pool or order (dispatch.selectors, orders.access), call one service, answer with the pool or
order. Domain errors become 400/409 in factory.api.exception_handler.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from dispatch import selectors, services
from dispatch.filters import JobFilter, PoolFilter
from dispatch.models import ComputePool, Job
from dispatch.permissions import POOL_ACTION_ROLES, check_reprioritize
from dispatch.serializers import (
    JobSerializer,
    PoolActionSerializer,
    PoolSerializer,
    PriorityChangeSerializer,
    UtilizationQuerySerializer,
    UtilizationSampleSerializer,
)
from factory import clock, roles
from factory.api import ConditionalAction
from factory.schema import ERROR_DESCRIPTIONS
from orders import selectors as order_selectors
from orders.access import order_for_user
from orders.api import order_detail_json
from orders.models import Order
from orders.serializers import OrderSerializer

StaffOnly = roles.role_permission()
DispatchOnly = roles.role_permission(*POOL_ACTION_ROLES)

POOL_ACTIONS = {
    "drain": (
        _("Drain a pool (dispatch role)"),
        _("Running jobs finish; no new job starts on the pool. Allowed from active."),
    ),
    "offline": (
        _("Take a pool offline (dispatch role)"),
        _("Running jobs stop at once and go back to the queue with their progress. Allowed from active or draining."),
    ),
    "activate": (
        _("Activate a pool (dispatch role)"),
        _("The pool takes new jobs again at the next dispatch tick. Allowed from draining or offline."),
    ),
}


def _pool_action_schema(name: str):
    summary, description = POOL_ACTIONS[name]
    return extend_schema(
        summary=summary,
        description=description,
        request=PoolActionSerializer,
        responses=PoolSerializer,
    )


@extend_schema_view(
    list=extend_schema(
        summary=_("Compute pools"),
        description=_("Every pool with its current load; in-province sites first unless sorted otherwise."),
    ),
    retrieve=extend_schema(summary=_("One compute pool"), responses=PoolSerializer),
)
class PoolViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, StaffOnly]
    serializer_class = PoolSerializer
    filterset_class = PoolFilter
    queryset = ComputePool.objects.none()  # for the schema; requests use the selector

    def get_queryset(self):
        return selectors.pool_list()

    def _pool(self, pk) -> Response:
        return Response(PoolSerializer(selectors.pool_for(pk)).data)

    def retrieve(self, request, pk=None):
        return self._pool(pk)

    @extend_schema(
        summary=_("A pool's utilization over time"),
        description=_(
            "One sample per dispatch tick within the last `hours` hours of the factory clock, oldest first: a time "
            "series that `hours` bounds (an hours out of its range answers 400), so one array, neither paged nor "
            "sorted like the lists."
        ),
        parameters=[UtilizationQuerySerializer],
        responses=UtilizationSampleSerializer(many=True),
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def utilization(self, request, pk=None):
        pool = selectors.pool_for(pk)
        params = UtilizationQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        samples = selectors.pool_utilization(pool=pool, hours=params.validated_data["hours"], now=clock.now())
        return Response(UtilizationSampleSerializer(samples, many=True).data)

    def _change_state(self, request, pk, name: str) -> Response:
        pool = selectors.pool_for(pk)
        body = PoolActionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.pool_change_state(pool=pool, action=name, actor=request.user, reason=body.validated_data["reason"])
        return self._pool(pool.pk)

    @_pool_action_schema("drain")
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated, DispatchOnly])
    def drain(self, request, pk=None):
        return self._change_state(request, pk, "drain")

    @_pool_action_schema("offline")
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated, DispatchOnly])
    def offline(self, request, pk=None):
        return self._change_state(request, pk, "offline")

    @_pool_action_schema("activate")
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated, DispatchOnly])
    def activate(self, request, pk=None):
        return self._change_state(request, pk, "activate")


@extend_schema_view(
    list=extend_schema(
        summary=_("Jobs"),
        description=_(
            "Every order step's compute: running first, then waiting by priority, then done. "
            "`state=waiting` lists queued and preempted jobs together."
        ),
    ),
    retrieve=extend_schema(summary=_("One job"), responses=JobSerializer),
)
class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, StaffOnly]
    serializer_class = JobSerializer
    filterset_class = JobFilter
    queryset = Job.objects.none()  # for the schema; requests use the selector

    def get_queryset(self):
        return selectors.job_list()


class OrderPriorityView(ConditionalAction, GenericAPIView):
    """POST /api/v1/orders/{id}/priority/: as the orders API answers, 404 first (another client's order), then
    403 (the role), then 400 (the body), then what the service says."""

    permission_classes = [IsAuthenticated]
    serializer_class = PriorityChangeSerializer
    queryset = Order.objects.none()  # for the schema and the lock; requests use orders.access and orders.selectors

    def detail_json(self, pk) -> bytes:
        """An action on the order, checked against the version its own detail answers (If-Match)."""
        return order_detail_json(self.request, pk, order_selectors.order_list(user=self.request.user))

    @extend_schema(
        tags=["orders"],
        operation_id="orders_priority_create",
        summary=_("Change an order's priority (operations, dispatch)"),
        description=_(
            "The one way to change an order's priority: its queued and running jobs take the new priority at once "
            "(the next dispatch tick places them by it) and the change is logged with its reason on the order's "
            "timeline. Allowed while the order is submitted, accepted, in production or awaiting review."
        ),
        request=PriorityChangeSerializer,
        responses={
            200: OrderSerializer,
            # The role is checked in the view (after the 404), where factory.schema does not see it.
            403: OpenApiResponse(description=ERROR_DESCRIPTIONS[403]),
        },
    )
    def post(self, request, pk):
        order = order_for_user(request.user, pk)
        check_reprioritize(request.user)
        body = PriorityChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.order_reprioritize(order=order, actor=request.user, **body.validated_data)
        changed = order_for_user(request.user, order.pk, order_selectors.order_list(user=request.user))
        return Response(OrderSerializer(changed, context={"request": request}).data)

"""The dispatch REST API (API.md "Dispatch"): /api/v1/pools/ and /api/v1/jobs/.

Staff of any role may read; client users get 403, anonymous callers 401. Changing a pool's state is for
the dispatch role. Thin on purpose: parse the input, find the pool through dispatch.selectors, call one
service, answer with the pool. Domain errors become 400/409 in factory.api.exception_handler.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from dispatch import selectors, services
from dispatch.filters import JobFilter
from dispatch.models import ComputePool, Job
from dispatch.serializers import (
    JobSerializer,
    PoolActionSerializer,
    PoolSerializer,
    UtilizationQuerySerializer,
    UtilizationSampleSerializer,
)
from factory import clock, roles
from orders.serializers import ErrorDetailSerializer

StaffOnly = roles.role_permission()
DispatchOnly = roles.role_permission(roles.DISPATCH)

FIELD_ERRORS = OpenApiResponse(OpenApiTypes.OBJECT, description=_('Invalid input: {"field": ["message", ...]}.'))
NOT_ALLOWED = OpenApiResponse(ErrorDetailSerializer, description=_("Your role may not do this."))
NOT_FOUND = OpenApiResponse(ErrorDetailSerializer, description=_("No such object."))
CONFLICT = OpenApiResponse(ErrorDetailSerializer, description=_("The pool's current state does not allow this."))

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
        responses={200: PoolSerializer, 400: FIELD_ERRORS, 403: NOT_ALLOWED, 404: NOT_FOUND, 409: CONFLICT},
    )


@extend_schema_view(
    list=extend_schema(
        summary=_("Compute pools"),
        description=_("Every pool with its current load, in-province pools first. Not paginated (pools are few)."),
        responses={200: PoolSerializer(many=True), 403: NOT_ALLOWED},
    ),
    retrieve=extend_schema(summary=_("One compute pool"), responses={200: PoolSerializer, 404: NOT_FOUND}),
)
class PoolViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, StaffOnly]
    serializer_class = PoolSerializer
    pagination_class = None
    filter_backends = []
    queryset = ComputePool.objects.none()  # for the schema; requests use the selector

    def get_queryset(self):
        return selectors.pool_list()

    def _pool(self, pk) -> Response:
        return Response(PoolSerializer(selectors.pool_for(pk)).data)

    def retrieve(self, request, pk=None):
        return self._pool(pk)

    @extend_schema(
        summary=_("A pool's utilization over time"),
        description=_("One sample per dispatch tick within the last `hours` hours of the factory clock, oldest first."),
        parameters=[UtilizationQuerySerializer],
        responses={200: UtilizationSampleSerializer(many=True), 400: FIELD_ERRORS, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"])
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
        responses={200: JobSerializer(many=True), 400: FIELD_ERRORS, 403: NOT_ALLOWED},
    ),
    retrieve=extend_schema(summary=_("One job"), responses={200: JobSerializer, 404: NOT_FOUND}),
)
class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, StaffOnly]
    serializer_class = JobSerializer
    filterset_class = JobFilter
    queryset = Job.objects.none()  # for the schema; requests use the selector

    def get_queryset(self):
        return selectors.job_list()

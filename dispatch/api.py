"""The dispatch REST API (API.md "Dispatch", "Planning"): /api/v1/pools/, /api/v1/jobs/, /api/v1/scenarios/ and
/api/v1/reservations/, and the orders' priority
action POST /api/v1/orders/{id}/priority/ (API.md "Orders"), served here because it moves the order's jobs and
orders does not import dispatch; the schema lists it with the orders' endpoints.

Staff of any role may read; client users get 403, anonymous callers 401. Changing a pool's state is for
the dispatch role, an order's priority for the roles of dispatch.permissions. Thin on purpose: parse the
input, find the pool or order (dispatch.selectors, orders.access), call one service, answer with the pool or
order. Domain errors become 400/409 in factory.api.exception_handler.
"""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from dispatch import selectors, services
from dispatch.filters import JobFilter, PoolChangeFilter, PoolFilter, ReservationFilter, ScenarioFilter
from dispatch.models import ComputePool, Job, Reservation, Scenario, ScenarioRun, ScheduledPoolChange
from dispatch.permissions import POOL_ACTION_ROLES, SCENARIO_ROLES, VIEW_ROLES, check_pool_booking, check_reprioritize
from dispatch.serializers import (
    JobSerializer,
    PoolActionSerializer,
    PoolChangeCreateSerializer,
    PoolSerializer,
    PriorityChangeSerializer,
    PromoteSerializer,
    PromotionSerializer,
    ReservationCancelSerializer,
    ReservationCreateSerializer,
    ReservationSerializer,
    ScenarioChangeSerializer,
    ScenarioCreateSerializer,
    ScenarioDetailSerializer,
    ScenarioRemoveChangeSerializer,
    ScenarioRunSerializer,
    ScenarioSerializer,
    ScheduledPoolChangeSerializer,
    UtilizationQuerySerializer,
    UtilizationSampleSerializer,
)
from factory import clock, roles, submissions
from factory.api import IDEMPOTENCY_KEY, ConditionalAction, created, validated
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
        hours = validated(UtilizationQuerySerializer(data=request.query_params))["hours"]
        samples = selectors.pool_utilization(pool=pool, hours=hours, now=clock.now())
        return Response(UtilizationSampleSerializer(samples, many=True).data)

    def _change_state(self, request, pk, name: str) -> Response:
        pool = selectors.pool_for(pk)
        reason = validated(PoolActionSerializer(data=request.data))["reason"]
        services.pool_change_state(pool=pool, action=name, actor=request.user, reason=reason)
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
        change = validated(PriorityChangeSerializer(data=request.data))
        services.order_reprioritize(order=order, actor=request.user, **change)
        changed = order_for_user(request.user, order.pk, order_selectors.order_list(user=request.user))
        return Response(OrderSerializer(changed, context={"request": request}).data)


# --- What-if scenarios ----------------------------------------------------------------------------------------

Planners = roles.role_permission(*SCENARIO_ROLES)
RUN_LOCATION = OpenApiParameter(
    "Location",
    OpenApiTypes.URI,
    OpenApiParameter.HEADER,
    response=[202],
    required=True,
    description=_("The run's URL: read it until its state is done or failed."),
)


def _scenario(request, pk) -> Response:
    return Response(ScenarioDetailSerializer(selectors.scenario_for(pk, with_runs=True)).data)


@extend_schema_view(
    list=extend_schema(
        summary=_("What-if scenarios (dispatch, operations)"),
        description=_(
            "The scenarios in use, newest first, each with its latest run; `archived=true` lists the archived ones. "
            "A scenario is the present factory plus a list of changes; running it simulates the factory with and "
            "without them from the moment it runs."
        ),
    ),
    retrieve=extend_schema(summary=_("One scenario with its runs"), responses=ScenarioDetailSerializer),
)
class ScenarioViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, Planners]
    serializer_class = ScenarioSerializer
    filterset_class = ScenarioFilter
    queryset = Scenario.objects.none()  # for the schema; requests use the selector

    def get_queryset(self):
        return selectors.scenarios()

    def retrieve(self, request, pk=None):
        return _scenario(request, pk)

    @extend_schema(
        summary=_("Make a scenario, and run it"),
        description=_(
            "A name, a horizon of 1 to 365 days and its changes (each refused with its field errors, numbered: "
            "`#2 pool: No such pool.`). With changes, its first run is queued at once (`status` queued): one run at a "
            "time per person, so while yours is still going this answers 409 and makes nothing. Without changes it "
            "waits for them (`status` null): add them, then run it."
        ),
        request=ScenarioCreateSerializer,
        responses={201: ScenarioDetailSerializer},
        parameters=[IDEMPOTENCY_KEY],
    )
    def create(self, request):
        scenario = services.scenario_create_and_run(
            actor=request.user,
            submission_key=submissions.key_of_request(request),
            **validated(ScenarioCreateSerializer(data=request.data)),
        )
        answer = ScenarioDetailSerializer(selectors.scenario_for(scenario.pk, with_runs=True)).data
        replayed = submissions.replayed(scenario)
        return created(request, answer, at="api-scenario-detail", pk=scenario.pk, replayed=replayed)

    @extend_schema(
        summary=_("Add a change to a scenario"),
        description=_("Refused (409) once the scenario is archived. Runs made before keep the changes they ran with."),
        request=ScenarioChangeSerializer,
        responses=ScenarioDetailSerializer,
    )
    @action(detail=True, methods=["post"])
    def changes(self, request, pk=None):
        scenario = selectors.scenario_for(pk)
        services.scenario_add_change(
            scenario=scenario, actor=request.user, change=validated(ScenarioChangeSerializer(data=request.data))
        )
        return _scenario(request, scenario.pk)

    @extend_schema(
        summary=_("Remove a change from a scenario"),
        description=_("By its number in the scenario's changes, from 1. Refused (409) once the scenario is archived."),
        request=ScenarioRemoveChangeSerializer,
        responses=ScenarioDetailSerializer,
    )
    @action(detail=True, methods=["post"], url_path="remove-change")
    def remove_change(self, request, pk=None):
        scenario = selectors.scenario_for(pk)
        number = validated(ScenarioRemoveChangeSerializer(data=request.data))["number"]
        services.scenario_remove_change(scenario=scenario, actor=request.user, number=number)
        return _scenario(request, scenario.pk)

    @extend_schema(
        summary=_("Archive a scenario"),
        description=_("It leaves the list and keeps its runs and results; it takes no changes or runs. No body."),
        request=None,
        responses=ScenarioDetailSerializer,
    )
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        scenario = selectors.scenario_for(pk)
        services.scenario_archive(scenario=scenario, actor=request.user)
        return _scenario(request, scenario.pk)

    @extend_schema(
        summary=_("Run a scenario"),
        description=_(
            "Queues a simulation of the factory with and without the scenario's changes, from now over its horizon: "
            "202 with the run, whose URL (Location) tells its progress and, once done, its result. One run at a "
            "time per person: 409 while yours is still going; 409 too for an archived scenario or one without "
            "changes. No body."
        ),
        request=None,
        responses={202: ScenarioRunSerializer},
        parameters=[RUN_LOCATION],
    )
    @action(detail=True, methods=["post"])
    def run(self, request, pk=None):
        scenario = selectors.scenario_for(pk)
        run = services.scenario_run_start(scenario=scenario, actor=request.user)
        location = request.build_absolute_uri(reverse("api-scenario-run-detail", kwargs={"pk": run.pk}))
        answer = ScenarioRunSerializer(selectors.run_for(run.pk)).data
        return Response(answer, status=status.HTTP_202_ACCEPTED, headers={"Location": location})


@extend_schema_view(
    retrieve=extend_schema(
        summary=_("One run of a scenario, with its result"),
        description=_(
            "Its state and progress (0 to 1) while it runs; once done, its result: per order the ETA without and "
            "with the changes and the slip, and for each side the on-time rate, utilization per pool kind over "
            "the horizon and the mean queue wait per priority. `result` is null until the run is done."
        ),
        responses=ScenarioRunSerializer,
    ),
)
class ScenarioRunViewSet(viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, Planners]
    serializer_class = ScenarioRunSerializer
    queryset = ScenarioRun.objects.none()  # for the schema; requests use the selector

    def retrieve(self, request, pk=None):
        return Response(ScenarioRunSerializer(selectors.run_for(pk)).data)

    @extend_schema(
        summary=_("Make a run's pool changes real (dispatch)"),
        description=_(
            "Makes the finished run's pool changes real, all or none, each recording the run and the reason: a pool "
            "offline or draining between two times becomes a maintenance window (`windows`), a capacity change a "
            "scheduled pool change and a new pool a pool made now, offline, scheduled to come online "
            "(`pool_changes`). The tick carries each out when its time comes; forecasts and quotes count them at "
            "once. Refused (409) when the run is not done, was promoted already, changes no pool, or a change "
            "conflicts with a booking (named)."
        ),
        request=PromoteSerializer,
        responses={201: PromotionSerializer},
    )
    @action(detail=True, methods=["post"])
    def promote(self, request, pk=None):
        run = selectors.run_for(pk)
        check_pool_booking(request.user)
        reason = validated(PromoteSerializer(data=request.data))["reason"]
        services.scenario_promote(run=run, actor=request.user, reason=reason)
        promoted = selectors.promoted(run=run, now=clock.now())
        answer = {"run": run.pk, "windows": promoted.windows, "pool_changes": promoted.pool_changes}
        return Response(PromotionSerializer(answer).data, status=201)


# --- Reservations and maintenance windows ----------------------------------------------------------------------

DispatchCenterStaff = roles.role_permission(*VIEW_ROLES)


def _reservation(pk) -> Response:
    booking = selectors.reservation_for(pk, now=clock.now())
    return Response(ReservationSerializer(booking).data)


@extend_schema_view(
    list=extend_schema(
        summary=_("Reservations and maintenance windows (dispatch, operations)"),
        description=_(
            "A pool's time booked ahead: room held for a client or an order (a reservation), or the whole pool closed "
            "(a maintenance window). Each with its `state` on the factory clock; cancelled and past ones stay listed "
            "as the record of what was planned. `in_force=true` lists the upcoming and under way ones."
        ),
    ),
    retrieve=extend_schema(summary=_("One reservation or maintenance window"), responses=ReservationSerializer),
)
class ReservationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, DispatchCenterStaff]
    serializer_class = ReservationSerializer
    filterset_class = ReservationFilter
    queryset = Reservation.objects.none()  # for the schema; requests use the selector

    def get_queryset(self):
        return selectors.reservations(now=clock.now())

    def retrieve(self, request, pk=None):
        return _reservation(pk)

    @extend_schema(
        summary=_("Book a pool's time (dispatch role)"),
        description=_(
            "A reservation holds `pflops` of the pool for one client or one order from `start` to `end`: the planner "
            "keeps that room for them and lets other work use it only if it finishes before `start`. A maintenance "
            "window (no `pflops`, client or order) closes the whole pool: no job starts there that would still run "
            "when it begins, running jobs are checkpointed and requeued when it starts, and the pool comes back at "
            "its end. Forecasts and quotes count both. Bad fields answer 400 by field; booking more than the pool's "
            "capacity at any moment, room in a window or a window over another booking answers 409 naming what it "
            "conflicts with."
        ),
        request=ReservationCreateSerializer,
        responses={201: ReservationSerializer},
        parameters=[IDEMPOTENCY_KEY],
    )
    def create(self, request):
        booking = services.reservation_create(
            actor=request.user,
            submission_key=submissions.key_of_request(request),
            **validated(ReservationCreateSerializer(data=request.data)),
        )
        answer = _reservation(booking.pk).data
        replayed = submissions.replayed(booking)
        return created(request, answer, at="api-reservation-detail", pk=booking.pk, replayed=replayed)

    @extend_schema(
        summary=_("Cancel a reservation or maintenance window (dispatch role)"),
        description=_(
            "It stays listed, cancelled, with who cancelled it, when and why. A maintenance window under way ends at "
            "once and its pool returns to the state it had before. One already cancelled or over answers 409."
        ),
        request=ReservationCancelSerializer,
        responses=ReservationSerializer,
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        booking = selectors.reservation_for(pk, now=clock.now())
        reason = validated(ReservationCancelSerializer(data=request.data))["reason"]
        services.reservation_cancel(reservation=booking, actor=request.user, reason=reason)
        return _reservation(booking.pk)

    def get_permissions(self):
        if self.action in ("create", "cancel"):
            return [IsAuthenticated(), DispatchOnly()]
        return super().get_permissions()


# --- Scheduled pool changes --------------------------------------------------------------------------------------


def _pool_change(pk) -> Response:
    return Response(ScheduledPoolChangeSerializer(selectors.scheduled_change_for(pk)).data)


@extend_schema_view(
    list=extend_schema(
        summary=_("Scheduled pool changes (dispatch, operations)"),
        description=_(
            "A pool's capacity and/or state set from a time on: more capacity from a date, a cut, a new pool coming "
            "online. The tick carries each out when its time comes (`carried_out_at`, with what the pool had "
            "before); forecasts and quotes count it at once. Cancelled and carried-out ones stay listed. "
            "`pending=true` lists those to come."
        ),
    ),
    retrieve=extend_schema(summary=_("One scheduled pool change"), responses=ScheduledPoolChangeSerializer),
)
class PoolChangeViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, DispatchCenterStaff]
    serializer_class = ScheduledPoolChangeSerializer
    filterset_class = PoolChangeFilter
    queryset = ScheduledPoolChange.objects.none()  # for the schema; requests use the selector

    def get_queryset(self):
        return selectors.scheduled_changes()

    def retrieve(self, request, pk=None):
        return _pool_change(pk)

    @extend_schema(
        summary=_("Schedule a pool change (dispatch role)"),
        description=_(
            "From `at` on (a time passed: at the next tick) the pool has `capacity_pflops` and/or is in `state`. A "
            "capacity cut below what runs then requeues the least urgent, latest started jobs with their progress "
            "until the rest fit. Bad fields answer 400 by field; a cut below what the pool's reservations hold "
            "after `at` answers 409 naming them."
        ),
        request=PoolChangeCreateSerializer,
        responses={201: ScheduledPoolChangeSerializer},
        parameters=[IDEMPOTENCY_KEY],
    )
    def create(self, request):
        change = services.pool_change_schedule(
            actor=request.user,
            submission_key=submissions.key_of_request(request),
            **validated(PoolChangeCreateSerializer(data=request.data)),
        )
        answer = _pool_change(change.pk).data
        replayed = submissions.replayed(change)
        return created(request, answer, at="api-pool-change-detail", pk=change.pk, replayed=replayed)

    @extend_schema(
        summary=_("Cancel a scheduled pool change (dispatch role)"),
        description=_(
            "It stays listed, cancelled, with who cancelled it, when and why; the pool keeps its capacity and state. "
            "One already cancelled or carried out answers 409."
        ),
        request=ReservationCancelSerializer,
        responses=ScheduledPoolChangeSerializer,
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        change = selectors.scheduled_change_for(pk)
        reason = validated(ReservationCancelSerializer(data=request.data))["reason"]
        services.pool_change_cancel(change=change, actor=request.user, reason=reason)
        return _pool_change(change.pk)

    def get_permissions(self):
        if self.action in ("create", "cancel"):
            return [IsAuthenticated(), DispatchOnly()]
        return super().get_permissions()

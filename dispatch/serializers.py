"""Shapes of the dispatch API (API.md "Dispatch"): compute as numbers, money as decimal strings.

Input serializers only parse types and shapes; what a pool's state allows is decided by
dispatch.services, so the API, the pages and the services never disagree.
"""

from datetime import datetime

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import PoolKind, ProductType, Size
from dispatch import display, scenario_changes, scenarios
from dispatch.models import (
    SCENARIO_CHANGES_MAX,
    SCENARIO_HORIZON_DAYS_MAX,
    WINDOW_STATES,
    ChangeKind,
    ComputePool,
    Job,
    PoolState,
    Reservation,
    ReservationKind,
    RunState,
    Scenario,
    ScenarioRun,
    ScheduledPoolChange,
    UtilizationSample,
)
from dispatch.selectors import UTILIZATION_MAX_HOURS, BookingState
from factory.api import InputSerializer, NonBlankCharField, QuerySerializer
from factory.limits import NAME_MAX, NOTE_MAX
from orders.models import ClientOrganization, DataSensitivity, Order, Priority


def _pflops(**kwargs):
    """A compute figure as a JSON number."""
    return serializers.DecimalField(max_digits=14, decimal_places=3, coerce_to_string=False, read_only=True, **kwargs)


# The pool's `kind` and the job's `pool_kind` share one enum component. Declared by reference here because
# drf-spectacular warns when one choice set appears under two property names ("PoolKindEnum" is the name
# it gives the pool's `kind`).
@extend_schema_field({"$ref": "#/components/schemas/PoolKindEnum"})
class PoolKindField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=PoolKind.choices, read_only=True, **kwargs)


class PoolSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.name", read_only=True, help_text=_("Name of the computing site."))
    site_city = serializers.CharField(source="site.city", read_only=True)
    in_province = serializers.BooleanField(source="site.in_province", read_only=True)
    capacity_pflops = _pflops(help_text=_("Capacity we may dispatch onto (PFLOPS)."))
    used_pflops = _pflops(help_text=_("Held by our running jobs (PFLOPS)."))
    background_pflops = _pflops(help_text=_("Used by the platform's other tenants (PFLOPS)."))
    free_pflops = _pflops(help_text=_("Room for new jobs now (PFLOPS); 0 unless the pool is active."))
    monitored_pflops = _pflops(
        source="site.monitored_pflops", help_text=_("What the site reports in total (PFLOPS), more than it lends us.")
    )
    price_per_pflops_hour = serializers.DecimalField(
        max_digits=8, decimal_places=2, read_only=True, help_text=_("CNY per PFLOPS·h, as a decimal string.")
    )
    running_jobs = serializers.IntegerField(read_only=True, help_text=_("Our jobs running on it now."))

    class Meta:
        model = ComputePool
        fields = [
            "id",
            "name",
            "site",
            "site_city",
            "in_province",
            "trusted",
            "kind",
            "capacity_pflops",
            "used_pflops",
            "background_pflops",
            "free_pflops",
            "monitored_pflops",
            "state",
            "price_per_pflops_hour",
            "running_jobs",
        ]
        read_only_fields = fields


class UtilizationSampleSerializer(serializers.ModelSerializer):
    used_pflops = _pflops()
    background_pflops = _pflops()
    capacity_pflops = _pflops()
    queued_jobs = serializers.IntegerField(read_only=True, help_text=_("Jobs of the pool's kind waiting then."))

    class Meta:
        model = UtilizationSample
        fields = ["at", "used_pflops", "background_pflops", "capacity_pflops", "queued_jobs"]
        read_only_fields = fields


class JobSerializer(serializers.ModelSerializer):
    order_reference = serializers.CharField(source="order.reference", read_only=True)
    client = serializers.IntegerField(source="order.client_id", read_only=True, help_text=_("Client organization id."))
    client_name = serializers.CharField(source="order.client.name", read_only=True)
    step_code = serializers.CharField(source="step.code", read_only=True)
    step_name = serializers.CharField(source="step.display_name", read_only=True)
    pool_name = serializers.CharField(source="pool.name", read_only=True, allow_null=True, default=None)
    demand_pflops = _pflops()
    work_pflops_hours = _pflops()
    done_pflops_hours = _pflops()
    pool_kind = PoolKindField(source="kind", help_text=_("The kind of pool the job needs."))
    priority = serializers.ChoiceField(choices=Priority.choices, read_only=True, help_text=_("The order's priority."))
    progress = serializers.SerializerMethodField(help_text=_("Share of the work done, 0 to 100."))
    pending_reason = serializers.CharField(
        read_only=True,
        help_text=_("Why a waiting job does not run (a code, e.g. no_room, residency); empty otherwise."),
    )
    pending_reason_display = serializers.SerializerMethodField(help_text=_("The pending reason in words."))
    cost = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, help_text=_("CNY so far, as a decimal string.")
    )

    class Meta:
        model = Job
        fields = [
            "id",
            "order",
            "order_reference",
            "client",
            "client_name",
            "step",
            "step_code",
            "step_name",
            "pool",
            "pool_name",
            "state",
            "priority",
            "pool_kind",
            "sensitive",
            "demand_pflops",
            "work_pflops_hours",
            "done_pflops_hours",
            "progress",
            "deadline",
            "queued_at",
            "started_at",
            "finished_at",
            "pending_reason",
            "pending_reason_display",
            "expected_start",
            "cost",
        ]
        read_only_fields = fields

    def get_progress(self, job) -> float:
        if not job.work_pflops_hours:
            return 0.0
        return round(float(job.done_pflops_hours / job.work_pflops_hours) * 100, 1)

    def get_pending_reason_display(self, job) -> str:
        if job.state not in ("queued", "preempted"):
            return ""
        return str(display.pending_reason(job.pending_reason).words)


# --- Inputs ---------------------------------------------------------------------------------------------


class UtilizationQuerySerializer(QuerySerializer):
    hours = serializers.IntegerField(
        min_value=1,
        max_value=UTILIZATION_MAX_HOURS,
        default=24,
        help_text=_("How many hours back from now, 1 to 720 (30 days)."),
    )


class PoolActionSerializer(InputSerializer):
    reason = serializers.CharField(
        max_length=NOTE_MAX, help_text=_("Why the pool's state changes (kept in its history).")
    )


class PromoteSerializer(InputSerializer):
    reason = serializers.CharField(
        max_length=NOTE_MAX, help_text=_("Why the run's changes are made real (kept on each window booked).")
    )


class PriorityChangeSerializer(InputSerializer):
    """POST /api/v1/orders/{id}/priority/: the order's new priority, and why (on the order's timeline)."""

    priority = serializers.ChoiceField(
        choices=Priority.choices, help_text=_("The new priority; the order's queued and running jobs take it at once.")
    )
    reason = serializers.CharField(max_length=NOTE_MAX, help_text=_("Why the priority changes."))


# --- What-if scenarios ----------------------------------------------------------------------------------------


# The API speaks API.md's shape of a change, `{"type": ..., its fields}`; scenarios keep dispatch.scenario_changes's
# (`kind`), which the pages and services read. Each wire type is one kind, but `pool_state`, whose `state` picks it,
# and a few fields have the contract's names.
_KIND_OF_TYPE = {
    "pool_capacity": ChangeKind.POOL_CAPACITY,
    "new_pool": ChangeKind.NEW_POOL,
    "background": ChangeKind.BACKGROUND,
    "add_order": ChangeKind.ORDERS,
    "arrival_rate": ChangeKind.ARRIVAL_RATE,
    "policy": ChangeKind.POLICY,
}
_KIND_OF_STATE = {PoolState.OFFLINE: ChangeKind.POOL_OFFLINE, PoolState.DRAINING: ChangeKind.POOL_DRAINING}
_WIRE_NAME = {
    "kind": "type",
    "capacity": "capacity_pflops",
    "due": "requested_delivery",
    "parameter": "name",
    "hours": "value",
}
_KEPT_NAME = {wire: kept for kept, wire in _WIRE_NAME.items()}


def _kept_change(wire: dict) -> dict:
    """The change as a scenario keeps it, from the API's shape."""
    change = {_KEPT_NAME.get(name, name): value for name, value in wire.items() if name != "state"}
    if wire["type"] == "pool_state":
        if wire.get("state") not in _KIND_OF_STATE:
            raise serializers.ValidationError({"state": [_("Choose offline or draining.")]})
        change["kind"] = _KIND_OF_STATE[wire["state"]]
    else:
        change["kind"] = _KIND_OF_TYPE[wire["type"]]
    return change


def _wire_change(kept: dict) -> dict:
    """The change in the API's shape, from a scenario's."""
    change = {_WIRE_NAME.get(name, name): value for name, value in kept.items()}
    state = next((state for state, kind in _KIND_OF_STATE.items() if kind == kept["kind"]), None)
    if state is not None:
        change.update(type="pool_state", state=state.value)
    else:
        change["type"] = next(wire for wire, kind in _KIND_OF_TYPE.items() if kind == kept["kind"])
    return change


class ScenarioChangeSerializer(InputSerializer):
    """One change of a scenario, as API.md gives it: its `type` and the fields that type takes (the others are left
    out). The rules are dispatch.scenario_changes's, which the pages and the services apply too."""

    type = serializers.ChoiceField(
        choices=[*_KIND_OF_TYPE, "pool_state"],
        help_text=_(
            "What changes, and so which fields it takes: `pool_capacity` pool, capacity_pflops, start; `new_pool` "
            "site, pool_kind, capacity_pflops, trusted, start; `pool_state` pool, state (offline or draining), "
            "start, end; `background` pool, pflops, start, end; `add_order` product_type, size, priority, "
            "data_sensitivity, client, requested_delivery, count, start (their arrival); `arrival_rate` factor, "
            "start, end; `policy` name, value (hours). A change without a start takes effect from the moment the "
            "scenario runs."
        ),
    )
    pool = serializers.IntegerField(required=False, min_value=1, help_text=_("The id of a compute pool."))
    state = serializers.ChoiceField(
        choices=[(state.value, state.label) for state in _KIND_OF_STATE],
        required=False,
        help_text=_("What the pool is in the window: offline (its jobs requeued) or draining (they finish)."),
    )
    site = serializers.IntegerField(required=False, min_value=1, help_text=_("The id of a compute site."))
    pool_kind = serializers.ChoiceField(choices=PoolKind.choices, required=False, help_text=_("The new pool's kind."))
    capacity_pflops = serializers.FloatField(
        required=False, min_value=0.01, max_value=scenario_changes.CAPACITY_MAX, help_text=_("PFLOPS.")
    )
    trusted = serializers.BooleanField(required=False, help_text=_("The new pool may process sensitive data."))
    start = serializers.DateTimeField(required=False, help_text=_("When the change takes effect (factory clock)."))
    end = serializers.DateTimeField(required=False, help_text=_("When a window ends: after its start and after now."))
    pflops = serializers.FloatField(
        required=False,
        min_value=0.01,
        max_value=scenario_changes.CAPACITY_MAX,
        help_text=_("Extra background load in PFLOPS, at most the pool's capacity."),
    )
    product_type = serializers.ChoiceField(choices=ProductType.choices, required=False)
    size = serializers.ChoiceField(choices=Size.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    data_sensitivity = serializers.ChoiceField(choices=DataSensitivity.choices, required=False)
    client = serializers.IntegerField(required=False, min_value=1, help_text=_("The id of a client organization."))
    requested_delivery = serializers.DateField(
        required=False, help_text=_("The hypothetical orders' due date, after today.")
    )
    count = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=scenario_changes.ORDERS_MAX,
        help_text=_("How many such orders; 1 if left out."),
    )
    factor = serializers.FloatField(
        required=False,
        min_value=0,
        max_value=scenario_changes.FACTOR_MAX,
        help_text=_("Arrivals multiplied by this in the window: 0.5 halves them, 2 doubles them."),
    )
    name = serializers.ChoiceField(choices=scenario_changes.Parameter.CHOICES, required=False)
    value = serializers.FloatField(
        required=False, min_value=0, max_value=scenario_changes.POLICY_HOURS_MAX, help_text=_("The parameter's value.")
    )

    def validate(self, attrs):
        try:
            return scenario_changes.clean_change(_kept_change(dict(attrs)))
        except scenario_changes.ScenarioChangeInvalid as error:
            raise serializers.ValidationError(
                {_WIRE_NAME.get(name, name): messages for name, messages in error.errors.items()}
            ) from None

    def to_representation(self, instance):
        return super().to_representation(_wire_change(instance))


class ScenarioCreateSerializer(InputSerializer):
    name = serializers.CharField(max_length=NAME_MAX, help_text=_("What the scenario asks, in a few words."))
    horizon_days = serializers.IntegerField(
        min_value=1, max_value=SCENARIO_HORIZON_DAYS_MAX, help_text=_("How many days ahead to simulate, up to 365.")
    )
    description = serializers.CharField(max_length=NOTE_MAX, required=False, allow_blank=True, default="")
    changes = ScenarioChangeSerializer(many=True, required=False, max_length=SCENARIO_CHANGES_MAX, default=list)


class ScenarioRemoveChangeSerializer(InputSerializer):
    number = serializers.IntegerField(min_value=1, help_text=_("The change's number in the scenario, from 1."))


class RunStateField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=RunState.choices, read_only=True, **kwargs)


class RunSummarySerializer(serializers.ModelSerializer):
    state = RunStateField()
    started_by = serializers.CharField(source="started_by.username", read_only=True)

    class Meta:
        model = ScenarioRun
        fields = ["id", "state", "progress", "started_by", "queued_at", "finished_at"]


class ScenarioSerializer(serializers.ModelSerializer):
    changes = ScenarioChangeSerializer(many=True, read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    archived = serializers.BooleanField(read_only=True)
    status = serializers.ChoiceField(
        source="latest_run_state",
        choices=RunState.choices,
        read_only=True,
        allow_null=True,
        help_text=_("The state of its newest run; null before the first."),
    )
    latest_run = serializers.SerializerMethodField()

    class Meta:
        model = Scenario
        fields = [
            "id",
            "name",
            "description",
            "horizon_days",
            "changes",
            "created_by",
            "created_at",
            "archived",
            "archived_at",
            "status",
            "latest_run",
        ]

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "description": _("The newest run: its id, state and progress (0 to 1); null before the first."),
            "properties": {
                "id": {"type": "integer"},
                "state": {"$ref": "#/components/schemas/RunStateEnum"},
                "progress": {"type": "number", "minimum": 0, "maximum": 1},
            },
            "required": ["id", "state", "progress"],
        }
    )
    def get_latest_run(self, scenario) -> dict | None:
        if scenario.latest_run_id is None:
            return None
        return {
            "id": scenario.latest_run_id,
            "state": scenario.latest_run_state,
            "progress": scenario.latest_run_progress,
        }


class KeptMomentField(serializers.DateTimeField):
    """A moment a run's result keeps as ISO text, answered in the factory's time zone as every other moment."""

    def to_representation(self, value):
        return super().to_representation(datetime.fromisoformat(value) if isinstance(value, str) else value)


class SideBySideSerializer(serializers.Serializer):
    baseline = serializers.FloatField(allow_null=True)
    scenario = serializers.FloatField(allow_null=True)


class UtilizationSummarySerializer(serializers.Serializer):
    data_processing = SideBySideSerializer()
    training = SideBySideSerializer()
    inference = SideBySideSerializer()


class ScenarioSummarySerializer(serializers.Serializer):
    on_time_rate = SideBySideSerializer(help_text=_("Share of the orders watched delivered by their due date."))
    utilization = UtilizationSummarySerializer(
        help_text=_("Each pool kind's mean utilization over the horizon (our share of what it offered us).")
    )
    broken = serializers.IntegerField(help_text=_("Promises that break: on time without the changes, late with them."))
    slipped = serializers.IntegerField(help_text=_("Orders delivered at least an hour later."))
    gained = serializers.IntegerField(help_text=_("Orders delivered at least an hour earlier."))


class ScenarioOrderSerializer(serializers.Serializer):
    order = serializers.IntegerField(allow_null=True, help_text=_("The order's id; null for a hypothetical order."))
    reference = serializers.CharField()
    eta_baseline = KeptMomentField(
        source="baseline_eta", allow_null=True, help_text=_("Without the changes; null: not within the horizon.")
    )
    eta_scenario = KeptMomentField(
        source="eta", allow_null=True, help_text=_("With the changes; null: not within the horizon.")
    )
    slip_hours = serializers.FloatField(
        allow_null=True, help_text=_("How much later with the changes (negative: earlier).")
    )


class ScenarioDetailSerializer(ScenarioSerializer):
    """A scenario with its runs, and once its newest run is done, that run's result in brief (`summary`, `orders`;
    the run itself at /api/v1/scenario-runs/{id}/ has it whole)."""

    runs = RunSummarySerializer(many=True, read_only=True, source="runs_newest_first")
    summary = serializers.SerializerMethodField()
    orders = serializers.SerializerMethodField()

    class Meta(ScenarioSerializer.Meta):
        fields = [*ScenarioSerializer.Meta.fields, "summary", "orders", "runs"]

    def _done_result(self, scenario) -> dict | None:
        return scenario.latest_run_result if scenario.latest_run_state == RunState.DONE else None

    @extend_schema_field(ScenarioSummarySerializer(allow_null=True))
    def get_summary(self, scenario) -> dict | None:
        result = self._done_result(scenario)
        return None if result is None else ScenarioSummarySerializer(scenarios.summary(result)).data

    @extend_schema_field(ScenarioOrderSerializer(many=True, allow_null=True))
    def get_orders(self, scenario) -> list | None:
        result = self._done_result(scenario)
        return None if result is None else ScenarioOrderSerializer(result["orders"], many=True).data


class OrderSlipSerializer(serializers.Serializer):
    order = serializers.IntegerField(allow_null=True, help_text=_("The order's id; null for a hypothetical order."))
    reference = serializers.CharField()
    title = serializers.CharField()
    client = serializers.CharField()
    priority = serializers.ChoiceField(choices=Priority.choices)
    due = KeptMomentField()
    baseline_eta = KeptMomentField(allow_null=True, help_text=_("Without the changes; null: not within the horizon."))
    eta = KeptMomentField(allow_null=True, help_text=_("With the changes; null: not within the horizon."))
    slip_hours = serializers.FloatField(
        allow_null=True, help_text=_("How much later with the changes (negative: earlier).")
    )
    broken = serializers.BooleanField(help_text=_("On time without the changes, late with them."))


class UtilizationSeriesSerializer(serializers.Serializer):
    at = serializers.ListField(child=KeptMomentField())
    data_processing = serializers.ListField(child=serializers.FloatField(allow_null=True))
    training = serializers.ListField(child=serializers.FloatField(allow_null=True))
    inference = serializers.ListField(child=serializers.FloatField(allow_null=True))


class QueueWaitSerializer(serializers.Serializer):
    low = serializers.FloatField(allow_null=True)
    normal = serializers.FloatField(allow_null=True)
    high = serializers.FloatField(allow_null=True)
    urgent = serializers.FloatField(allow_null=True)


class ScenarioFiguresSerializer(serializers.Serializer):
    on_time_rate = serializers.FloatField(
        allow_null=True, help_text=_("Share of the orders watched delivered by their due date.")
    )
    late = serializers.IntegerField()
    queue_wait_hours = QueueWaitSerializer(
        help_text=_("Mean hours a job waited before it started, per priority; null where no job of it started.")
    )
    utilization = UtilizationSeriesSerializer(
        help_text=_("Our share of what each pool kind offered us (capacity minus background), sample by sample.")
    )


class ScenarioResultSerializer(serializers.Serializer):
    simulated_from = KeptMomentField()
    horizon_end = KeptMomentField()
    orders = OrderSlipSerializer(many=True)
    baseline = ScenarioFiguresSerializer()
    scenario = ScenarioFiguresSerializer()
    broken = serializers.IntegerField(help_text=_("Promises that break: on time without the changes, late with them."))
    slipped = serializers.IntegerField(help_text=_("Orders delivered at least an hour later."))
    gained = serializers.IntegerField(help_text=_("Orders delivered at least an hour earlier."))
    notes = serializers.ListField(child=serializers.CharField())


class ScenarioRunSerializer(serializers.ModelSerializer):
    state = RunStateField()
    started_by = serializers.CharField(source="started_by.username", read_only=True)
    scenario_name = serializers.CharField(source="scenario.name", read_only=True)
    changes = ScenarioChangeSerializer(many=True, read_only=True)
    result = ScenarioResultSerializer(
        source="result_when_done", read_only=True, allow_null=True, help_text=_("Null until the run is done.")
    )

    class Meta:
        model = ScenarioRun
        fields = [
            "id",
            "scenario",
            "scenario_name",
            "state",
            "progress",
            "started_by",
            "horizon_days",
            "changes",
            "queued_at",
            "simulated_from",
            "finished_at",
            "seconds",
            "error",
            "result",
        ]


# --- Reservations and maintenance windows ---------------------------------------------------------------------


class ReservationSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=ReservationKind.choices, read_only=True)
    pool_name = serializers.CharField(source="pool.name", read_only=True)
    pflops = serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        coerce_to_string=False,
        read_only=True,
        allow_null=True,
        help_text=_("PFLOPS held for the client or order; null for a maintenance window (it closes the whole pool)."),
    )
    client = serializers.IntegerField(
        source="client_id", read_only=True, allow_null=True, help_text=_("Client organization id; null for a window.")
    )
    client_name = serializers.CharField(source="client.name", read_only=True, allow_null=True, default=None)
    order = serializers.IntegerField(
        source="order_id", read_only=True, allow_null=True, help_text=_("The order the room is held for, if one.")
    )
    order_reference = serializers.CharField(source="order.reference", read_only=True, allow_null=True, default=None)
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    cancelled_by = serializers.CharField(source="cancelled_by.username", read_only=True, allow_null=True, default=None)
    closes_to = serializers.ChoiceField(
        choices=WINDOW_STATES,
        read_only=True,
        allow_blank=True,
        help_text=_(
            "A maintenance window's pool: `offline` (running jobs requeued with their progress) or `draining` (they "
            "finish, nothing new starts); blank for a reservation."
        ),
    )
    state = serializers.ChoiceField(
        choices=BookingState.choices,
        read_only=True,
        help_text=_(
            "On the factory clock: upcoming, under way (its start passed), over (its end passed) or cancelled."
        ),
    )

    class Meta:
        model = Reservation
        fields = [
            "id",
            "kind",
            "pool",
            "pool_name",
            "start",
            "end",
            "pflops",
            "client",
            "client_name",
            "order",
            "order_reference",
            "closes_to",
            "reason",
            "state",
            "created_by",
            "created_at",
            "cancelled_at",
            "cancelled_by",
            "cancel_reason",
        ]
        read_only_fields = fields


class ReservationCreateSerializer(InputSerializer):
    """A booking as API.md names its fields. What a booking must be (an end after its start and after now, room
    within the pool's capacity, a client or an order for a reservation, nothing held by a window) is
    dispatch.services.reservation_create's to say, by field."""

    kind = serializers.ChoiceField(
        choices=ReservationKind.choices,
        help_text=_("`reservation` holds `pflops` for a client or an order; `maintenance` closes the whole pool."),
    )
    pool = serializers.PrimaryKeyRelatedField(
        queryset=ComputePool.objects.all(),
        error_messages={"does_not_exist": _("No such pool."), "incorrect_type": _("No such pool.")},
        help_text=_("The id of a compute pool."),
    )
    start = serializers.DateTimeField(
        help_text=_("When it begins (factory clock); a start already passed books from now.")
    )
    end = serializers.DateTimeField(help_text=_("When it ends: after its start and after now."))
    pflops = serializers.FloatField(
        required=False,
        allow_null=True,
        default=None,
        min_value=0.01,
        help_text=_("A reservation's PFLOPS, at most the pool's capacity; left out for a maintenance window."),
    )
    client = serializers.PrimaryKeyRelatedField(
        queryset=ClientOrganization.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        error_messages={"does_not_exist": _("No such client."), "incorrect_type": _("No such client.")},
        help_text=_("A reservation's client organization id (or give `order`)."),
    )
    order = serializers.PrimaryKeyRelatedField(
        queryset=Order.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        error_messages={"does_not_exist": _("No such order."), "incorrect_type": _("No such order.")},
        help_text=_("Id of an accepted order whose jobs alone may use the room (its client's reservation)."),
    )
    closes_to = serializers.ChoiceField(
        choices=WINDOW_STATES,
        required=False,
        allow_null=True,
        default=None,
        help_text=_("A maintenance window's pool: `offline` (the default) or `draining`; left out for a reservation."),
    )
    reason = NonBlankCharField(max_length=NOTE_MAX, help_text=_("Why the time is booked."))


class ReservationCancelSerializer(InputSerializer):
    reason = NonBlankCharField(max_length=NOTE_MAX, help_text=_("Why it is cancelled."))


class ScheduledPoolChangeSerializer(serializers.ModelSerializer):
    pool_name = serializers.CharField(source="pool.name", read_only=True)
    capacity_pflops = serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        coerce_to_string=False,
        read_only=True,
        allow_null=True,
        help_text=_("The pool's capacity from `at`; null keeps it."),
    )
    capacity_before = serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        coerce_to_string=False,
        read_only=True,
        allow_null=True,
        help_text=_("What it had when the change was carried out."),
    )
    state = serializers.ChoiceField(
        choices=PoolState.choices,
        read_only=True,
        allow_blank=True,
        help_text=_("The pool's state from `at`; blank keeps it."),
    )
    state_before = serializers.ChoiceField(choices=PoolState.choices, read_only=True, allow_blank=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    cancelled_by = serializers.CharField(source="cancelled_by.username", read_only=True, allow_null=True, default=None)
    promoted_from = serializers.IntegerField(source="promoted_from_id", read_only=True, allow_null=True)

    class Meta:
        model = ScheduledPoolChange
        fields = [
            "id",
            "pool",
            "pool_name",
            "at",
            "capacity_pflops",
            "state",
            "reason",
            "created_by",
            "created_at",
            "cancelled_at",
            "cancelled_by",
            "cancel_reason",
            "carried_out_at",
            "capacity_before",
            "state_before",
            "promoted_from",
        ]
        read_only_fields = fields


class PoolChangeCreateSerializer(InputSerializer):
    """A scheduled pool change. What it must be (something to change, a positive capacity, no cut below what the
    pool's reservations hold) is dispatch.services.pool_change_schedule's to say, by field."""

    pool = serializers.PrimaryKeyRelatedField(
        queryset=ComputePool.objects.all(),
        error_messages={"does_not_exist": _("No such pool."), "incorrect_type": _("No such pool.")},
        help_text=_("The id of a compute pool."),
    )
    at = serializers.DateTimeField(help_text=_("From when (factory clock); a time passed means at the next tick."))
    capacity_pflops = serializers.FloatField(
        required=False,
        allow_null=True,
        default=None,
        min_value=0.01,
        help_text=_("The new capacity; left out to keep it."),
    )
    state = serializers.ChoiceField(
        choices=PoolState.choices,
        required=False,
        allow_null=True,
        default=None,
        help_text=_("The new state; left out to keep it. Give a capacity, a state or both."),
    )
    reason = NonBlankCharField(max_length=NOTE_MAX, help_text=_("Why the pool changes."))


class PromotionSerializer(serializers.Serializer):
    run = serializers.IntegerField(help_text=_("The run whose changes were made real."))
    windows = ReservationSerializer(many=True, help_text=_("The maintenance windows booked, by start."))
    pool_changes = ScheduledPoolChangeSerializer(
        many=True, help_text=_("The capacity changes and new pools scheduled, by time.")
    )

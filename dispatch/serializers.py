"""Shapes of the dispatch API (API.md "Dispatch"): compute as numbers, money as decimal strings.

Input serializers only parse types and shapes; what a pool's state allows is decided by
dispatch.services, so the API, the pages and the services never disagree.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import PoolKind
from dispatch import display
from dispatch.models import ComputePool, Job, UtilizationSample
from dispatch.selectors import UTILIZATION_MAX_HOURS
from factory.api import InputSerializer, QuerySerializer
from factory.limits import NOTE_MAX
from orders.models import Priority


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


class PriorityChangeSerializer(InputSerializer):
    """POST /api/v1/orders/{id}/priority/: the order's new priority, and why (on the order's timeline)."""

    priority = serializers.ChoiceField(
        choices=Priority.choices, help_text=_("The new priority; the order's queued and running jobs take it at once.")
    )
    reason = serializers.CharField(max_length=NOTE_MAX, help_text=_("Why the priority changes."))

"""Reads that compose several apps (this is the top layer: it may import all of them)."""

from dataclasses import dataclass

from django.db.models import Prefetch
from django.http import Http404
from django.utils.translation import gettext as _

from dispatch.models import ComputePool, Job, Preemption
from orders.models import DataSensitivity, Order
from security.models import Approval, Review


@dataclass(frozen=True)
class PoolUse:
    pool: ComputePool
    jobs: int
    compliant: bool  # trusted and in province: allowed to process sensitive data


@dataclass(frozen=True)
class ComplianceRecord:
    order: Order
    pools: list[PoolUse]
    reviews: list[Review]

    @property
    def violations(self) -> list[PoolUse]:
        return [use for use in self.pools if not use.compliant]


def compliance_record(*, order_id) -> ComplianceRecord:
    """Where a sensitive order's data was processed, and how each of its gates was reviewed."""
    try:
        order = Order.objects.select_related("client").get(pk=int(order_id), data_sensitivity=DataSensitivity.SENSITIVE)
    except (Order.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No compliance record: the order does not exist or has no sensitive data.")) from None
    # A job keeps the pool it last ran on; a preempted job also ran on the pool it was preempted from.
    # One query: the distinct (job, pool) pairs of both.
    ran_on = (
        Job.objects.filter(order=order, last_pool__isnull=False)
        .values_list("pk", "last_pool_id")
        .union(Preemption.objects.filter(preempted__order=order).values_list("preempted_id", "pool_id"))
    )
    counts: dict[int, int] = {}
    for _job_id, pool_id in ran_on:
        counts[pool_id] = counts.get(pool_id, 0) + 1
    pools = [
        PoolUse(pool=pool, jobs=counts[pool.pk], compliant=pool.trusted and pool.site.in_province)
        for pool in ComputePool.objects.filter(pk__in=counts).select_related("site").order_by("name")
    ]
    reviews = list(
        Review.objects.filter(order=order)
        .select_related("reviewer")
        .prefetch_related(
            "answers", "findings", Prefetch("approvals", queryset=Approval.objects.select_related("reviewer"))
        )
        .order_by("opened_at", "id")
    )
    return ComplianceRecord(order=order, pools=pools, reviews=reviews)

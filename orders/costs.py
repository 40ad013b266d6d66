"""An order's compute per workshop: what it used and was charged so far against what its quote planned.

The quote kept at confirmation (`Order.quoted_compute_pflops_hours`, `Order.quoted_cost`) is one figure per order:
its estimators price every PFLOPS·h of an order alike (orders.quotes, dispatch.forecast). So the plan of a workshop
is the quote's share that the work of the workshop's steps is of the order's: the same arithmetic as the quote,
spread over its workshops, and the workshops' plans add up to the quote to the cent. What was used comes from the
stages' own figures, which the dispatch center keeps from the jobs (orders.services.orders_set_compute).
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import DecimalField, Sum, Value
from django.db.models.functions import Coalesce

from orders.models import Order, OrderStage

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class WorkshopCost:
    workshop: str
    label: str
    planned_compute: Decimal | None  # None: the order was placed without a quote
    planned_cost: Decimal | None
    compute: Decimal
    cost: Decimal

    @property
    def over_plan(self) -> bool:
        return self.planned_cost is not None and self.cost > self.planned_cost


def _spread(total: Decimal | None, shares: list[Decimal]) -> list[Decimal | None]:
    """`total` split in proportion to `shares`, to the cent; the last part takes the rounding, so the parts add up."""
    if total is None:
        return [None] * len(shares)
    whole = sum(shares, Decimal(0))
    if not whole:
        return [Decimal(0)] * (len(shares) - 1) + [total] if shares else []
    parts = [(total * share / whole).quantize(_CENT) for share in shares[:-1]]
    return [*parts, total - sum(parts, Decimal(0))]


def _workshop_costs(order: Order, stages: list[tuple[OrderStage, Decimal]]) -> list[WorkshopCost]:
    work = [planned for _stage, planned in stages]
    planned_compute = _spread(order.quoted_compute_pflops_hours, work)
    planned_cost = _spread(order.quoted_cost, work)
    return [
        WorkshopCost(
            workshop=stage.workshop,
            label=stage.get_workshop_display(),
            planned_compute=compute,
            planned_cost=cost,
            compute=stage.compute_pflops_hours,
            cost=stage.compute_cost,
        )
        for (stage, _work), compute, cost in zip(stages, planned_compute, planned_cost, strict=True)
    ]


def workshop_costs(order: Order) -> list[WorkshopCost]:
    """Per workshop of one order, in routing order; reads the stages and steps the order page prefetched."""
    stages = sorted(order.stages.all(), key=lambda stage: stage.position)
    return _workshop_costs(
        order, [(stage, sum((step.work_pflops_hours for step in stage.steps.all()), Decimal(0))) for stage in stages]
    )


def workshop_costs_of(orders: list[Order]) -> dict[int, list[WorkshopCost]]:
    """Per workshop of many orders (order id -> rows, in routing order), in one query whatever their number."""
    planned_work = Coalesce(Sum("steps__work_pflops_hours"), Value(Decimal(0)), output_field=DecimalField())
    by_order: dict[int, list[tuple[OrderStage, Decimal]]] = {order.pk: [] for order in orders}
    stages = (
        OrderStage.objects.filter(order__in=orders).annotate(planned_work=planned_work).order_by("order", "position")
    )
    for stage in stages:
        by_order[stage.order_id].append((stage, stage.planned_work))
    return {order.pk: _workshop_costs(order, by_order[order.pk]) for order in orders}

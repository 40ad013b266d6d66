"""What an order would cost and when it could be delivered, before it is placed.

The estimate here comes from the catalog's nominal figures. A queue-aware estimator (the dispatch
center's forward simulation) can take over with `use_estimator`, without orders importing it.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings

from factory import clock
from factory.catalog.models import SIZE_FACTORS
from factory.catalog.selectors import routing_for, steps_by_workshop


@dataclass(frozen=True)
class Quote:
    promised_delivery: date
    estimated_compute_pflops_hours: Decimal
    estimated_cost: Decimal


# Share of the nominal duration added as queue allowance: lower priority waits longer for compute.
QUEUE_ALLOWANCE = {"low": Decimal("0.5"), "normal": Decimal("0.25"), "high": Decimal("0.1"), "urgent": Decimal("0")}
# Trusted in-province pools, the only ones allowed for sensitive data, cost more.
SENSITIVE_PRICE_FACTOR = Decimal("1.2")


def nominal_quote(*, product_type: str, size: str, priority: str, data_sensitivity: str, start: datetime) -> Quote:
    workshops = routing_for(product_type)
    steps = [step for workshop_steps in steps_by_workshop(workshops, size).values() for step in workshop_steps]
    factor = SIZE_FACTORS[size]
    work = sum((step.work_pflops_hours for step in steps), Decimal(0)) * factor
    hours = sum((step.nominal_hours for step in steps), Decimal(0)) * factor
    hours = hours * (1 + QUEUE_ALLOWANCE[priority]) + settings.GATE_REVIEW_HOURS * len(workshops)
    price = Decimal(str(settings.NOMINAL_PRICE_PER_PFLOPS_HOUR))
    if data_sensitivity == "sensitive":
        price *= SENSITIVE_PRICE_FACTOR
    finish = start + timedelta(hours=math.ceil(hours))
    return Quote(
        promised_delivery=(finish + timedelta(days=1)).date(),
        estimated_compute_pflops_hours=work.quantize(Decimal("0.01")),
        estimated_cost=(work * price).quantize(Decimal("0.01")),
    )


_estimator: Callable[..., Quote] = nominal_quote


def use_estimator(estimator: Callable[..., Quote]) -> None:
    """Let a better estimator (same keyword arguments, returns a Quote) answer quotes from now on."""
    global _estimator
    _estimator = estimator


def quote(*, product_type: str, size: str, priority: str, data_sensitivity: str) -> Quote:
    return _estimator(
        product_type=product_type,
        size=size,
        priority=priority,
        data_sensitivity=data_sensitivity,
        start=clock.now(),
    )


# Once a queue-aware forecaster writes ETAs (orders.services.orders_set_eta), the workflow only fills
# in a nominal ETA where there is none yet, instead of overwriting the forecast at every step.
_eta_forecast_elsewhere = False


def hand_eta_to_forecaster() -> None:
    global _eta_forecast_elsewhere
    _eta_forecast_elsewhere = True


def eta_forecast_elsewhere() -> bool:
    return _eta_forecast_elsewhere

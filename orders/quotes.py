"""What an order would cost and when it could be delivered, before it is placed.

The estimate here comes from the catalog's nominal figures. A queue-aware estimator (the dispatch
center's forward simulation) can take over with `use_estimator`, without orders importing it.

A quote shown to a client travels with the confirmation, signed (`sign`, `unsign`): the order stores the
quote the client saw, never a later date than it (orders.services.order_submit).
"""

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core import signing
from django.utils import timezone

from catalog.models import SIZE_FACTORS
from catalog.selectors import routing_for, steps_by_workshop
from factory import clock


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


@contextmanager
def estimated_by(estimator: Callable[..., Quote]) -> Iterator[None]:
    """Let ``estimator`` answer quotes within the block only (the demo quotes its past with `nominal_quote`)."""
    global _estimator
    previous, _estimator = _estimator, estimator
    try:
        yield
    finally:
        _estimator = previous


def quote(*, product_type: str, size: str, priority: str, data_sensitivity: str) -> Quote:
    return _estimator(
        product_type=product_type,
        size=size,
        priority=priority,
        data_sensitivity=data_sensitivity,
        start=clock.now(),
    )


# What a quote depends on besides the factory's state: a signed quote holds only for the same answers.
QUOTED_FIELDS = ("product_type", "size", "priority", "data_sensitivity")
# How long a quote shown on the review page may be confirmed (real seconds, as signatures count them); later,
# the client reviews the current quote before anything is placed.
QUOTE_VALID_SECONDS = 30 * 60
_SALT = "orders.quote"


def sign(estimate: Quote, *, fields: dict) -> str:
    """The quote shown for `fields` (an order's answers), as a token the confirmation posts back unchanged."""
    return signing.dumps(
        {
            "fields": [fields[name] for name in QUOTED_FIELDS],
            "promised_delivery": estimate.promised_delivery.isoformat(),
            "compute": str(estimate.estimated_compute_pflops_hours),
            "cost": str(estimate.estimated_cost),
        },
        salt=_SALT,
    )


def unsign(token: str, *, fields: dict) -> Quote | None:
    """The quote a token carries, if this site signed it for these answers less than QUOTE_VALID_SECONDS ago."""
    try:
        data = signing.loads(token or "", salt=_SALT, max_age=QUOTE_VALID_SECONDS)
        if data["fields"] != [fields[name] for name in QUOTED_FIELDS]:
            return None
        return Quote(
            promised_delivery=date.fromisoformat(data["promised_delivery"]),
            estimated_compute_pflops_hours=Decimal(data["compute"]),
            estimated_cost=Decimal(data["cost"]),
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError, InvalidOperation):
        return None


# The hour a promised day is due (dispatch's job deadlines use the same hour), in the site's time zone.
PROMISE_DUE_TIME = time(18, 0)


def promise_due(day: date) -> datetime:
    """The moment the promise for `day` falls due: until a forecast says otherwise, the order's ETA."""
    return timezone.make_aware(datetime.combine(day, PROMISE_DUE_TIME))


# Once a queue-aware forecaster writes ETAs (orders.services.orders_set_eta), the workflow only fills
# in a nominal ETA where there is none yet, instead of overwriting the forecast at every step.
_eta_forecast_elsewhere = False


def hand_eta_to_forecaster() -> None:
    global _eta_forecast_elsewhere
    _eta_forecast_elsewhere = True


def eta_forecast_elsewhere() -> bool:
    return _eta_forecast_elsewhere

"""The factory's one clock. Every domain timestamp comes from `now()`.

In production it is real time. In demo mode it runs FACTORY_CLOCK_SPEED times faster than real
time: from the real instant FACTORY_CLOCK_ANCHOR on, simulated time starts at
FACTORY_CLOCK_ORIGIN. Every process computes the same time from the same settings.
"""

from datetime import datetime
from functools import lru_cache

from django.conf import settings
from django.utils import timezone


def speed() -> float:
    return settings.FACTORY_CLOCK_SPEED


@lru_cache(maxsize=8)
def _parse(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def now() -> datetime:
    real = timezone.now()
    if not settings.FACTORY_CLOCK_ANCHOR:
        return real
    anchor = _parse(settings.FACTORY_CLOCK_ANCHOR)
    origin = _parse(settings.FACTORY_CLOCK_ORIGIN or settings.FACTORY_CLOCK_ANCHOR)
    return origin + (real - anchor) * speed()

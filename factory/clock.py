"""The factory's one clock. Every domain timestamp comes from `now()`.

In production it is real time. In demo mode it runs FACTORY_CLOCK_SPEED times faster than real
time: from the real instant FACTORY_CLOCK_ANCHOR on, simulated time starts at
FACTORY_CLOCK_ORIGIN. Every process computes the same time from the same settings.

Code that plays time itself instead of living through it holds the clock (`held`): the demo's builders
replay a past action by action, the benchmarks step a factory from event to event. Production never does.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
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


@dataclass
class Hands:
    """The hands of a held clock: `now()` answers `at`, which the holder moves."""

    at: datetime


_held: ContextVar[Hands | None] = ContextVar("factory_clock_held", default=None)


@contextmanager
def held(at: datetime) -> Iterator[Hands]:
    """Hold the factory clock at `at` until the block ends (in this thread); move it with the hands' `at`.

    Every service then stamps the moment the holder set, as it would have stamped it at that moment.
    """
    token = _held.set(Hands(at))
    try:
        yield _held.get()
    finally:
        _held.reset(token)


def now() -> datetime:
    hands = _held.get()
    if hands is not None:
        return hands.at
    real = timezone.now()
    if not settings.FACTORY_CLOCK_ANCHOR:
        return real
    anchor = _parse(settings.FACTORY_CLOCK_ANCHOR)
    origin = _parse(settings.FACTORY_CLOCK_ORIGIN or settings.FACTORY_CLOCK_ANCHOR)
    return origin + (real - anchor) * speed()

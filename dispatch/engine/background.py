"""Simulated background load: what the provincial platform's other tenants use on each of our pools.

Smooth, bounded and deterministic per seed, so the dispatch tick, the ETA simulation and the benchmarks
all see the same load at the same instant. The load is a fraction of the pool's capacity:

    base + daily wave + short wave + weekly wave, clipped to [MIN_FRACTION, MAX_FRACTION]

* the daily wave (period 24 h) peaks in the early afternoon Beijing time (06:00 UTC), give or take
  a seeded two hours: other tenants work office hours;
* the short wave (a seeded period of 4 to 8 h) stands for batch jobs coming and going;
* the weekly wave (period 7 days) makes working days busier than the weekend.

Base and amplitudes are seeded so that the sum stays within about [0.05, 0.45]; the clip only guards the
bounds. Sums of sinusoids are continuous, and so is a clip of them: over one minute the fraction moves
by less than 0.002. Time is measured from a fixed epoch (naive datetimes are read as UTC), so the value
does not depend on the machine's time zone.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from functools import lru_cache

MIN_FRACTION = 0.05
MAX_FRACTION = 0.45

_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday, 00:00 UTC
_TAU = 2 * math.pi
_DAY, _WEEK = 24.0, 168.0


@lru_cache(maxsize=1024)
def _wave(seed: int) -> tuple[float, ...]:
    rng = random.Random(seed)  # noqa: S311 (a simulation, not cryptography)
    base = rng.uniform(0.21, 0.29)
    daily = rng.uniform(0.06, 0.09)
    short = rng.uniform(0.02, 0.045)
    weekly = rng.uniform(0.015, 0.03)
    peak_hour = 6.0 + rng.uniform(-2.0, 2.0)  # UTC hour of the daily peak
    short_period = rng.uniform(4.0, 8.0)
    short_phase = rng.uniform(0.0, _TAU)
    # Busiest around Wednesday noon (UTC hour 60 of the week), quietest around the weekend.
    weekly_peak = 60.0 + rng.uniform(-12.0, 12.0)
    return base, daily, short, weekly, peak_hour, short_period, short_phase, weekly_peak


def _hours(at: datetime) -> float:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return (at - _EPOCH).total_seconds() / 3600.0


def background_fraction(seed: int, at: datetime) -> float:
    """Share of a pool's capacity used by other tenants at ``at``, in [MIN_FRACTION, MAX_FRACTION]."""
    base, daily, short, weekly, peak_hour, short_period, short_phase, weekly_peak = _wave(seed)
    h = _hours(at)
    value = (
        base
        + daily * math.cos(_TAU * (h - peak_hour) / _DAY)
        + short * math.sin(_TAU * h / short_period + short_phase)
        + weekly * math.cos(_TAU * (h - weekly_peak) / _WEEK)
    )
    return min(MAX_FRACTION, max(MIN_FRACTION, value))


def background_pflops(seed: int, capacity: float, at: datetime) -> float:
    """PFLOPS of a pool of ``capacity`` used by other tenants at ``at``."""
    return capacity * background_fraction(seed, at)

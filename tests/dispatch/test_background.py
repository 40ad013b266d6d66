"""Simulated background load of the platform's other tenants. Pure Python, no database."""

from datetime import UTC, datetime, timedelta, timezone

from dispatch.engine.background import MAX_FRACTION, MIN_FRACTION, background_fraction, background_pflops

START = datetime(2025, 1, 1, tzinfo=UTC)


def _samples(seed, *, every=timedelta(minutes=37), span=timedelta(days=60)):
    at = START
    while at < START + span:
        yield at, background_fraction(seed, at)
        at += every


def test_background_stays_within_its_bounds_for_any_seed():
    for seed in range(20):
        values = [value for _, value in _samples(seed)]
        assert min(values) >= MIN_FRACTION
        assert max(values) <= MAX_FRACTION


def test_background_changes_smoothly_from_one_minute_to_the_next():
    for seed in (0, 1, 7, 123):
        for at, value in _samples(seed, every=timedelta(minutes=53), span=timedelta(days=14)):
            assert abs(background_fraction(seed, at + timedelta(minutes=1)) - value) < 0.005
            assert abs(background_fraction(seed, at + timedelta(seconds=1)) - value) < 0.0001


def test_background_really_varies_over_a_day():
    for seed in range(5):
        values = [background_fraction(seed, START + timedelta(minutes=15 * i)) for i in range(96)]
        assert max(values) - min(values) > 0.1


def test_background_is_deterministic_per_seed_and_differs_between_seeds():
    at = START + timedelta(days=40, hours=5, minutes=13)

    assert background_fraction(42, at) == background_fraction(42, at)
    assert len({round(background_fraction(seed, at), 6) for seed in range(10)}) == 10


def test_background_does_not_depend_on_the_time_zone_of_the_instant():
    aware = datetime(2025, 3, 4, 12, 30, tzinfo=UTC)
    shanghai = aware.astimezone(timezone(timedelta(hours=8)))

    assert background_fraction(3, aware) == background_fraction(3, shanghai)
    assert background_fraction(3, aware.replace(tzinfo=None)) == background_fraction(3, aware)


def test_background_pflops_is_the_fraction_of_the_pools_capacity():
    at = START + timedelta(hours=30)

    assert background_pflops(9, 200.0, at) == 200.0 * background_fraction(9, at)

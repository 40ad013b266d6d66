import pytest

from factory import clock


@pytest.fixture
def no_background_load(settings):
    """No simulated load of other tenants: a pool's room is its capacity less our jobs."""
    settings.DISPATCH_BACKGROUND_LOAD = False


@pytest.fixture
def t0():
    """The factory's now, as the test starts."""
    return clock.now()

"""Persona fixtures shared by every test folder."""

from datetime import timedelta

import pytest
from django.db import connection

from factory import clock, roles
from tests.factories import ClientOrganizationFactory, UserFactory, client_user, reference_data_load


@pytest.fixture(autouse=True)
def _runs_on_postgres(request):
    """Every database test runs on Postgres, never on SQLite."""
    if "django_db_setup" in request.fixturenames:
        assert connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def _reference_data_after_flush(request):
    """Transactional tests run on a flushed database, which loses the rows data migrations created."""
    marker = request.node.get_closest_marker("django_db")
    if "transactional_db" not in request.fixturenames and not (marker and marker.kwargs.get("transaction")):
        return
    request.getfixturevalue("transactional_db")
    reference_data_load()


@pytest.fixture
def ops_user(db):
    return UserFactory(username="ops-user", roles=[roles.OPERATIONS])


@pytest.fixture
def dispatcher(db):
    return UserFactory(username="dispatch-user", roles=[roles.DISPATCH])


@pytest.fixture
def reviewer(db):
    return UserFactory(username="security-user", roles=[roles.SECURITY])


@pytest.fixture
def aftersales_user(db):
    return UserFactory(username="aftersales-user", roles=[roles.AFTERSALES])


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin-user", is_staff=True, is_superuser=True)


@pytest.fixture
def org_a(db):
    return ClientOrganizationFactory(name="Organization A")


@pytest.fixture
def org_b(db):
    return ClientOrganizationFactory(name="Organization B")


@pytest.fixture
def client_a(org_a):
    return client_user(organization=org_a, username="client-a-user")


@pytest.fixture
def client_b(org_b):
    return client_user(organization=org_b, username="client-b-user")


@pytest.fixture
def move_clock(monkeypatch):
    """move_clock(hours=…) moves the factory clock forward; it stays there for the rest of the test."""
    offset = timedelta(0)
    real_now = clock.now

    def shifted():
        return real_now() + offset

    def move(**delta):
        nonlocal offset
        offset += timedelta(**delta)

    monkeypatch.setattr(clock, "now", shifted)
    return move


@pytest.fixture(autouse=True)
def _kept_answers(settings):
    """Tests keep copies of answers as production does (factory.kept), in a cache in memory that each test
    starts empty: no copy of another test's rows."""
    from django.core.cache import cache

    settings.ORDER_READ_CACHE_SECONDS = 30
    settings.API_TOKEN_CACHE_SECONDS = 60
    cache.clear()


@pytest.fixture(autouse=True)
def _rate_limits_out_of_the_way(settings):
    """The suite calls the API far faster than any integrator may: every limit is raised out of reach, over a window of
    a second (a short history to count). Tests of the limits themselves set their own rates."""
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": dict.fromkeys(rates, "100000/second"),
    }


@pytest.fixture(autouse=True)
def _webhooks_to_loopback(settings):
    """The suite's webhook receivers listen on loopback, and no test may hang on the outside world's DNS: the URL rule's
    address check is off (webhooks.services.check_url). Tests of the rule itself turn it back on."""
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from dispatch.models import ComputePool, ComputeSite
from orders.models import Order, OrderStatus

pytestmark = pytest.mark.django_db


def test_demo_data_is_refused_outside_demo_mode(settings):
    settings.DEMO_MODE = False

    with pytest.raises(CommandError, match="only created in demo mode"):
        call_command("demo_data")

    assert not Order.objects.exists()


def test_demo_data_creates_the_demo_factory_once(settings):
    settings.DEMO_MODE = True
    settings.DEMO_PASSWORD = "factory-demo"

    call_command("demo_data")
    call_command("demo_data")

    for username in ("admin", "ops", "dispatcher", "reviewer", "reviewer2", "aftersales", "client-a", "client-b"):
        assert authenticate(username=username, password="factory-demo") is not None
    assert Order.objects.count() == 8
    assert Order.objects.filter(status=OrderStatus.DELIVERED).count() == 2
    assert Order.objects.values("client").distinct().count() == 2
    assert sum(pool.capacity_pflops for pool in ComputePool.objects.all()) == 2000
    assert sum(site.monitored_pflops for site in ComputeSite.objects.all()) == 7000

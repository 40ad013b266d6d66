"""bin/run resumes the demo clock from the latest instant the database holds (demo's factory_time command)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from dispatch import services
from factory import clock
from tests.factories import order_at

pytestmark = pytest.mark.django_db


def _factory_time() -> str:
    out = StringIO()
    call_command("factory_time", stdout=out)
    return out.getvalue().strip()


def test_an_empty_factory_holds_no_instant():
    assert _factory_time() == ""


def test_the_latest_of_the_last_tick_and_the_newest_event_is_where_the_clock_resumes(ops_user):
    order = order_at("in_production", staff=ops_user)
    newest_event = order.events.order_by("-at").first().at
    assert _factory_time() == newest_event.isoformat()

    later = clock.now() + timedelta(hours=6)
    services.dispatch_tick(now=later)  # a tick that ran after the last event, before a crash

    assert _factory_time() == later.isoformat()

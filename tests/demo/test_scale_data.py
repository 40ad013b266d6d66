"""The scale data set of the benchmarks, built small: the counts asked for, a consistent factory, pages that answer."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count, Q, Sum

from dispatch.models import ComputePool, Job, QueueSample, UtilizationSample
from orders.models import Order, OrderStage, OrderStatus, OrderStep, StageStatus
from security.models import Review, ReviewStatus

pytestmark = pytest.mark.django_db

SMALL = ["--orders", "50", "--jobs", "200", "--days", "1", "--per-year", "600", "--force"]
SAMPLES_PER_DAY = 24 * 60 // 5


def build(*args) -> str:
    out = StringIO()
    call_command("scale_data", *SMALL, *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def scale_data(db):
    build()


def test_refused_outside_demo_mode_without_force(settings):
    settings.DEMO_MODE = False
    with pytest.raises(CommandError, match="DEMO_MODE"):
        call_command("scale_data", "--orders", "5", "--jobs", "5", "--days", "1", stdout=StringIO())
    assert not Order.objects.exists()


def test_makes_what_was_asked(scale_data):
    assert Order.objects.count() == 50
    assert Job.objects.count() == 200
    assert ComputePool.objects.count() == 50
    assert UtilizationSample.objects.count() == 50 * SAMPLES_PER_DAY
    assert QueueSample.objects.count() == 4 * SAMPLES_PER_DAY
    statuses = set(Order.objects.values_list("status", flat=True))
    assert {OrderStatus.CLOSED, OrderStatus.IN_PRODUCTION} <= statuses
    assert Job.objects.filter(state="done").exists()
    assert Job.objects.filter(state="running").exists()
    assert Review.objects.filter(status=ReviewStatus.APPROVED).exists()


def test_the_factory_is_consistent(scale_data):
    # A job runs exactly when its step runs, and waits exactly when its step is ready, in orders in production.
    running_steps = set(OrderStep.objects.filter(status="running").values_list("pk", flat=True))
    assert running_steps == set(Job.objects.filter(state="running").values_list("step_id", flat=True))
    ready_steps = set(OrderStep.objects.filter(status="ready").values_list("pk", flat=True))
    assert ready_steps == set(Job.objects.filter(state="queued").values_list("step_id", flat=True))
    assert not OrderStep.objects.filter(status__in=["ready", "running"]).exclude(
        stage__order__status=OrderStatus.IN_PRODUCTION
    )
    # Each pool holds what its running jobs demand.
    for pool in ComputePool.objects.annotate(held=Sum("jobs__demand_pflops", filter=Q(jobs__state="running"))):
        assert pool.used_pflops == (pool.held or 0)
    # Delivered orders say when; orders at a gate have a stage waiting there; orders in production one working.
    assert not Order.objects.filter(status__in=["delivered", "closed"], delivered_at__isnull=True)
    assert not Order.objects.filter(status="closed", closed_at__isnull=True)
    at_gate = Order.objects.filter(status=OrderStatus.AWAITING_REVIEW).annotate(
        gates=Count("stages", filter=Q(stages__status=StageStatus.AWAITING_REVIEW))
    )
    assert all(order.gates == 1 for order in at_gate)
    producing = Order.objects.filter(status=OrderStatus.IN_PRODUCTION).annotate(
        working=Count("stages__steps", filter=Q(stages__steps__status__in=["ready", "running"]))
    )
    assert all(order.working == 1 for order in producing)
    # Ready, delivered and closed orders passed every gate.
    finished = OrderStage.objects.filter(order__status__in=["ready", "delivered", "closed"])
    assert not finished.exclude(status=StageStatus.APPROVED)


def test_a_second_run_keeps_the_set_and_reset_builds_it_anew(scale_data):
    orders = set(Order.objects.values_list("reference", flat=True))
    assert "already there" in build()
    assert set(Order.objects.values_list("reference", flat=True)) == orders
    build("--reset")
    assert Order.objects.count() == 50
    assert Job.objects.count() == 200


def test_pages_answer_on_the_scale_data(client, scale_data):
    client.force_login(get_user_model().objects.get(username="scale-operations"))
    for url in ("/", "/dispatch/", "/orders/", f"/orders/{Order.objects.first().pk}/"):
        assert client.get(url).status_code == 200, url
    biggest = Order.objects.values("client").annotate(n=Count("id")).order_by("-n").first()["client"]
    client.force_login(get_user_model().objects.get(client_membership__organization=biggest))
    assert client.get("/portal/").status_code == 200

"""The demo data: a populated, consistent factory with a past, created once and only in demo mode."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, F, Max, Min, Q, Sum
from django.db.models.functions import TruncWeek
from django.test import override_settings

from aftersales.models import ACTIVE_STATUSES as ACTIVE_TICKET_STATUSES
from aftersales.models import Ticket, TicketEvent
from catalog.models import Sector, Workshop
from dashboard import operations
from demo import content
from demo import staff as demo
from dispatch import forecast
from dispatch import services as dispatch_services
from dispatch.models import (
    WAITING_STATES,
    ComputePool,
    ComputeSite,
    DispatchState,
    Job,
    JobState,
    Preemption,
    QueueSample,
    Reservation,
    ScheduledPoolChange,
    UtilizationSample,
)
from factory import clock
from orders import selectors as order_selectors
from orders.filters import with_due_dates
from orders.models import ClientOrganization, Order, OrderEvent, OrderStage, OrderStatus, OrderStep, StepStatus
from security import services as security_services
from security.models import Review, ReviewStatus

pytestmark = pytest.mark.django_db

DEMO_USERS = ("admin", "ops", "dispatcher", "reviewer", "reviewer2", "aftersales", "client-a", "client-b")


def test_demo_data_is_refused_outside_demo_mode(settings):
    settings.DEMO_MODE = False
    before = get_user_model().objects.count()

    with pytest.raises(CommandError, match="only created in demo mode"):
        call_command("demo_data")

    assert get_user_model().objects.count() == before


def _snapshot() -> dict:
    """Every row count of the factory's apps, and the state of every order, pool and the dispatcher."""
    counts = {
        model._meta.label: model.objects.count()
        for label in ("auth", "catalog", "orders", "dispatch", "security", "aftersales")
        for model in apps.get_app_config(label).get_models()
    }
    return {
        "counts": counts,
        "orders": list(Order.objects.order_by("pk").values_list("pk", "status", "progress", "eta", "compute_cost")),
        "pools": list(ComputePool.objects.order_by("pk").values_list("pk", "used_pflops", "background_pflops")),
        "ticks": list(DispatchState.objects.values_list("ticks", "last_tick_at")),
    }


@pytest.fixture(scope="module")
def demo_factory(django_db_setup, django_db_blocker):
    """The demo factory, built once for this module's tests (each test's own changes are rolled back), then
    removed so that the next module starts from the migrations' reference data as usual."""
    with django_db_blocker.unblock(), override_settings(DEMO_MODE=True, DEMO_PASSWORD="factory-demo"):
        call_command("demo_data")
        try:
            yield _snapshot()
        finally:
            call_command("flush", interactive=False, verbosity=0)
            _reference_data()


def _reference_data() -> None:
    """What the data migrations create (the same as tests/conftest.py reloads after a flush)."""
    from django.contrib.auth.models import Group

    from aftersales.models import SlaPolicy
    from aftersales.sla import load_default_policies
    from catalog.models import ProcessStep, RoutingStage, Toolchain
    from catalog.standard_catalog import load_standard_catalog
    from factory import roles
    from security.checklists import load_default_checklists
    from security.models import ChecklistItem

    roles.ensure_role_groups(Group)
    load_standard_catalog(Toolchain, ProcessStep, RoutingStage)
    load_default_checklists(ChecklistItem)
    load_default_policies(SlaPolicy)


def test_a_second_run_changes_nothing(demo_factory):
    call_command("demo_data")

    assert _snapshot() == demo_factory


def test_the_story_gives_the_planner_statistics_of_the_tables_it_grows(demo_factory):
    # Built in one transaction, the story's rows are invisible to autovacuum. Without statistics of its own the
    # planner took the tables for empty: on Postgres 18 (bin/run's) a finishing step then scanned every step of
    # every order, and the demo took over 25 minutes to build instead of about one.
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [OrderStep._meta.db_table])
        (steps_counted,) = cursor.fetchone()

    assert steps_counted > 0


def test_the_fixed_demo_users_sign_in_and_simulation_users_cannot(demo_factory):
    User = get_user_model()
    for username in DEMO_USERS:
        assert User.objects.get(username=username).check_password("factory-demo"), username
    simulated = User.objects.filter(username__startswith=demo.SIM_PREFIX)
    assert simulated.count() == 4 + len(content.DEMO_ORGANIZATIONS)
    assert not any(user.has_usable_password() for user in simulated)


def test_clients_across_the_five_sectors_each_with_a_client_user(demo_factory):
    organizations = ClientOrganization.objects.annotate(users=Count("memberships"))
    assert {organization.sector for organization in organizations} == set(Sector.values)
    assert all(organization.users >= 1 for organization in organizations)
    assert organizations.get(memberships__user__username="client-a").sector == Sector.HEALTHCARE
    assert organizations.get(memberships__user__username="client-b").sector == Sector.GOVERNMENT
    assert sum(pool.capacity_pflops for pool in ComputePool.objects.all()) == 2000
    assert sum(site.monitored_pflops for site in ComputeSite.objects.all()) == 7000


def test_orders_in_every_status_and_every_workshop(demo_factory):
    assert 100 <= Order.objects.count() <= 120
    # Loaded like a factory carrying ~1,000 orders a year at 80-90 % utilization (demo_data.ON_THE_FLOOR).
    assert 60 <= len(order_selectors.orders_in_flight()) <= 90
    assert set(Order.objects.values_list("status", flat=True)) == set(OrderStatus.values)
    on_the_floor = Order.objects.filter(status__in=(OrderStatus.IN_PRODUCTION, OrderStatus.AWAITING_REVIEW))
    assert set(on_the_floor.values_list("current_workshop", flat=True)) == set(Workshop.values)
    assert set(Order.objects.values_list("product_type", flat=True)) == {"dataset", "model", "agent", "application"}
    for username in ("client-a", "client-b"):
        theirs = Order.objects.filter(client__memberships__user__username=username)
        assert theirs.filter(status__in=(OrderStatus.DELIVERED, OrderStatus.CLOSED)).exists()
        assert theirs.values("status").distinct().count() >= 4
    # References count up in the order orders were placed.
    references = list(Order.objects.order_by("created_at").values_list("reference", flat=True))
    assert references == sorted(references)


def test_the_sensitive_medical_accompaniment_agent_stays_on_trusted_in_province_pools(demo_factory):
    order = Order.objects.get(title__icontains="medical-accompaniment")
    assert order.client.memberships.filter(user__username="client-a").exists()
    assert (order.product_type, order.sector, order.data_sensitivity) == ("agent", "healthcare", "sensitive")
    assert order.status == OrderStatus.IN_PRODUCTION
    assert order.current_workshop == Workshop.AGENT
    pools = ComputePool.objects.filter(jobs__order=order).union(
        ComputePool.objects.filter(pk__in=Job.objects.filter(order=order).values("last_pool"))
    )
    assert pools
    assert all(pool.trusted and pool.site.in_province for pool in pools)
    reviews = Review.objects.filter(order=order, status=ReviewStatus.APPROVED)
    assert {review.workshop for review in reviews} == {"data", "model"}
    assert all(review.approvals.count() == 2 for review in reviews)
    assert (
        not Job.objects.filter(sensitive=True)
        .exclude(last_pool=None)
        .exclude(last_pool__trusted=True, last_pool__site__in_province=True)
    )


def test_work_running_and_queued_gates_waiting_tickets_open_and_breached(demo_factory):
    assert Job.objects.filter(state=JobState.RUNNING).exists()
    assert Job.objects.filter(state=JobState.QUEUED).exists()
    for pool in ComputePool.objects.annotate(ours=Sum("jobs__demand_pflops", filter=Q(jobs__state="running"))):
        assert pool.used_pflops == (pool.ours or 0)
        assert pool.used_pflops + pool.background_pflops <= pool.capacity_pflops
    for step in OrderStep.objects.filter(status=StepStatus.RUNNING):
        assert step.jobs.filter(state=JobState.RUNNING).count() == 1
    assert Review.objects.filter(status=ReviewStatus.PENDING).count() >= 4
    assert Review.objects.filter(status=ReviewStatus.REJECTED).exists()
    assert security_services.reviews_open_for_waiting_gates() == []  # every waiting gate has its review
    active = Ticket.objects.filter(status__in=ACTIVE_TICKET_STATUSES)
    assert active.count() >= 4
    assert active.filter(breached=True).exists()
    assert active.filter(first_responded_at__isnull=True).exists()
    assert Ticket.objects.filter(follow_up_order__isnull=False).exists()
    # The SLA watch ran through the past: each breach is recorded when its window ran out, not at the end.
    for breach in TicketEvent.objects.filter(kind="breached").select_related("ticket"):
        dues = (breach.ticket.first_response_due, breach.ticket.resolution_due)
        assert min(abs(breach.at - due) for due in dues) < timedelta(minutes=5)


def test_a_past_that_every_chart_can_draw(demo_factory):
    now = clock.now()
    delivered = Order.objects.filter(status__in=(OrderStatus.DELIVERED, OrderStatus.CLOSED))
    assert delivered.filter(rating__isnull=False).count() >= 15
    weeks = delivered.filter(delivered_at__gte=now - timedelta(weeks=12)).annotate(week=TruncWeek("delivered_at"))
    assert weeks.values("week").distinct().count() >= 10
    for order in delivered:
        assert timedelta(days=2) < order.delivered_at - order.created_at < timedelta(days=60)
    # On time as the operations center counts it (delivered on or before the promised day), over the whole history.
    counted = with_due_dates(delivered).aggregate(
        n=Count("id"), on_time=Count("id", filter=Q(delivered_date__lte=F("due_date")))
    )
    assert 0.80 <= counted["on_time"] / counted["n"] <= 0.95
    (tile,) = [tile for tile in operations.tiles(now) if tile.key == "on_time"]
    assert 80 <= int(tile.value.rstrip("%")) <= 95
    # Stages with their past start and finish, for the Gantt; steps started before they finished.
    assert OrderStage.objects.filter(started_at__lt=now, finished_at__lt=now).count() >= 80
    assert not OrderStep.objects.filter(started_at__gt=F("finished_at")).exists()
    assert not OrderStep.objects.filter(status=StepStatus.DONE, started_at=None).exists()
    # 30 days of load per pool, within capacity, and the queue by priority at the same times.
    for pool in ComputePool.objects.annotate(first=Min("samples__at"), last=Max("samples__at"), n=Count("samples")):
        assert pool.last - pool.first >= timedelta(days=29, hours=23)
        assert pool.n >= 30 * 24 * 4
    assert not UtilizationSample.objects.filter(used_pflops__gt=F("capacity_pflops") - F("background_pflops")).exists()
    assert UtilizationSample.objects.filter(used_pflops__gt=0).count() > UtilizationSample.objects.count() / 4
    assert UtilizationSample.objects.aggregate(cost=Sum("cost"))["cost"] > Decimal(1_000_000)
    per_time = QueueSample.objects.values("at").annotate(n=Count("priority", distinct=True))
    assert per_time.count() >= 30 * 24 * 4
    assert {row["n"] for row in per_time} == {4}
    assert QueueSample.objects.filter(waiting_jobs__gt=0).exists()
    # Compute rolled up on orders matches their jobs.
    for order in Order.objects.annotate(jobs_cost=Sum("jobs__cost")).filter(jobs_cost__isnull=False)[:20]:
        assert order.compute_cost == order.jobs_cost


def test_a_maintenance_window_a_reservation_and_more_capacity_are_booked_ahead(demo_factory):
    booked = Reservation.objects.filter(start__gt=clock.now(), cancelled_at=None)
    assert sorted(booked.values_list("kind", "pool__name", "client__name")) == [
        ("maintenance", "qinghe-train", None),
        ("reservation", "xinghe-train-trusted", "Qinghe Provincial People's Hospital"),
    ]
    (grown,) = ScheduledPoolChange.objects.filter(cancelled_at=None, carried_out_at=None)
    assert (grown.pool.name, grown.capacity_pflops) == ("xinghe-infer-trusted", 240)
    assert grown.at > clock.now()


def test_nothing_in_the_future_and_only_known_people_acted(demo_factory):
    now = clock.now()
    assert not OrderEvent.objects.filter(at__gt=now).exists()
    assert not TicketEvent.objects.filter(at__gt=now).exists()
    assert not Order.objects.filter(created_at__gt=now).exists()
    actors = set(OrderEvent.objects.exclude(actor=None).values_list("actor__username", flat=True))
    actors |= set(TicketEvent.objects.exclude(actor=None).values_list("actor__username", flat=True))
    assert actors <= {"client-a", "client-b"} | set(
        get_user_model().objects.filter(demo.simulation_q()).values_list("username", flat=True)
    )


def test_the_dispatch_center_shows_queues_a_preemption_and_backfill_in_its_first_hours(demo_factory):
    """Right after the demo is built, work waits with its reasons; within 10 factory hours (the first 10 minutes of
    bin/run) a high-priority job preempts, the forecast measures the ETA slip it caused, and small work has started
    in the holes a large waiting job cannot use (backfill). Built to happen whatever the other tenants' load."""
    dispatch_services.dispatch_tick()
    waiting = Job.objects.filter(state__in=WAITING_STATES)
    reasons = set(waiting.values_list("pending_reason", flat=True))
    assert waiting.count() >= 3
    assert "" not in reasons
    assert len(reasons) >= 2

    start = clock.now()
    for minutes in range(5, 10 * 60 + 1, 5):  # the tick every 5 factory minutes, the forecast every factory hour
        at = start + timedelta(minutes=minutes)
        dispatch_services.dispatch_tick(now=at)
        if minutes % 60 == 0:
            forecast.forecast_etas(now=at)
            if Preemption.objects.exclude(eta_slips={}).exists() and Job.objects.filter(backfilled=True).exists():
                break
    assert Preemption.objects.exclude(eta_slips={}).exists()
    assert Job.objects.filter(backfilled=True).exists()
    assert minutes <= 2 * 60  # by construction, not by luck: the first forecast after the preemption measures it


def test_a_few_clients_are_entitled_to_more_of_some_pool_kinds_and_the_fairness_page_shows_them(demo_factory):
    from dispatch import selectors as dispatch_selectors

    weights = dispatch_services.client_entitlements()
    assert len(set(weights.values())) >= 2  # distinct entitlements, besides the default weight of the others
    data = dispatch_selectors.fairness(now=clock.now())
    assert len(data.rows) >= 10
    entitled = {(row.client.pk, share.kind): share.weight for row in data.rows for share in row.kinds}
    assert all(entitled[key] == weight for key, weight in weights.items())
    assert any(share.running for row in data.rows for share in row.kinds)

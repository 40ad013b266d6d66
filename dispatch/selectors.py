"""Reads of the dispatch center for pages, the API and the dashboards. Each is free of N+1.

Querysets come with their joins in place; the dispatch center's summary (`dispatch_center`) is a plain
dataclass built from a fixed number of queries, whatever the number of pools, jobs or clients.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import models
from django.db.models import (
    Avg,
    Case,
    Count,
    DateField,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    JSONField,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Cast, Coalesce, TruncMonth
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import PoolKind
from dispatch.engine import policy
from dispatch.engine.policy import PRIORITY_RANK
from dispatch.models import (
    PENDING_POOL_CHANGE,
    WAITING_STATES,
    ClientBudget,
    ComputePool,
    ComputeSite,
    Connection,
    DailyCost,
    Executor,
    Job,
    JobState,
    PoolState,
    PoolStateChange,
    Preemption,
    QueueSample,
    Reservation,
    ReservationKind,
    RunState,
    Scenario,
    ScenarioRun,
    ScheduledPoolChange,
    UtilizationSample,
)
from dispatch.services import client_entitlements, client_recent_usage, client_usage_this_month, month_start
from factory.health import Part
from orders.models import ClientOrganization, Order, Priority

UTILIZATION_MAX_HOURS = 720  # 30 days of samples: what a chart of utilization over time may ask for
PREEMPTION_WINDOW = timedelta(hours=24)


def priority_rank():
    """An order-by expression for job priorities: urgent 3 … low 0."""
    return Case(
        *(When(priority=name, then=Value(rank)) for name, rank in PRIORITY_RANK.items()),
        default=Value(PRIORITY_RANK["normal"]),
        output_field=IntegerField(),
    )


# --- Pools ----------------------------------------------------------------------------------------------


def pool_list() -> QuerySet[ComputePool]:
    """Every pool with its site, how many of our jobs it runs and its last state change, in one query."""
    latest_change = PoolStateChange.objects.filter(pool=OuterRef("pk")).order_by("-at", "-id")
    running = (
        Job.objects.filter(pool=OuterRef("pk"), state=JobState.RUNNING)
        .order_by()
        .values("pool")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        ComputePool.objects.select_related("site")
        .annotate(
            running_jobs=Coalesce(Subquery(running, output_field=IntegerField()), 0),
            last_change_at=Subquery(latest_change.values("at")[:1]),
            last_change_reason=Subquery(latest_change.values("reason")[:1]),
            last_change_by=Subquery(latest_change.values("actor__username")[:1]),
        )
        .order_by("-site__in_province", "kind", "name")
    )


def pool_for(pk) -> ComputePool:
    """One pool as `pool_list` shows it; 404 when there is none."""
    try:
        return pool_list().get(pk=int(pk))
    except (ComputePool.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such compute pool.")) from None


def pool_history(*, pool: ComputePool) -> QuerySet[PoolStateChange]:
    """The pool's state changes with who made them, newest first."""
    return PoolStateChange.objects.filter(pool=pool).select_related("actor").order_by("-at", "-id")


def pool_utilization(*, pool: ComputePool, hours: int, now: datetime) -> QuerySet[UtilizationSample]:
    """The pool's samples of the last `hours` hours up to `now`, oldest first."""
    return UtilizationSample.objects.filter(pool=pool, at__gt=now - timedelta(hours=hours), at__lte=now).order_by(
        "at", "id"
    )


# --- Reservations and maintenance windows ---------------------------------------------------------------


class BookingState(models.TextChoices):
    """Where a reservation or maintenance window stands on the factory clock (read, never stored)."""

    UPCOMING = "upcoming", _("Upcoming")
    UNDER_WAY = "under_way", _("Under way")
    OVER = "over", _("Over")
    CANCELLED = "cancelled", _("Cancelled")


IN_FORCE_STATES = (BookingState.UPCOMING, BookingState.UNDER_WAY)
# The bookings over or cancelled that a pool's page still lists, the most recent first.
RECENT_BOOKINGS = 5


def booking_state(now: datetime) -> Case:
    """A booking's BookingState at `now`: cancelled, over (its end passed, or the tick reopened its pool), under way
    (its start passed) or upcoming. One rule for the API's answers and filters and the pool's page."""
    moment = Value(now, output_field=DateTimeField())
    return Case(
        When(cancelled_at__isnull=False, then=Value(BookingState.CANCELLED)),
        When(Q(ended_at__isnull=False) | Q(end__lte=moment), then=Value(BookingState.OVER)),
        When(start__lte=moment, then=Value(BookingState.UNDER_WAY)),
        default=Value(BookingState.UPCOMING),
        output_field=models.CharField(),
    )


def reservations(*, now: datetime) -> QuerySet[Reservation]:
    """Every reservation and maintenance window with its pool, owner and who booked and cancelled it, and its
    `state` at `now`, soonest start first."""
    return (
        Reservation.objects.select_related("pool", "client", "order", "created_by", "cancelled_by")
        .annotate(state=booking_state(now))
        .order_by("start", "id")
    )


def reservation_for(pk, *, now: datetime) -> Reservation:
    """One booking as `reservations` gives it; 404 when there is none."""
    try:
        return reservations(now=now).get(pk=int(pk))
    except (Reservation.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such reservation or maintenance window.")) from None


@dataclass(frozen=True)
class PoolBookings:
    ahead: list[Reservation]  # upcoming and under way, soonest first
    recent: list[Reservation]  # over or cancelled, the latest end first (at most RECENT_BOOKINGS)

    def drawn(self) -> list[Reservation]:
        """The bookings that hold or close the pool's time (not cancelled), for the utilization chart."""
        return [booking for booking in [*self.ahead, *self.recent] if booking.state != BookingState.CANCELLED]


def pool_bookings(*, pool: ComputePool, now: datetime, rows: int) -> PoolBookings:
    """A pool's bookings for its page, in two queries: those in force (at most `rows`), and the last few over or
    cancelled."""
    booked = reservations(now=now).filter(pool=pool)
    return PoolBookings(
        ahead=list(booked.filter(state__in=IN_FORCE_STATES)[:rows]),
        recent=list(booked.exclude(state__in=IN_FORCE_STATES).order_by("-end", "-id")[:RECENT_BOOKINGS]),
    )


@dataclass(frozen=True)
class PoolSchedule:
    ahead: list[ScheduledPoolChange]  # not carried out or cancelled, soonest first
    recent: list[ScheduledPoolChange]  # carried out or cancelled, the latest first (at most RECENT_BOOKINGS)


def scheduled_changes() -> QuerySet[ScheduledPoolChange]:
    """Every scheduled pool change with its pool and who made and cancelled it, soonest first."""
    return ScheduledPoolChange.objects.select_related("pool", "created_by", "cancelled_by", "promoted_from").order_by(
        "at", "id"
    )


def pool_scheduled_changes(*, pool: ComputePool, rows: int) -> PoolSchedule:
    """A pool's scheduled changes for its page, in two queries: those to come (at most `rows`), and the last few
    carried out or cancelled."""
    changes = scheduled_changes().filter(pool=pool)
    return PoolSchedule(
        ahead=list(changes.filter(PENDING_POOL_CHANGE).order_by("at", "id")[:rows]),
        recent=list(
            changes.exclude(PENDING_POOL_CHANGE)
            .annotate(settled=Coalesce("carried_out_at", "cancelled_at"))
            .order_by("-settled", "-id")[:RECENT_BOOKINGS]
        ),
    )


def scheduled_change_for(pk) -> ScheduledPoolChange:
    """One scheduled pool change with its pool; 404 when there is none."""
    try:
        return scheduled_changes().get(pk=int(pk))
    except (ScheduledPoolChange.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such scheduled pool change.")) from None


@dataclass(frozen=True)
class Promoted:
    """What a run's pool changes were made into (dispatch.services.scenario_promote)."""

    windows: list[Reservation]
    pool_changes: list[ScheduledPoolChange]

    def __bool__(self):
        return bool(self.windows or self.pool_changes)


def promoted(*, run: ScenarioRun, now: datetime) -> Promoted:
    """The maintenance windows (as `reservations` reads them) and the scheduled pool changes a run's changes were
    made into, each by time."""
    return Promoted(
        windows=list(reservations(now=now).filter(promoted_from=run)),
        pool_changes=list(scheduled_changes().filter(promoted_from=run).order_by("at", "id")),
    )


def booking_clients() -> QuerySet[ClientOrganization]:
    """The clients room can be held for, by name (the booking form's select)."""
    return ClientOrganization.objects.order_by("name").only("pk", "name")


def order_by_reference(reference: str) -> Order | None:
    """The order with this reference (as a person types it), with its client; None when there is none."""
    reference = (reference or "").strip().upper()
    if not reference:
        return None
    return Order.objects.select_related("client").filter(reference=reference).first()


# --- Jobs -----------------------------------------------------------------------------------------------


def pool_samples(*, pool: ComputePool, now: datetime) -> QuerySet[UtilizationSample]:
    """A pool's utilization samples over the last UTILIZATION_MAX_HOURS, oldest first (the pool's export)."""
    since = now - timedelta(hours=UTILIZATION_MAX_HOURS)
    return UtilizationSample.objects.filter(pool=pool, at__gt=since, at__lte=now).order_by("at")


def job_list() -> QuerySet[Job]:
    """Every job with its order, client, step and pool, in the order of JobFilter's sort."""
    return Job.objects.select_related("order__client", "step", "pool")


def waiting_jobs() -> QuerySet[Job]:
    """The queue: queued and preempted jobs, urgent first, then the longest waiting."""
    return (
        Job.objects.filter(state__in=WAITING_STATES)
        .select_related("order__client", "step")
        .annotate(priority_rank=priority_rank())
        .order_by("-priority_rank", "queued_at", "id")
    )


def running_jobs() -> QuerySet[Job]:
    """Jobs running now with their pool: urgent first, then the longest running."""
    return (
        Job.objects.filter(state=JobState.RUNNING)
        .select_related("order__client", "step", "pool")
        .annotate(priority_rank=priority_rank())
        .order_by("-priority_rank", "started_at", "id")
    )


def open_jobs_of(*, order_id: int) -> list[Job]:
    """An order's waiting and running jobs with their step and pool: what a change of its priority moves."""
    return list(
        Job.objects.filter(order_id=order_id, state__in=(*WAITING_STATES, JobState.RUNNING))
        .select_related("step", "pool")
        .order_by("queued_at", "id")
    )


def recent_preemptions() -> QuerySet[Preemption]:
    """Preemptions, newest first, with the pool, and both jobs with their orders and steps.

    The jobs come by two prefetches rather than joins: one ten-table join cost Postgres 10 ms to plan,
    more than the dispatch center spends on any other query."""
    jobs = Job.objects.select_related("order", "step")
    return (
        Preemption.objects.select_related("pool")
        .prefetch_related(Prefetch("preempted", queryset=jobs), Prefetch("preempted_by", queryset=jobs))
        .order_by("-at", "-id")
    )


# --- Budgets --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetRow:
    client: ClientOrganization
    used_pflops_hours: float
    budget_pflops_hours: float | None  # None: the client has no budget
    share: float | None  # used / budget
    warn_at: float | None
    enforce: bool

    @property
    def status(self) -> str:
        """ "none" (no budget), "ok", "warning" (at or past warn_at) or "over" (at or past 100 %)."""
        if self.share is None:
            return "none"
        if self.share >= 1:
            return "over"
        if self.share >= (self.warn_at or 1):
            return "warning"
        return "ok"

    @property
    def percent(self) -> int | None:
        return None if self.share is None else round(self.share * 100)


def client_budgets(*, now: datetime) -> list[BudgetRow]:
    """This month's compute per client against its budget (burn-down): clients with a budget or with usage.

    Two queries: the month's usage per client, then those clients with their budgets. The clients closest
    to (or past) their budget come first; clients without a budget follow, the largest users first.
    """
    usage = client_usage_this_month(now)
    used_ids = [client_id for client_id, used in usage.items() if used > 0]
    clients = ClientOrganization.objects.filter(Q(compute_budget__isnull=False) | Q(pk__in=used_ids)).select_related(
        "compute_budget"
    )
    rows = []
    for client in clients:
        used = usage.get(client.pk, 0.0)
        budget: ClientBudget | None = getattr(client, "compute_budget", None)
        if budget is None:
            rows.append(BudgetRow(client, used, None, None, None, False))
            continue
        limit = float(budget.monthly_pflops_hours)
        rows.append(BudgetRow(client, used, limit, used / limit, float(budget.warn_at), budget.enforce))
    rows.sort(key=lambda row: (row.share is None, -(row.share or 0), -row.used_pflops_hours, row.client.name))
    return rows


# --- The dispatch center -------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueDepth:
    """How many jobs of one priority wait, and how long the longest of them has waited."""

    priority: str
    label: str
    waiting: int
    longest_wait: timedelta | None


@dataclass(frozen=True)
class JobCounts:
    running: int
    waiting: int
    by_priority: list[QueueDepth]  # urgent first


def job_counts(*, now: datetime) -> JobCounts:
    """Running and waiting jobs, and the queue's depth and longest wait per priority, in one query."""
    waiting = Q(state__in=WAITING_STATES)
    by_rank = sorted(PRIORITY_RANK.items(), key=lambda item: -item[1])
    aggregates = {
        "running": Count("id", filter=Q(state=JobState.RUNNING)),
        "waiting": Count("id", filter=waiting),
    }
    for name, _rank in by_rank:
        aggregates[f"waiting_{name}"] = Count("id", filter=waiting & Q(priority=name))
        aggregates[f"oldest_{name}"] = Min("queued_at", filter=waiting & Q(priority=name))
    # Only active jobs: done ones are the vast majority and an index covers the active states.
    row = Job.objects.filter(state__in=(JobState.RUNNING, *WAITING_STATES)).aggregate(**aggregates)
    return JobCounts(
        running=row["running"],
        waiting=row["waiting"],
        by_priority=[
            QueueDepth(
                priority=name,
                label=Priority(name).label,
                waiting=row[f"waiting_{name}"],
                longest_wait=max(now - row[f"oldest_{name}"], timedelta(0)) if row[f"oldest_{name}"] else None,
            )
            for name, _rank in by_rank
        ],
    )


@dataclass(frozen=True)
class Totals:
    """The platform's compute now, in PFLOPS: what the KPI tiles show."""

    pools: int
    capacity: Decimal  # every pool's dispatchable capacity
    dispatchable: Decimal  # capacity of the pools in service (active or draining)
    offline: Decimal  # capacity of offline pools
    used: Decimal  # held by our jobs
    background: Decimal  # other tenants of the platform
    free: Decimal  # room for new jobs on active pools
    monitored: Decimal  # what the sites report in total (more than they lend us)
    sites: int

    @property
    def used_percent(self) -> int:
        return round(self.used / self.dispatchable * 100) if self.dispatchable else 0


def totals_of(pools: list[ComputePool], *, monitored: Decimal, sites: int) -> Totals:
    """Totals of already loaded pools (no query)."""
    zero = Decimal(0)
    in_service = [pool for pool in pools if pool.state != PoolState.OFFLINE]
    return Totals(
        pools=len(pools),
        capacity=sum((pool.capacity_pflops for pool in pools), zero),
        dispatchable=sum((pool.capacity_pflops for pool in in_service), zero),
        offline=sum((pool.capacity_pflops for pool in pools if pool.state == PoolState.OFFLINE), zero),
        used=sum((pool.used_pflops for pool in pools), zero),
        background=sum((pool.background_pflops for pool in pools), zero),
        free=sum((pool.free_pflops for pool in pools), zero),
        monitored=monitored,
        sites=sites,
    )


@dataclass
class DispatchCenter:
    now: datetime
    pools: list[ComputePool]
    totals: Totals
    running_count: int
    waiting_count: int
    queue_by_priority: list[QueueDepth]
    preemptions_24h: int
    waiting: list[Job]
    running: list[Job]
    preemptions: list[Preemption]
    budgets: list[BudgetRow] = field(default_factory=list)


def _next_maintenance(now: datetime) -> dict:
    """Annotations: the start and end of each pool's maintenance window under way or next to come."""
    windows = Reservation.objects.filter(
        pool=OuterRef("pk"),
        kind=ReservationKind.MAINTENANCE,
        cancelled_at__isnull=True,
        ended_at__isnull=True,
        end__gt=now,
    ).order_by("start", "id")
    return {
        "window_start": Subquery(windows.values("start")[:1]),
        "window_end": Subquery(windows.values("end")[:1]),
    }


def dispatch_center(*, now: datetime, rows: int = 20) -> DispatchCenter:
    """Everything the dispatch center shows, in a fixed number of queries (each list cut at `rows`).

    Queries: pools, sites' monitored capacity, job counts with the queue's depth per priority, preemptions
    of the last 24 hours, the queue, running jobs, recent preemptions, usage per client, clients with
    budgets (9).
    """
    pools = list(pool_list().annotate(**_next_maintenance(now)))
    site_totals = ComputeSite.objects.aggregate(monitored=Coalesce(Sum("monitored_pflops"), Decimal(0)), n=Count("id"))
    counts = job_counts(now=now)
    preemptions_24h = Preemption.objects.filter(at__gt=now - PREEMPTION_WINDOW, at__lte=now).count()
    return DispatchCenter(
        now=now,
        pools=pools,
        totals=totals_of(pools, monitored=site_totals["monitored"], sites=site_totals["n"]),
        running_count=counts.running,
        waiting_count=counts.waiting,
        queue_by_priority=counts.by_priority,
        preemptions_24h=preemptions_24h,
        waiting=list(waiting_jobs()[:rows]),
        running=list(running_jobs()[:rows]),
        preemptions=list(recent_preemptions()[:rows]),
        budgets=client_budgets(now=now),
    )


# --- History for the dispatch center's charts (bucketed in Postgres) ------------------------------------


class DateBin(Func):
    """Postgres date_bin(stride, source, origin): the start of the `stride`-long bucket `source` falls in."""

    function = "date_bin"
    output_field = DateTimeField()


def _bucket(stride: timedelta, origin: datetime) -> DateBin:
    return DateBin(Value(stride, output_field=DurationField()), F("at"), Value(origin, output_field=DateTimeField()))


def chart_stride(hours: int, buckets: int = 96) -> timedelta:
    """A bucket length that draws `hours` of history in about `buckets` points, in whole minutes."""
    return timedelta(minutes=max(1, round(hours * 60 / buckets)))


def utilization_history(*, now: datetime, hours: int, per_site: bool = False, pool_id: int | None = None) -> list[dict]:
    """Per bucket and pool (or site, `per_site`): the mean total of used, background and capacity PFLOPS over
    the ticks of the bucket, as `band` (the pool or site id), `used`, `background`, `capacity` (oldest first).
    With `pool_id`, that pool's alone.

    Summed in Postgres per band and divided by the band's ticks there: a figure of 50 pools stays about a
    thousand rows, not one per pool and bucket (which cost the dispatch center 30 ms of Python)."""
    stride = chart_stride(hours)
    since = now - timedelta(hours=hours)
    ticks = Count("at", distinct=True)
    samples = UtilizationSample.objects.filter(at__gt=since, at__lte=now)
    if pool_id is not None:
        samples = samples.filter(pool_id=pool_id)
    rows = (
        samples.annotate(bucket=_bucket(stride, since))
        .values("bucket", band=F("pool__site_id") if per_site else F("pool_id"))
        .annotate(
            used=_per_tick(Sum("used_pflops"), ticks),
            background=_per_tick(Sum("background_pflops"), ticks),
            capacity=_per_tick(Sum("capacity_pflops"), ticks),
        )
        .order_by("bucket", "band")
    )
    return list(rows)


def _per_tick(total, ticks) -> ExpressionWrapper:
    return ExpressionWrapper(Cast(total, FloatField()) / ticks, output_field=FloatField())


def queue_history(*, now: datetime, hours: int) -> list[dict]:
    """Per bucket and priority: mean number of waiting jobs and mean wait in hours (oldest first)."""
    stride = chart_stride(hours)
    since = now - timedelta(hours=hours)
    return list(
        QueueSample.objects.filter(at__gt=since, at__lte=now)
        .annotate(bucket=_bucket(stride, since))
        .values("bucket", "priority")
        .annotate(waiting=Avg("waiting_jobs"), wait=Avg("mean_wait_hours"))
        .order_by("bucket", "priority")
    )


def cost_per_day(*, now: datetime, days: int) -> list[dict]:
    """What our jobs were charged per day (factory calendar, site time zone), oldest first."""
    today = timezone.localdate(now)
    return list(DailyCost.objects.filter(day__gt=today - timedelta(days=days), day__lte=today).values("day", "cost"))


def order_job_spans(*, order_id: int) -> list[dict]:
    """When each of an order's jobs ran (its last run) and with what demand, oldest first."""
    return list(
        Job.objects.filter(order_id=order_id, started_at__isnull=False)
        .values("started_at", "finished_at", "demand_pflops", "state")
        .order_by("started_at")
    )


# --- What-if scenarios -----------------------------------------------------------------------------------------


def _latest_run() -> QuerySet[ScenarioRun]:
    """The newest run of the scenario of the outer query."""
    return ScenarioRun.objects.filter(scenario=OuterRef("pk")).order_by("-queued_at", "-id")


def scenarios() -> QuerySet[Scenario]:
    """Scenarios, newest first, each with its latest run's id, state and progress and its runs' count."""
    latest = _latest_run()
    runs = ScenarioRun.objects.filter(scenario=OuterRef("pk")).order_by().values("scenario").annotate(n=Count("pk"))
    return Scenario.objects.select_related("created_by").annotate(
        latest_run_id=Subquery(latest.values("pk")[:1]),
        latest_run_state=Subquery(latest.values("state")[:1]),
        latest_run_progress=Subquery(latest.values("progress")[:1]),
        runs_count=Coalesce(Subquery(runs.values("n")[:1]), 0),
    )


def in_use_or_archived(scenarios: QuerySet[Scenario], *, archived: bool) -> QuerySet[Scenario]:
    """The scenarios in use, or the archived ones: one rule for the page and the API's filter."""
    return scenarios.filter(archived_at__isnull=not archived)


def scenario_list(*, archived: bool = False) -> QuerySet[Scenario]:
    """The scenarios in use, or the archived ones."""
    return in_use_or_archived(scenarios(), archived=archived)


def _runs_newest_first() -> QuerySet[ScenarioRun]:
    """Runs newest first with who started them, without their results (lists read only the counts)."""
    return ScenarioRun.objects.select_related("started_by").defer("result").order_by("-queued_at", "-id")


def scenario_for(pk, *, with_runs: bool = False) -> Scenario:
    """The scenario with id `pk`, archived or not (404 otherwise); `with_runs`: with its runs newest first, without
    their results, in `runs_newest_first`, and the newest run's result in `latest_run_result` (the API's answer)."""
    found = scenarios()
    if with_runs:
        found = found.prefetch_related(Prefetch("runs", _runs_newest_first(), to_attr="runs_newest_first")).annotate(
            latest_run_result=Subquery(_latest_run().values("result")[:1], output_field=JSONField())
        )
    try:
        return found.get(pk=int(pk))
    except (Scenario.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such scenario.")) from None


def scenario_runs(*, scenario: Scenario) -> QuerySet[ScenarioRun]:
    """A scenario's runs, newest first, without their results (a run's page reads its own)."""
    return _runs_newest_first().filter(scenario=scenario)


def run_for(pk) -> ScenarioRun:
    """The run with id `pk`, with its scenario and result (404 otherwise)."""
    try:
        return ScenarioRun.objects.select_related("scenario", "started_by").get(pk=int(pk))
    except (ScenarioRun.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such scenario run.")) from None


@dataclass
class ScenarioNames:
    """What the ids in scenarios' changes name (dispatch.scenario_changes.describe)."""

    pools: dict[int, str]
    sites: dict[int, str]
    clients: dict[int, str]


def scenario_names() -> ScenarioNames:
    return ScenarioNames(
        pools=dict(ComputePool.objects.values_list("pk", "name")),
        sites=dict(ComputeSite.objects.values_list("pk", "name")),
        clients=dict(ClientOrganization.objects.values_list("pk", "name")),
    )


def scenario_run_rows(*, scenario: Scenario) -> QuerySet[ScenarioRun]:
    """A scenario's runs as its page lists them, newest first: who started each and its result's counts (promises
    broken, orders slipped and gained; None until it is done), read in the database without the result itself."""
    return scenario_runs(scenario=scenario).annotate(
        **{count: KeyTransform(count, "result") for count in ("broken", "slipped", "gained")}
    )


def runs_to_compare(*, besides: ScenarioRun | None = None, limit: int) -> QuerySet[ScenarioRun]:
    """The finished runs, newest first, with their scenarios; without their results (a select to compare with)."""
    runs = ScenarioRun.objects.filter(state=RunState.DONE).select_related("scenario").defer("result", "changes")
    if besides is not None:
        runs = runs.exclude(pk=besides.pk)
    return runs[:limit]


# --- Fairness and entitlements ---------------------------------------------------------------------------

FAIRNESS_MONTHS = 12  # budget use shown per month, this month included


@dataclass(frozen=True)
class KindShare:
    """One client on one pool kind: what it is entitled to, what it used recently and what it runs now.

    Shares are among the clients on the fairness page (every client with an entitlement, recent usage, work in the
    factory or a budget); a client without an entitlement weighs DEFAULT_ENTITLEMENT."""

    kind: str
    label: str
    weight: float
    entitled: float  # weight / the weights of every listed client on the kind, 0..1
    recent_pflops_hours: float  # decayed (dispatch.engine.policy.USAGE_HALF_LIFE)
    recent: float | None  # of every listed client's recent usage of the kind; None when nobody used it
    running_pflops: float
    running: float | None  # of the PFLOPS our jobs of the kind run now; None when none runs


@dataclass(frozen=True)
class FairnessRow:
    client: ClientOrganization
    kinds: list[KindShare]  # in PoolKind order
    waiting: int
    next_start: datetime | None  # the earliest expected start of its waiting jobs
    last_start: datetime | None  # the latest one
    months: list[tuple[date, float]]  # (first day of the month, PFLOPS·h finished then), oldest first
    budget_pflops_hours: float | None  # monthly

    @property
    def year_pflops_hours(self) -> float:
        return sum(used for _month, used in self.months)

    @property
    def months_over_budget(self) -> int:
        if self.budget_pflops_hours is None:
            return 0
        return sum(used > self.budget_pflops_hours for _month, used in self.months)


@dataclass(frozen=True)
class Fairness:
    rows: list[FairnessRow]
    months: list[date]  # the months the rows count, oldest first
    half_life: timedelta
    default_weight: float


def _months_back(now: datetime, count: int) -> list[date]:
    """The first days of the last ``count`` months in the factory's time zone, this one last."""
    first = month_start(now).date()
    months = [first]
    while len(months) < count:
        months.append((months[-1] - timedelta(days=1)).replace(day=1))
    return months[::-1]


def fairness(*, now: datetime) -> Fairness:
    """Per client: entitlement, recent usage and running share per pool kind, waiting jobs and their expected starts,
    and compute used per month against its budget over the last 12 months.

    Six queries whatever the number of clients or jobs: entitlements; recent usage (the tick's own,
    dispatch.services.client_recent_usage); PFLOPS running per client and kind; waiting jobs per client; PFLOPS·h
    finished per client and month; the clients with their budgets. Clients with work, usage, an entitlement or a
    budget are listed, the largest recent users first."""
    weights = client_entitlements()
    recent = client_recent_usage(now)
    running = {
        (row["order__client_id"], row["kind"]): float(row["pflops"])
        for row in Job.objects.filter(state=JobState.RUNNING)
        .order_by()
        .values("order__client_id", "kind")
        .annotate(pflops=Sum("demand_pflops"))
    }
    waiting = {
        row["order__client_id"]: row
        for row in Job.objects.filter(state__in=WAITING_STATES)
        .order_by()
        .values("order__client_id")
        .annotate(count=Count("id"), first=Min("expected_start"), last=Max("expected_start"))
    }
    months = _months_back(now, FAIRNESS_MONTHS)
    since = timezone.make_aware(datetime.combine(months[0], datetime.min.time()))  # in the factory's time zone
    monthly: dict[int, dict[date, float]] = {}
    for row in (
        Job.objects.filter(state=JobState.DONE, finished_at__gte=since, finished_at__lte=now)
        .order_by()
        .annotate(month=TruncMonth("finished_at", output_field=DateField()))
        .values("order__client_id", "month")
        .annotate(used=Sum("done_pflops_hours"))
    ):
        monthly.setdefault(row["order__client_id"], {})[row["month"]] = float(row["used"] or 0)
    ids = {client for client, _kind in (*weights, *recent, *running)} | set(waiting) | set(monthly)
    clients = list(
        ClientOrganization.objects.filter(Q(pk__in=ids) | Q(compute_budget__isnull=False)).select_related(
            "compute_budget"
        )
    )
    kinds = PoolKind.choices
    weight_of = {
        kind: {client.pk: policy.entitlement_of(weights, client.pk, kind) for client in clients} for kind, _ in kinds
    }
    totals = {
        kind: (
            sum(weight_of[kind].values()),
            sum(recent.get((client.pk, kind), 0.0) for client in clients),
            sum(value for (_client, k), value in running.items() if k == kind),
        )
        for kind, _ in kinds
    }
    rows = []
    for client in clients:
        shares = []
        for kind, label in kinds:
            weight, entitled_total = weight_of[kind][client.pk], totals[kind][0]
            used, used_total = recent.get((client.pk, kind), 0.0), totals[kind][1]
            pflops, running_total = running.get((client.pk, kind), 0.0), totals[kind][2]
            shares.append(
                KindShare(
                    kind=kind,
                    label=label,
                    weight=weight,
                    entitled=weight / entitled_total,
                    recent_pflops_hours=used,
                    recent=used / used_total if used_total > 0 else None,
                    running_pflops=pflops,
                    running=pflops / running_total if running_total > 0 else None,
                )
            )
        queue = waiting.get(client.pk)
        budget = getattr(client, "compute_budget", None)
        used_by_month = monthly.get(client.pk, {})
        rows.append(
            FairnessRow(
                client=client,
                kinds=shares,
                waiting=queue["count"] if queue else 0,
                next_start=queue["first"] if queue else None,
                last_start=queue["last"] if queue else None,
                months=[(month, used_by_month.get(month, 0.0)) for month in months],
                budget_pflops_hours=float(budget.monthly_pflops_hours) if budget is not None else None,
            )
        )
    rows.sort(key=lambda row: (-sum(share.recent_pflops_hours for share in row.kinds), -row.waiting, row.client.name))
    return Fairness(
        rows=rows, months=months, half_life=policy.USAGE_HALF_LIFE, default_weight=policy.DEFAULT_ENTITLEMENT
    )


def clusters_health():
    """The real clusters as /healthz reports them (factory.health): each site's cluster, whether it answered the last
    tick and when it was asked; those not answering are down."""
    sites = ComputeSite.objects.filter(executor=Executor.SLURM).order_by("name")
    report = {
        site.cluster: {
            "site": site.name,
            "state": "ok" if site.connection == Connection.UP else "unavailable" if site.connection else "unknown",
            "checked_at": timezone.localtime(site.connection_checked_at).isoformat()
            if site.connection_checked_at
            else None,
        }
        for site in sites
    }
    return Part(report=report, down=[name for name, part in report.items() if part["state"] == "unavailable"])

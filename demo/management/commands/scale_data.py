"""The scale data set the benchmarks run on (bench/pages.py, bench/load.py): years of a busy factory.

    manage.py scale_data [--orders 10000] [--jobs 100000] [--pools 50] [--days 30] [--sample-minutes 5]
        [--per-year 2000] [--seed 1] [--reset] [--force]

Each order's life is played as the services would have played it, on the factory clock, up to now:
placed by a client (or by operations on its behalf), accepted into one stage per workshop of its routing
with the catalog's steps scaled by its size, produced step by step (each step waits for compute, then runs
at its demand until its work is done), stopped at every workshop's security gate (a review with the
gate's checklist, two approvals for sensitive data, sometimes a rejection with findings that sends a step
back to rework), ready, delivered, confirmed and rated; a few are rejected or cancelled. Where now falls in
that life sets the order's status, its stages' and steps' statuses, progress and ETA, and what it has:
events, reviews with answers, approvals and findings, artifacts. The rows are then written in bulk (COPY,
with ids drawn from the tables' own sequences); the database's constraints check every row.

Compute: `--pools` pools on eight sites. The dispatch center has run the most recent `--jobs` step runs: the
runs going on now (running within each pool's room left by other tenants, the rest queued) and the latest
finished ones, each on the pool with most room when it started (sensitive data on trusted in-province pools
only); older steps ran before it and have no job. `--days` days of utilization samples per pool and of queue
samples per priority, every `--sample-minutes` factory minutes, are derived from those jobs. Tickets are
opened, answered and resolved through after-sales' own services, under the clock of their moment.

Orders arrive at `--per-year` a year up to now (10,000 orders at 2,000 a year: five years of history).
Refused unless DEMO_MODE is on or `--force` is given. Idempotent: a second run finds the set (its pools)
and changes nothing; `--reset` first empties every factory table (orders, clients, pools, samples,
reviews, tickets: everything but users and the catalog), so use it on a database kept for benchmarks.
"""

import hashlib
import heapq
import io
import math
import random
import secrets
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from decimal import ROUND_DOWN, Decimal
from unittest import mock

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales import services as aftersales_services
from aftersales.models import SlaPolicy, Ticket, TicketReferenceCounter, TicketStatus
from catalog.models import SIZE_FACTORS, ProductType, Sector, Size
from catalog.selectors import routing_for, steps_by_workshop
from demo import staff as demo
from dispatch import services as dispatch_services
from dispatch.engine import background, planner
from dispatch.models import (
    ComputePool,
    ComputeSite,
    DispatchState,
    Job,
    JobState,
    QueueSample,
    UtilizationSample,
)
from factory import clock, roles
from orders.models import (
    IN_FLIGHT_STATUSES,
    WORKSHOP_ARTIFACT,
    Artifact,
    ClientOrganization,
    EventKind,
    Order,
    OrderEvent,
    OrderStage,
    OrderStatus,
    OrderStep,
    Priority,
    ReferenceCounter,
    StageStatus,
    StepStatus,
)
from orders.models import (
    DataSensitivity as Sensitivity,
)
from orders.services import client_user_attach
from security.models import Approval, ChecklistItem, Finding, Review, ReviewAnswer, ReviewStatus
from security.models import Severity as FindingSeverity

# Staff of the scale data set (unusable passwords: the benchmarks sign them in directly).
OPERATIONS_USER = "scale-operations"
DISPATCH_USER = "scale-dispatcher"
REVIEWER_USERS = ("scale-reviewer-1", "scale-reviewer-2")
AFTERSALES_USER = "scale-aftersales"
STAFF = {
    OPERATIONS_USER: roles.OPERATIONS,
    DISPATCH_USER: roles.DISPATCH,
    REVIEWER_USERS[0]: roles.SECURITY,
    REVIEWER_USERS[1]: roles.SECURITY,
    AFTERSALES_USER: roles.AFTERSALES,
}
CLIENT_USER_PREFIX = "scale-client-"
POOL_PREFIX = "scale-"  # the pools mark the data set as built

# Client organizations: twelve per sector, invented names; a few large ones (Zipf-like weights).
CITIES = [
    "Taoyuan", "Nanshan", "Beiling", "Fengcheng", "Linjiang", "Heshan", "Zhuxi", "Pingyuan", "Shuanghe",
    "Longtan", "Meiling", "Anping", "Huaxi", "Changning", "Jiangkou", "Shiqiao", "Wenxi", "Yunshui",
]  # fmt: skip
KINDS = {
    Sector.HEALTHCARE: [
        "People's Hospital", "Hospital of Traditional Chinese Medicine", "Maternal and Child Health Hospital",
        "Central Hospital", "Cancer Hospital", "Stomatological Hospital",
    ],
    Sector.GOVERNMENT: [
        "Government Data Bureau", "Market Regulation Bureau", "Human Resources and Social Security Bureau",
        "Natural Resources Bureau", "Transport Bureau", "Housing Provident Fund Center",
    ],
    Sector.FINANCE: [
        "Rural Commercial Bank", "City Commercial Bank", "Securities Co., Ltd.", "Mutual Insurance Society",
        "Credit Union", "Financial Leasing Co., Ltd.",
    ],
    Sector.MANUFACTURING: [
        "Precision Machinery Co., Ltd.", "Steel Works", "Battery Technology Co., Ltd.", "Textile Group",
        "Pharmaceutical Co., Ltd.", "Auto Parts Co., Ltd.",
    ],
    Sector.EDUCATION: [
        "Normal University", "Vocational and Technical College", "No. 1 Middle School",
        "University of Science and Technology", "Open University", "Medical College",
    ],
}  # fmt: skip
ORGANIZATIONS_PER_SECTOR = 12
ZIPF = 0.8

# site, city, in province, monitored PFLOPS
SITES = [
    ("Taoyuan Provincial AI Computing Center", "Taoyuan", True, 9000),
    ("Nanshan Government Cloud", "Nanshan", True, 4000),
    ("Fengcheng Industrial Park Data Center", "Fengcheng", True, 3000),
    ("Linjiang University Supercomputing Center", "Linjiang", True, 2500),
    ("Heshan Financial Cloud", "Heshan", True, 2000),
    ("Coastal Compute Hub (out of province)", "Haibin", False, 6000),
    ("Northern Plains Compute Hub (out of province)", "Beiyuan", False, 5000),
    ("Western Mountains Compute Hub (out of province)", "Xishan", False, 3000),
]
# kind, short name, capacities (PFLOPS). Training is most of the catalog's compute: half the pools, the large ones.
TRAINING = ("training", "train", (320, 400, 480, 560, 640))
DATA = ("data_processing", "data", (60, 100, 140, 200))
INFERENCE = ("inference", "infer", (40, 80, 120, 160, 200))
POOL_KINDS = [TRAINING, DATA, TRAINING, INFERENCE, TRAINING, DATA, TRAINING, INFERENCE, TRAINING, INFERENCE]

PRODUCT_MIX = {ProductType.DATASET: 20, ProductType.MODEL: 45, ProductType.AGENT: 25, ProductType.APPLICATION: 10}
SIZES = {Size.SMALL: 50, Size.MEDIUM: 35, Size.LARGE: 15}
PRIORITIES = {Priority.LOW: 15, Priority.NORMAL: 70, Priority.HIGH: 12, Priority.URGENT: 3}
# Requested delivery = placing + nominal duration times this stretch (clients ask for what they need).
STRETCH = {"urgent": (1.1, 1.4), "high": (1.2, 1.8), "normal": (1.3, 2.5), "low": (1.8, 3.0)}
# Mean hours a ready step waits for compute, by priority; training waits for the big pools.
WAITS = {"urgent": 0.02, "high": 0.05, "normal": 0.15, "low": 0.5}
TRAINING_WAITS = {"urgent": 0.1, "high": 0.5, "normal": 1.5, "low": 4.0}
REJECTED_SHARE, WITHDRAWN_SHARE, CANCELLED_SHARE = 0.03, 0.015, 0.025
# Factory hours operations take to accept or reject an order, to start production, to deliver; and a
# reviewer takes to decide a gate (about the GATE_REVIEW_HOURS the ETA counts on).
DECIDE_HOURS, START_HOURS, DELIVER_HOURS, REVIEW_HOURS = (1, 48), (0.5, 24), (2, 48), (4, 40)
REWORK_SHARE = 0.12  # gates whose first review is rejected
BUSY_SHARE = 0.15  # orders that meet a crowded factory: their steps wait much longer
TICKETS_PER_ORDERS = 50  # one ticket per this many orders
REJECT_REASONS = [
    "Outside what the factory's catalog can build.",
    "The client could not provide the data the order needs.",
    "Duplicate of an order already in production.",
]
CANCEL_REASONS = ["The client's project was stopped.", "Budget withdrawn for this year.", "Replaced by a new order."]
WITHDRAW_REASONS = ["We placed it by mistake.", "Our requirements changed; we will order again later."]


def _hours(value: float) -> timedelta:
    return timedelta(hours=value)


def _local_date(moment: datetime):
    return timezone.localtime(moment).date()


# --- What an order is made of while its life is played --------------------------------------------------


@dataclass(slots=True)
class _CatalogStep:
    id: int
    code: str
    name: str
    name_zh: str
    pool_kind: str
    demand: Decimal
    work: Decimal
    hours: Decimal
    run_hours: float


@dataclass(slots=True)
class _Step:
    id: int
    stage: "_Stage"
    catalog: _CatalogStep
    position: int
    status: str = StepStatus.PENDING
    rework_count: int = 0
    started: datetime | None = None
    finished: datetime | None = None


@dataclass(slots=True)
class _Stage:
    id: int
    workshop: str
    position: int
    rework: bool  # its gate's first review will be rejected
    steps: list = field(default_factory=list)
    status: str = StageStatus.PENDING
    started: datetime | None = None
    finished: datetime | None = None
    gate_passage: int = 0


@dataclass(slots=True)
class _Review:
    id: int
    stage: _Stage
    passage: int
    opened: datetime
    status: str = ReviewStatus.PENDING
    decided: datetime | None = None
    reviewer: int | None = None
    answered: bool = False
    failed: tuple | None = None  # (checklist position, severity, finding) of a rejection
    approvals: list = field(default_factory=list)  # (reviewer id, at)


@dataclass(slots=True)
class _Run:
    """One run of a step's compute; a job when it falls in the dispatch center's time."""

    order: "_Order"
    step: _Step
    queued: datetime
    started: datetime | None  # None: waiting for compute now
    finished: datetime | None  # None: still running (or waiting)
    pool: ComputePool | None = None


@dataclass(slots=True)
class _Order:
    id: int
    reference: str
    client: ClientOrganization
    client_user: int
    placed_by: int
    title: str
    product_type: str
    requirements: str
    sensitivity: str
    size: str
    priority: str
    placed: datetime
    requested: object
    promised: object
    fate: str
    busy: float
    status: str = OrderStatus.SUBMITTED
    stages: list = field(default_factory=list)
    reviews: list = field(default_factory=list)
    runs: list = field(default_factory=list)
    accepted_at: datetime | None = None
    ready_at: datetime | None = None
    delivered_at: datetime | None = None
    closed_at: datetime | None = None
    rating: int | None = None
    rating_comment: str = ""
    cancel_at: tuple | None = None  # (stage index, step index) where a cancelled order stops
    compute: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)

    @property
    def sensitive(self) -> bool:
        return self.sensitivity == Sensitivity.SENSITIVE

    @property
    def due(self):
        return self.promised or self.requested


# --- Writing rows in bulk -------------------------------------------------------------------------------


class _Ids:
    """Ids drawn from a table's own sequence, a block at a time (safe beside other writers)."""

    BLOCK = 20000

    def __init__(self, model):
        self.table = model._meta.db_table
        self.free: list[int] = []

    def __call__(self) -> int:
        if not self.free:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    [self.table, self.BLOCK],
                )
                self.free = [row[0] for row in cursor.fetchall()][::-1]
        return self.free.pop()


def _text(value) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return str(value)


def _copy(model, fields: list[str], rows) -> int:
    """COPY `rows` (tuples in the order of `fields`, model attribute names) into the model's table."""
    columns = ", ".join(f'"{model._meta.get_field(name).column}"' for name in fields)
    buffer = io.StringIO()
    count = 0
    for row in rows:
        buffer.write("\t".join(map(_text, row)))
        buffer.write("\n")
        count += 1
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f'COPY "{model._meta.db_table}" ({columns}) FROM STDIN', buffer)
    return count


# --- The command ----------------------------------------------------------------------------------------


class Command(BaseCommand):
    help = "Build the scale data set for the benchmarks (orders, jobs, pools, samples, reviews, tickets)."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=10000, help="orders (default 10,000)")
        parser.add_argument("--jobs", type=int, default=100000, help="dispatch jobs (default 100,000)")
        parser.add_argument("--pools", type=int, default=50, help="compute pools (default 50)")
        parser.add_argument("--days", type=int, default=30, help="days of utilization and queue samples")
        parser.add_argument("--sample-minutes", type=int, default=5, help="factory minutes between samples")
        parser.add_argument("--per-year", type=int, default=2000, help="orders placed per year (sets the history)")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--reset", action="store_true", help="empty every factory table first")
        parser.add_argument("--force", action="store_true", help="run even when DEMO_MODE is off")

    def handle(self, *args, **options):
        if not (settings.DEMO_MODE or options["force"]):
            raise CommandError(
                "The scale data set is for benchmark databases: it needs DEMO_MODE=true or --force, never production."
            )
        for name in ("orders", "jobs", "pools", "days", "sample_minutes", "per_year"):
            minimum = 0 if name in ("orders", "jobs") else 1
            if options[name] < minimum:
                raise CommandError(f"--{name.replace('_', '-')} must be at least {minimum}.")
        started = time.perf_counter()
        with transaction.atomic():
            if options["reset"]:
                _reset()
            elif ComputePool.objects.filter(name__startswith=POOL_PREFIX).exists():
                self.stdout.write(f"The scale data set is already there: {_summary()}. --reset builds it anew.")
                return
            report = _Build(options).run()
        _analyze()
        self.stdout.write(report)
        self.stdout.write(
            self.style.SUCCESS(f"Scale data set built: {_summary()} ({time.perf_counter() - started:.1f} s).")
        )


def _summary() -> str:
    counts = [
        ("orders", Order),
        ("stages", OrderStage),
        ("steps", OrderStep),
        ("order events", OrderEvent),
        ("jobs", Job),
        ("pools", ComputePool),
        ("utilization samples", UtilizationSample),
        ("queue samples", QueueSample),
        ("reviews", Review),
        ("tickets", Ticket),
    ]
    return ", ".join(f"{model.objects.count():,} {label}" for label, model in counts)


RESET_MODELS = [
    Order,
    ClientOrganization,
    ComputeSite,
    ComputePool,
    UtilizationSample,
    QueueSample,
    DispatchState,
    ReferenceCounter,
    TicketReferenceCounter,
]
ANALYZE_MODELS = [
    Order,
    OrderStage,
    OrderStep,
    OrderEvent,
    Artifact,
    Review,
    ReviewAnswer,
    Approval,
    Finding,
    Job,
    ComputePool,
    UtilizationSample,
    QueueSample,
    Ticket,
]


def _reset() -> None:
    # TRUNCATE, not DELETE: orders, reviews and tickets keep their history and refuse row deletes.
    # CASCADE empties every table that refers to these (stages, steps, events, jobs, reviews, tickets...).
    tables = ", ".join(f'"{model._meta.db_table}"' for model in RESET_MODELS)
    with connection.cursor() as cursor:
        # Foreign keys are checked at commit; checks still pending in this transaction would block TRUNCATE.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"TRUNCATE {tables} CASCADE")  # table names from the models, not input
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _analyze() -> None:
    """Fresh statistics (and, outside a transaction, the visibility map) for the planner to use at once."""
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
    with connection.cursor() as cursor:
        for model in ANALYZE_MODELS:
            cursor.execute(f'{command} "{model._meta.db_table}"')  # table names from the models, not input


class _Build:
    def __init__(self, options):
        self.options = options
        self.rng = random.Random(options["seed"])  # noqa: S311 - a simulation, not cryptography
        self.now = clock.now().replace(microsecond=0)
        self.events: list[tuple] = []
        self.artifacts: list[tuple] = []
        self.orders: list[_Order] = []
        self.phase_started = time.perf_counter()
        self.phases: list[str] = []
        self.user_cache: dict[int, object] = {}

    def phase(self, name: str) -> None:
        now = time.perf_counter()
        self.phases.append(f"{name} {now - self.phase_started:.1f} s")
        self.phase_started = now

    def run(self) -> str:
        self.ids = {model: _Ids(model) for model in (Order, OrderStage, OrderStep, Review, Artifact)}
        self.users()
        self.organizations()
        self.pools = self.make_pools()
        self.catalog()
        self.phase("users, clients, pools")
        self.play_orders()
        self.phase(f"{len(self.orders):,} order lives")
        jobs = self.dispatch()
        self.phase("jobs placed")
        samples, queue_samples = self.samples()
        self.phase("samples")
        written = self.write(jobs, samples, queue_samples)
        self.phase("COPY")
        tickets = self.tickets()
        self.budgets()
        if not DispatchState.objects.exists():
            DispatchState.objects.create(pk=1, last_tick_at=self.now)
        self.phase(f"{tickets} tickets")
        era = timezone.localtime(self.era).strftime("%Y-%m-%d %H:%M")
        return f"Wrote {written}. Jobs since {era}. Times: {', '.join(self.phases)}."

    # --- People and places ------------------------------------------------------------------------------

    def users(self) -> None:
        User = get_user_model()
        self.staff = {}
        for username, role in STAFF.items():
            user, created = User.objects.get_or_create(username=username, defaults={"first_name": "Scale"})
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            user.groups.add(Group.objects.get(name=role))
            self.staff[username] = user.pk
        self.ops = self.staff[OPERATIONS_USER]
        self.reviewers = [self.staff[name] for name in REVIEWER_USERS]

    def organizations(self) -> None:
        User = get_user_model()
        sectors = list(KINDS)
        self.clients: list[tuple[ClientOrganization, int]] = []
        # Interleaved across sectors, so that the large clients (the first ones) are of every sector.
        for index in range(ORGANIZATIONS_PER_SECTOR * len(sectors)):
            sector = sectors[index % len(sectors)]
            rank = index // len(sectors)
            city = CITIES[(rank * 5 + sectors.index(sector) * 3) % len(CITIES)]
            # Cities differ within a sector and kinds across sectors: every name is unique.
            name = f"{city} {KINDS[sector][rank % len(KINDS[sector])]}"
            organization, _created = ClientOrganization.objects.get_or_create(
                name=name, defaults={"sector": sector, "contact_email": f"ai-projects@scale-{index}.example.cn"}
            )
            user, created = User.objects.get_or_create(username=f"{CLIENT_USER_PREFIX}{index:02d}")
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            if getattr(user, "client_membership", None) is None:
                client_user_attach(user=user, organization=organization)
            self.clients.append((organization, user.pk))
        self.client_weights = [1 / (index + 1) ** ZIPF for index in range(len(self.clients))]

    def make_pools(self) -> list[ComputePool]:
        rng = self.rng
        sites = [
            ComputeSite.objects.get_or_create(
                name=name, defaults={"city": city, "in_province": inside, "monitored_pflops": Decimal(monitored)}
            )[0]
            for name, city, inside, monitored in SITES
        ]
        pools = []
        for n in range(self.options["pools"]):
            site = sites[n % len(sites)]
            kind, short, capacities = POOL_KINDS[n % len(POOL_KINDS)]
            trusted = site.in_province and (n // len(sites)) % 2 == 0
            price = rng.choice([22, 24, 26, 28]) + (6 if site.in_province else 0) + (4 if trusted else 0)
            pools.append(
                ComputePool(
                    site=site,
                    name=f"{POOL_PREFIX}{site.city.lower()}-{short}-{n:02d}",
                    kind=kind,
                    trusted=trusted,
                    capacity_pflops=Decimal(rng.choice(capacities)),
                    price_per_pflops_hour=Decimal(price),
                    background_seed=1000 + n,
                )
            )
        pools = ComputePool.objects.bulk_create(pools)
        for pool in pools:
            pool.in_trusted_province = pool.trusted and pool.site.in_province
        return pools

    def catalog(self) -> None:
        """Each product type's routing and, per size, its steps as order_accept copies them."""
        self.routes = {}
        for product_type in ProductType.values:
            workshops = routing_for(product_type)
            for size in Size.values:
                factor = SIZE_FACTORS[size]
                by_workshop = steps_by_workshop(workshops, size)
                route = []
                for workshop in workshops:
                    steps = []
                    for step in by_workshop[workshop]:
                        work = (step.work_pflops_hours * factor).quantize(Decimal("0.01"))
                        hours = (step.nominal_hours * factor).quantize(Decimal("0.01"))
                        steps.append(
                            _CatalogStep(
                                id=step.pk,
                                code=step.code,
                                name=step.name,
                                name_zh=step.name_zh,
                                pool_kind=step.pool_kind,
                                demand=step.demand_pflops,
                                work=work,
                                hours=hours,
                                run_hours=max(float(work) / float(step.demand_pflops), 0.1),
                            )
                        )
                    route.append((workshop, steps))
                self.routes[(product_type, size)] = route
        self.checklists = defaultdict(list)
        for item in ChecklistItem.objects.filter(active=True).order_by("workshop", "position"):
            self.checklists[item.workshop].append((item.position, item.text, item.text_zh))
        self.ideas = {}
        for sector, ideas in demo.ORDER_IDEAS.items():
            per_type = defaultdict(int)
            for idea in ideas:
                per_type[idea.product_type] += 1
            weights = [PRODUCT_MIX[idea.product_type] / per_type[idea.product_type] for idea in ideas]
            self.ideas[sector] = (ideas, weights)

    # --- Playing each order's life ----------------------------------------------------------------------

    def play_orders(self) -> None:
        count = self.options["orders"]
        span = _hours(count / self.options["per_year"] * 365 * 24)
        start = self.now - span
        placed_at = sorted(start + span * self.rng.random() for _ in range(count))
        years = {timezone.localtime(moment).year for moment in placed_at}
        counters = {}
        for year in sorted(years):
            counter, _created = ReferenceCounter.objects.select_for_update().get_or_create(year=year)
            counters[year] = counter
        for placed in placed_at:
            counter = counters[timezone.localtime(placed).year]
            counter.last_number += 1
            order = self.new_order(placed, f"AF-{counter.year}-{counter.last_number:05d}")
            self.play(order)
            self.orders.append(order)
        ReferenceCounter.objects.bulk_update(counters.values(), ["last_number"])

    def new_order(self, placed: datetime, reference: str) -> _Order:
        rng = self.rng
        client, client_user = rng.choices(self.clients, weights=self.client_weights)[0]
        ideas, weights = self.ideas[client.sector]
        idea = rng.choices(ideas, weights=weights)[0]
        size = rng.choices(list(SIZES), weights=list(SIZES.values()))[0]
        priority = rng.choices(list(PRIORITIES), weights=list(PRIORITIES.values()))[0]
        # Only staff may mark an order urgent; operations also place some orders on a client's behalf.
        placed_by = self.ops if priority == Priority.URGENT or rng.random() < 0.1 else client_user
        route = self.routes[(idea.product_type, size)]
        nominal = sum(float(step.hours) for _workshop, steps in route for step in steps)
        gates = len(route) * settings.GATE_REVIEW_HOURS
        requested = _local_date(placed + _hours(nominal * rng.uniform(*STRETCH[priority]) + gates + 48))
        promised = _local_date(placed + _hours((nominal + gates) * rng.uniform(1.05, 1.3)))
        draw = rng.random()
        fate = "normal"
        for name, share in (("rejected", REJECTED_SHARE), ("withdrawn", WITHDRAWN_SHARE)):
            if draw < share:
                fate = name
                break
            draw -= share
        else:
            if draw < CANCELLED_SHARE:
                fate = "cancelled"
        return _Order(
            id=self.ids[Order](),
            reference=reference,
            client=client,
            client_user=client_user,
            placed_by=placed_by,
            title=idea.title,
            product_type=idea.product_type,
            requirements=idea.requirements,
            sensitivity=idea.sensitivity,
            size=size,
            priority=priority,
            placed=placed,
            requested=requested,
            promised=promised,
            fate=fate,
            busy=rng.uniform(5, 30) if rng.random() < BUSY_SHARE else 1.0,
        )

    def event(self, order, at, actor, kind, from_status="", to_status="", workshop="", note="", internal=False):
        self.events.append((order.id, at, actor, kind, from_status, to_status, workshop, note, internal))

    def move(self, order, at, actor, kind, status, workshop="", note=""):
        self.event(order, at, actor, kind, order.status, status, workshop, note)
        order.status = status

    def play(self, order: _Order) -> None:
        """The order's life up to now, as the services would have written it (the last state is where now cuts)."""
        rng, now = self.rng, self.now
        self.event(order, order.placed, order.placed_by, EventKind.SUBMITTED, to_status=OrderStatus.SUBMITTED)
        if order.fate in ("rejected", "withdrawn"):
            decided = order.placed + _hours(rng.uniform(*DECIDE_HOURS))
            if decided <= now:
                if order.fate == "rejected":
                    note, actor = rng.choice(REJECT_REASONS), self.ops
                    kind, status = EventKind.REJECTED, OrderStatus.REJECTED
                else:
                    note, actor = rng.choice(WITHDRAW_REASONS), order.client_user
                    kind, status = EventKind.CANCELLED, OrderStatus.CANCELLED
                self.move(order, decided, actor, kind, status, note=note)
            return
        t = order.placed + _hours(rng.uniform(*DECIDE_HOURS))
        if t > now:
            return
        self.accept(order, t)
        t += _hours(rng.uniform(*START_HOURS))
        if t > now:
            return
        self.move(order, t, self.ops, EventKind.PRODUCTION_STARTED, OrderStatus.IN_PRODUCTION)
        first = order.stages[0]
        first.status, first.started = StageStatus.IN_PROGRESS, t
        self.event(order, t, self.ops, EventKind.STAGE_STARTED, workshop=first.workshop)
        for k, stage in enumerate(order.stages):
            for step in stage.steps:
                t = self.run_step(order, step, t)
                if t is None:
                    return
            t = self.gate(order, k, stage, t)
            if t is None:
                return
        self.deliver(order, t)

    def accept(self, order: _Order, at: datetime) -> None:
        rng = self.rng
        for position, (workshop, steps) in enumerate(self.routes[(order.product_type, order.size)], start=1):
            stage = _Stage(id=self.ids[OrderStage](), workshop=workshop, position=position, rework=False)
            stage.rework = rng.random() < REWORK_SHARE
            stage.steps = [
                _Step(id=self.ids[OrderStep](), stage=stage, catalog=step, position=index)
                for index, step in enumerate(steps, start=1)
            ]
            order.stages.append(stage)
        if order.fate == "cancelled":
            k = rng.randrange(len(order.stages))
            order.cancel_at = (k, rng.randrange(len(order.stages[k].steps)))
        order.accepted_at = at
        self.move(order, at, self.ops, EventKind.ACCEPTED, OrderStatus.ACCEPTED)

    def run_step(self, order: _Order, step: _Step, ready: datetime) -> datetime | None:
        """The step becomes ready, waits for compute, runs at its demand until its work is done.

        Returns when it finished, or None when now falls before that (or the order is cancelled meanwhile).
        """
        rng, now = self.rng, self.now
        step.status = StepStatus.READY
        stage = step.stage
        if order.cancel_at == (order.stages.index(stage), step.position - 1):
            cancelled = ready + _hours(rng.uniform(0.1, 1.5))
            if cancelled <= now:
                # order_cancel: nothing of a cancelled order waits for compute any more.
                step.status = StepStatus.PENDING
                note = rng.choice(CANCEL_REASONS)
                self.move(order, cancelled, self.ops, EventKind.CANCELLED, OrderStatus.CANCELLED, note=note)
                return None
        kind, priority = step.catalog.pool_kind, order.priority
        mean = (TRAINING_WAITS if kind == "training" else WAITS)[priority] * order.busy
        started = ready + _hours(min(rng.expovariate(1 / mean), 8 * mean))
        if started > now:
            order.runs.append(_Run(order, step, ready, None, None))
            return None
        step.status, step.started = StepStatus.RUNNING, started
        finished = started + _hours(step.catalog.run_hours)
        if finished > now:
            order.runs.append(_Run(order, step, ready, started, None))
            return None
        step.status, step.finished = StepStatus.DONE, finished
        order.runs.append(_Run(order, step, ready, started, finished))
        self.event(order, finished, None, EventKind.STEP_FINISHED, workshop=stage.workshop, note=step.catalog.name)
        return finished

    def stage_done(self, order: _Order, stage: _Stage, at: datetime, note: str = "") -> None:
        stage.status, stage.finished = StageStatus.AWAITING_REVIEW, at
        self.move(order, at, None, EventKind.STAGE_DONE, OrderStatus.AWAITING_REVIEW, stage.workshop, note)

    def open_review(self, order: _Order, stage: _Stage, finished: datetime) -> _Review | None:
        opened = finished + _hours(self.rng.uniform(0.05, 0.2))
        if opened > self.now:
            return None
        review = _Review(id=self.ids[Review](), stage=stage, passage=stage.gate_passage, opened=opened)
        order.reviews.append(review)
        return review

    def gate(self, order: _Order, k: int, stage: _Stage, t: datetime) -> datetime | None:
        """The workshop's security gate: reviewed (sent back to rework once, if so drawn), then released."""
        rng, now = self.rng, self.now
        self.stage_done(order, stage, t)
        review = self.open_review(order, stage, t)
        if review is None:
            return None
        if stage.rework:
            decided = review.opened + _hours(rng.uniform(*REVIEW_HOURS))
            if decided > now:
                return None
            position, severity, text = rng.choice(demo.FINDINGS[stage.workshop])
            redo = stage.steps[min(position, len(stage.steps)) - 1]
            review.status, review.decided, review.reviewer = ReviewStatus.REJECTED, decided, self.reviewers[1]
            review.failed, review.answered = (position, severity, text), True
            summary = f"[{FindingSeverity(severity).label}] {text}"
            self.move(
                order,
                decided,
                self.reviewers[1],
                EventKind.REWORK,
                OrderStatus.IN_PRODUCTION,
                stage.workshop,
                f"{summary} ({redo.catalog.name})",
            )
            stage.status, stage.gate_passage, stage.finished = StageStatus.REWORK, 1, None
            redo.rework_count += 1
            redo.started = redo.finished = None
            t = self.run_step(order, redo, decided)
            if t is None:
                return None
            self.stage_done(order, stage, t, _("Rework done; the gate is open for review again."))
            review = self.open_review(order, stage, t)
            if review is None:
                return None
        first = review.opened + _hours(rng.uniform(*REVIEW_HOURS))
        if first > now:
            return None
        if order.sensitive:
            review.approvals.append((self.reviewers[0], first))
            review.answered = True
            note = _("Approval %(given)d of %(required)d.") % {"given": 1, "required": 2}
            self.event(order, first, self.reviewers[0], EventKind.REVIEW_DECISION, workshop=stage.workshop, note=note)
            decided, reviewer = first + _hours(rng.uniform(1, 6)), self.reviewers[1]
            if decided > now:
                return None
        else:
            decided, reviewer = first, rng.choice(self.reviewers)
        review.approvals.append((reviewer, decided))
        review.status, review.decided, review.reviewer, review.answered = ReviewStatus.APPROVED, decided, reviewer, True
        note = _("Security review approved (%(count)d approvals).") % {"count": len(review.approvals)}
        self.event(order, decided, reviewer, EventKind.GATE_RELEASED, workshop=stage.workshop, note=note)
        stage.status = StageStatus.APPROVED
        self.artifact(order, k, stage, decided)
        if k == len(order.stages) - 1:
            self.move(order, decided, reviewer, EventKind.READY, OrderStatus.READY)
            order.ready_at = decided
        else:
            following = order.stages[k + 1]
            self.move(order, decided, reviewer, EventKind.STAGE_STARTED, OrderStatus.IN_PRODUCTION, following.workshop)
            following.status, following.started = StageStatus.IN_PROGRESS, decided
        return decided

    def artifact(self, order: _Order, k: int, stage: _Stage, at: datetime) -> None:
        """What stage_release_gate produces: the workshop's deliverable, built from the previous one."""
        kind = WORKSHOP_ARTIFACT[stage.workshop]
        version = "1.0.0"
        work = sum((step.catalog.work for step in stage.steps), Decimal(0))
        digest = hashlib.sha256(f"{order.reference}:{kind}:{version}:{work}".encode()).hexdigest()
        artifact_id = self.ids[Artifact]()
        built_from = self.artifacts[-1][0] if k > 0 else None
        self.artifacts.append(
            (
                artifact_id,
                order.id,
                stage.id,
                kind,
                f"{order.reference.lower()}-{kind}",
                version,
                int(work * 1_000_000) + 4096,
                digest,
                at,
                built_from,
            )
        )

    def deliver(self, order: _Order, ready: datetime) -> None:
        rng, now = self.rng, self.now
        delivered = ready + _hours(rng.uniform(*DELIVER_HOURS))
        if delivered > now:
            return
        order.delivered_at = delivered
        self.move(order, delivered, self.ops, EventKind.DELIVERED, OrderStatus.DELIVERED)
        confirm = delivered + _hours(rng.uniform(12, 72))
        confirms, rates = rng.random() < 0.8, rng.random() < 0.7
        rate_at = (confirm if confirms else delivered + _hours(rng.uniform(24, 120))) + _hours(rng.uniform(0, 3))
        if confirms and confirm <= now:
            order.closed_at = confirm
            self.move(order, confirm, order.client_user, EventKind.CONFIRMED, OrderStatus.CLOSED)
        if rates and rate_at <= now:
            score, comment = demo.rating_for(rng, late=_local_date(delivered) > order.due)
            order.rating, order.rating_comment = score, comment
            self.event(order, rate_at, order.client_user, EventKind.RATED, note=f"{score}/5 {comment}".strip())

    # --- Compute: jobs on pools -------------------------------------------------------------------------

    def compatible(self, run: _Run) -> list[ComputePool]:
        kind = run.step.catalog.pool_kind
        return [
            pool for pool in self.pools if pool.kind == kind and (pool.in_trusted_province or not run.order.sensitive)
        ]

    def dispatch(self) -> list[tuple]:
        """Jobs for the runs of now and the latest finished ones; each run on a pool, as the dispatcher would."""
        runs = [run for order in self.orders for run in order.runs]
        current = [run for run in runs if run.finished is None]
        finished = sorted((run for run in runs if run.finished is not None), key=lambda run: run.finished)
        wanted = max(self.options["jobs"] - len(current), 0)
        history = finished[max(len(finished) - wanted, 0) :] if wanted else []
        self.era = history[0].started if history else self.now
        self.place_current(current)
        self.place_history(history, current)
        self.job_runs = history + current
        return [self.job_row(run) for run in self.job_runs]

    def place_current(self, current: list[_Run]) -> None:
        """Running jobs hold room on a compatible pool (what other tenants leave); the rest wait."""
        self.room = {}
        for pool in self.pools:
            capacity = float(pool.capacity_pflops)
            wanted = background.background_pflops(pool.background_seed, capacity, self.now)
            self.room[pool.pk] = capacity - (wanted if settings.DISPATCH_BACKGROUND_LOAD else 0.0)
        used = defaultdict(Decimal)
        rank = dispatch_services.PRIORITY_RANK
        running = sorted(
            (run for run in current if run.started is not None),
            key=lambda run: (-rank[run.order.priority], run.started),
        )
        for run in running:
            demand = float(run.step.catalog.demand)
            pool = max(self.compatible(run), key=lambda pool: self.room[pool.pk], default=None)
            if pool is None or self.room[pool.pk] < demand:
                # No room now: it waits for compute after all.
                run.started, run.step.status, run.step.started = None, StepStatus.READY, None
                continue
            run.pool = pool
            self.room[pool.pk] -= demand
            used[pool.pk] += run.step.catalog.demand
        for pool in self.pools:
            pool.used_pflops = used[pool.pk]
            capacity = float(pool.capacity_pflops)
            wanted = background.background_pflops(pool.background_seed, capacity, self.now)
            if not settings.DISPATCH_BACKGROUND_LOAD:
                wanted = 0.0
            room = capacity - float(pool.used_pflops)
            pool.background_pflops = Decimal(max(0.0, min(wanted, room))).quantize(Decimal("0.01"), ROUND_DOWN)
        ComputePool.objects.bulk_update(self.pools, ["used_pflops", "background_pflops"])
        waiting = sorted(
            (run for run in current if run.started is None), key=lambda run: (-rank[run.order.priority], run.queued)
        )
        self.reasons = {}
        top = {}
        for run in waiting:
            kind = run.step.catalog.pool_kind
            demand = float(run.step.catalog.demand)
            fits = [pool for pool in self.compatible(run) if self.room[pool.pk] >= demand]
            if fits:
                reason = planner.RESERVED
            elif run.order.sensitive and any(pool.kind == kind and self.room[pool.pk] >= demand for pool in self.pools):
                reason = planner.TRUSTED_POOLS_FULL
            elif top.get(kind, -1) > rank[run.order.priority]:
                reason = planner.HIGHER_PRIORITY_AHEAD
            else:
                reason = planner.NO_ROOM
            top.setdefault(kind, rank[run.order.priority])
            self.reasons[id(run)] = reason

    def place_history(self, history: list[_Run], current: list[_Run]) -> None:
        """Each finished run on the compatible pool with most room when it started (running ones included)."""
        ending = defaultdict(list)  # pool → heap of (finish, demand) of runs on it
        used = defaultdict(float)
        far = self.now + timedelta(days=36500)
        runs = sorted([*history, *(run for run in current if run.pool is not None)], key=lambda run: run.started)
        candidates = {}
        for run in runs:
            if run.pool is None:
                key = (run.step.catalog.pool_kind, run.order.sensitive)
                if key not in candidates:
                    candidates[key] = self.compatible(run)
                best, best_room = None, -math.inf
                for pool in candidates[key]:
                    heap = ending[pool.pk]
                    while heap and heap[0][0] <= run.started:
                        used[pool.pk] -= heapq.heappop(heap)[1]
                    room = float(pool.capacity_pflops) - used[pool.pk]
                    if room > best_room:
                        best, best_room = pool, room
                if best is None:
                    continue
                run.pool = best
            demand = float(run.step.catalog.demand)
            heapq.heappush(ending[run.pool.pk], (run.finished or far, demand))
            used[run.pool.pk] += demand

    def job_row(self, run: _Run) -> tuple:
        order, step = run.order, run.step
        work = max(step.catalog.work, Decimal("0.01"))
        deadline = timezone.make_aware(datetime.combine(order.due, clock_time(18, 0)))
        if run.finished is not None:
            state, pool, last_pool = JobState.DONE, None, run.pool
            done = work
        elif run.started is not None:
            state, pool, last_pool = JobState.RUNNING, run.pool, run.pool
            elapsed = (self.now - run.started).total_seconds() / 3600
            done = min(Decimal(str(round(float(step.catalog.demand) * elapsed, 3))), work)
        else:
            state, pool, last_pool, done = JobState.QUEUED, None, None, Decimal(0)
        price = last_pool.price_per_pflops_hour if last_pool else Decimal(0)
        cost = (done * price).quantize(Decimal("0.01"))
        order.compute += done
        order.cost += cost
        return (
            order.id,
            step.id,
            pool.pk if pool else None,
            last_pool.pk if last_pool else None,
            state,
            order.priority,
            step.catalog.pool_kind,
            order.sensitive,
            step.catalog.demand,
            work,
            done,
            cost,
            deadline,
            run.queued,
            run.started,
            run.finished,
            self.reasons.get(id(run), "") if state == JobState.QUEUED else "",
            None,
        )

    # --- Samples ----------------------------------------------------------------------------------------

    def samples(self) -> tuple[Iterator[tuple], Iterator[tuple]]:
        """Every pool's load and every priority's queue at each sample time of the last `--days` days."""
        step = timedelta(minutes=self.options["sample_minutes"])
        count = int(timedelta(days=self.options["days"]) / step)
        seconds = step.total_seconds()
        end = datetime.fromtimestamp(self.now.timestamp() // seconds * seconds, tz=UTC)
        times = [end - step * (count - 1 - index) for index in range(count)]
        first = times[0]
        step_hours = seconds / 3600

        def indexes(start: datetime, stop: datetime | None) -> range:
            """Sample indexes whose time falls in [start, stop)."""
            low = max(0, math.ceil((start - first) / step))
            high = count if stop is None else min(count, math.ceil((stop - first) / step))
            return range(low, high)

        used = defaultdict(lambda: [0.0] * count)
        cost = defaultdict(lambda: [0.0] * count)
        queued = defaultdict(lambda: [0] * count)
        waits = defaultdict(lambda: [[0, 0.0, 0.0] for _ in range(count)])  # priority → [n, sum, max] per time
        for run in self.job_runs:
            if run.pool is not None and run.started is not None:
                demand = float(run.step.catalog.demand)
                price = float(run.pool.price_per_pflops_hour)
                pool_used, pool_cost = used[run.pool.pk], cost[run.pool.pk]
                for index in indexes(run.started, run.finished):
                    pool_used[index] += demand
                # A sample charges what ran since the previous one: the part of the run inside (t - step, t].
                for index in indexes(run.started, run.finished + step if run.finished else None):
                    moment = times[index]
                    stop = min(run.finished, moment) if run.finished else moment
                    overlap = (stop - max(run.started, moment - step)).total_seconds() / 3600
                    if overlap > 0:
                        pool_cost[index] += demand * min(overlap, step_hours) * price
            kind_queued, priority_waits = queued[run.step.catalog.pool_kind], waits[run.order.priority]
            for index in indexes(run.queued, run.started):
                kind_queued[index] += 1
                waited = (times[index] - run.queued).total_seconds() / 3600
                cell = priority_waits[index]
                cell[0] += 1
                cell[1] += waited
                cell[2] = max(cell[2], waited)
        self.sample_count = count

        def pool_rows():
            for pool in self.pools:
                capacity = float(pool.capacity_pflops)
                capacity_text = f"{capacity:.2f}"
                pool_used, pool_cost, kind_queued = used[pool.pk], cost[pool.pk], queued[pool.kind]
                for index, moment in enumerate(times):
                    ours = min(pool_used[index], capacity)
                    others = 0.0
                    if settings.DISPATCH_BACKGROUND_LOAD:
                        others = background.background_pflops(pool.background_seed, capacity, moment)
                    yield (
                        pool.pk,
                        moment,
                        f"{ours:.2f}",
                        f"{max(min(others, capacity - ours), 0.0):.2f}",
                        capacity_text,
                        kind_queued[index],
                        f"{pool_cost[index]:.2f}",
                    )

        def queue_rows():
            for index, moment in enumerate(times):
                for priority in dispatch_services.PRIORITY_RANK:
                    n, total, longest = waits[priority][index]
                    yield (moment, priority, n, total / n if n else 0.0, longest)

        return pool_rows(), queue_rows()

    # --- Writing ----------------------------------------------------------------------------------------

    def order_rows(self) -> Iterator[tuple]:
        now, gate_hours = self.now, settings.GATE_REVIEW_HOURS
        for order in self.orders:
            steps = [step for stage in order.stages for step in stage.steps]
            done = sum(1 for step in steps if step.status == StepStatus.DONE)
            status = order.status
            progress = 100 if order.ready_at else done * 100 // max(len(steps), 1)
            eta, workshop = None, ""
            if status in IN_FLIGHT_STATUSES:
                remaining = sum(float(step.catalog.hours) for step in steps if step.status != StepStatus.DONE)
                gates = sum(1 for stage in order.stages if stage.status != StageStatus.APPROVED)
                eta = now + _hours(remaining + gate_hours * gates)
                workshop = next(
                    (
                        stage.workshop
                        for stage in order.stages
                        if stage.status not in (StageStatus.APPROVED, StageStatus.PENDING)
                    ),
                    "",
                )
            elif status == OrderStatus.READY:
                eta = order.ready_at
            # One client in fifty revoked the tracking link.
            token = secrets.token_urlsafe(24) if order.id % 50 else None
            yield (
                order.id,
                order.reference,
                order.client.pk,
                order.title,
                order.product_type,
                order.client.sector,
                order.requirements,
                order.sensitivity,
                order.size,
                order.priority,
                order.requested,
                order.promised,
                eta,
                status,
                progress,
                workshop,
                order.placed_by,
                order.placed,
                order.accepted_at,
                order.delivered_at,
                order.closed_at,
                order.rating,
                order.rating_comment,
                order.compute.quantize(Decimal("0.01")),
                order.cost.quantize(Decimal("0.01")),
                token,
            )

    def stage_rows(self) -> Iterator[tuple]:
        for order in self.orders:
            for stage in order.stages:
                done = sum(1 for step in stage.steps if step.status == StepStatus.DONE)
                total = len(stage.steps)
                progress = 100 if stage.status == StageStatus.APPROVED else done * 100 // max(total, 1)
                yield (
                    stage.id,
                    order.id,
                    stage.workshop,
                    stage.position,
                    stage.status,
                    progress,
                    total,
                    done,
                    stage.started,
                    stage.finished,
                    stage.gate_passage,
                )

    def step_rows(self) -> Iterator[tuple]:
        for order in self.orders:
            for stage in order.stages:
                for step in stage.steps:
                    catalog = step.catalog
                    yield (
                        step.id,
                        stage.id,
                        catalog.id,
                        catalog.code,
                        catalog.name,
                        catalog.name_zh,
                        step.position,
                        catalog.pool_kind,
                        catalog.demand,
                        catalog.work,
                        catalog.hours,
                        step.status,
                        step.rework_count,
                        step.started,
                        step.finished,
                    )

    def review_rows(self) -> tuple[list, list, list, list]:
        reviews, answers, approvals, findings = [], [], [], []
        for order in self.orders:
            for review in order.reviews:
                stage = review.stage
                reviews.append(
                    (
                        review.id,
                        order.id,
                        stage.id,
                        stage.workshop,
                        review.passage,
                        review.status,
                        order.sensitive,
                        2 if order.sensitive else 1,
                        review.opened,
                        review.decided,
                        review.reviewer,
                    )
                )
                failed = review.failed[0] if review.failed else None
                for position, text, text_zh in self.checklists[stage.workshop]:
                    passed = (position != failed) if review.answered else None
                    note = review.failed[2] if position == failed else ""
                    answers.append((review.id, position, text, text_zh, passed, note))
                approvals.extend((review.id, reviewer, at) for reviewer, at in review.approvals)
                if review.failed:
                    findings.append((review.id, review.failed[1], review.failed[2]))
        return reviews, answers, approvals, findings

    def write(self, jobs, samples, queue_samples) -> str:
        reviews, answers, approvals, findings = self.review_rows()
        tables = [
            (
                Order,
                [
                    "id", "reference", "client", "title", "product_type", "sector", "requirements",
                    "data_sensitivity", "size", "priority", "requested_delivery", "promised_delivery", "eta",
                    "status", "progress", "current_workshop", "placed_by", "created_at", "accepted_at",
                    "delivered_at", "closed_at", "rating", "rating_comment", "compute_pflops_hours", "compute_cost",
                    "tracking_token",
                ],
                self.order_rows(),
            ),
            (
                OrderStage,
                [
                    "id", "order", "workshop", "position", "status", "progress", "steps_total", "steps_done",
                    "started_at", "finished_at", "gate_passage",
                ],
                self.stage_rows(),
            ),
            (
                OrderStep,
                [
                    "id", "stage", "catalog_step", "code", "name", "name_zh", "position", "pool_kind",
                    "demand_pflops", "work_pflops_hours", "nominal_hours", "status", "rework_count", "started_at",
                    "finished_at",
                ],
                self.step_rows(),
            ),
            (
                OrderEvent,
                ["order", "at", "actor", "kind", "from_status", "to_status", "workshop", "note", "internal"],
                self.events,
            ),
            (
                Artifact,
                [
                    "id", "order", "stage", "kind", "name", "version", "size_bytes", "checksum", "produced_at",
                    "built_from",
                ],
                self.artifacts,
            ),
            (
                Review,
                [
                    "id", "order", "stage", "workshop", "gate_passage", "status", "sensitive", "approvals_required",
                    "opened_at", "decided_at", "reviewer",
                ],
                reviews,
            ),
            (ReviewAnswer, ["review", "position", "item", "item_zh", "passed", "note"], answers),
            (Approval, ["review", "reviewer", "at"], approvals),
            (Finding, ["review", "severity", "text"], findings),
            (
                Job,
                [
                    "order", "step", "pool", "last_pool", "state", "priority", "kind", "sensitive", "demand_pflops",
                    "work_pflops_hours", "done_pflops_hours", "cost", "deadline", "queued_at", "started_at",
                    "finished_at", "pending_reason", "expected_start",
                ],
                jobs,
            ),
            (
                UtilizationSample,
                ["pool", "at", "used_pflops", "background_pflops", "capacity_pflops", "queued_jobs", "cost"],
                samples,
            ),
            (QueueSample, ["at", "priority", "waiting_jobs", "mean_wait_hours", "longest_wait_hours"], queue_samples),
        ]  # fmt: skip
        written = []
        for model, fields, rows in tables:
            count = _copy(model, fields, rows)
            written.append(f"{count:,} {model._meta.verbose_name_plural}")
        dispatch_services.daily_costs_rebuild()
        return ", ".join(written)

    # --- After-sales and budgets, through their services --------------------------------------------------

    def tickets(self) -> int:
        """Tickets on delivered orders, played in one chronological sweep with the SLA watch between."""
        rng, now = self.rng, self.now
        delivered = [
            order for order in self.orders if order.delivered_at and order.delivered_at < now - timedelta(hours=6)
        ]
        if not delivered:
            return 0
        count = min(max(1, len(self.orders) // TICKETS_PER_ORDERS), len(delivered))
        recent = [order for order in delivered if order.delivered_at > now - timedelta(days=30)]
        chosen = rng.sample(recent, min(len(recent), count // 5)) if recent else []
        taken = {order.id for order in chosen}
        others = [order for order in delivered if order.id not in taken]
        chosen += rng.sample(others, min(len(others), count - len(chosen)))
        policies = {policy.severity: policy for policy in SlaPolicy.objects.all()}
        streams = []
        for order in chosen:
            window = min(120.0, (now - order.delivered_at).total_seconds() / 3600 - 0.1)
            opened = order.delivered_at + _hours(rng.uniform(min(6.0, window), window))
            streams.append(self.ticket_story(order, opened, policies))
        virtual = _VirtualClock(now)
        with mock.patch.object(clock, "now", virtual):
            _play(streams, virtual, now)
            virtual.at = now
            aftersales_services.sla_watch()
        return len(chosen)

    def ticket_story(self, order: _Order, opened: datetime, policies) -> Iterator[datetime]:
        """One ticket's life: opened by the client, answered (late now and then), maybe waiting for the
        client, resolved, rated or left to close on its own; the SLA watch looks at it when a due time passes."""
        rng = self.rng
        category, severity, subject, body = rng.choice(demo.TICKET_IDEAS)
        policy = policies[severity]
        first_hours, resolution_hours = float(policy.first_response_hours), float(policy.resolution_hours)
        staff, client = self.user(self.staff[AFTERSALES_USER]), self.user(order.client_user)
        yield opened
        ticket = aftersales_services.ticket_open(
            order=Order(pk=order.id), actor=client, category=category, severity=severity, subject=subject, body=body
        )
        late = rng.random() < 0.1
        answered = opened + _hours(first_hours * (rng.uniform(1.2, 3) if late else rng.uniform(0.1, 0.9)))
        actions = [(answered, "reply", demo.STAFF_REPLIES["first"])]
        t = answered
        if rng.random() < 0.25:
            t += _hours(rng.uniform(4, 24))
            actions.append((t, "waiting", demo.STAFF_REPLIES["waiting"]))
            t += _hours(rng.uniform(2, 16))
            actions.append((t, "client", demo.STAFF_REPLIES["client_reply"]))
        late = rng.random() < 0.1
        resolved = opened + _hours(resolution_hours * (rng.uniform(1.1, 1.8) if late else rng.uniform(0.2, 0.8)))
        resolved = max(resolved, t + _hours(rng.uniform(1, 8)))
        actions.append((resolved, "resolved", demo.STAFF_REPLIES["resolved"]))
        if rng.random() < 0.6:
            actions.append((resolved + _hours(rng.uniform(2, 24)), "rate", ""))
        for at, action, text in actions:
            # The SLA watch (hourly in production) notices each due time that passes before the next action.
            ticket.refresh_from_db()
            for due in (
                ticket.first_response_due if ticket.first_responded_at is None else None,
                ticket.resolution_due,
            ):
                if due is not None and due < at and ticket.is_active and not ticket.breached:
                    yield min(due + timedelta(minutes=1), at)
                    aftersales_services.sla_watch()
            yield at
            if action == "reply":
                aftersales_services.ticket_post_message(ticket=ticket, actor=staff, body=text)
            elif action == "client":
                aftersales_services.ticket_post_message(ticket=ticket, actor=client, body=text)
            elif action in ("waiting", "resolved"):
                status = TicketStatus.WAITING_CLIENT if action == "waiting" else TicketStatus.RESOLVED
                aftersales_services.ticket_change_status(ticket=ticket, actor=staff, status=status, note=text)
            else:
                score, comment = demo.rating_for(rng)
                aftersales_services.ticket_rate(ticket=ticket, actor=client, score=score, comment=comment)
        ticket.refresh_from_db()
        if ticket.status == TicketStatus.RESOLVED:
            # Left unconfirmed, the watch closes it after TICKET_AUTO_CLOSE_DAYS.
            yield ticket.resolved_at + timedelta(days=settings.TICKET_AUTO_CLOSE_DAYS, minutes=1)
            aftersales_services.sla_watch()

    def user(self, pk: int):
        if pk not in self.user_cache:
            self.user_cache[pk] = get_user_model().objects.get(pk=pk)
        return self.user_cache[pk]

    def budgets(self) -> None:
        """Monthly compute budgets of the largest clients, for the dispatch center's budget table."""
        for organization, _user in self.clients[:5]:
            dispatch_services.client_budget_set(
                client=organization, monthly_pflops_hours=Decimal(200000), enforce=False
            )


class _VirtualClock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _play(streams: list[Iterator[datetime]], virtual: _VirtualClock, now: datetime) -> None:
    """Run every story's next action in time order, with the factory clock showing that action's time; a
    story stops at its first moment after now."""
    queue = []
    for index, stream in enumerate(streams):
        first = next(stream, None)
        if first is not None and first <= now:
            heapq.heappush(queue, (first, index))
    while queue:
        moment, index = heapq.heappop(queue)
        virtual.at = moment
        following = next(streams[index], None)
        if following is not None and following <= now:
            heapq.heappush(queue, (max(following, moment), index))

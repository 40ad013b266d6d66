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
The command is refused unless DEMO_MODE is on or `--force` is given. Idempotent: a second run finds the set (its pools)
and changes nothing; `--reset` first empties every factory table (orders, clients, pools, samples,
reviews, tickets: everything but users and the catalog), so use it on a database kept for benchmarks.
"""

import random
import time
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from aftersales.models import Ticket, TicketReferenceCounter
from catalog.models import SIZE_FACTORS, ProductType, Sector, Size
from catalog.selectors import routing_for, steps_by_workshop
from demo import content, data
from demo.bulk import SequenceIds
from demo.scale.compute import Compute
from demo.scale.lives import CatalogStep, Lives, ScaleOrder
from demo.scale.rows import Rows
from demo.scale.tickets import Tickets
from dispatch import services as dispatch_services
from dispatch.models import ComputePool, ComputeSite, DailyCost, DispatchState, Job, QueueSample, UtilizationSample
from factory import clock, roles
from orders.models import Artifact, ClientOrganization, Order, OrderEvent, OrderStage, OrderStep, ReferenceCounter
from orders.services import client_user_attach
from security.models import Approval, ChecklistItem, Finding, Review, ReviewAnswer

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


@dataclass(frozen=True)
class Options:
    """What to build (the command's arguments)."""

    orders: int = 10000
    jobs: int = 100000  # dispatch jobs: the latest step runs
    pools: int = 50
    days: int = 30  # of utilization and queue samples
    sample_minutes: int = 5  # factory minutes between samples
    per_year: int = 2000  # orders placed a year (sets the history's span)
    seed: int = 1


def scale_data_build(options: Options, *, reset: bool = False) -> str | None:
    """Build the scale data set in one transaction and analyze its tables; what was written, or None when the set
    was there already (``reset`` empties every factory table first and builds it anew)."""
    with transaction.atomic():
        if reset:
            factory_empty()
        elif ComputePool.objects.filter(name__startswith=POOL_PREFIX).exists():
            return None
        report = ScaleBuild(options).run()
    _analyze()
    return report


def scale_data_summary() -> str:
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


# Every factory table but users and the catalog; TRUNCATE ... CASCADE empties every table that refers to these too
# (stages, steps, events, jobs, preemptions, reviews, tickets, budgets...).
FACTORY_MODELS = [
    Order,
    ClientOrganization,
    ComputeSite,
    ComputePool,
    UtilizationSample,
    QueueSample,
    DailyCost,
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


def factory_empty(*, restart_ids: bool = False) -> None:
    """Empty every factory table (orders, clients, pools, samples, reviews, tickets: all but users and the catalog);
    with ``restart_ids`` ids start again at 1, so that the same run writes the same rows."""
    # TRUNCATE, not DELETE: orders, reviews and tickets keep their history and refuse row deletes.
    tables = ", ".join(f'"{model._meta.db_table}"' for model in FACTORY_MODELS)
    restart = " RESTART IDENTITY" if restart_ids else ""
    with connection.cursor() as cursor:
        if connection.in_atomic_block:
            # Foreign keys are checked at commit; checks still pending in this transaction would block TRUNCATE.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"TRUNCATE {tables}{restart} CASCADE")  # table names from the models, not input
        if connection.in_atomic_block:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _analyze() -> None:
    """Fresh statistics (and, outside a transaction, the visibility map) for the planner to use at once."""
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
    with connection.cursor() as cursor:
        for model in ANALYZE_MODELS:
            cursor.execute(f'{command} "{model._meta.db_table}"')  # table names from the models, not input


class ScaleBuild(Lives, Compute, Rows, Tickets):
    """The whole build: people, places and the catalog here; order lives, compute, rows and tickets in its parts."""

    def __init__(self, options: Options):
        self.options = options
        self.rng = random.Random(options.seed)  # noqa: S311 - a simulation, not cryptography
        self.now = clock.now().replace(microsecond=0)
        self.events: list[tuple] = []
        self.artifacts: list[tuple] = []
        self.orders: list[ScaleOrder] = []
        self.phase_started = time.perf_counter()
        self.phases: list[str] = []
        self.user_cache: dict[int, object] = {}

    def phase(self, name: str) -> None:
        now = time.perf_counter()
        self.phases.append(f"{name} {now - self.phase_started:.1f} s")
        self.phase_started = now

    def run(self) -> str:
        self.ids = {model: SequenceIds(model) for model in (Order, OrderStage, OrderStep, Review, Artifact)}
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
        self.aftersales = self.staff[AFTERSALES_USER]

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
        for n in range(self.options.pools):
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
                            CatalogStep(
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
        for sector, ideas in content.ORDER_IDEAS.items():
            per_type = defaultdict(int)
            for idea in ideas:
                per_type[idea.product_type] += 1
            weights = [data.PRODUCT_MIX[idea.product_type] / per_type[idea.product_type] for idea in ideas]
            self.ideas[sector] = (ideas, weights)

    def budgets(self) -> None:
        """Monthly compute budgets of the largest clients, for the dispatch center's budget table."""
        for organization, _user in self.clients[:5]:
            dispatch_services.client_budget_set(
                client=organization, monthly_pflops_hours=Decimal(200000), enforce=False
            )

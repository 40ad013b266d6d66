"""The demo factory: users, client organizations, compute pools, and a past that every chart can show.

The story is played through the real services on a virtual factory clock: every order, review and ticket
is placed, accepted, produced, reviewed, delivered, rated and answered at its own moment in the past, all
of them in one chronological sweep, so timelines, references and SLA flags come out as they would have.
The compute history (the jobs that ran those steps, utilization and queue samples) is then derived from
the steps' own start and finish times; a dispatch tick places the work waiting now and a forecast sets ETAs.

The factory is normally loaded: ON_THE_FLOOR orders in production or at a gate, drawn as a steady state holds
them (_floor), and one delivery in eight of the history late against its promise (_keep_promises). Its present
is built (_present) so that the first factory hours show a queue with its reasons, a preemption and backfill.

Idempotent: the story is built once (the demo organizations beyond the two fixed clients mark it); later
runs only make sure the fixed demo users exist.
"""

import heapq
import math
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from unittest import mock

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from aftersales import services as aftersales_services
from aftersales.models import ACTIVE_STATUSES as ACTIVE_TICKET_STATUSES
from aftersales.models import SlaPolicy, TicketStatus
from catalog.models import SIZE_FACTORS, Size, Workshop
from catalog.selectors import routing_for, steps_by_workshop
from demo import data
from demo import staff as demo
from demo.management.commands.scale_data import _copy as copy_rows
from dispatch import forecast
from dispatch import services as dispatch_services
from dispatch.engine import background, policy
from dispatch.engine.policy import HIGH, PRIORITY_RANK
from dispatch.models import ComputePool, ComputeSite, Job, JobState, PoolState, QueueSample, UtilizationSample
from factory import clock, roles
from factory.db import bulk_update_rows
from orders import quotes
from orders import services as order_services
from orders.models import ClientOrganization, Order, OrderStage, OrderStep, Priority
from orders.services import client_user_attach
from security import services as security_services
from security.models import Review, ReviewStatus

# username → staff role (None for the superuser). Listed in the README and API.md "Demo data".
DEMO_STAFF = {
    "admin": None,
    "ops": roles.OPERATIONS,
    "dispatcher": roles.DISPATCH,
    "reviewer": roles.SECURITY,
    "reviewer2": roles.SECURITY,
    "aftersales": roles.AFTERSALES,
}
# username → organization key (demo.DEMO_ORGANIZATIONS).
DEMO_CLIENTS = {"client-a": "qinghe-hospital", "client-b": "lanxi-data-bureau"}
ORGANIZATIONS = {key: (name, sector) for key, name, sector in demo.DEMO_ORGANIZATIONS}
# Present once the story was built (the fixed clients' organizations predate it in older demo databases).
STORY_MARKER = ORGANIZATIONS["hengtai-machinery"][0]

# The orders the dispatch center's showcase is built around (_curated, _present).
SHOWCASE_PREEMPTOR = "credit-risk"
SHOWCASE_HEAD = "fabric-pretrain"
SHOWCASE_BACKFILL = "essay-lora"

SAMPLE_EVERY = timedelta(minutes=15)
SAMPLE_DAYS = 30
MEDICAL_ACCOMPANIMENT = "Provincial online medical-accompaniment service agent"


class Command(BaseCommand):
    help = "Create the demo users and data (idempotent: running it again keeps what exists)."

    def handle(self, *args, **options):
        if not settings.DEMO_MODE:
            raise CommandError("Demo data is only created in demo mode (DEMO_MODE=true), never in production.")
        started = time.perf_counter()
        with transaction.atomic():
            built = ClientOrganization.objects.filter(name=STORY_MARKER).exists()
            created = _users()
            pools = _pools()
            summary = "the demo factory was already there" if built else _story()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo users ready ({created} created); {pools} compute pools; {summary} "
                f"({time.perf_counter() - started:.1f} s)."
            )
        )


def _users() -> int:
    User = get_user_model()
    created = 0
    # Hashing is slow on purpose; the demo users share one password, so they share its hash.
    password = make_password(settings.DEMO_PASSWORD)
    for username, role in DEMO_STAFF.items():
        user, is_new = User.objects.get_or_create(username=username, defaults={"is_staff": role is None})
        if is_new:
            user.is_superuser = role is None
            user.password = password
            user.save()
            if role:
                user.groups.add(Group.objects.get(name=role))
            created += 1
    for username, key in DEMO_CLIENTS.items():
        organization = _organization(key)
        user, is_new = User.objects.get_or_create(username=username)
        if is_new:
            user.password = password
            user.save()
            client_user_attach(user=user, organization=organization)
            created += 1
    return created


def _organization(key: str) -> ClientOrganization:
    name, sector = ORGANIZATIONS[key]
    organization, _created = ClientOrganization.objects.get_or_create(
        name=name, defaults={"sector": sector, "contact_email": f"ai-projects@{key}.example.cn"}
    )
    return organization


def _pools() -> int:
    for site_name, site, pool, seed in data.seeded_pools():
        compute_site, _ = ComputeSite.objects.get_or_create(
            name=site_name,
            defaults={"city": site.city, "in_province": site.in_province, "monitored_pflops": site.monitored_pflops},
        )
        ComputePool.objects.get_or_create(
            name=pool.name,
            defaults={
                "site": compute_site,
                "kind": pool.kind,
                "trusted": pool.trusted,
                "capacity_pflops": Decimal(pool.pflops),
                "price_per_pflops_hour": Decimal(pool.price),
                "background_seed": seed,
            },
        )
    return ComputePool.objects.count()


# --- What happened: the specifications of the story -----------------------------------------------------


@dataclass
class TicketSpec:
    key: str
    opened_ago: float  # factory hours before now
    category: str
    severity: str
    subject: str
    body: str
    # (hours after opening, action, text): "staff" reply, "client" reply, "waiting", "resolved", "rate".
    script: list = field(default_factory=list)
    follow_up: str = ""  # key of the follow-up order this ticket turns into


@dataclass
class OrderSpec:
    key: str
    org: str
    title: str
    product_type: str
    sensitivity: str
    requirements: str
    target: str  # submitted accepted rejected cancelled production gate rework ready delivered closed
    workshop: str = ""  # where a production, gate, rework or cancelled order stands
    # Where in the workshop: a share of its steps done, a step's index, a step's code, or "training" (its first
    # training step).
    at_step: float | int | str = 0.5
    running: bool | None = None  # whether that step runs now (or waits for compute); None: most do
    waited: float | None = None  # factory hours a step waiting for compute has waited (drawn when None)
    ago: float = 0.0  # factory hours from the target moment (delivery for delivered orders) to now
    size: str = Size.SMALL
    priority: str = Priority.NORMAL
    placed_by: str = ""  # username; the organization's client user by default
    rework_at: str = ""  # a gate whose first review was rejected on the way
    approvals: int = 0  # approvals already given at the gate it waits at
    rated: bool = True
    tickets: list = field(default_factory=list)
    follow_up_of: str = ""  # key of the ticket this order came from
    delay: float = 0.0  # extra factory hours one step waited for compute (a late delivery's reason)
    calm: bool = False  # its steps found compute at once (no waits)


def _idea(title: str) -> demo.OrderIdea:
    return next(idea for ideas in demo.ORDER_IDEAS.values() for idea in ideas if idea.title == title)


def _spec(key, org, title, target, **extra) -> OrderSpec:
    idea = _idea(title)
    return OrderSpec(
        key=key,
        org=org,
        title=idea.title,
        product_type=idea.product_type,
        sensitivity=idea.sensitivity,
        requirements=idea.requirements,
        target=target,
        **extra,
    )


def _curated() -> list[OrderSpec]:
    """The orders people look at first: the two demo clients' and the showcase ones."""
    day = 24.0
    medical = OrderSpec(
        key="medical-accompaniment",
        org="qinghe-hospital",
        title=MEDICAL_ACCOMPANIMENT,
        product_type="agent",
        sensitivity="sensitive",
        requirements=(
            "An agent for the provincial online medical-accompaniment service: it books appointments, guides "
            "patients through their visit, explains reports in plain words and follows up after discharge. "
            "Patient records are sensitive and stay on trusted in-province pools."
        ),
        target="production",
        workshop=Workshop.AGENT,
        at_step=0.35,
        size=Size.MEDIUM,
        priority=Priority.HIGH,
    )
    weld_ticket = TicketSpec(
        key="weld-follow-up",
        opened_ago=0,  # set from the follow-up order's own timeline
        category="change_request",
        severity="medium",
        subject="Extend the model to the new camera line",
        body="Line 4 now has 12-megapixel cameras; the model misses small pores on those images.",
        script=[(2.5, "staff", demo.STAFF_REPLIES["first"])],
        follow_up="weld-follow-up-order",
    )
    return [
        medical,
        _spec(
            "radiology-corpus",
            "qinghe-hospital",
            "De-identified radiology report corpus",
            "closed",
            ago=40 * day,
            rework_at=Workshop.DATA,
        ),
        _spec(
            "discharge-summary",
            "qinghe-hospital",
            "Discharge-summary assistant",
            "gate",
            workshop=Workshop.MODEL,
            approvals=1,
        ),
        _spec(
            "triage-agent",
            "qinghe-hospital",
            "Outpatient triage agent",
            "delivered",
            ago=2 * day,
            rated=False,
            tickets=[
                TicketSpec(
                    "triage-question",
                    3,
                    "question",
                    "low",
                    "Can the agent also answer in Cantonese?",
                    "Some of our patients would prefer Cantonese. Is that possible with the current model?",
                )
            ],
        ),
        _spec("claim-audit", "qinghe-hospital", "Medical-insurance claim audit model", "submitted", ago=2),
        _spec(
            "policy-qa",
            "lanxi-data-bureau",
            "Policy Q&A model",
            "production",
            workshop=Workshop.MODEL,
            at_step="training",
            running=True,
        ),
        _spec(
            "service-portal",
            "lanxi-data-bureau",
            "One-stop service portal assistant",
            "production",
            workshop=Workshop.INTEGRATION,
            size=Size.MEDIUM,
        ),
        _spec(
            "archive-dataset",
            "lanxi-data-bureau",
            "Archive digitisation dataset",
            "closed",
            ago=20 * day,
            size=Size.MEDIUM,
            tickets=[
                TicketSpec(
                    "archive-labels",
                    18 * day,
                    "complaint",
                    "medium",
                    "Dates in the 1994 files are read as 1904",
                    "About two hundred records of 1994 have the year 1904 in the date field.",
                    script=[
                        (3, "staff", demo.STAFF_REPLIES["first"]),
                        (30, "resolved", "Re-extracted the affected files; a corrected version 1.0.1 is delivered."),
                        (40, "rate", "5|Quick and thorough fix."),
                    ],
                )
            ],
        ),
        _spec("service-guide", "lanxi-data-bureau", "Government-service guide agent", "ready", ago=3),
        _spec(
            "hotline-classifier",
            "lanxi-data-bureau",
            "Citizen-hotline work-order classifier",
            "delivered",
            ago=4 * day,
            tickets=[
                TicketSpec(
                    "hotline-codes",
                    2 * day,
                    "change_request",
                    "medium",
                    "Add the new department codes",
                    "Three departments were merged last month; work orders still go to the old codes.",
                    script=[
                        (2, "staff", demo.STAFF_REPLIES["first"]),
                        (22, "waiting", "Could you send us the official list of the new department codes?"),
                    ],
                )
            ],
        ),
        # The showcase of the dispatch center (see _present): this sensitive, high-priority model may only train on
        # the trusted in-province pool, which is full; once it has waited Policy.preempt_after it preempts.
        _spec(
            SHOWCASE_PREEMPTOR,
            "jinhai-rural-bank",
            "Credit-risk early-warning model",
            "production",
            workshop=Workshop.MODEL,
            at_step="training",
            running=False,
            waited=20 / 60,
            size=Size.MEDIUM,
            priority=Priority.HIGH,
        ),
        # A large pre-training heads the training queue (no pool has room for it), so that smaller training work
        # behind it starts in the holes it cannot use: backfill, among them this low-priority fine-tuning.
        _spec(
            SHOWCASE_HEAD,
            "ruifeng-textiles",
            "Fabric-defect inspection model",
            "production",
            workshop=Workshop.MODEL,
            at_step="training",
            running=False,
            waited=25 / 60,
            size=Size.LARGE,
            priority=Priority.HIGH,
        ),
        _spec(
            SHOWCASE_BACKFILL,
            "qinghe-normal-university",
            "Essay feedback model",
            "production",
            workshop=Workshop.MODEL,
            at_step="model-lora",
            running=False,
            waited=40 / 60,
            priority=Priority.LOW,
        ),
        _spec(
            "loan-extraction",
            "dongling-city-bank",
            "Loan-file extraction model",
            "production",
            workshop=Workshop.MODEL,
            at_step="training",
        ),
        _spec(
            "insurance-agent", "qinghe-hrss-bureau", "Social-insurance enquiry agent", "rework", workshop=Workshop.AGENT
        ),
        _spec(
            "weld-seam",
            "hengtai-machinery",
            "Weld-seam defect detection model",
            "closed",
            ago=30 * day,
            tickets=[weld_ticket],
        ),
        OrderSpec(
            key="weld-follow-up-order",
            org="hengtai-machinery",
            title="Weld-seam defect detection model: camera line 4",
            product_type="model",
            sensitivity="internal",
            requirements="Extend the weld-seam model to the 12-megapixel images of camera line 4.",
            target="production",
            workshop=Workshop.DATA,
            at_step=0.6,
            placed_by=demo.SIM_AFTERSALES,
            follow_up_of="weld-follow-up",
        ),
        _spec(
            "quality-trace",
            "xinghe-nev-works",
            "Quality traceability application",
            "production",
            workshop=Workshop.AGENT,
            placed_by=demo.SIM_OPERATIONS,
            priority=Priority.URGENT,
        ),
    ]


# Orders on the factory floor now (accepted, in production or at a gate), by Little's law: a factory carrying
# ~1,000 orders a year (800 vertical models, the real factory's figure) receives 2.74 a day, and at 85 % utilization
# they take 28.6 days from placing to delivery on average (bench/year.py under our policy: dataset 11.6, model 29.1,
# agent 34.3 and application 45.9 days, weighted by ARRIVAL_MIX), so 2.74 x 28.6 = 78 orders are between placing and
# delivery at any time. A few of those are still to be accepted or wait for handover: about 72 are on the floor.
ON_THE_FLOOR = 72
# What arrives in a year (bench/year.py, the mix the catalog is calibrated on): product types and sizes.
ARRIVAL_MIX = {"dataset": 0.20, "model": 0.45, "agent": 0.25, "application": 0.10}
SIZE_MIX = {Size.SMALL: 0.50, Size.MEDIUM: 0.35, Size.LARGE: 0.15}
# Mean factory hours a gate review takes in the story (_plan: 2 to 14 h).
STORY_GATE_HOURS = 8.0
# The orders on the floor hold at least this share of the training pools' capacity in training steps (running or
# waiting): enough to fill the pools however little the other tenants use (dispatch.engine.background: 5 to 45 % of a
# pool), so that the showcase of _present always finds them full and work waits in the training queue.
TRAINING_WORK_NOW = 0.95
# Orders in the other statuses, and one at each workshop's gate (the security center's queue): (target, workshop,
# how many). Delivered history comes on top.
FILLER = [
    ("gate", Workshop.DATA, 1),
    ("gate", Workshop.MODEL, 1),
    ("gate", Workshop.AGENT, 1),
    ("gate", Workshop.INTEGRATION, 1),
    ("ready", "", 1),
    ("accepted", "", 2),
    ("submitted", "", 3),
    ("rejected", "", 2),
    ("cancelled", "", 1),
    ("cancelled", Workshop.MODEL, 1),
    ("delivered", "", 5),
]
CLOSED_HISTORY = 17
# Most of what the factory delivers is vertical models and their datasets (800 models a year at full load).
HISTORY_MIX = {"dataset": 3, "model": 4, "agent": 2, "application": 1}
# Share of the history delivered after its promised date (the operations center's on-time rate: about 88 %). Those
# orders waited long for compute on one step; every other one is delivered by its promised date.
LATE_SHARE = 1 / 8
# Tickets on the filler's deliveries: (opened hours ago, category, severity, subject, body, script).
FILLER_TICKETS = [
    # Nobody answered in time: the first response is past due.
    (
        7,
        "defect",
        "high",
        "Answers cite a superseded regulation",
        "Since this week some answers quote the 2019 rules.",
        [],
    ),
    # Answered, but the resolution window ran out.
    (
        150,
        "defect",
        "medium",
        "Slow responses at peak hours",
        "Between 9 and 11 a.m. answers take over ten seconds.",
        [
            (3, "staff", demo.STAFF_REPLIES["first"]),
            (20, "waiting", demo.STAFF_REPLIES["waiting"]),
            (32, "client", demo.STAFF_REPLIES["client_reply"]),
        ],
    ),
    # Critical, answered at once, running out of time.
    (
        19,
        "defect",
        "critical",
        "Service unavailable after the update",
        "Since the update this morning no request works.",
        [(0.4, "staff", "We are on it: the update is being rolled back now.")],
    ),
    # Resolved, waiting for the client's word.
    (
        96,
        "question",
        "low",
        "How do we export the evaluation report?",
        "We need the report as a PDF for our committee.",
        [
            (5, "staff", demo.STAFF_REPLIES["first"]),
            (50, "resolved", "The PDF export is under Reports; we sent a guide."),
        ],
    ),
    # Closed and rated long ago.
    (
        45 * 24,
        "complaint",
        "medium",
        "Labels inconsistent in one batch",
        "Batch 7 uses two different labels for one class.",
        [
            (4, "staff", demo.STAFF_REPLIES["first"]),
            (40, "resolved", "Batch 7 relabelled and re-delivered."),
            (52, "rate", "4|Fixed, thank you."),
        ],
    ),
    # Resolved, never confirmed: the SLA watch closed it after a week.
    (
        12 * 24,
        "question",
        "low",
        "Which base model is inside?",
        "Our auditors ask which base model and version the delivered model was fine-tuned from.",
        [(6, "staff", demo.STAFF_REPLIES["first"]), (20, "resolved", "Named in the model card, section 2; sent.")],
    ),
]


def _filler(rng, curated: list[OrderSpec]) -> list[OrderSpec]:
    others = [key for key, _name, _sector in demo.DEMO_ORGANIZATIONS if key not in DEMO_CLIENTS.values()]
    specs = []

    def pick(workshop: str, weights: dict):
        while True:
            org = rng.choice(others)
            ideas = [
                idea
                for idea in demo.ORDER_IDEAS[ORGANIZATIONS[org][1]]
                if not workshop or workshop in routing_for_type(idea.product_type)
            ]
            if ideas:
                return org, rng.choices(ideas, weights=[weights.get(idea.product_type, 1) for idea in ideas])[0]

    def make(target, workshop, weights=None, **extra):
        org, idea = pick(workshop, weights or {})
        size = rng.choices([Size.SMALL, Size.MEDIUM], weights=[65, 35])[0]
        priority = rng.choices([Priority.NORMAL, Priority.HIGH, Priority.LOW], weights=[70, 15, 15])[0]
        specs.append(
            OrderSpec(
                key=f"filler-{len(specs)}",
                org=org,
                title=idea.title,
                product_type=idea.product_type,
                sensitivity=idea.sensitivity,
                requirements=idea.requirements,
                target=target,
                workshop=workshop,
                at_step=extra.pop("at_step", None) or round(rng.uniform(0.1, 0.9), 2),
                size=size,
                priority=priority,
                placed_by=demo.SIM_OPERATIONS if rng.random() < 0.1 else "",
                **extra,
            )
        )

    for target, workshop, count in FILLER:
        for index in range(count):
            extra = {}
            if target == "submitted":
                extra["ago"] = [1.0, 5.0, 9.0][index % 3]
            elif target in ("rejected", "cancelled"):
                extra["ago"] = rng.uniform(2, 20) * 24
            elif target == "delivered":
                extra["ago"] = rng.uniform(0.5, 6) * 24
                extra["rated"] = rng.random() < 0.4
            make(target, workshop, **extra)
    on_the_floor = sum(1 for spec in curated + specs if spec.target in ("accepted", "production", "gate", "rework"))
    specs += _floor(rng, others, ON_THE_FLOOR - on_the_floor)
    _busy_training(rng, curated + specs)
    # Deliveries over the past twelve weeks, a couple a week, some with a rejected gate on the way.
    for index in range(CLOSED_HISTORY):
        ago = (4 + index * 78 / (CLOSED_HISTORY - 1) + rng.uniform(-1.5, 1.5)) * 24
        make("closed", "", weights=HISTORY_MIX, ago=max(ago, 4 * 24))
        if rng.random() < 0.25:
            specs[-1].rework_at = rng.choice(routing_for_type(specs[-1].product_type))
    # Each ticket on the latest delivery old enough for it.
    delivered = sorted((spec for spec in specs if spec.target in ("delivered", "closed")), key=lambda spec: spec.ago)
    for opened_ago, category, severity, subject, body, script in sorted(FILLER_TICKETS, key=lambda t: -t[0]):
        parent = next(
            spec
            for spec in delivered
            if not spec.tickets and spec.ago > opened_ago + 24 and (spec.target == "closed" or opened_ago < 48)
        )
        parent.tickets.append(
            TicketSpec(f"{parent.key}-ticket", opened_ago, category, severity, subject, body, script=list(script))
        )
    return specs


def _floor(rng, others: list[str], count: int) -> list[OrderSpec]:
    """Orders on the floor as a steady state holds them: a product type and size in proportion to how often they
    arrive times how long they stay, each at a uniform point of its nominal timeline (its steps, a gate after
    each workshop)."""
    kinds = [(product_type, size) for product_type in ARRIVAL_MIX for size in SIZE_MIX]
    weights = [
        ARRIVAL_MIX[product_type] * SIZE_MIX[size] * _nominal_hours(product_type, size) for product_type, size in kinds
    ]
    specs = []
    for index in range(count):
        product_type, size = rng.choices(kinds, weights=weights)[0]
        org = rng.choice([org for org in others if any(i.product_type == product_type for i in _ideas(org))])
        idea = rng.choice([i for i in _ideas(org) if i.product_type == product_type])
        target, workshop, at_step, ago = _position(
            product_type, size, rng.uniform(0, _nominal_hours(product_type, size))
        )
        specs.append(
            OrderSpec(
                key=f"floor-{index}",
                org=org,
                title=idea.title,
                product_type=product_type,
                sensitivity=idea.sensitivity,
                requirements=idea.requirements,
                target=target,
                workshop=workshop,
                at_step=at_step,
                ago=ago,
                size=size,
                priority=rng.choices([Priority.NORMAL, Priority.HIGH, Priority.LOW], weights=[70, 15, 15])[0],
                placed_by=demo.SIM_OPERATIONS if rng.random() < 0.1 else "",
            )
        )
    return specs


def _position(product_type: str, size: str, hours: float) -> tuple[str, str, int, float]:
    """Where an order stands ``hours`` into its nominal timeline: (target, workshop, step index, hours at the gate)."""
    factor = float(SIZE_FACTORS[size])
    workshop = ""
    for workshop, steps in catalog_for(product_type, size).items():
        for j, step in enumerate(steps):
            hours -= float(step.nominal_hours) * factor
            if hours < 0:
                return "production", workshop, j, 0.0
        hours -= STORY_GATE_HOURS
        if hours < 0:
            return "gate", workshop, 0, max(STORY_GATE_HOURS + hours, 0.2)
    return "gate", workshop, 0, 0.2


def _busy_training(rng, specs: list[OrderSpec]) -> None:
    """Move orders of the sample to a training step until the floor holds TRAINING_WORK_NOW of the training pools'
    capacity in training steps (lowest priorities first: they are the work a high-priority job may preempt)."""
    capacity = sum(pool.pflops for _name, _site, pool, _seed in data.seeded_pools() if pool.kind == "training")
    wanted = capacity * TRAINING_WORK_NOW
    held = sum(
        float(step.demand_pflops) for spec in specs if (step := _current_step(spec)) and step.pool_kind == "training"
    )
    movable = [
        spec
        for spec in specs
        if spec.key.startswith("floor-")
        and spec.priority != Priority.HIGH
        and Workshop.MODEL in routing_for_type(spec.product_type)
        and not ((step := _current_step(spec)) and step.pool_kind == "training")
    ]
    rng.shuffle(movable)
    movable.sort(key=lambda spec: spec.priority != Priority.LOW)
    for spec in movable:
        if held >= wanted:
            break
        steps = catalog_for(spec.product_type, spec.size)[Workshop.MODEL]
        spec.target, spec.workshop, spec.ago = "production", Workshop.MODEL, 0.0
        spec.at_step = rng.choice([j for j, step in enumerate(steps) if step.pool_kind == "training"])
        held += float(steps[spec.at_step].demand_pflops)


def _current_step(spec: OrderSpec):
    """The catalog step an order in production stands at (None elsewhere)."""
    if spec.target != "production":
        return None
    steps = catalog_for(spec.product_type, spec.size)[spec.workshop]
    return steps[_stop_index(steps, spec.at_step)]


def _ideas(org: str) -> list[demo.OrderIdea]:
    return demo.ORDER_IDEAS[ORGANIZATIONS[org][1]]


def _nominal_hours(product_type: str, size: str) -> float:
    """An order's steps at nominal speed, and a story gate after each workshop."""
    factor = float(SIZE_FACTORS[size])
    catalog = catalog_for(product_type, size)
    return sum(
        float(step.nominal_hours) * factor for steps in catalog.values() for step in steps
    ) + STORY_GATE_HOURS * len(catalog)


_ROUTINGS: dict[str, list[str]] = {}
_CATALOGS: dict[tuple[str, str], dict] = {}


def routing_for_type(product_type: str) -> list[str]:
    if product_type not in _ROUTINGS:
        _ROUTINGS[product_type] = routing_for(product_type)
    return _ROUTINGS[product_type]


def catalog_for(product_type: str, size: str) -> dict:
    """The catalog steps of each of the product type's workshops at ``size``, in line order."""
    if (product_type, size) not in _CATALOGS:
        workshops = routing_for_type(product_type)
        steps = steps_by_workshop(workshops, size)
        _CATALOGS[product_type, size] = {workshop: steps[workshop] for workshop in workshops}
    return _CATALOGS[product_type, size]


# --- When it happened: each order's timeline -------------------------------------------------------------


@dataclass
class Plan:
    spec: OrderSpec
    entries: list  # (hours after placing, action tuple), in time order
    cut: float  # hours after placing at which the story reaches now
    # The step being worked on now: (stage index, step index, hours after placing it became ready,
    # hours after placing it started running or None while it waits for compute).
    current: tuple | None = None

    def at(self, offset: float, *action) -> None:
        self.entries.append((offset, action))


# Mean hours a ready step waits for compute, by priority: most steps are placed at the next tick,
# training steps queue for the big pools.
WAITS = {"urgent": 0.02, "high": 0.05, "normal": 0.15, "low": 0.5}
TRAINING_WAITS = {"urgent": 0.1, "high": 0.5, "normal": 1.5, "low": 4.0}


def _wait_hours(priority: str, kind: str, rng) -> float:
    mean = (TRAINING_WAITS if kind == "training" else WAITS)[priority]
    return min(rng.expovariate(1 / mean), 8 * mean)


def _waits(spec: OrderSpec, steps: dict) -> dict[tuple[int, int], float]:
    """Which step waited ``spec.delay`` longer for compute: the longest of its routing (key: stage and step index)."""
    if not spec.delay:
        return {}
    hours = {(k, j): float(step.nominal_hours) for k, w in enumerate(steps) for j, step in enumerate(steps[w])}
    return {max(hours, key=hours.get): spec.delay}


def _run_hours(step, factor) -> float:
    """A job runs at its full demand until its work is done."""
    return max(float(step.work_pflops_hours * factor) / float(step.demand_pflops), 0.1)


def _plan(spec: OrderSpec, rng) -> Plan:
    """The order's timeline in hours after it was placed, up to where it stands now (`cut`)."""
    workshops = routing_for_type(spec.product_type)
    catalog = catalog_for(spec.product_type, spec.size)
    factor = SIZE_FACTORS[spec.size]
    extra = _waits(spec, catalog)
    plan = Plan(spec=spec, entries=[], cut=0.0)
    plan.at(0, "place")
    t = 0.0
    if spec.target == "submitted":
        plan.cut = spec.ago
        return plan
    if spec.target == "rejected":
        t += rng.uniform(2, 10)
        plan.at(t, "reject")
        plan.cut = t + spec.ago
        return plan
    if spec.target == "cancelled" and not spec.workshop:
        t += rng.uniform(1, 6)
        plan.at(t, "cancel", "client")
        plan.cut = t + spec.ago
        return plan
    t += rng.uniform(1, 8)
    plan.at(t, "accept")
    if spec.target == "accepted":
        plan.cut = t + rng.uniform(0.3, 1.5)
        return plan
    t += rng.uniform(0.2, 3)
    plan.at(t, "start")
    ready = t
    sensitive = spec.sensitivity == "sensitive"
    for k, workshop in enumerate(workshops):
        steps = catalog[workshop]
        stops_here = spec.target in ("production", "cancelled") and spec.workshop == workshop
        stop_at = _stop_index(steps, spec.at_step) if stops_here else None
        for j, step in enumerate(steps):
            if j == stop_at:
                if spec.target == "cancelled":
                    cancelled = ready + rng.uniform(0.1, 1.5)
                    plan.at(cancelled, "cancel", "staff")
                    plan.cut = cancelled + spec.ago
                elif spec.running or (spec.running is None and spec.at_step != "training" and rng.random() < 0.75):
                    # Running now, part of its work done.
                    started = ready + _wait_hours(spec.priority, step.pool_kind, rng)
                    plan.cut = started + _run_hours(step, factor) * rng.uniform(0.15, 0.85)
                    plan.current = (k, j, ready, started)
                else:
                    waited = spec.waited if spec.waited is not None else rng.uniform(0.1, 1.5)
                    plan.cut, plan.current = ready + waited, (k, j, ready, None)
                return plan
            ready = _run_step(plan, k, j, step, factor, ready, spec, rng, extra.get((k, j), 0.0))
        opened = ready + rng.uniform(0.05, 0.2)
        plan.at(opened, "open_review", k)
        if spec.target == "gate" and spec.workshop == workshop:
            plan.cut = opened + (spec.ago or rng.uniform(1, 14))
            if spec.approvals:
                decided = opened + rng.uniform(2, 8)
                plan.at(decided, "approve", k, demo.SIM_REVIEWERS[0])
                plan.cut = decided + rng.uniform(1, 4)
            return plan
        decided = opened + rng.uniform(2, 14)
        if spec.rework_at == workshop or (spec.target == "rework" and spec.workshop == workshop):
            redo = rng.randrange(len(steps))
            plan.at(decided, "reject_review", k, redo, demo.SIM_REVIEWERS[1])
            if spec.target == "rework":
                plan.cut, plan.current = decided + rng.uniform(0.2, 1.5), (k, redo, decided, None)
                return plan
            finished = _run_step(plan, k, redo, steps[redo], factor, decided, spec, rng)
            opened = finished + rng.uniform(0.05, 0.2)
            plan.at(opened, "open_review", k)
            decided = opened + rng.uniform(2, 14)
        if sensitive:
            plan.at(decided, "approve", k, demo.SIM_REVIEWERS[0])
            decided += rng.uniform(1, 6)
            plan.at(decided, "approve", k, demo.SIM_REVIEWERS[1])
        else:
            plan.at(decided, "approve", k, rng.choice(demo.SIM_REVIEWERS))
        ready = decided
    if spec.target == "ready":
        plan.cut = ready + spec.ago
        return plan
    delivered = ready + rng.uniform(1, 10)
    plan.at(delivered, "deliver")
    plan.cut = delivered + spec.ago
    if spec.target == "closed":
        confirmed = delivered + min(rng.uniform(12, 72), spec.ago * 0.5)
        plan.at(confirmed, "confirm")
        if spec.rated:
            plan.at(confirmed + rng.uniform(0, 3), "rate")
    elif spec.rated:
        plan.at(delivered + spec.ago * rng.uniform(0.3, 0.8), "rate")
    return plan


def _stop_index(steps, at_step) -> int:
    if at_step == "training":
        return next((j for j, step in enumerate(steps) if step.pool_kind == "training"), len(steps) // 2)
    if isinstance(at_step, int):
        return min(at_step, len(steps) - 1)
    if isinstance(at_step, str):
        return next(j for j, step in enumerate(steps) if step.code == at_step)
    return min(int(len(steps) * float(at_step)), len(steps) - 1)


def _run_step(plan: Plan, k: int, j: int, step, factor, ready: float, spec: OrderSpec, rng, extra=0.0) -> float:
    """The step waits for compute, runs at its demand until its work is done; returns when it finished."""
    wait = _wait_hours(spec.priority, step.pool_kind, rng)
    started = ready + (0.0 if spec.calm else wait) + extra
    finished = started + _run_hours(step, factor)
    plan.at(started, "run", k, j, ready)
    plan.at(finished, "finish", k, j)
    return finished


# --- Playing it: one chronological sweep through every order and ticket ---------------------------------


class _VirtualClock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@dataclass
class _Run:
    order_id: int
    step_id: int
    queued: datetime
    started: datetime | None  # None: still waiting for compute
    finished: datetime | None = None  # None: still running


class _Story:
    def __init__(self, now: datetime, rng):
        self.now, self.rng = now, rng
        self.orders: dict[str, Order] = {}
        self.tickets: dict[str, object] = {}
        self.steps: dict[int, dict[tuple[int, int], int]] = {}
        self.runs: dict[int, _Run] = {}  # running step → its run
        self.finished_runs: list[_Run] = []
        self.current: list[_Run] = []  # steps worked on now: running (no finish yet) or waiting (no start yet)
        self.users: dict[str, object] = {}
        self.policies = {policy.severity: policy for policy in SlaPolicy.objects.all()}

    def user(self, username: str):
        if username not in self.users:
            if username in demo.SIM_STAFF:
                self.users[username] = demo.sim_staff(username)
            else:
                self.users[username] = get_user_model().objects.get(username=username)
        return self.users[username]

    def client_user(self, org_key: str):
        for username, key in DEMO_CLIENTS.items():
            if key == org_key:
                return self.user(username)
        return self.user(demo.sim_client_username(org_key))

    def order_story(self, plan: Plan, placed: datetime) -> Iterator[datetime]:
        spec = plan.spec
        order = None
        for offset, action in plan.entries:
            yield placed + timedelta(hours=offset)
            order = self.order_action(spec, order, action)
        if plan.current is not None:
            k, j, ready, started = plan.current
            self.current.append(
                _Run(
                    order_id=order.pk,
                    step_id=self.steps[order.pk][(k, j)],
                    queued=placed + timedelta(hours=ready),
                    started=placed + timedelta(hours=started) if started is not None else None,
                )
            )

    def order_action(self, spec: OrderSpec, order: Order | None, action: tuple) -> Order:
        kind, *args = action
        operations = self.user(demo.SIM_OPERATIONS)
        now = clock.now()
        if kind == "place":
            return self.place(spec)
        if kind == "accept":
            order_services.order_accept(order=order, actor=operations)
            self.steps[order.pk] = {
                (stage - 1, position - 1): pk
                for pk, stage, position in OrderStep.objects.filter(stage__order=order).values_list(
                    "pk", "stage__position", "position"
                )
            }
        elif kind == "reject":
            order_services.order_reject(
                order=order, actor=operations, reason="The requested delivery date cannot be met with the data offered."
            )
        elif kind == "cancel":
            actor = self.client_user(spec.org) if args[0] == "client" else operations
            reason = "Budget moved to next year." if args[0] == "client" else "The client withdrew the project."
            order_services.order_cancel(order=order, actor=actor, reason=reason)
        elif kind == "start":
            order_services.order_start_production(order=order, actor=operations)
        elif kind == "run":
            # The step's start is written with the compute history (_history), in one statement for all steps.
            k, j, ready = args
            step_id = self.steps[order.pk][(k, j)]
            # Its job was queued when the step became ready, `ready` hours after the order was placed.
            queued = order.created_at + timedelta(hours=ready)
            self.runs[step_id] = _Run(order_id=order.pk, step_id=step_id, queued=queued, started=now)
        elif kind == "finish":
            step_id = self.steps[order.pk][tuple(args)]
            order_services.step_finish(step=OrderStep(pk=step_id), actor=None)
            run = self.runs.pop(step_id)
            run.finished = now
            self.finished_runs.append(run)
        elif kind == "open_review":
            security_services.review_open(stage=self.stage(order, args[0]))
        elif kind == "approve":
            review = self.pending_review(order, args[0])
            security_services.review_approve(
                review=review, reviewer=self.user(args[1]), answers=demo.approval_answers(review)
            )
        elif kind == "reject_review":
            k, redo, reviewer = args
            review = self.pending_review(order, k)
            finding, answers = demo.rejection(review, self.rng)
            security_services.review_reject(
                review=review,
                reviewer=self.user(reviewer),
                findings=[finding],
                rework_steps=[self.steps[order.pk][(k, redo)]],
                answers=answers,
            )
        elif kind == "deliver":
            order_services.order_deliver(order=order, actor=operations)
        elif kind == "confirm":
            order_services.order_confirm(order=order, actor=self.client_user(spec.org))
        elif kind == "rate":
            delivered = Order.objects.get(pk=order.pk)
            score, comment = demo.rating_for(self.rng, late=delivered.is_overdue)
            order_services.order_rate(order=order, actor=self.client_user(spec.org), score=score, comment=comment)
        return order

    def place(self, spec: OrderSpec) -> Order:
        organization = _organization(spec.org)
        _name, sector = ORGANIZATIONS[spec.org]
        fields = {
            "title": spec.title,
            "requirements": spec.requirements,
            "size": spec.size,
            "requested_delivery": self.requested_delivery(spec),
        }
        if spec.follow_up_of:
            order = aftersales_services.ticket_create_follow_up_order(
                ticket=self.tickets[spec.follow_up_of], actor=self.user(spec.placed_by), **fields
            )
        else:
            actor = self.user(spec.placed_by) if spec.placed_by else self.client_user(spec.org)
            order = order_services.order_submit(
                client=organization,
                actor=actor,
                product_type=spec.product_type,
                sector=sector,
                data_sensitivity=spec.sensitivity,
                priority=spec.priority,
                **fields,
            )
        self.orders[spec.key] = order
        return order

    def requested_delivery(self, spec: OrderSpec):
        workshops = routing_for_type(spec.product_type)
        steps = catalog_for(spec.product_type, spec.size)
        hours = sum(float(step.nominal_hours * SIZE_FACTORS[spec.size]) for w in workshops for step in steps[w])
        wanted = hours * self.rng.uniform(1.0, 1.5) + 24 * len(workshops) + 48
        return (clock.now() + timedelta(hours=wanted)).date()

    def stage(self, order: Order, k: int) -> OrderStage:
        return OrderStage.objects.select_related("order").get(order=order, position=k + 1)

    def pending_review(self, order: Order, k: int) -> Review:
        return Review.objects.get(stage__order=order, stage__position=k + 1, status=ReviewStatus.PENDING)

    def ticket_story(self, spec: TicketSpec, order_spec: OrderSpec, opened: datetime) -> Iterator[datetime]:
        """The ticket's thread and moves, with the SLA watch running whenever one of its clocks runs out."""
        yield opened
        client = self.client_user(order_spec.org)
        staff = self.user(demo.SIM_AFTERSALES)
        ticket = aftersales_services.ticket_open(
            order=self.orders[order_spec.key],
            actor=client,
            category=spec.category,
            severity=spec.severity,
            subject=spec.subject,
            body=spec.body,
        )
        self.tickets[spec.key] = ticket
        script = [(opened + timedelta(hours=offset), action, text) for offset, action, text in spec.script]
        moment = opened
        while True:
            ticket.refresh_from_db()
            watch = min((at for at in _sla_moments(ticket, self.policies) if at > moment), default=None)
            following = [at for at in (script[0][0] if script else None, watch) if at is not None and at <= self.now]
            if not following:
                return
            moment = min(following)
            yield moment
            if script and moment == script[0][0]:
                _at, action, text = script.pop(0)
                self.ticket_action(ticket, action, text, client=client, staff=staff)
            else:
                aftersales_services.sla_watch()

    def ticket_action(self, ticket, action: str, text: str, *, client, staff) -> None:
        if action == "staff":
            aftersales_services.ticket_post_message(ticket=ticket, actor=staff, body=text)
        elif action == "client":
            aftersales_services.ticket_post_message(ticket=ticket, actor=client, body=text)
        elif action in ("waiting", "resolved"):
            status = "waiting_client" if action == "waiting" else "resolved"
            aftersales_services.ticket_change_status(ticket=ticket, actor=staff, status=status, note=text)
        elif action == "rate":
            score, comment = text.split("|", 1)
            aftersales_services.ticket_rate(ticket=ticket, actor=client, score=int(score), comment=comment)


def _sla_moments(ticket, policies: dict) -> list[datetime]:
    """When the SLA watch would next change something on `ticket`: a window about to run out (at risk), run
    out (breached), or a resolution left unanswered for long enough to close."""
    policy = policies[ticket.severity]
    share = float(policy.at_risk_share)
    tick = timedelta(minutes=1)
    moments = []
    if ticket.status in ACTIVE_TICKET_STATUSES and not ticket.breached:
        if ticket.first_responded_at is None:
            window = timedelta(hours=float(policy.first_response_hours))
            moments += [ticket.first_response_due - window * share + tick, ticket.first_response_due + tick]
        if ticket.paused_at is None:
            window = timedelta(hours=float(policy.resolution_hours))
            moments += [ticket.resolution_due - window * share + tick, ticket.resolution_due + tick]
    if ticket.status == TicketStatus.RESOLVED:
        moments.append(ticket.resolved_at + timedelta(days=settings.TICKET_AUTO_CLOSE_DAYS) + tick)
    return moments


def _story() -> str:
    rng = demo._rng(demo.SEED, "demo-data")
    now = clock.now().replace(second=0, microsecond=0)
    for key in ORGANIZATIONS:
        demo.sim_client(_organization(key))
    _ROUTINGS.clear()
    _CATALOGS.clear()
    curated = _curated()
    specs = curated + _filler(rng, curated)
    plans = {spec.key: _plan(spec, _plan_rng(spec)) for spec in specs}
    _keep_promises(specs, plans, now, rng)
    placed = {key: now - timedelta(hours=plan.cut) for key, plan in plans.items()}
    story = _Story(now, rng)
    streams: list[Iterator[datetime]] = []
    for spec in specs:
        streams.append(story.order_story(plans[spec.key], placed[spec.key]))
        delivered_at = _delivered_at(plans[spec.key], placed[spec.key])
        for ticket in spec.tickets:
            if ticket.follow_up:
                # Opened a day before the follow-up order it led to, answered, resolved once that order is placed.
                follow_up_placed = placed[ticket.follow_up]
                opened = follow_up_placed - timedelta(hours=26)
                ticket.script.append((26.5, "resolved", "Follow-up order placed for the new camera line."))
            else:
                opened = now - timedelta(hours=ticket.opened_ago)
            if delivered_at is None or opened <= delivered_at:
                raise CommandError(f"Demo ticket {ticket.key} would open before its order was delivered.")
            streams.append(story.ticket_story(ticket, spec, opened))
    virtual = _VirtualClock(now)
    # Promises of the past come from the catalog's nominal quote: a queue-aware one would run a forward simulation of
    # the ~70 orders on the floor for each order placed, and the past has no jobs to simulate yet (_history).
    with mock.patch.object(clock, "now", virtual), mock.patch.object(quotes, "_estimator", quotes.nominal_quote):
        _play(streams, virtual, now)
    _history(story, now)
    _budgets()
    # Work waiting now is placed on the pools, gates get their reviews, ETAs are forecast, SLAs watched. The tick and
    # the forecast run at the story's present, however long building it took on an accelerated clock (bin/run): the
    # next tick advances the running jobs by the time that passed since, and the showcase waits counted from there.
    dispatch_services.dispatch_tick(now=now)
    security_services.reviews_open_for_waiting_gates()
    forecast.forecast_etas(now=now)
    aftersales_services.sla_watch()
    return (
        f"{Order.objects.count()} orders, {Job.objects.count()} jobs, {Review.objects.count()} reviews, "
        f"{UtilizationSample.objects.count()} utilization samples"
    )


def _plan_rng(spec: OrderSpec):
    """Each order's timeline draws from its own seeded generator: planning it again draws the same numbers."""
    return demo._rng(demo.SEED, "demo-plan", spec.key)


def _keep_promises(specs: list[OrderSpec], plans: dict, now: datetime, rng) -> None:
    """Delivered orders meet their promised date, except LATE_SHARE of them, which one long wait made late.

    The promise is the nominal quote at the moment the order was placed (_story), and the date counts as the
    operations center counts it (delivered on or before the promised day). A delivery moment is fixed (its ``ago``),
    so a longer timeline moves the placing, and the promise, earlier.
    """
    delivered = [spec for spec in specs if spec.target in ("delivered", "closed")]
    late = set(rng.sample([spec.key for spec in delivered], round(len(delivered) * LATE_SHARE)))
    for spec in delivered:
        on_time = _on_time(spec, plans[spec.key], now)
        if spec.key in late and on_time:
            # One step waited for compute until the promise was missed, then a day or two more.
            while _on_time(spec, plans[spec.key], now):
                spec.delay += 12.0
                plans[spec.key] = _plan(spec, _plan_rng(spec))
            spec.delay += rng.uniform(6, 42)
            plans[spec.key] = _plan(spec, _plan_rng(spec))
        elif spec.key not in late and not on_time:
            spec.calm = True
            plans[spec.key] = _plan(spec, _plan_rng(spec))


def _delivered_offset(plan: Plan) -> float:
    return next(offset for offset, action in plan.entries if action[0] == "deliver")


def _on_time(spec: OrderSpec, plan: Plan, now: datetime) -> bool:
    placed = now - timedelta(hours=plan.cut)
    delivered = placed + timedelta(hours=_delivered_offset(plan))
    quote = quotes.nominal_quote(
        product_type=spec.product_type,
        size=spec.size,
        priority=spec.priority,
        data_sensitivity=spec.sensitivity,
        start=placed,
    )
    return timezone.localdate(delivered) <= quote.promised_delivery


def _delivered_at(plan: Plan, placed: datetime) -> datetime | None:
    for offset, action in plan.entries:
        if action[0] == "deliver":
            return placed + timedelta(hours=offset)
    return None


def _play(streams: list[Iterator[datetime]], virtual: _VirtualClock, now: datetime) -> None:
    """Run every story's next action in time order, with the factory clock showing that action's time."""
    queue = []
    for index, stream in enumerate(streams):
        first = next(stream, None)
        if first is not None:
            heapq.heappush(queue, (first, index))
    while queue:
        moment, index = heapq.heappop(queue)
        if moment > now:
            raise CommandError("The demo story ran past the present.")
        virtual.at = moment
        following = next(streams[index], None)
        if following is not None:
            if following < moment:
                raise CommandError("A demo story went back in time.")
            heapq.heappush(queue, (following, index))


# --- The compute history behind the story ------------------------------------------------------------------


def _history(story: _Story, now: datetime) -> None:
    """The jobs behind the story's steps, the pools' load now, and 30 days of utilization and queue samples."""
    pools = list(ComputePool.objects.select_related("site").filter(state=PoolState.ACTIVE))
    runs = story.finished_runs + story.current
    steps = {
        step.pk: step
        for step in OrderStep.objects.filter(pk__in=[run.step_id for run in runs]).select_related("stage__order")
    }
    placed = _place_runs([run for run in runs if run.started is not None], steps, pools, now)
    roles = {story.orders[key].pk: key for key in (SHOWCASE_PREEMPTOR, SHOWCASE_HEAD, SHOWCASE_BACKFILL)}
    placed.update(_present(story.current, steps, pools, placed, roles, now))
    deadlines = dispatch_services.step_deadlines(list(steps.values()))
    used_now: dict[int, Decimal] = defaultdict(Decimal)
    jobs, totals, history = [], defaultdict(lambda: [Decimal(0), Decimal(0)]), []
    for run in runs:
        step = steps[run.step_id]
        order = step.stage.order
        pool = placed.get(id(run))
        job = dispatch_services.new_job(step, queued_at=run.queued, deadline=deadlines[step.pk])
        work = job.work_pflops_hours
        if run.finished is None and pool is not None:
            used_now[pool.pk] += step.demand_pflops
        if pool is None:
            run.started = None
        else:
            end = run.finished or now
            done = min(step.demand_pflops * Decimal((end - run.started).total_seconds() / 3600), work)
            if run.finished is None:
                done = min(done, work - Decimal("0.01"))
            job.done_pflops_hours = done.quantize(Decimal("0.001"))
            job.cost = (job.done_pflops_hours * pool.price_per_pflops_hour).quantize(Decimal("0.01"))
            job.last_pool, job.started_at = pool, run.started
            if run.finished is None:
                job.state, job.pool = JobState.RUNNING, pool
            else:
                job.state, job.finished_at = JobState.DONE, run.finished
            totals[order.pk][0] += job.done_pflops_hours
            totals[order.pk][1] += job.cost
        jobs.append(job)
        history.append((run, pool, step))
    Job.objects.bulk_create(jobs, batch_size=1000)
    # Finished steps started when their last run did (step_finish, called without a start, stamped its own time).
    current = {run.step_id for run in story.current}
    started = {run.step_id: run.started for run in sorted(story.finished_runs, key=lambda run: run.started or now)}
    bulk_update_rows(OrderStep, ["started_at"], [(pk, at) for pk, at in started.items() if pk not in current])
    for run in story.current:
        if run.started is not None:
            order_services.steps_mark_running(step_ids=[run.step_id], at=run.started)
    for pool in pools:
        if used_now[pool.pk]:
            ComputePool.objects.filter(pk=pool.pk).update(used_pflops=used_now[pool.pk])
    order_services.orders_set_compute(totals={pk: tuple(values) for pk, values in totals.items()})
    _samples(history, pools, now)


# How long the showcase of _present holds: longer than building the demo takes on bin/run's clock (a real second is
# a factory minute) and the first ticks after it.
SHOWCASE_WINDOW = timedelta(hours=3)


@dataclass
class _Slot:
    """A step worked on now, as _present places it."""

    run: _Run
    kind: str
    demand: float
    hours: float  # at full demand, from start to finish
    rank: int
    sensitive: bool
    role: str = ""
    pool: ComputePool | None = None


def _present(
    current: list[_Run], steps: dict, pools: list[ComputePool], history: dict, roles: dict, now: datetime
) -> dict[int, ComputePool | None]:
    """Where the steps worked on now run (None: they wait for compute), keyed by id(run).

    Built so that the dispatch center shows its rules at work in its first minutes, whatever the other tenants'
    load (dispatch.engine.background) at the moment the demo is built:

    1. High and urgent work runs (a dispatcher would have preempted for it by now), then what the story left
       running stays on its pool (running work is never evicted for the other tenants' load), or on another one
       when the pools SHOWCASE_HEAD waits for must keep their hole (3.); only what has no room at all waits.
    2. SHOWCASE_PREEMPTOR (high priority, waiting for 20 minutes) finds every pool it may use full for the next
       SHOWCASE_WINDOW: lower-priority work that runs longer than that takes their room, even at the lowest load of
       the other tenants in that window. Once it has waited Policy.preempt_after, a tick preempts for it, and the
       next forecast measures what that preemption did to the ETA of the order it hit.
    3. SHOWCASE_HEAD (a large high-priority step) fits on no pool of its kind, and each of those pools that 2. does
       not fill keeps a hole at least as large as SHOWCASE_BACKFILL's step: the first tick starts lower-priority
       work in those holes while the head waits for its reservation, which is backfill.
    """
    slots = []
    for run in current:
        step = steps[run.step_id]
        order = step.stage.order
        demand = float(step.demand_pflops)
        slots.append(
            _Slot(
                run=run,
                kind=step.pool_kind,
                demand=demand,
                hours=float(step.work_pflops_hours) / demand,
                rank=PRIORITY_RANK[order.priority],
                sensitive=order.is_sensitive,
                role=roles.get(order.pk, ""),
            )
        )
    window = SHOWCASE_WINDOW.total_seconds() / 3600
    background_now = {pool.pk: dispatch_services.pool_background(pool, now) for pool in pools}
    moments = [now + policy.BACKGROUND_STEP * k for k in range(int(SHOWCASE_WINDOW / policy.BACKGROUND_STEP) + 1)]
    background_low = {pool.pk: min(dispatch_services.pool_background(pool, at) for at in moments) for pool in pools}
    used: dict[int, float] = defaultdict(float)
    showcase = {slot.role: slot for slot in slots if slot.role}
    preemptor, head, backfill = (showcase[role] for role in (SHOWCASE_PREEMPTOR, SHOWCASE_HEAD, SHOWCASE_BACKFILL))

    def free(pool) -> float:
        return float(pool.capacity_pflops) - background_now[pool.pk] - used[pool.pk]

    def may_run(slot, pool) -> bool:
        return pool.kind == slot.kind and (not slot.sensitive or (pool.trusted and pool.site.in_province))

    full = [pool for pool in pools if may_run(preemptor, pool)]
    holes = [pool for pool in pools if may_run(head, pool) and pool not in full]

    def takes(pool, slot) -> bool:
        """Whether ``pool`` can hold ``slot`` now: within its capacity for work already running (other tenants' load
        aside), next to the other tenants' load for work starting; in both cases keeping the holes of 3."""
        if pool in holes and slot.rank < HIGH:
            return free(pool) - slot.demand >= backfill.demand
        if slot.run.started is not None:
            return used[pool.pk] + slot.demand <= float(pool.capacity_pflops)
        return free(pool) >= slot.demand

    def remaining(slot, started=None) -> float:
        started = started or slot.run.started
        return slot.hours - (now - started).total_seconds() / 3600

    def start(slot, pool) -> None:
        if slot.run.started is None:
            # It waited for compute since its step became ready, and started halfway to now.
            slot.run.started = slot.run.queued + (now - slot.run.queued) / 2
        slot.pool = pool
        used[pool.pk] += slot.demand

    # 1. What runs now.
    for slot in sorted(slots, key=lambda slot: (-slot.rank, slot.run.started or slot.run.queued)):
        if slot.role or (slot.run.started is None and slot.rank < HIGH):
            continue
        own = history.get(id(slot.run))
        fitting = [pool for pool in pools if may_run(slot, pool) and takes(pool, slot)]
        if own in fitting:
            start(slot, own)
        elif fitting:
            start(slot, min(fitting, key=lambda pool: (pool.trusted and pool.site.in_province, free(pool))))
        else:
            slot.run.started = None

    def waiting(kind, rank):
        found = [
            slot for slot in slots if slot.pool is None and not slot.role and slot.kind == kind and slot.rank < rank
        ]
        return sorted(found, key=lambda slot: (-slot.demand, slot.run.queued))

    def room_in_window(pool) -> float:
        """The most room the pool may have in the window: other tenants at their lowest, short work finished."""
        lasting = sum(slot.demand for slot in slots if slot.pool == pool and remaining(slot) > window)
        return float(pool.capacity_pflops) - background_low[pool.pk] - lasting

    # 2. The preemptor's pools stay full.
    for pool in full:
        while room_in_window(pool) >= preemptor.demand:
            fits = float(pool.capacity_pflops) - used[pool.pk]
            queue = [
                slot
                for slot in waiting(preemptor.kind, preemptor.rank)
                if may_run(slot, pool)
                and slot.demand <= fits
                and remaining(slot, slot.run.queued + (now - slot.run.queued) / 2) > window
            ]
            elsewhere = [
                slot
                for slot in slots
                if slot.pool in holes
                and slot.rank < preemptor.rank
                and not slot.role
                and may_run(slot, pool)
                and slot.demand <= fits
                and remaining(slot) > window
            ]
            if queue:
                start(queue[0], pool)
            elif elsewhere:
                moved = max(elsewhere, key=lambda slot: (slot.demand, slot.run.started))
                used[moved.pool.pk] -= moved.demand
                moved.pool = pool
                used[pool.pk] += moved.demand
            else:
                break

    # 3. The head fits nowhere; the other pools it waits for keep a hole for smaller work behind it.
    for pool in full + holes:
        hole = backfill.demand if pool in holes else 0.0
        while free(pool) >= head.demand:
            queue = [
                slot for slot in waiting(head.kind, HIGH) if may_run(slot, pool) and slot.demand <= free(pool) - hole
            ]
            if not queue:
                break
            start(queue[0], pool)
    return {id(slot.run): slot.pool for slot in slots}


def _place_runs(runs: list[_Run], steps: dict, pools: list[ComputePool], now: datetime) -> dict[int, ComputePool]:
    """Put each run on a pool that may run it (sensitive data: trusted in-province pools only), the one with
    most room when it started, as the planner would. Keyed by id(run)."""
    running: dict[int, list[tuple[datetime, float]]] = defaultdict(list)  # pool → (finish, demand)
    placed = {}
    for run in sorted(runs, key=lambda run: run.started):
        step = steps[run.step_id]
        sensitive = step.stage.order.is_sensitive
        allowed = [
            pool
            for pool in pools
            if pool.kind == step.pool_kind and (not sensitive or (pool.trusted and pool.site.in_province))
        ]
        if not allowed:
            continue

        def room(pool, at=run.started):
            running[pool.pk] = [(end, demand) for end, demand in running[pool.pk] if end > at]
            used = sum(demand for _end, demand in running[pool.pk])
            capacity = float(pool.capacity_pflops)
            return capacity - used - background.background_pflops(pool.background_seed, capacity, at)

        pool = max(allowed, key=room)
        running[pool.pk].append((run.finished or now + timedelta(days=365), float(step.demand_pflops)))
        placed[id(run)] = pool
    return placed


def _samples(history: list, pools: list[ComputePool], now: datetime) -> None:
    """Every pool's load and every priority's queue at each sample time of the last 30 days, from the runs."""
    end = now - timedelta(minutes=now.minute % 15)
    count = int(timedelta(days=SAMPLE_DAYS) / SAMPLE_EVERY)
    times = [end - SAMPLE_EVERY * (count - index) for index in range(count)]
    first = times[0]
    used = defaultdict(lambda: [0.0] * count)
    cost = defaultdict(lambda: [0.0] * count)
    queued_by_kind = defaultdict(lambda: [0] * count)
    waits = defaultdict(lambda: [[] for _ in range(count)])  # priority → per time, hours waited so far

    def index_range(start: datetime, stop: datetime) -> range:
        """Sample indexes whose time falls in [start, stop)."""
        low = max(0, math.ceil((start - first) / SAMPLE_EVERY))
        high = min(count, math.ceil((stop - first) / SAMPLE_EVERY))
        return range(low, high)

    step_hours = SAMPLE_EVERY.total_seconds() / 3600
    for run, pool, step in history:
        demand = float(step.demand_pflops)
        started, finished = run.started or now, run.finished or now
        if pool is not None:
            price = float(pool.price_per_pflops_hour)
            for index in index_range(started, finished):
                used[pool.pk][index] += demand
            # A sample charges what ran since the previous one: the part of the run inside (t - 15 min, t].
            for index in index_range(started, finished + SAMPLE_EVERY):
                moment = times[index]
                overlap = (min(finished, moment) - max(started, moment - SAMPLE_EVERY)).total_seconds() / 3600
                if overlap > 0:
                    cost[pool.pk][index] += demand * min(overlap, step_hours) * price
        for index in index_range(run.queued, started):
            queued_by_kind[step.pool_kind][index] += 1
            waits[step.stage.order.priority][index].append((times[index] - run.queued).total_seconds() / 3600)
    samples = []
    for pool in pools:
        capacity = float(pool.capacity_pflops)
        for index, moment in enumerate(times):
            ours = min(used[pool.pk][index], capacity)
            others = background.background_pflops(pool.background_seed, capacity, moment)
            if not settings.DISPATCH_BACKGROUND_LOAD:
                others = 0.0
            samples.append(
                (
                    pool.pk,
                    moment,
                    _decimal(ours),
                    _decimal(min(others, capacity - ours)),
                    pool.capacity_pflops,
                    queued_by_kind[pool.kind][index],
                    _decimal(cost[pool.pk][index]),
                )
            )
    # Tens of thousands of rows: COPY, as the scale data set writes them.
    fields = ["pool", "at", "used_pflops", "background_pflops", "capacity_pflops", "queued_jobs", "cost"]
    copy_rows(UtilizationSample, fields, samples)
    dispatch_services.daily_costs_rebuild()
    copy_rows(
        QueueSample,
        ["at", "priority", "waiting_jobs", "mean_wait_hours", "longest_wait_hours"],
        (
            (
                moment,
                priority,
                len(waits[priority][index]),
                sum(waits[priority][index]) / len(waits[priority][index]) if waits[priority][index] else 0.0,
                max(waits[priority][index], default=0.0),
            )
            for index, moment in enumerate(times)
            for priority in dispatch_services.PRIORITY_RANK
        ),
    )


def _decimal(value: float) -> Decimal:
    return Decimal(str(round(max(value, 0.0), 2)))


def _budgets() -> None:
    """Monthly compute budgets of three clients, for the dispatch center's budget table (not enforced)."""
    for key, budget in (("qinghe-hospital", 90000), ("jinhai-rural-bank", 60000), ("lanxi-data-bureau", 40000)):
        dispatch_services.client_budget_set(
            client=_organization(key), monthly_pflops_hours=Decimal(budget), enforce=False
        )

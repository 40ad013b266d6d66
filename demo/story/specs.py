"""What happened in the demo factory's past, order by order: the curated orders people look at first, the
filler that gives every status its orders, the orders on the floor as a steady state holds them, and the delivered
history; with the catalog each order follows.
"""

from dataclasses import dataclass, field

from catalog.models import SIZE_FACTORS, Size, Workshop
from catalog.selectors import routing_for, steps_by_workshop
from demo import content, data, staff
from factory import roles
from orders.models import Priority

# username → staff role (None for the superuser). Listed in the README and API.md "Demo data".
DEMO_STAFF = {
    "admin": None,
    "ops": roles.OPERATIONS,
    "dispatcher": roles.DISPATCH,
    "reviewer": roles.SECURITY,
    "reviewer2": roles.SECURITY,
    "aftersales": roles.AFTERSALES,
}
# username → organization key (content.DEMO_ORGANIZATIONS).
DEMO_CLIENTS = {"client-a": "qinghe-hospital", "client-b": "lanxi-data-bureau"}
ORGANIZATIONS = {key: (name, sector) for key, name, sector in content.DEMO_ORGANIZATIONS}
# Present once the story was built (the fixed clients' organizations predate it in older demo databases).
STORY_MARKER = ORGANIZATIONS["hengtai-machinery"][0]

# The orders the dispatch center's showcase is built around (curated_orders, history._present).
SHOWCASE_PREEMPTOR = "credit-risk"
SHOWCASE_HEAD = "fabric-pretrain"
SHOWCASE_BACKFILL = "essay-lora"
MEDICAL_ACCOMPANIMENT = "Provincial online medical-accompaniment service agent"


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


def _idea(title: str) -> content.OrderIdea:
    return next(idea for ideas in content.ORDER_IDEAS.values() for idea in ideas if idea.title == title)


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


def curated_orders() -> list[OrderSpec]:
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
        script=[(2.5, "staff", content.STAFF_REPLIES["first"])],
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
                        (3, "staff", content.STAFF_REPLIES["first"]),
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
                        (2, "staff", content.STAFF_REPLIES["first"]),
                        (22, "waiting", "Could you send us the official list of the new department codes?"),
                    ],
                )
            ],
        ),
        # The showcase of the dispatch center (see history._present): this sensitive, high-priority model may only
        # train on the trusted in-province pool, which is full; once it has waited Policy.preempt_after it preempts.
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
            placed_by=staff.SIM_AFTERSALES,
            follow_up_of="weld-follow-up",
        ),
        _spec(
            "quality-trace",
            "xinghe-nev-works",
            "Quality traceability application",
            "production",
            workshop=Workshop.AGENT,
            placed_by=staff.SIM_OPERATIONS,
            priority=Priority.URGENT,
        ),
    ]


# Orders on the factory floor now (accepted, in production or at a gate), by Little's law: a factory carrying
# ~1,000 orders a year (800 vertical models, the real factory's figure) receives 2.74 a day, and at 85 % utilization
# they take 28.6 days from placing to delivery on average (bench/year.py under our policy: dataset 11.6, model 29.1,
# agent 34.3 and application 45.9 days, weighted by data.PRODUCT_MIX), so 2.74 x 28.6 = 78 orders are between placing
# and delivery at any time. A few of those are still to be accepted or wait for handover: about 72 are on the floor.
ON_THE_FLOOR = 72
# Mean factory hours a gate review takes in the story (plan_order: 2 to 14 h).
STORY_GATE_HOURS = 8.0
# The orders on the floor hold at least this share of the training pools' capacity in training steps (running or
# waiting): enough to fill the pools however little the other tenants use (dispatch.engine.background: 5 to 45 % of a
# pool), so that the showcase of history._present always finds them full and work waits in the training queue.
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
            (3, "staff", content.STAFF_REPLIES["first"]),
            (20, "waiting", content.STAFF_REPLIES["waiting"]),
            (32, "client", content.STAFF_REPLIES["client_reply"]),
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
            (5, "staff", content.STAFF_REPLIES["first"]),
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
            (4, "staff", content.STAFF_REPLIES["first"]),
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
        [(6, "staff", content.STAFF_REPLIES["first"]), (20, "resolved", "Named in the model card, section 2; sent.")],
    ),
]


def filler_orders(rng, curated: list[OrderSpec]) -> list[OrderSpec]:
    others = [key for key, _name, _sector in content.DEMO_ORGANIZATIONS if key not in DEMO_CLIENTS.values()]
    specs = []

    def pick(workshop: str, weights: dict):
        while True:
            org = rng.choice(others)
            ideas = [
                idea
                for idea in content.ORDER_IDEAS[ORGANIZATIONS[org][1]]
                if not workshop or workshop in routing_for_type(idea.product_type)
            ]
            if ideas:
                return org, rng.choices(ideas, weights=[weights.get(idea.product_type, 1) for idea in ideas])[0]

    def make(target, workshop, weights=None, **extra):
        org, idea = pick(workshop, weights or {})
        size = rng.choices([Size.SMALL, Size.MEDIUM], weights=[65, 35])[0]
        priority = rng.choices(list(data.CLIENT_PRIORITY_MIX), weights=list(data.CLIENT_PRIORITY_MIX.values()))[0]
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
                placed_by=staff.SIM_OPERATIONS if rng.random() < 0.1 else "",
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
    kinds = [(product_type, size) for product_type in data.PRODUCT_MIX for size in data.SIZE_MIX]
    weights = [
        data.PRODUCT_MIX[product_type] * data.SIZE_MIX[size] * _nominal_hours(product_type, size)
        for product_type, size in kinds
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
                priority=rng.choices(list(data.CLIENT_PRIORITY_MIX), weights=list(data.CLIENT_PRIORITY_MIX.values()))[
                    0
                ],
                placed_by=staff.SIM_OPERATIONS if rng.random() < 0.1 else "",
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
    return steps[stop_index(steps, spec.at_step)]


def _ideas(org: str) -> list[content.OrderIdea]:
    return content.ORDER_IDEAS[ORGANIZATIONS[org][1]]


def _nominal_hours(product_type: str, size: str) -> float:
    """An order's steps at nominal speed, and a story gate after each workshop."""
    factor = float(SIZE_FACTORS[size])
    catalog = catalog_for(product_type, size)
    return sum(
        float(step.nominal_hours) * factor for steps in catalog.values() for step in steps
    ) + STORY_GATE_HOURS * len(catalog)


_ROUTINGS: dict[str, list[str]] = {}
_CATALOGS: dict[tuple[str, str], dict] = {}


def forget_catalog() -> None:
    """Read the catalog afresh: it may have changed since the last story this process played (tests change it)."""
    _ROUTINGS.clear()
    _CATALOGS.clear()


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


def stop_index(steps, at_step) -> int:
    if at_step == "training":
        return next((j for j, step in enumerate(steps) if step.pool_kind == "training"), len(steps) // 2)
    if isinstance(at_step, int):
        return min(at_step, len(steps) - 1)
    if isinstance(at_step, str):
        return next(j for j, step in enumerate(steps) if step.code == at_step)
    return min(int(len(steps) * float(at_step)), len(steps) - 1)

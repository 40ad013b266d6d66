"""Each order's life in the scale data set, played up to now as the services would have played it: placed,
accepted into one stage per workshop, produced step by step (each step waits for compute, then runs at its demand),
stopped at every gate (reviewed, sometimes sent back to rework), released, delivered, confirmed and rated; a few are
rejected, withdrawn or cancelled. What an order is made of while its life is played, and the builder's part that
plays it (`Lives`, a part of demo.scale.build.ScaleBuild).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from demo import content, data
from dispatch.models import ComputePool
from factory import notes
from orders import production
from orders.models import (
    WORKSHOP_ARTIFACT,
    Artifact,
    ClientOrganization,
    EventKind,
    Order,
    OrderStage,
    OrderStatus,
    OrderStep,
    Priority,
    ReferenceCounter,
    StageStatus,
    StepStatus,
)
from orders.models import DataSensitivity as Sensitivity
from security.models import Review, ReviewStatus
from security.models import Severity as FindingSeverity

REJECTED_SHARE, WITHDRAWN_SHARE, CANCELLED_SHARE = 0.03, 0.015, 0.025
# Factory hours operations take to accept or reject an order, to start production, to deliver; and a
# reviewer takes to decide a gate (about the GATE_REVIEW_HOURS the ETA counts on).
DECIDE_HOURS, START_HOURS, DELIVER_HOURS, REVIEW_HOURS = (1, 48), (0.5, 24), (2, 48), (4, 40)
REWORK_SHARE = 0.12  # gates whose first review is rejected
BUSY_SHARE = 0.15  # orders that meet a crowded factory: their steps wait much longer
REJECT_REASONS = [
    "Outside what the factory's catalog can build.",
    "The client could not provide the data the order needs.",
    "Duplicate of an order already in production.",
]
CANCEL_REASONS = ["The client's project was stopped.", "Budget withdrawn for this year.", "Replaced by a new order."]
WITHDRAW_REASONS = ["We placed it by mistake.", "Our requirements changed; we will order again later."]


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


def local_date(moment: datetime):
    return timezone.localtime(moment).date()


# --- What an order is made of while its life is played --------------------------------------------------


@dataclass(slots=True)
class CatalogStep:
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
class Step:
    id: int
    stage: "Stage"
    catalog: CatalogStep
    position: int
    status: str = StepStatus.PENDING
    rework_count: int = 0
    started: datetime | None = None
    finished: datetime | None = None


@dataclass(slots=True)
class Stage:
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
class ScaleReview:
    id: int
    stage: Stage
    passage: int
    opened: datetime
    status: str = ReviewStatus.PENDING
    decided: datetime | None = None
    reviewer: int | None = None
    answered: bool = False
    failed: tuple | None = None  # (checklist position, severity, finding) of a rejection
    approvals: list = field(default_factory=list)  # (reviewer id, at)


@dataclass(slots=True)
class Run:
    """One run of a step's compute; a job when it falls in the dispatch center's time."""

    order: "ScaleOrder"
    step: Step
    queued: datetime
    started: datetime | None  # None: waiting for compute now
    finished: datetime | None  # None: still running (or waiting)
    pool: ComputePool | None = None


@dataclass(slots=True)
class ScaleOrder:
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


# The artifact fields orders.production fills in, in the order demo.scale.rows writes them.
ARTIFACT_FIELDS = ("kind", "name", "version", "size_bytes", "checksum")


class Lives:
    """Playing each order's life (state and the other parts: demo.scale.build.ScaleBuild)."""

    def play_orders(self) -> None:
        count = self.options.orders
        span = hours(count / self.options.per_year * 365 * 24)
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

    def new_order(self, placed: datetime, reference: str) -> ScaleOrder:
        rng = self.rng
        client, client_user = rng.choices(self.clients, weights=self.client_weights)[0]
        ideas, weights = self.ideas[client.sector]
        idea = rng.choices(ideas, weights=weights)[0]
        size = rng.choices(list(data.SIZE_MIX), weights=list(data.SIZE_MIX.values()))[0]
        priority = rng.choices(list(data.PRIORITY_MIX), weights=list(data.PRIORITY_MIX.values()))[0]
        # Only staff may mark an order urgent; operations also place some orders on a client's behalf.
        placed_by = self.ops if priority == Priority.URGENT or rng.random() < 0.1 else client_user
        route = self.routes[(idea.product_type, size)]
        nominal = sum(float(step.hours) for _workshop, steps in route for step in steps)
        gates = len(route) * settings.GATE_REVIEW_HOURS
        requested = local_date(placed + hours(nominal * rng.uniform(*data.STRETCH[priority]) + gates + 48))
        promised = local_date(placed + hours((nominal + gates) * rng.uniform(1.05, 1.3)))
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
        return ScaleOrder(
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

    def play(self, order: ScaleOrder) -> None:
        """The order's life up to now, as the services would have written it (the last state is where now cuts)."""
        rng, now = self.rng, self.now
        self.event(order, order.placed, order.placed_by, EventKind.SUBMITTED, to_status=OrderStatus.SUBMITTED)
        if order.fate in ("rejected", "withdrawn"):
            decided = order.placed + hours(rng.uniform(*DECIDE_HOURS))
            if decided <= now:
                if order.fate == "rejected":
                    note, actor = rng.choice(REJECT_REASONS), self.ops
                    kind, status = EventKind.REJECTED, OrderStatus.REJECTED
                else:
                    note, actor = rng.choice(WITHDRAW_REASONS), order.client_user
                    kind, status = EventKind.CANCELLED, OrderStatus.CANCELLED
                self.move(order, decided, actor, kind, status, note=note)
            return
        t = order.placed + hours(rng.uniform(*DECIDE_HOURS))
        if t > now:
            return
        self.accept(order, t)
        t += hours(rng.uniform(*START_HOURS))
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

    def accept(self, order: ScaleOrder, at: datetime) -> None:
        rng = self.rng
        for position, (workshop, steps) in enumerate(self.routes[(order.product_type, order.size)], start=1):
            stage = Stage(id=self.ids[OrderStage](), workshop=workshop, position=position, rework=False)
            stage.rework = rng.random() < REWORK_SHARE
            stage.steps = [
                Step(id=self.ids[OrderStep](), stage=stage, catalog=step, position=index)
                for index, step in enumerate(steps, start=1)
            ]
            order.stages.append(stage)
        if order.fate == "cancelled":
            k = rng.randrange(len(order.stages))
            order.cancel_at = (k, rng.randrange(len(order.stages[k].steps)))
        order.accepted_at = at
        self.move(order, at, self.ops, EventKind.ACCEPTED, OrderStatus.ACCEPTED)

    def run_step(self, order: ScaleOrder, step: Step, ready: datetime) -> datetime | None:
        """The step becomes ready, waits for compute, runs at its demand until its work is done.

        Returns when it finished, or None when now falls before that (or the order is cancelled meanwhile).
        """
        rng, now = self.rng, self.now
        step.status = StepStatus.READY
        stage = step.stage
        if order.cancel_at == (order.stages.index(stage), step.position - 1):
            cancelled = ready + hours(rng.uniform(0.1, 1.5))
            if cancelled <= now:
                # order_cancel: nothing of a cancelled order waits for compute any more.
                step.status = StepStatus.PENDING
                note = rng.choice(CANCEL_REASONS)
                self.move(order, cancelled, self.ops, EventKind.CANCELLED, OrderStatus.CANCELLED, note=note)
                return None
        kind, priority = step.catalog.pool_kind, order.priority
        mean = (data.TRAINING_WAIT_HOURS if kind == "training" else data.WAIT_HOURS)[priority] * order.busy
        started = ready + hours(min(rng.expovariate(1 / mean), 8 * mean))
        if started > now:
            order.runs.append(Run(order, step, ready, None, None))
            return None
        step.status, step.started = StepStatus.RUNNING, started
        finished = started + hours(step.catalog.run_hours)
        if finished > now:
            order.runs.append(Run(order, step, ready, started, None))
            return None
        step.status, step.finished = StepStatus.DONE, finished
        order.runs.append(Run(order, step, ready, started, finished))
        self.event(order, finished, None, EventKind.STEP_FINISHED, workshop=stage.workshop, note=step.catalog.name)
        return finished

    def stage_done(self, order: ScaleOrder, stage: Stage, at: datetime, note: str = "") -> None:
        stage.status, stage.finished = StageStatus.AWAITING_REVIEW, at
        self.move(order, at, None, EventKind.STAGE_DONE, OrderStatus.AWAITING_REVIEW, stage.workshop, note)

    def open_review(self, order: ScaleOrder, stage: Stage, finished: datetime) -> ScaleReview | None:
        opened = finished + hours(self.rng.uniform(0.05, 0.2))
        if opened > self.now:
            return None
        review = ScaleReview(id=self.ids[Review](), stage=stage, passage=stage.gate_passage, opened=opened)
        order.reviews.append(review)
        return review

    def gate(self, order: ScaleOrder, k: int, stage: Stage, t: datetime) -> datetime | None:
        """The workshop's security gate: reviewed (sent back to rework once, if so drawn), then released."""
        rng, now = self.rng, self.now
        self.stage_done(order, stage, t)
        review = self.open_review(order, stage, t)
        if review is None:
            return None
        if stage.rework:
            decided = review.opened + hours(rng.uniform(*REVIEW_HOURS))
            if decided > now:
                return None
            position, severity, text = rng.choice(content.FINDINGS[stage.workshop])
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
        first = review.opened + hours(rng.uniform(*REVIEW_HOURS))
        if first > now:
            return None
        if order.sensitive:
            review.approvals.append((self.reviewers[0], first))
            review.answered = True
            note = notes.APPROVAL_GIVEN.stored(given=1, required=2)
            self.event(order, first, self.reviewers[0], EventKind.REVIEW_DECISION, workshop=stage.workshop, note=note)
            decided, reviewer = first + hours(rng.uniform(1, 6)), self.reviewers[1]
            if decided > now:
                return None
        else:
            decided, reviewer = first, rng.choice(self.reviewers)
        review.approvals.append((reviewer, decided))
        review.status, review.decided, review.reviewer, review.answered = ReviewStatus.APPROVED, decided, reviewer, True
        note = notes.REVIEW_APPROVED.stored(count=len(review.approvals))
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

    def artifact(self, order: ScaleOrder, k: int, stage: Stage, at: datetime) -> None:
        """What stage_release_gate produces: the workshop's deliverable, built from the previous one."""
        fields = production.artifact_fields(
            reference=order.reference,
            kind=WORKSHOP_ARTIFACT[stage.workshop],
            earlier_of_kind=0,  # each gate is released once here (a rejected review releases nothing)
            work=sum((step.catalog.work for step in stage.steps), Decimal(0)),
        )
        built_from = self.artifacts[-1][0] if k > 0 else None
        self.artifacts.append(
            (
                self.ids[Artifact](),
                order.id,
                stage.id,
                *(fields[name] for name in ARTIFACT_FIELDS),
                at,
                built_from,
            )
        )

    def deliver(self, order: ScaleOrder, ready: datetime) -> None:
        rng, now = self.rng, self.now
        delivered = ready + hours(rng.uniform(*DELIVER_HOURS))
        if delivered > now:
            return
        order.delivered_at = delivered
        self.move(order, delivered, self.ops, EventKind.DELIVERED, OrderStatus.DELIVERED)
        confirm = delivered + hours(rng.uniform(12, 72))
        confirms, rates = rng.random() < 0.8, rng.random() < 0.7
        rate_at = (confirm if confirms else delivered + hours(rng.uniform(24, 120))) + hours(rng.uniform(0, 3))
        if confirms and confirm <= now:
            order.closed_at = confirm
            self.move(order, confirm, order.client_user, EventKind.CONFIRMED, OrderStatus.CLOSED)
        if rates and rate_at <= now:
            score, comment = content.rating_for(rng, late=local_date(delivered) > order.due)
            order.rating, order.rating_comment = score, comment
            self.event(order, rate_at, order.client_user, EventKind.RATED, note=f"{score}/5 {comment}".strip())

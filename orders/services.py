"""Every state change of orders, their stages and steps. Views, API, tasks and other apps call these.

Each function validates first, then changes inside one transaction with the order row locked
(always the order first, so two services never deadlock), writes an order event, and keeps
progress and ETA consistent. A refused request raises an OrderError and changes nothing.

**Lock order** (the part of dispatch.services' lock order that orders keeps): an order, then its stages, then
their steps. A service that changes one order locks it first (`_lock`); the services the dispatch center calls
in bulk (`steps_finish`, `steps_mark_running`, `steps_mark_ready`) lock their orders first too, in ascending
id, and run under the dispatch lock.
"""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import SIZE_FACTORS, ProductType, Sector, Size
from catalog.selectors import routing_for, steps_by_workshop
from factory import clock, notes, roles, submissions
from factory.dates import day_words
from factory.db import bulk_update_rows
from factory.limits import MESSAGE_MAX, NOTE_MAX, REQUIREMENTS_MAX, TITLE_MAX, clean_text
from orders import extensions, notices, permissions, production, quotes, read_cache
from orders.access import organization_of
from orders.errors import OrderInvalid, OrderTransitionNotAllowed, QuoteNoLongerHolds
from orders.models import (
    ACTIVE_STATUSES,
    CHANGEABLE_STATUSES,
    HANDED_OVER_STATUSES,
    IN_FLIGHT_STATUSES,
    OPEN_STAGE_STATUSES,
    WORKING_STEP_STATUSES,
    WORKSHOP_ARTIFACT,
    Artifact,
    ClientMembership,
    ClientOrganization,
    DataSensitivity,
    EventKind,
    Order,
    OrderEvent,
    OrderStage,
    OrderStatus,
    OrderStep,
    Priority,
    ReferenceCounter,
    RequirementChange,
    StageStatus,
    StepStatus,
    new_tracking_token,
)

# --- Clients -------------------------------------------------------------------------------------


@transaction.atomic
def client_user_attach(*, user, organization: ClientOrganization) -> ClientMembership:
    """Make `user` a client user of `organization` (a user belongs to exactly one organization)."""
    if roles.has_role(user):
        raise OrderInvalid(_("Staff users cannot also be client users."), field="user")
    membership, _created = ClientMembership.objects.update_or_create(user=user, defaults={"organization": organization})
    return membership


# --- Helpers -------------------------------------------------------------------------------------


def _refuse(order_or_stage, action: str):
    raise OrderTransitionNotAllowed(
        _("Cannot %(action)s: %(object)s is %(status)s.")
        % {"action": action, "object": order_or_stage, "status": order_or_stage.get_status_display()}
    )


def _lock(order: Order) -> Order:
    """The order, locked for a change; its cached answers are refused from now on (orders.read_cache).

    Lock order: an order before its own stages and steps, one order at a time; services that change several
    orders at once hold the dispatch lock (see dispatch.services). NO KEY UPDATE: rows that merely refer to
    the order (events, jobs) are still inserted meanwhile.
    """
    order = Order.objects.select_for_update(no_key=True).get(pk=order.pk)
    read_cache.orders_changed(order_ids=[order.pk], tracking_tokens=[order.tracking_token])
    return order


def _event(order, *, actor, kind, from_status="", to_status="", workshop="", note="", internal=False) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order,
        at=clock.now(),
        actor=actor,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        workshop=workshop,
        note=note,
        internal=internal,
    )


def _set_status(order: Order, status: str, *, actor, kind, note="", workshop="", extra_fields=()) -> None:
    previous = order.status
    order.status = status
    order.save(update_fields=["status", *extra_fields])
    _event(order, actor=actor, kind=kind, from_status=previous, to_status=status, note=note, workshop=workshop)


def _next_reference(year: int) -> str:
    counter, _created = ReferenceCounter.objects.select_for_update().get_or_create(year=year)
    ReferenceCounter.objects.filter(pk=year).update(last_number=F("last_number") + 1)
    return f"AF-{year}-{counter.last_number + 1:05d}"


def _refresh_orders(orders: list[Order], *, now, stages: list[OrderStage] | None = None, statuses=False) -> None:
    """Recompute the orders' stage and order progress, current workshop and nominal ETA from their steps.

    Writes them in one statement for the stages and one for the orders, whatever their number; with `statuses`,
    the stages' and orders' status too, as the caller left them in memory (steps_finish). `stages`: every stage
    of the orders, by order and position, when the caller holds them already.
    """
    if stages is None:
        stages = list(OrderStage.objects.filter(order__in=orders).order_by("order_id", "position"))
    # Counted in Postgres: a step finishing must not load every step of the order.
    counts = {
        row["stage_id"]: row
        for row in OrderStep.objects.filter(stage_id__in=[stage.pk for stage in stages])
        .values("stage_id")
        .annotate(
            total=Count("id"),
            done=Count("id", filter=Q(status=StepStatus.DONE)),
            remaining=Sum("nominal_hours", filter=~Q(status=StepStatus.DONE)),
        )
    }
    stages_of = defaultdict(list)
    for stage in stages:
        stages_of[stage.order_id].append(stage)
    stage_rows, order_rows = [], []
    for order in orders:
        own = stages_of[order.pk]
        rows = [counts.get(stage.pk, {"total": 0, "done": 0, "remaining": None}) for stage in own]
        counted = [
            production.StageCount(
                stage.workshop, stage.status, row["total"], row["done"], row["remaining"] or Decimal(0)
            )
            for stage, row in zip(own, rows, strict=True)
        ]
        progress = production.order_progress(status=order.status, stages=counted, at=now)
        for stage, row, stage_progress in zip(own, rows, progress.stages, strict=True):
            stage.steps_total, stage.steps_done, stage.progress = row["total"], row["done"], stage_progress
            stage_rows.append(
                (stage.pk, stage.steps_total, stage.steps_done, stage.progress)
                + ((stage.status, stage.finished_at) if statuses else ())
            )
        order.progress, order.current_workshop = progress.order, progress.current_workshop
        # Once a forecaster writes queue-aware ETAs, the nominal one only fills in where there is none yet.
        if order.status == OrderStatus.READY or (
            order.status in IN_FLIGHT_STATUSES and (order.eta is None or not extensions.eta_from_forecast())
        ):
            order.eta = progress.nominal_eta
        order_rows.append(
            (order.pk, order.progress, order.current_workshop, order.eta) + ((order.status,) if statuses else ())
        )
    stage_fields = ["steps_total", "steps_done", "progress"] + (["status", "finished_at"] if statuses else [])
    bulk_update_rows(OrderStage, stage_fields, stage_rows)
    bulk_update_rows(Order, ["progress", "current_workshop", "eta"] + (["status"] if statuses else []), order_rows)


def _await_review(stage: OrderStage, order: Order, *, actor, at) -> OrderEvent:
    """Every step of the stage is done: the stage and its order await the gate's review. Changes them in memory
    for the caller to write, and returns the (unsaved) event that says so."""
    after_rework = stage.status == StageStatus.REWORK
    stage.status, stage.finished_at = StageStatus.AWAITING_REVIEW, at
    previous, order.status = order.status, OrderStatus.AWAITING_REVIEW
    return OrderEvent(
        order=order,
        at=at,
        actor=actor,
        kind=EventKind.STAGE_DONE,
        from_status=previous,
        to_status=order.status,
        workshop=stage.workshop,
        note=notes.REWORK_DONE.stored() if after_rework else "",
    )


def _advance_stage(stage: OrderStage, *, actor) -> None:
    """Make the next waiting step ready; when every step is done, the stage waits at its gate."""
    waiting, done = production.next_in_stage(list(stage.steps.select_for_update().order_by("position")))
    if waiting is not None:
        waiting.status = StepStatus.READY
        waiting.save(update_fields=["status"])
    elif done:
        event = _await_review(stage, stage.order, actor=actor, at=clock.now())
        stage.save(update_fields=["status", "finished_at"])
        stage.order.save(update_fields=["status"])
        event.save()


def _start_stage(stage: OrderStage, *, actor, announce: bool = True) -> None:
    """Start a stage; `announce=False` when its start event was already written with the order's status change."""
    stage.status = StageStatus.IN_PROGRESS
    stage.started_at = clock.now()
    stage.save(update_fields=["status", "started_at"])
    if announce:
        _event(stage.order, actor=actor, kind=EventKind.STAGE_STARTED, workshop=stage.workshop)
    _advance_stage(stage, actor=actor)


# --- Placing and deciding on orders --------------------------------------------------------------


def check_priority_allowed(*, actor, priority: str) -> None:
    """Urgent work preempts others' compute: only factory staff may ask for it."""
    if priority == Priority.URGENT and organization_of(actor) is not None:
        raise OrderInvalid(_("Only factory staff can mark an order urgent."), field="priority")


def check_priority_value(priority) -> None:
    """A priority the factory knows; checked before a priority change locks or moves anything."""
    if priority not in Priority.values:
        raise OrderInvalid(_("“%(value)s” is not a valid choice.") % {"value": str(priority)[:50]}, field="priority")


def order_validate(
    *,
    actor,
    title: str,
    product_type: str,
    sector: str,
    requirements: str,
    data_sensitivity: str,
    size: str,
    priority: str,
    requested_delivery: date,
) -> dict:
    """Check an order's fields as a client or staff member places it; returns them cleaned."""
    choices = {
        "product_type": (product_type, ProductType.values),
        "sector": (sector, Sector.values),
        "data_sensitivity": (data_sensitivity, DataSensitivity.values),
        "size": (size, Size.values),
        "priority": (priority, Priority.values),
    }
    for field, (value, allowed) in choices.items():
        if value not in allowed:
            raise OrderInvalid(_("“%(value)s” is not a valid choice.") % {"value": value}, field=field)
    check_priority_allowed(actor=actor, priority=priority)
    if not isinstance(requested_delivery, date):
        raise OrderInvalid(_("Give the requested delivery date."), field="requested_delivery")
    if requested_delivery <= clock.now().date():
        raise OrderInvalid(_("The requested delivery date must be in the future."), field="requested_delivery")
    requirements = (requirements or "").strip()
    requirements = clean_text(requirements, field="requirements", maximum=REQUIREMENTS_MAX, invalid=OrderInvalid)
    return {
        "title": clean_text(
            title, field="title", maximum=TITLE_MAX, invalid=OrderInvalid, required=_("Give the order a title.")
        ),
        "product_type": product_type,
        "sector": sector,
        "requirements": requirements,
        "data_sensitivity": data_sensitivity,
        "size": size,
        "priority": priority,
        "requested_delivery": requested_delivery,
    }


@transaction.atomic
def order_submit(
    *,
    client: ClientOrganization,
    actor,
    parent_order: Order | None = None,
    origin: str = "",
    submission_key: str | None = None,
    quoted: quotes.Quote | None = None,
    **fields,
) -> Order:
    """Place an order for `client` (by one of its client users, or by staff on its behalf).

    A follow-up order names its `parent_order`; `origin` says where it came from (e.g. a ticket). The same
    `submission_key` twice (a double click, a retried request) places one order and returns it both times
    (factory.submissions.replayed says which); with other fields the second time, it places nothing and raises
    SubmissionKeyReused.

    The order keeps the quote it was placed with as its promise: `quoted`, the quote the client saw and
    confirmed (the portal's review page), or else one made now. A quoted date the factory can no longer meet
    (today's quote is later) places nothing: QuoteNoLongerHolds carries today's quote to show instead. One no
    later than today's is kept as shown.
    """
    permissions.check_place(actor, client)

    def place(stamp: dict) -> Order:
        cleaned = order_validate(actor=actor, **fields)
        now = clock.now()
        promise = quotes.quote(**{name: cleaned[name] for name in quotes.QUOTED_FIELDS})
        if quoted is not None:
            if promise.promised_delivery > quoted.promised_delivery:
                raise QuoteNoLongerHolds(
                    _(
                        "The queue changed since you reviewed the order: the earliest delivery we can promise now "
                        "is %(now)s, not %(before)s. Nothing is ordered yet; check the new date and confirm again."
                    )
                    % {
                        "now": day_words(promise.promised_delivery),
                        "before": day_words(quoted.promised_delivery),
                    },
                    quote=promise,
                )
            promise = quoted
        order = Order.objects.create(
            reference=_next_reference(timezone.localtime(now).year),
            client=client,
            placed_by=actor,
            parent_order=parent_order,
            created_at=now,
            promised_delivery=promise.promised_delivery,
            quoted_compute_pflops_hours=promise.estimated_compute_pflops_hours,
            quoted_cost=promise.estimated_cost,
            **stamp,
            **cleaned,
        )
        note = _("Follow-up of %(reference)s.") % {"reference": parent_order.reference} if parent_order else ""
        note = " ".join(part for part in (note, origin) if part)
        _event(order, actor=actor, kind=EventKind.SUBMITTED, to_status=OrderStatus.SUBMITTED, note=note)
        return order

    # What the order asks for: the quote it was confirmed with is the factory's answer, not part of the request.
    request = {"client": client, "parent_order": parent_order, "origin": origin, **fields}
    return submissions.create_once(Order, key=submission_key, owner={"placed_by": actor}, request=request, create=place)


@transaction.atomic
def order_accept(*, order: Order, actor) -> Order:
    """Accept a submitted order: its routing becomes one stage per workshop with the catalog's steps."""
    permissions.check(actor, permissions.ACCEPT)
    order = _lock(order)
    if order.status != OrderStatus.SUBMITTED:
        _refuse(order, _("accept"))
    workshops = routing_for(order.product_type)
    steps = steps_by_workshop(workshops, order.size)
    factor = SIZE_FACTORS[order.size]
    for position, workshop in enumerate(workshops, start=1):
        stage = OrderStage.objects.create(order=order, workshop=workshop, position=position)
        OrderStep.objects.bulk_create(
            OrderStep(
                stage=stage,
                catalog_step=step,
                code=step.code,
                name=step.name,
                name_zh=step.name_zh,
                position=index,
                pool_kind=step.pool_kind,
                demand_pflops=step.demand_pflops,
                work_pflops_hours=(step.work_pflops_hours * factor).quantize(Decimal("0.01")),
                nominal_hours=(step.nominal_hours * factor).quantize(Decimal("0.01")),
            )
            for index, step in enumerate(steps[workshop], start=1)
        )
    now = clock.now()
    order.accepted_at = now
    if extensions.eta_from_forecast() and order.promised_delivery and order.eta is None:
        # Until the queue-aware forecast has run (within a minute) the promise is the ETA: the catalog's nominal
        # figure, counted from now rather than from when the quote was made, would show an order placed on time
        # as late already. A promise already past is not hidden: the ETA is then now, and the order overdue.
        order.eta = max(quotes.promise_due(order.promised_delivery), now)
    _set_status(order, OrderStatus.ACCEPTED, actor=actor, kind=EventKind.ACCEPTED, extra_fields=["accepted_at", "eta"])
    _refresh_orders([order], now=clock.now())
    notices.tell_client(order, kind=notices.ORDER_ACCEPTED, event=f"order-accepted:{order.pk}")
    return order


@transaction.atomic
def order_reject(*, order: Order, actor, reason: str) -> Order:
    permissions.check(actor, permissions.REJECT)
    reason = clean_text(
        reason, field="reason", maximum=NOTE_MAX, invalid=OrderInvalid, required=_("Say why the order is rejected.")
    )
    order = _lock(order)
    if order.status != OrderStatus.SUBMITTED:
        _refuse(order, _("reject"))
    _set_status(order, OrderStatus.REJECTED, actor=actor, kind=EventKind.REJECTED, note=reason)
    return order


@transaction.atomic
def order_cancel(*, order: Order, actor, reason: str) -> Order:
    """Operations may cancel until delivery; the order's client only before the order is accepted."""
    permissions.check(actor, permissions.CANCEL, order)
    reason = clean_text(
        reason, field="reason", maximum=NOTE_MAX, invalid=OrderInvalid, required=_("Say why the order is cancelled.")
    )
    order = _lock(order)
    allowed = ACTIVE_STATUSES if permissions.has_staff_role(actor, permissions.CANCEL) else (OrderStatus.SUBMITTED,)
    if order.status not in allowed:
        _refuse(order, _("cancel"))
    order.eta = None
    order.current_workshop = ""
    order.save(update_fields=["eta", "current_workshop"])
    _set_status(order, OrderStatus.CANCELLED, actor=actor, kind=EventKind.CANCELLED, note=reason)
    # Nothing of a cancelled order is waiting for compute any more.
    OrderStep.objects.filter(stage__order=order, status__in=WORKING_STEP_STATUSES).update(status=StepStatus.PENDING)
    return order


# --- Production ----------------------------------------------------------------------------------


@transaction.atomic
def order_start_production(*, order: Order, actor) -> Order:
    """An accepted order enters its first workshop."""
    permissions.check(actor, permissions.START)
    order = _lock(order)
    if order.status != OrderStatus.ACCEPTED:
        _refuse(order, _("start production"))
    first = order.stages.select_for_update().order_by("position").first()
    _set_status(order, OrderStatus.IN_PRODUCTION, actor=actor, kind=EventKind.PRODUCTION_STARTED)
    _start_stage(first, actor=actor)
    _refresh_orders([order], now=clock.now())
    return order


@transaction.atomic
def step_finish(*, step: OrderStep, actor=None) -> OrderStep:
    """Staff finish a ready or running step by hand (the dispatch center reports its finished jobs through
    steps_finish, which does the work for both)."""
    permissions.check(actor, permissions.FINISH_STEP)
    if not steps_finish(step_ids=[step.pk], at=clock.now(), actor=actor):
        step = OrderStep.objects.get(pk=step.pk)
        raise OrderTransitionNotAllowed(
            _("Step “%(step)s” is %(status)s; only the ready or running step of an order in production can finish.")
            % {"step": step.name, "status": step.get_status_display()}
        )
    return OrderStep.objects.get(pk=step.pk)


@transaction.atomic
def stage_release_gate(*, stage: OrderStage, actor, note: str = "") -> OrderStage:
    """The stage's security gate is approved: the next workshop starts, or the order is ready."""
    permissions.check(actor, permissions.GATE)
    order = _lock(stage.order)
    stage = OrderStage.objects.select_for_update().get(pk=stage.pk)
    stage.order = order
    if stage.status != StageStatus.AWAITING_REVIEW:
        _refuse(stage, _("release the gate"))
    stage.status = StageStatus.APPROVED
    stage.save(update_fields=["status"])
    _event(order, actor=actor, kind=EventKind.GATE_RELEASED, workshop=stage.workshop, note=note[:NOTE_MAX])
    _produce_artifact(order, stage)
    following = order.stages.select_for_update().filter(position__gt=stage.position).order_by("position").first()
    if following is None:
        _set_status(order, OrderStatus.READY, actor=actor, kind=EventKind.READY)
    else:
        _set_status(
            order, OrderStatus.IN_PRODUCTION, actor=actor, kind=EventKind.STAGE_STARTED, workshop=following.workshop
        )
        _start_stage(following, actor=actor, announce=False)
    _refresh_orders([order], now=clock.now())
    notices.tell_client(
        order,
        kind=notices.GATE_PASSED,
        event=f"gate-passed:{stage.pk}:{stage.gate_passage}",
        workshop=stage.workshop,
    )
    return stage


def _produce_artifact(order: Order, stage: OrderStage) -> Artifact:
    kind = WORKSHOP_ARTIFACT[stage.workshop]
    previous = order.artifacts.filter(stage__position__lt=stage.position).order_by("-stage__position").first()
    fields = production.artifact_fields(
        reference=order.reference,
        kind=kind,
        earlier_of_kind=order.artifacts.filter(kind=kind).count(),
        work=sum(step.work_pflops_hours for step in stage.steps.all()),
    )
    return Artifact.objects.create(order=order, stage=stage, produced_at=clock.now(), built_from=previous, **fields)


def _send_steps_back(stage: OrderStage, steps: list[OrderStep]) -> None:
    if not steps:
        raise OrderInvalid(_("Name at least one step to redo."), field="rework_steps")
    if any(step.stage_id != stage.pk for step in steps):
        raise OrderInvalid(_("Rework steps must belong to the stage under review."), field="rework_steps")
    # Steps run in order: a ready step after the earliest redone one waits until the redo is done.
    earliest = min(step.position for step in steps)
    OrderStep.objects.filter(stage=stage, status=StepStatus.READY, position__gt=earliest).update(
        status=StepStatus.PENDING
    )
    OrderStep.objects.filter(pk__in=[step.pk for step in steps]).update(
        status=StepStatus.PENDING,
        rework_count=F("rework_count") + 1,
        started_at=None,
        finished_at=None,
        finished_by=None,
    )


@transaction.atomic
def stage_send_back(*, stage: OrderStage, steps: list[OrderStep], actor, reason: str) -> OrderStage:
    """The gate was refused: the named steps go back to production; the gate reopens once they are done."""
    permissions.check(actor, permissions.GATE)
    reason = clean_text(
        reason, field="reason", maximum=NOTE_MAX, invalid=OrderInvalid, required=_("Say why the steps are sent back.")
    )
    order = _lock(stage.order)
    stage = OrderStage.objects.select_for_update().get(pk=stage.pk)
    stage.order = order
    if stage.status != StageStatus.AWAITING_REVIEW:
        _refuse(stage, _("send steps back to rework"))
    _send_steps_back(stage, steps)
    stage.status = StageStatus.REWORK
    stage.gate_passage = F("gate_passage") + 1
    stage.finished_at = None
    stage.save(update_fields=["status", "gate_passage", "finished_at"])
    stage.refresh_from_db(fields=["gate_passage"])
    names = ", ".join(step.name for step in steps)
    _set_status(
        order,
        OrderStatus.IN_PRODUCTION,
        actor=actor,
        kind=EventKind.REWORK,
        workshop=stage.workshop,
        note=f"{reason} ({names})",
    )
    _advance_stage(stage, actor=actor)
    _refresh_orders([order], now=clock.now())
    return stage


@transaction.atomic
def order_record_requirement_change(*, order: Order, actor, text: str, rework_steps=()) -> RequirementChange:
    """Record a client's changed requirement; named finished steps of the current stage are redone."""
    permissions.check(actor, permissions.REQUIREMENT_CHANGE)
    text = clean_text(text, field="text", maximum=MESSAGE_MAX, invalid=OrderInvalid, required=_("Describe the change."))
    order = _lock(order)
    if order.status not in CHANGEABLE_STATUSES:
        _refuse(order, _("record a requirement change"))
    # Decide on the steps' current state in the database, not on what the caller holds.
    rework_steps = list(OrderStep.objects.select_for_update().filter(pk__in=[step.pk for step in rework_steps]))
    change = RequirementChange.objects.create(order=order, text=text, recorded_by=actor, recorded_at=clock.now())
    if rework_steps:
        stage = order.stages.select_for_update().filter(workshop=order.current_workshop).first()
        if stage is None or stage.status not in OPEN_STAGE_STATUSES:
            raise OrderInvalid(_("Only steps of the workshop in production can be redone."), field="rework_steps")
        if any(step.status != StepStatus.DONE for step in rework_steps):
            raise OrderInvalid(_("Only finished steps can be redone."), field="rework_steps")
        _send_steps_back(stage, rework_steps)
        change.rework_steps.set(rework_steps)
        if stage.status == StageStatus.AWAITING_REVIEW:
            stage.status = StageStatus.REWORK
            stage.gate_passage = F("gate_passage") + 1
            stage.save(update_fields=["status", "gate_passage"])
            order.status = OrderStatus.IN_PRODUCTION
            order.save(update_fields=["status"])
        _advance_stage(stage, actor=actor)
    _event(
        order,
        actor=actor,
        kind=EventKind.REQUIREMENT_CHANGE,
        note=text,
        internal=False,
        workshop=order.current_workshop,
    )
    _refresh_orders([order], now=clock.now())
    return change


# --- Delivery ------------------------------------------------------------------------------------


@transaction.atomic
def order_deliver(*, order: Order, actor) -> Order:
    permissions.check(actor, permissions.DELIVER)
    order = _lock(order)
    if order.status != OrderStatus.READY:
        _refuse(order, _("deliver"))
    order.delivered_at = clock.now()
    order.eta = None
    _set_status(
        order, OrderStatus.DELIVERED, actor=actor, kind=EventKind.DELIVERED, extra_fields=["delivered_at", "eta"]
    )
    notices.tell_client(order, kind=notices.ORDER_DELIVERED, event=f"order-delivered:{order.pk}")
    return order


@transaction.atomic
def order_confirm(*, order: Order, actor) -> Order:
    """The client confirms receipt of the delivery, which closes the order."""
    permissions.check(actor, permissions.CONFIRM, order)
    order = _lock(order)
    if order.status != OrderStatus.DELIVERED:
        _refuse(order, _("confirm"))
    order.closed_at = clock.now()
    _set_status(order, OrderStatus.CLOSED, actor=actor, kind=EventKind.CONFIRMED, extra_fields=["closed_at"])
    return order


@transaction.atomic
def order_rate(*, order: Order, actor, score, comment: str = "") -> Order:
    """The client rates a delivered order once, 1 to 5 with an optional comment."""
    permissions.check(actor, permissions.RATE, order)
    order = _lock(order)
    if order.status not in HANDED_OVER_STATUSES:
        _refuse(order, _("rate"))
    if order.rating is not None:
        raise OrderTransitionNotAllowed(_("This order has already been rated."))
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise OrderInvalid(_("Give a score from 1 to 5."), field="score")
    comment = (comment or "").strip()
    comment = clean_text(comment, field="comment", maximum=NOTE_MAX, invalid=OrderInvalid)
    order.rating, order.rating_comment = score, comment
    order.save(update_fields=["rating", "rating_comment"])
    _event(order, actor=actor, kind=EventKind.RATED, note=f"{score}/5 {comment}".strip())
    return order


# --- Dispatch-facing and housekeeping ------------------------------------------------------------


@transaction.atomic
def order_set_priority(*, order: Order, actor, priority: str, reason: str) -> Order:
    """The orders side of a priority change: the order's new priority and an internal timeline event with the
    reason. Pages and the API change a priority through dispatch.services.order_reprioritize, which calls this
    and moves the order's jobs with it (orders does not know jobs)."""
    permissions.check(actor, permissions.PRIORITY)
    reason = clean_text(
        reason, field="reason", maximum=NOTE_MAX, invalid=OrderInvalid, required=_("Say why the priority changes.")
    )
    check_priority_value(priority)
    order = _lock(order)
    if order.status not in CHANGEABLE_STATUSES:
        _refuse(order, _("change the priority"))
    if order.priority == priority:  # a conflict with the order as it is now (409), not a bad value
        raise OrderTransitionNotAllowed(_("The order already has this priority."))
    previous = order.get_priority_display()
    order.priority = priority
    order.save(update_fields=["priority"])
    _event(
        order,
        actor=actor,
        kind=EventKind.PRIORITY_CHANGED,
        note=f"{previous} → {order.get_priority_display()}: {reason}",
        internal=True,
    )
    return order


@transaction.atomic
def order_renew_tracking_link(*, order: Order, actor) -> Order:
    """Issue a new tracking link; the old one stops working at once."""
    permissions.check(actor, permissions.TRACKING, order)
    order = _lock(order)
    order.tracking_token = new_tracking_token()
    order.save(update_fields=["tracking_token"])
    _event(order, actor=actor, kind=EventKind.TRACKING_LINK, note=notes.TRACKING_LINK_ISSUED.stored(), internal=True)
    return order


@transaction.atomic
def order_revoke_tracking_link(*, order: Order, actor) -> Order:
    permissions.check(actor, permissions.TRACKING, order)
    order = _lock(order)
    if order.tracking_token is None:
        raise OrderTransitionNotAllowed(_("The tracking link is already revoked."))
    order.tracking_token = None
    order.save(update_fields=["tracking_token"])
    _event(order, actor=actor, kind=EventKind.TRACKING_LINK, note=notes.TRACKING_LINK_REVOKED.stored(), internal=True)
    return order


# --- Called by the dispatch center, in bulk (one query each, whatever the number of steps) -----------


def _lock_orders_of(step_ids) -> None:
    """Lock the steps' orders, in ascending id, before the steps themselves (the lock order of _lock)."""
    orders = Order.objects.filter(pk__in=OrderStep.objects.filter(pk__in=step_ids).values("stage__order_id"))
    list(orders.order_by("pk").select_for_update(no_key=True).values_list("pk", flat=True))


def steps_mark_running(*, step_ids, at) -> int:
    """Ready steps whose jobs were placed on a pool are now running."""
    if not step_ids:
        return 0
    _lock_orders_of(step_ids)
    return OrderStep.objects.filter(pk__in=step_ids, status=StepStatus.READY).update(
        status=StepStatus.RUNNING, started_at=Coalesce("started_at", Value(at))
    )


@transaction.atomic(savepoint=False)  # It refuses nothing: no caller needs to go on after it failed.
def steps_finish(*, step_ids, at, actor=None) -> list[int]:
    """Ready or running steps of orders in production are done: their jobs finished, or staff finished one by
    hand (step_finish). Returns the ids of those finished; the others (done meanwhile, their order no longer in
    production) are left as they are.

    Each finished step gets its timeline event, and its stage's next waiting step becomes ready; after a stage's
    last step, the stage waits at its gate and its order awaits review (with that event); progress and ETAs
    follow. All at `at`, by `actor` (None: the dispatch center), in the same few queries whatever the number of
    steps. Locks the orders in ascending id, then their stages, then the finishing steps' stages' steps.
    """
    step_ids = list(step_ids)
    if not step_ids:
        return []
    finishing = OrderStep.objects.filter(pk__in=step_ids)
    orders = {
        order.pk: order
        for order in Order.objects.filter(pk__in=finishing.values("stage__order_id"), status=OrderStatus.IN_PRODUCTION)
        .only("pk", "status", "progress", "current_workshop", "eta", "tracking_token")
        .order_by("pk")
        .select_for_update(no_key=True)
    }
    read_cache.orders_changed(order_ids=orders, tracking_tokens=[order.tracking_token for order in orders.values()])
    stages = list(
        OrderStage.objects.filter(order_id__in=list(orders)).order_by("order_id", "position").select_for_update()
    )
    steps_of = defaultdict(list)
    for step in (
        OrderStep.objects.filter(stage_id__in=[stage.pk for stage in stages], stage__in=finishing.values("stage_id"))
        .only("pk", "stage_id", "position", "status", "name")
        .order_by("stage_id", "position")
        .select_for_update()
    ):
        steps_of[step.stage_id].append(step)
    wanted = set(step_ids)
    finished, made_ready, events, finished_orders = [], [], [], {}
    for stage in stages:
        order = orders[stage.order_id]
        steps = [step for step in steps_of[stage.pk] if step.pk in wanted and step.status in WORKING_STEP_STATUSES]
        # An earlier stage of the order may have just finished: its order now awaits review, as a second
        # step_finish would have found it.
        if not steps or order.status != OrderStatus.IN_PRODUCTION:
            continue
        for step in steps:
            step.status = StepStatus.DONE
            finished.append(step.pk)
            events.append(
                OrderEvent(
                    order=order,
                    at=at,
                    actor=actor,
                    kind=EventKind.STEP_FINISHED,
                    workshop=stage.workshop,
                    note=step.name,
                )
            )
        finished_orders[order.pk] = order
        waiting, done = production.next_in_stage(steps_of[stage.pk])
        if waiting is not None:
            waiting.status = StepStatus.READY
            made_ready.append(waiting.pk)
        elif done:
            events.append(_await_review(stage, order, actor=actor, at=at))
    OrderStep.objects.filter(pk__in=finished).update(
        status=StepStatus.DONE, started_at=Coalesce("started_at", Value(at)), finished_at=at, finished_by=actor
    )
    OrderStep.objects.filter(pk__in=made_ready).update(status=StepStatus.READY)
    OrderEvent.objects.bulk_create(events)
    _refresh_orders(
        list(finished_orders.values()),
        now=at,
        stages=[stage for stage in stages if stage.order_id in finished_orders],
        statuses=True,
    )
    return finished


def steps_mark_ready(*, step_ids) -> int:
    """Running steps whose jobs were preempted wait for compute again (their progress is kept by the job)."""
    if not step_ids:
        return 0
    _lock_orders_of(step_ids)
    return OrderStep.objects.filter(pk__in=step_ids, status=StepStatus.RUNNING).update(status=StepStatus.READY)


def orders_set_compute(*, totals: dict) -> None:
    """Record compute used so far: `totals` maps (order id, stage id) to (PFLOPS·h, cost in CNY), summed over the
    stage's jobs, for every stage of each order named (an order's figures are the sum of its stages')."""
    by_order = defaultdict(lambda: [Decimal(0), Decimal(0)])
    stages = []
    for (order_id, stage_id), (work, cost) in totals.items():
        work, cost = Decimal(work).quantize(Decimal("0.01")), Decimal(cost).quantize(Decimal("0.01"))
        stages.append((stage_id, work, cost))
        by_order[order_id][0] += work
        by_order[order_id][1] += cost
    # The tracking page does not show compute: only the API's copies go.
    read_cache.orders_changed(order_ids=by_order)
    bulk_update_rows(OrderStage, ["compute_pflops_hours", "compute_cost"], stages)
    bulk_update_rows(
        Order, ["compute_pflops_hours", "compute_cost"], [(pk, work, cost) for pk, (work, cost) in by_order.items()]
    )


def orders_set_eta(*, etas: dict) -> int:
    """Write the ETAs a queue-aware forecast predicts (order id -> datetime) for orders still in the factory; a client
    whose order's ETA moved more than ETA_SLIP_NOTICE_HOURS past the one it was last told is told, and operations of
    an order whose ETA passes its promise (orders.notices)."""
    in_flight = (
        Order.objects.filter(pk__in=etas, status__in=IN_FLIGHT_STATUSES)
        .select_related("client")
        .only("pk", "eta", "eta_told", "promised_delivery", "tracking_token", "reference", "title", "client__name")
    )
    changed = [order for order in in_flight if order.eta != etas[order.pk]]
    read_cache.orders_changed(
        order_ids=[order.pk for order in changed], tracking_tokens=[order.tracking_token for order in changed]
    )
    slip = timedelta(hours=settings.ETA_SLIP_NOTICE_HOURS)
    operations = None
    for order in changed:
        new = etas[order.pk]
        due = quotes.promise_due(order.promised_delivery) if order.promised_delivery else None
        if due is not None and new > due and (order.eta is None or order.eta <= due):
            operations = notices.operations_people() if operations is None else operations
            notices.tell_operations_late(order, eta=timezone.localdate(new), operations=operations)
        told = order.eta_told or due or order.eta
        if told is not None and new - told > slip:
            notices.tell_client(
                order,
                kind=notices.ETA_SLIPPED,
                event=f"eta-slipped:{order.pk}:{new:%Y%m%d%H%M}",
                eta=timezone.localdate(new).isoformat(),
                hours=round((new - told).total_seconds() / 3600),
            )
            order.eta_told = new
        elif told is not None and new < told:
            order.eta_told = new
    return bulk_update_rows(
        Order, ["eta", "eta_told"], [(order.pk, etas[order.pk], order.eta_told) for order in changed]
    )


def order_note_review_decision(*, order: Order, actor, workshop: str, note: str) -> OrderEvent:
    """Record a security decision that does not move the order (e.g. the first of two approvals)."""
    permissions.check(actor, permissions.GATE)
    return _event(order, actor=actor, kind=EventKind.REVIEW_DECISION, workshop=workshop, note=note[:NOTE_MAX])

"""Reads of orders for pages, the API and the apps above. Each returns its joins ready (no N+1)."""

from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.models import Workshop
from factory import roles
from orders.access import order_for_user, orders_visible_to
from orders.models import (
    IN_FLIGHT_STATUSES,
    ClientMembership,
    EventKind,
    Order,
    OrderEvent,
    OrderStage,
    OrderStatus,
    OrderStep,
    StageStatus,
)


def order_text_matches(text: str, *, via: str = "") -> Q:
    """Orders whose reference, title or client's name holds `text` (any case, any script: a Chinese fragment too);
    `via` reaches the order from another model (e.g. "order__" from a job). The one rule of the orders' list, the
    jobs' list and the header search; trigram indexes serve it (orders.migrations: order_search_trigrams)."""
    return (
        Q(**{f"{via}reference__icontains": text})
        | Q(**{f"{via}title__icontains": text})
        | Q(**{f"{via}client__name__icontains": text})
    )


def _stages_in_order():
    return Prefetch("stages", queryset=OrderStage.objects.order_by("position"))


def order_list(*, user) -> QuerySet[Order]:
    """Orders `user` may see, with what a list row needs: the client and the stages (for the bar)."""
    return orders_visible_to(user, Order.objects.select_related("client").prefetch_related(_stages_in_order()))


def order_detail(*, user, pk) -> Order:
    """One order with its stages and steps, timeline, requirement changes and deliverables."""
    queryset = Order.objects.select_related("client", "placed_by", "parent_order").prefetch_related(
        Prefetch(
            "stages",
            queryset=OrderStage.objects.order_by("position").prefetch_related(
                Prefetch("steps", queryset=OrderStep.objects.order_by("position").select_related("finished_by"))
            ),
        ),
        Prefetch("events", queryset=OrderEvent.objects.select_related("actor").order_by("at", "id")),
        "requirement_changes__recorded_by",
        "requirement_changes__rework_steps",
        "artifacts__built_from__built_from__built_from",
        "follow_up_orders",
    )
    return order_for_user(user, pk, queryset)


def order_by_tracking_token(token: str) -> Order | None:
    """The order behind a public tracking link, or None when the link is unknown or revoked."""
    if not token:
        return None
    return Order.objects.prefetch_related(_stages_in_order()).filter(tracking_token=token).first()


# Events a client sees happen, but whose note is the factory's own business (e.g. a security
# reviewer's findings behind a rework, the reason for a priority change).
NOTES_HIDDEN_FROM_CLIENTS = frozenset({EventKind.REWORK, EventKind.REVIEW_DECISION, EventKind.PRIORITY_CHANGED})


def _as_client_sees_them(order: Order, events) -> list[OrderEvent]:
    """The events a client may see, each with `actor_label`: "You" for their organization's people, "Factory
    staff" for everyone else (and the system). Staff names never reach clients, on a page or in the API.

    One query: which of the actors are the organization's.
    """
    visible = [event for event in events if not event.internal]
    actor_ids = {event.actor_id for event in visible if event.actor_id}
    own = set(
        ClientMembership.objects.filter(organization_id=order.client_id, user_id__in=actor_ids).values_list(
            "user_id", flat=True
        )
    )
    for event in visible:
        if event.kind in NOTES_HIDDEN_FROM_CLIENTS:
            event.note = ""
        event.actor_label = _("You") if event.actor_id in own else _("Factory staff")
    return visible


def client_events(order: Order) -> list[OrderEvent]:
    """The timeline a client may see (from the prefetched events): no internal events or staff-only notes."""
    return _as_client_sees_them(order, order.events.all())


# Events that move the order, or one of its workshops, on: what the timeline's "Milestones" keeps.
MILESTONE_KINDS = frozenset(
    {
        EventKind.SUBMITTED,
        EventKind.ACCEPTED,
        EventKind.REJECTED,
        EventKind.CANCELLED,
        EventKind.PRODUCTION_STARTED,
        EventKind.STAGE_STARTED,
        EventKind.STAGE_DONE,
        EventKind.GATE_RELEASED,
        EventKind.REWORK,
        EventKind.REVIEW_DECISION,
        EventKind.READY,
        EventKind.DELIVERED,
        EventKind.CONFIRMED,
    }
)
STEP_KINDS = frozenset({EventKind.STEP_STARTED, EventKind.STEP_FINISHED})
TIMELINE_FILTERS = {
    "all": gettext_lazy("All"),
    "milestones": gettext_lazy("Milestones"),
    "people": gettext_lazy("People's actions"),
}


def _shown_by(show: str, row: dict) -> bool:
    event = row["event"]
    if show == "milestones":
        return event.kind in MILESTONE_KINDS
    if show == "people":
        return event.actor_id is not None  # the system (dispatch ticks) acts with no actor
    return True


def order_timeline(rows: list[dict], *, show: str) -> dict:
    """The order page's timeline from its rows (each with its `event`, oldest first; prefetched, no query).

    `show` is one of TIMELINE_FILTERS (anything else is "all"). Each run of two or more step events of one kind
    in one workshop is one entry {"fold": rows, "event": the first, "last": the last event}, so that a hundred
    finished steps read as a few lines; every other event is {"row": row}. `filters` gives each filter its
    label and how many events it keeps.
    """
    show = show if show in TIMELINE_FILTERS else "all"
    kept = [row for row in rows if _shown_by(show, row)]

    def run(row):
        event = row["event"]
        return (event.kind, event.workshop) if event.kind in STEP_KINDS else ("event", event.pk)

    entries = []
    for _run, group in groupby(kept, key=run):
        group = list(group)
        if len(group) > 1:
            entries.append({"fold": group, "event": group[0]["event"], "last": group[-1]["event"]})
        else:
            entries.append({"row": group[0], "event": group[0]["event"]})
    filters = [
        {"key": key, "label": label, "count": sum(_shown_by(key, row) for row in rows), "current": key == show}
        for key, label in TIMELINE_FILTERS.items()
    ]
    return {"show": show, "entries": entries, "filters": filters}


@dataclass(frozen=True)
class WorkshopSegment:
    workshop: str
    label: str
    in_routing: bool
    progress: int
    status: str
    gate: str  # "none" (not in routing), "open", "waiting", "rework" or "passed"


def workshop_bar(order: Order) -> list[WorkshopSegment]:
    """The four-workshop progress bar of an order, from its prefetched stages (no query)."""
    stages = {stage.workshop: stage for stage in order.stages.all()}
    segments = []
    for workshop, label in Workshop.choices:
        stage = stages.get(workshop)
        if stage is None:
            segments.append(WorkshopSegment(workshop, label, False, 0, "", "none"))
            continue
        gate = {
            StageStatus.APPROVED: "passed",
            StageStatus.AWAITING_REVIEW: "waiting",
            StageStatus.REWORK: "rework",
        }.get(stage.status, "open")
        segments.append(WorkshopSegment(workshop, label, True, stage.progress, stage.status, gate))
    return segments


def stages_awaiting_review() -> QuerySet[OrderStage]:
    """Stages at their gate, for the security center to open reviews on."""
    return OrderStage.objects.filter(status=StageStatus.AWAITING_REVIEW).select_related("order__client")


def order_events(*, user, order: Order) -> QuerySet[OrderEvent]:
    """The events of `order`'s timeline that `user` may read, with their actors: clients never see internal events.
    What is shown of them is `events_as_seen_by`'s."""
    events = OrderEvent.objects.filter(order=order).select_related("actor")
    return events if roles.has_role(user) else events.filter(internal=False)


def events_as_seen_by(*, user, order: Order, events) -> list[OrderEvent]:
    """Events of `order` (of `order_events`) with `actor_label` as `user` reads it: staff the username; clients
    "You" or "Factory staff", and no staff-only notes."""
    if not roles.has_role(user):
        return _as_client_sees_them(order, events)
    events = list(events)
    for event in events:
        event.actor_label = event.actor.username if event.actor_id else None
    return events


def order_steps(*, order: Order, ids) -> list[OrderStep]:
    """The steps `ids` of `order` (steps of other orders are left out, so callers can compare counts)."""
    return list(OrderStep.objects.filter(stage__order=order, pk__in=ids))


def _with_stages(orders):
    """What the forecast reads of an order: its figures, and its stages and steps in order."""
    return orders.only(
        "pk",
        "client_id",
        "priority",
        "status",
        "data_sensitivity",
        "promised_delivery",
        "requested_delivery",
        "accepted_at",
        "created_at",
        "eta",
    ).prefetch_related(
        Prefetch(
            "stages",
            queryset=OrderStage.objects.order_by("position").prefetch_related(
                Prefetch("steps", queryset=OrderStep.objects.order_by("position"))
            ),
        )
    )


def orders_in_flight() -> list[Order]:
    """Orders the factory is working on (accepted, in production, at a gate), with stages and steps."""
    return list(_with_stages(Order.objects.filter(status__in=IN_FLIGHT_STATUSES)))


def orders_accepted_between(*, start: datetime, end: datetime) -> list[Order]:
    """Orders accepted in [start, end) and not cancelled, whatever became of them since, with stages and steps."""
    accepted = Order.objects.filter(accepted_at__gte=start, accepted_at__lt=end).exclude(status=OrderStatus.CANCELLED)
    return list(_with_stages(accepted.order_by("accepted_at", "pk")))


def recent_gate_review_hours(*, limit: int = 200) -> float | None:
    """How long the last gates took from work done to release, on average (None without history)."""
    released = list(
        OrderEvent.objects.filter(kind=EventKind.GATE_RELEASED)
        .order_by("-at")
        .values("order_id", "workshop", "at")[:limit]
    )
    if not released:
        return None
    finished = {
        (stage["order_id"], stage["workshop"]): stage["finished_at"]
        for stage in OrderStage.objects.filter(order_id__in={event["order_id"] for event in released}).values(
            "order_id", "workshop", "finished_at"
        )
    }
    waits = [
        (event["at"] - finished[key]).total_seconds() / 3600
        for event in released
        if (key := (event["order_id"], event["workshop"])) in finished and finished[key] is not None
    ]
    return sum(waits) / len(waits) if waits else None


def orders_eta(*, ids) -> list[tuple[int, object]]:
    return list(Order.objects.filter(pk__in=ids).values_list("pk", "eta"))


# What operations staff do to an order; a security reviewer who did any of it may not review it.
OPERATIONS_EVENT_KINDS = (
    EventKind.ACCEPTED,
    EventKind.REJECTED,
    EventKind.CANCELLED,
    EventKind.PRODUCTION_STARTED,
    EventKind.STEP_FINISHED,
    EventKind.REQUIREMENT_CHANGE,
    EventKind.PRIORITY_CHANGED,
    EventKind.DELIVERED,
)


def acted_as_operations(*, order_id: int, user) -> bool:
    return OrderEvent.objects.filter(order_id=order_id, actor=user, kind__in=OPERATIONS_EVENT_KINDS).exists()

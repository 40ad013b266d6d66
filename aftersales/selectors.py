"""Reads of after-sales for its pages, the portal, the API and the dashboards; joins in place (no N+1)."""

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Greatest
from django.http import Http404
from django.utils.translation import gettext as _

from aftersales.models import (
    ACTIVE_STATUSES,
    SlaPolicy,
    Ticket,
    TicketEvent,
    TicketEventKind,
    TicketMessage,
    TicketStatus,
)
from aftersales.permissions import is_ticket_staff
from orders.access import organization_of
from orders.models import HANDED_OVER_STATUSES, ClientMembership, Order


def ticket_text_matches(text: str) -> Q:
    """Tickets whose reference, subject or order's reference holds `text` (any case, any script): the one rule of the
    ticket queue's search and the header search."""
    return Q(reference__icontains=text) | Q(subject__icontains=text) | Q(order__reference__icontains=text)


def tickets() -> QuerySet[Ticket]:
    """Tickets with what a list row needs in the same query, and `next_due`: the SLA deadline that runs now
    (first response until answered, then resolution; none while paused or once resolved)."""
    active = Q(status__in=ACTIVE_STATUSES)
    return Ticket.objects.select_related("order__client", "follow_up_order").annotate(
        next_due=Case(
            When(active & Q(first_responded_at__isnull=True), then=F("first_response_due")),
            When(active & Q(paused_at__isnull=True), then=F("resolution_due")),
            default=Value(None),
            output_field=DateTimeField(),
        ),
        # Running clocks first (soonest due first, breaches at the top), then paused, then finished tickets.
        urgency_rank=Case(
            When(active & Q(paused_at__isnull=True), then=Value(0)),
            When(active, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        ),
    )


def tickets_visible_to(user) -> QuerySet[Ticket]:
    """Everything for after-sales and operations staff, the organization's own tickets for a client user."""
    if is_ticket_staff(user):
        return tickets()
    organization = organization_of(user)
    if organization is None:
        return Ticket.objects.none()
    return tickets().filter(order__client=organization)


# What a client sees of a ticket's history: the SLA watch's flags and first-response marks are staff matters.
CLIENT_EVENT_KINDS = (
    TicketEventKind.OPENED,
    TicketEventKind.STATUS_CHANGED,
    TicketEventKind.SEVERITY_CHANGED,
    TicketEventKind.FOLLOW_UP_ORDER,
    TicketEventKind.RATED,
)


def messages_visible_to(user) -> QuerySet[TicketMessage]:
    """The messages of tickets' threads that `user` may read. Internal notes are hidden from clients: after-sales
    and operations staff read them, nobody else (every page, the portal and the API read the thread through
    here)."""
    if is_ticket_staff(user):
        return TicketMessage.objects.all()
    return TicketMessage.objects.filter(internal=False)


def events_visible_to(user) -> QuerySet[TicketEvent]:
    """The history entries of tickets that `user` may read: staff all of them, clients CLIENT_EVENT_KINDS."""
    if is_ticket_staff(user):
        return TicketEvent.objects.all()
    return TicketEvent.objects.filter(kind__in=CLIENT_EVENT_KINDS)


def thread_for(user) -> Prefetch:
    """Prefetch a ticket's thread as `user` may read it, oldest first, with the authors."""
    return Prefetch("messages", queryset=messages_visible_to(user).select_related("author").order_by("at", "id"))


def ticket_detail(*, user, pk) -> Ticket:
    """One ticket with its thread and history as `user` may read them. Http404 if not the user's."""
    history = events_visible_to(user).select_related("actor").order_by("at", "id")
    try:
        return (
            tickets_visible_to(user)
            .select_related("opened_by", "order__parent_order")
            .prefetch_related(thread_for(user), Prefetch("events", queryset=history))
            .get(pk=int(pk))
        )
    except (Ticket.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such ticket.")) from None


def orders_open_to_tickets(user) -> QuerySet[Order]:
    """Delivered orders on which `user` may open a ticket: their organization's, or any for staff."""
    orders = Order.objects.filter(status__in=HANDED_OVER_STATUSES).select_related("client").order_by("-delivered_at")
    if is_ticket_staff(user):
        return orders
    organization = organization_of(user)
    return orders.filter(client=organization) if organization else orders.none()


def tickets_of_order(*, user, order_id: int) -> list[Ticket]:
    """The tickets on an order, and the ticket an order was placed from (for the order pages)."""
    return list(
        tickets_visible_to(user).filter(Q(order_id=order_id) | Q(follow_up_order_id=order_id)).order_by("opened_at")
    )


def ticket_counts() -> dict:
    """Open (active) tickets, breached active tickets and tickets at risk, in one query."""
    return Ticket.objects.aggregate(
        active=Count("id", filter=Q(status__in=ACTIVE_STATUSES)),
        breached=Count("id", filter=Q(status__in=ACTIVE_STATUSES, breached=True)),
        at_risk=Count("id", filter=Q(status__in=ACTIVE_STATUSES, at_risk=True)),
        waiting_client=Count("id", filter=Q(status=TicketStatus.WAITING_CLIENT)),
    )


def with_last_update(queryset: QuerySet[Ticket], *, user) -> QuerySet[Ticket]:
    """Annotate `last_update`: the newest message or history entry `user` may see (internal notes and SLA
    flags only for staff), in the same query as the list."""
    messages = messages_visible_to(user).filter(ticket=OuterRef("pk"))
    events = events_visible_to(user).filter(ticket=OuterRef("pk"))
    # Postgres' GREATEST skips NULLs: a ticket without messages or events falls back to its opening.
    return queryset.annotate(
        last_update=Greatest(
            "opened_at",
            Subquery(messages.order_by("-at").values("at")[:1]),
            Subquery(events.order_by("-at").values("at")[:1]),
            output_field=DateTimeField(),
        )
    )


def sla_policies() -> dict[str, SlaPolicy]:
    """Severity → its SLA policy, for the promises shown when a ticket is opened."""
    return {policy.severity: policy for policy in SlaPolicy.objects.all()}


def organization_member_ids(*, organization_id: int, user_ids) -> set[int]:
    """Which of `user_ids` are client users of the organization (the rest of a ticket's actors are staff)."""
    return set(
        ClientMembership.objects.filter(organization_id=organization_id, user_id__in=set(user_ids)).values_list(
            "user_id", flat=True
        )
    )

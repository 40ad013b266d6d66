"""Demo mode: simulated staff and clients keep the demo factory flowing.

Every simulated action goes through the same services people use, under a simulation user
(`sim-operations`, `sim-reviewer-1`, `sim-reviewer-2`, `sim-aftersales`, and `sim-client-<organization>`
for each demo organization). Simulation users cannot log in (unusable password); they are recognised
by their name prefix together with that unusable password.

A real person's action always wins: the simulation leaves alone any order or ticket a real person acted
on within HUMAN_GRACE (factory time), any review a real reviewer approved, and any row someone holds
locked right now (SKIP LOCKED). A service refusing an action (someone else got there first) is skipped.

Timing is stateless: each object's delay and each decision come from a random.Random seeded by the
object's id, so a round decides the same way whenever it runs, and a round missed is caught up by the next.
"""

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.models import Exists, Max, OuterRef, Q

from aftersales import services as aftersales_services
from aftersales.models import Ticket, TicketEvent, TicketEventKind, TicketMessage, TicketStatus
from demo import data
from demo.content import (
    ORDER_IDEAS,
    ORGANIZATION_KEYS,
    STAFF_REPLIES,
    TICKET_IDEAS,
    approval_answers,
    rating_for,
    rejection,
)
from factory import clock, people, roles
from factory.errors import DomainError
from orders import quotes
from orders import services as order_services
from orders.models import (
    ACTIVE_STATUSES,
    HANDED_OVER_STATUSES,
    ClientOrganization,
    EventKind,
    Order,
    OrderEvent,
    OrderStatus,
)
from security import services as security_services
from security.models import Approval, Review, ReviewStatus

logger = logging.getLogger(__name__)

SEED = 20240601
SIM_PREFIX = "sim-"
SIM_OPERATIONS = "sim-operations"
SIM_REVIEWERS = ("sim-reviewer-1", "sim-reviewer-2")
SIM_AFTERSALES = "sim-aftersales"
# username → (role, the first name; pages show it by its label in factory.people.SIMULATED_LABELS).
SIM_STAFF = {
    SIM_OPERATIONS: (roles.OPERATIONS, "Operations"),
    SIM_REVIEWERS[0]: (roles.SECURITY, "Reviewer 1"),
    SIM_REVIEWERS[1]: (roles.SECURITY, "Reviewer 2"),
    SIM_AFTERSALES: (roles.AFTERSALES, "After-sales"),
}
SIM_CLIENT_PREFIX = "sim-client-"

# Factory hours a real person's action on an order or ticket keeps the simulation off it.
HUMAN_GRACE = timedelta(hours=6)
# Mean factory hours between two simulated client orders (Poisson arrivals): 1,000 orders a year, what the demo
# pools carry at about 85 % utilization (the catalog is calibrated on it), so queues breathe instead of growing
# without end.
ARRIVAL_MEAN_HOURS = 8760 / 1000
# Simulated clients hold back new orders while this many orders are waiting or on the floor: above the ~80 a
# factory at that load holds (the demo data's ON_THE_FLOOR, and a few to accept or hand over).
MAX_ORDERS_IN_FACTORY = 100
# At most this many actions of each kind per round: a round stays short, a backlog drains over rounds.
PER_ROUND = 4
# How long simulated staff take, in factory hours (low, high), drawn per object.
ACCEPT_DELAY = (1.0, 6.0)
START_DELAY = (0.5, 3.0)
REVIEW_DELAY = (2.0, 12.0)
SECOND_APPROVAL_DELAY = (1.0, 6.0)
DELIVER_DELAY = (1.0, 8.0)
CONFIRM_DELAY = (12.0, 72.0)
TICKET_AFTER_DELIVERY = (6.0, 120.0)
CLIENT_REPLY_DELAY = (2.0, 16.0)
TICKET_RATING_DELAY = (2.0, 24.0)
# Shares of decisions.
ORDER_REJECT_SHARE = 0.05
REVIEW_REJECT_SHARE = 0.15
TICKET_SHARE = 0.25
WAITING_CLIENT_SHARE = 0.25
LATE_FIRST_RESPONSE_SHARE = 0.1
TICKET_WINDOW = timedelta(days=21)

# --- Simulation users ---------------------------------------------------------------------------------


def simulation_q(prefix: str = "") -> Q:
    """Users (or a relation `prefix` to users) who are simulation users: sim- names with unusable passwords."""
    path = f"{prefix}__" if prefix else ""
    return Q(**{f"{path}username__startswith": SIM_PREFIX, f"{path}password__startswith": UNUSABLE_PASSWORD_PREFIX})


def is_simulation_user(user) -> bool:
    return bool(
        user is not None
        and user.username.startswith(SIM_PREFIX)
        and (user.password or "").startswith(UNUSABLE_PASSWORD_PREFIX)
    )


def _human_q(prefix: str) -> Q:
    """A relation to a real person: not empty (the system) and not a simulation user."""
    return Q(**{f"{prefix}__isnull": False}) & ~simulation_q(prefix)


def _simulation_user(username: str, *, name: str):
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=username, defaults={"first_name": name, "last_name": people.SIMULATED_SURNAME}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def sim_staff(username: str):
    """A simulated staff member with their role, created on demand."""
    role, name = SIM_STAFF[username]
    user = _simulation_user(username, name=name)
    if not user.groups.filter(name=role).exists():
        user.groups.add(Group.objects.get(name=role))
    return user


def sim_client_username(key: str) -> str:
    return f"{SIM_CLIENT_PREFIX}{key}"


def sim_client(organization: ClientOrganization):
    """The simulated client user of a demo organization, created on demand."""
    user = _simulation_user(sim_client_username(ORGANIZATION_KEYS[organization.name]), name="Client")
    if getattr(user, "client_membership", None) is None:
        order_services.client_user_attach(user=user, organization=organization)
    return user


def seeded_rng(*parts) -> random.Random:
    return random.Random(":".join(str(part) for part in parts))  # noqa: S311 (a simulation, not cryptography)


def _hours(seed: int, kind: str, pk: int, bounds: tuple[float, float]) -> timedelta:
    return timedelta(hours=seeded_rng(seed, kind, pk).uniform(*bounds))


def _chance(seed: int, kind: str, pk: int) -> float:
    return seeded_rng(seed, kind, pk, "chance").random()


# --- One round ----------------------------------------------------------------------------------------


@dataclass
class RoundReport:
    skipped: bool = False
    actions: dict = field(default_factory=dict)

    def count(self, kind: str) -> None:
        self.actions[kind] = self.actions.get(kind, 0) + 1


# Arbitrary, fixed: the key of the Postgres advisory lock that keeps two rounds from running together.
ROUND_LOCK_KEY = 74_200_017


def simulate_round(now: datetime | None = None, *, seed: int = SEED) -> RoundReport:
    """Let the simulated staff and clients do what is due by `now` (the factory clock by default).

    Services stamp their own time from the factory clock; `now` only decides what is due.
    Does nothing outside demo mode, or while another round runs.
    """
    if not settings.DEMO_MODE:
        return RoundReport(skipped=True)
    now = now or clock.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [ROUND_LOCK_KEY])
        if not cursor.fetchone()[0]:
            return RoundReport(skipped=True)
    try:
        report = RoundReport()
        round_ = _Round(now=now, seed=seed, report=report)
        for phase in (
            round_.new_orders,
            round_.accept_orders,
            round_.start_production,
            round_.decide_reviews,
            round_.deliver_orders,
            round_.confirm_deliveries,
            round_.open_tickets,
            round_.work_tickets,
        ):
            phase()
        return report
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [ROUND_LOCK_KEY])


class _Round:
    def __init__(self, *, now: datetime, seed: int, report: RoundReport):
        self.now, self.seed, self.report = now, seed, report
        self.since = now - HUMAN_GRACE
        self._users: dict[str, object] = {}

    # --- helpers

    def staff(self, username: str):
        if username not in self._users:
            self._users[username] = sim_staff(username)
        return self._users[username]

    def client_of(self, organization: ClientOrganization):
        key = f"client:{organization.pk}"
        if key not in self._users:
            self._users[key] = sim_client(organization)
        return self._users[key]

    def due(self, kind: str, pk: int, since: datetime | None, bounds: tuple[float, float]) -> bool:
        return since is not None and self.now - since >= _hours(self.seed, kind, pk, bounds)

    def human_on_order(self, order_id: int) -> bool:
        return OrderEvent.objects.filter(_human_q("actor"), order_id=order_id, at__gte=self.since).exists()

    def human_on_ticket(self, ticket_id: int, *, ignore_opening: bool = False) -> bool:
        events = TicketEvent.objects.filter(_human_q("actor"), ticket_id=ticket_id, at__gte=self.since)
        messages = TicketMessage.objects.filter(_human_q("author"), ticket_id=ticket_id, at__gte=self.since)
        if ignore_opening:
            # The client's opening (and its first message) is not something a first answer overrides.
            events = events.exclude(kind=TicketEventKind.OPENED)
            first = TicketMessage.objects.filter(ticket_id=ticket_id).order_by("at", "id").values("id")[:1]
            messages = messages.exclude(id__in=first)
        return events.exists() or messages.exists()

    def act(self, kind: str, lock: Callable[[], object | None], action: Callable[[object], None]) -> bool:
        """Take the row (skipping it if someone holds it), then act through a service; a refusal is skipped."""
        try:
            with transaction.atomic():
                obj = lock()
                if obj is None:
                    return False
                action(obj)
        except DomainError as error:
            logger.info("demo: %s skipped: %s", kind, error.message)
            return False
        self.report.count(kind)
        return True

    def lock_order(self, pk: int, *, check_human: bool = True):
        order = Order.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
        if order is None or (check_human and self.human_on_order(pk)):
            return None
        return order

    def recently_touched_orders(self, statuses) -> set[int]:
        return set(
            OrderEvent.objects.filter(_human_q("actor"), at__gte=self.since, order__status__in=statuses).values_list(
                "order_id", flat=True
            )
        )

    def demo_organizations(self) -> list[ClientOrganization]:
        return list(ClientOrganization.objects.filter(name__in=ORGANIZATION_KEYS).order_by("name"))

    # --- phases

    def new_orders(self) -> None:
        """Clients place orders at a steady rate (Poisson arrivals), while the factory has room."""
        organizations = self.demo_organizations()
        if not organizations:
            return
        in_factory = Order.objects.filter(status__in=ACTIVE_STATUSES).count()
        if in_factory >= MAX_ORDERS_IN_FACTORY:
            return
        last = (
            Order.objects.filter(simulation_q("placed_by"), client__in=organizations)
            .order_by("-created_at", "-pk")
            .first()
        )
        last_pk = last.pk if last else 0
        drawn = seeded_rng(self.seed, "arrival", last_pk).expovariate(1 / ARRIVAL_MEAN_HOURS)
        gap = timedelta(hours=min(max(drawn, 1), 40))
        if last is not None and self.now - last.created_at < gap:
            return
        rng = seeded_rng(self.seed, "order", last_pk)
        organization = rng.choice(organizations)
        idea = rng.choice(ORDER_IDEAS[organization.sector])
        size = rng.choices(list(data.SIZE_MIX), weights=list(data.SIZE_MIX.values()))[0]
        priority = rng.choices(list(data.CLIENT_PRIORITY_MIX), weights=list(data.CLIENT_PRIORITY_MIX.values()))[0]
        on_behalf = rng.random() < 0.1
        actor = self.staff(SIM_OPERATIONS) if on_behalf else self.client_of(organization)
        promise = quotes.nominal_quote(
            product_type=idea.product_type,
            size=size,
            priority=priority,
            data_sensitivity=idea.sensitivity,
            start=self.now,
        )
        requested = max(promise.promised_delivery + timedelta(days=rng.randint(-3, 21)), self.now.date())
        try:
            order_services.order_submit(
                client=organization,
                actor=actor,
                title=idea.title,
                product_type=idea.product_type,
                sector=organization.sector,
                requirements=idea.requirements,
                data_sensitivity=idea.sensitivity,
                size=size,
                priority=priority,
                requested_delivery=requested + timedelta(days=1),
            )
        except DomainError as error:
            logger.info("demo: new order skipped: %s", error.message)
            return
        self.report.count("order_placed")

    def accept_orders(self) -> None:
        """Operations accepts submitted orders after a while (and turns down a few)."""
        touched = self.recently_touched_orders([OrderStatus.SUBMITTED])
        candidates = Order.objects.filter(status=OrderStatus.SUBMITTED).exclude(pk__in=touched).order_by("created_at")
        due = [
            pk
            for pk, created in candidates.values_list("pk", "created_at")
            if self.due("accept", pk, created, ACCEPT_DELAY)
        ]
        operations = self.staff(SIM_OPERATIONS)
        for pk in due[:PER_ROUND]:
            if _chance(self.seed, "reject-order", pk) < ORDER_REJECT_SHARE:
                self.act(
                    "order_rejected",
                    lambda pk=pk: self.lock_order(pk),
                    lambda order: order_services.order_reject(
                        order=order,
                        actor=operations,
                        reason="The requested scope needs data the client cannot share; we proposed a smaller order.",
                    ),
                )
            else:
                self.act(
                    "order_accepted",
                    lambda pk=pk: self.lock_order(pk),
                    lambda order: order_services.order_accept(order=order, actor=operations),
                )

    def start_production(self) -> None:
        touched = self.recently_touched_orders([OrderStatus.ACCEPTED])
        candidates = Order.objects.filter(status=OrderStatus.ACCEPTED).exclude(pk__in=touched).order_by("accepted_at")
        due = [pk for pk, at in candidates.values_list("pk", "accepted_at") if self.due("start", pk, at, START_DELAY)]
        operations = self.staff(SIM_OPERATIONS)
        for pk in due[:PER_ROUND]:
            self.act(
                "production_started",
                lambda pk=pk: self.lock_order(pk),
                lambda order: order_services.order_start_production(order=order, actor=operations),
            )

    def decide_reviews(self) -> None:
        """Reviewers decide gates after a realistic delay: mostly approve, sometimes reject with a finding."""
        human_approval = Approval.objects.filter(review=OuterRef("pk")).exclude(simulation_q("reviewer"))
        touched = self.recently_touched_orders([OrderStatus.AWAITING_REVIEW])
        pending = (
            Review.objects.filter(status=ReviewStatus.PENDING)
            .exclude(Exists(human_approval))
            .exclude(order_id__in=touched)
            .annotate(last_approval=Max("approvals__at"))
            .order_by("opened_at", "id")
        )
        decided = 0
        for review in pending:
            if decided >= PER_ROUND:
                break
            if review.last_approval is None:
                if not self.due("review", review.pk, review.opened_at, REVIEW_DELAY):
                    continue
            elif not self.due("second-approval", review.pk, review.last_approval, SECOND_APPROVAL_DELAY):
                continue
            decided += self.act("review_decided", lambda pk=review.pk: self.lock_review(pk), self.decide)

    def lock_review(self, pk: int):
        # The review first, then its order: the order security's services take them in.
        review = Review.objects.select_for_update(skip_locked=True).filter(pk=pk, status=ReviewStatus.PENDING).first()
        if review is None or self.lock_order(review.order_id) is None:
            return None
        return review

    def decide(self, review: Review) -> None:
        approvers = list(review.approvals.values_list("reviewer__username", flat=True))
        if any(username not in SIM_REVIEWERS for username in approvers):
            return  # a real reviewer approved meanwhile: the second approval is theirs to find
        first = SIM_REVIEWERS[0] if _chance(self.seed, "first-reviewer", review.pk) < 0.5 else SIM_REVIEWERS[1]
        reviewer_name = first if not approvers else next(name for name in SIM_REVIEWERS if name not in approvers)
        reviewer = self.staff(reviewer_name)
        rejects = (
            not approvers
            and review.gate_passage == 0
            and _chance(self.seed, "reject-review", review.pk) < REVIEW_REJECT_SHARE
        )
        if not rejects:
            security_services.review_approve(review=review, reviewer=reviewer, answers=approval_answers(review))
            return
        rng = seeded_rng(self.seed, "finding", review.pk)
        finding, answers = rejection(review, rng)
        steps = list(review.stage.steps.order_by("position").values_list("pk", flat=True))
        security_services.review_reject(
            review=review, reviewer=reviewer, findings=[finding], rework_steps=[rng.choice(steps)], answers=answers
        )

    def deliver_orders(self) -> None:
        touched = self.recently_touched_orders([OrderStatus.READY])
        ready = (
            Order.objects.filter(status=OrderStatus.READY)
            .exclude(pk__in=touched)
            .annotate(ready_at=Max("events__at", filter=Q(events__kind=EventKind.READY)))
            .order_by("ready_at")
        )
        due = [pk for pk, at in ready.values_list("pk", "ready_at") if self.due("deliver", pk, at, DELIVER_DELAY)]
        operations = self.staff(SIM_OPERATIONS)
        for pk in due[:PER_ROUND]:
            self.act(
                "order_delivered",
                lambda pk=pk: self.lock_order(pk),
                lambda order: order_services.order_deliver(order=order, actor=operations),
            )

    def confirm_deliveries(self) -> None:
        """Simulated clients confirm and rate what they ordered; orders real people placed are theirs."""
        delivered = Order.objects.filter(
            simulation_q("placed_by"), status=OrderStatus.DELIVERED, client__name__in=ORGANIZATION_KEYS
        ).select_related("client")
        due = [
            order
            for order in delivered.order_by("delivered_at")
            if self.due("confirm", order.pk, order.delivered_at, CONFIRM_DELAY)
        ]
        for order in due[:PER_ROUND]:
            client = self.client_of(order.client)

            def confirm_and_rate(locked, client=client):
                order_services.order_confirm(order=locked, actor=client)
                if locked.rating is None:
                    score, comment = rating_for(seeded_rng(self.seed, "rating", locked.pk), late=locked.is_overdue)
                    order_services.order_rate(order=locked, actor=client, score=score, comment=comment)

            self.act("order_confirmed", lambda pk=order.pk: self.lock_order(pk), confirm_and_rate)

    def open_tickets(self) -> None:
        """Now and then a simulated client opens a ticket on a recent delivery."""
        recent = (
            Order.objects.filter(
                simulation_q("placed_by"),
                status__in=HANDED_OVER_STATUSES,
                client__name__in=ORGANIZATION_KEYS,
                delivered_at__gte=self.now - TICKET_WINDOW,
            )
            .exclude(Exists(Ticket.objects.filter(order=OuterRef("pk"))))
            .select_related("client")
            .order_by("delivered_at")
        )
        opened = 0
        for order in recent:
            if opened >= PER_ROUND:
                break
            if _chance(self.seed, "ticket", order.pk) >= TICKET_SHARE:
                continue
            if not self.due("ticket", order.pk, order.delivered_at, TICKET_AFTER_DELIVERY):
                continue
            client = self.client_of(order.client)
            category, severity, subject, body = seeded_rng(self.seed, "ticket-idea", order.pk).choice(TICKET_IDEAS)
            opened += self.act(
                "ticket_opened",
                lambda pk=order.pk: self.lock_order(pk),
                lambda locked, client=client, category=category, severity=severity, subject=subject, body=body: (
                    aftersales_services.ticket_open(
                        order=locked, actor=client, category=category, severity=severity, subject=subject, body=body
                    )
                ),
            )

    def work_tickets(self) -> None:
        """After-sales answers and resolves tickets; simulated clients reply and rate the resolution."""
        tickets = (
            Ticket.objects.filter(
                status__in=(
                    TicketStatus.OPEN,
                    TicketStatus.IN_PROGRESS,
                    TicketStatus.WAITING_CLIENT,
                    TicketStatus.RESOLVED,
                )
            )
            .select_related("order__client", "opened_by")
            .annotate(
                last_move=Max("events__at", filter=Q(events__kind=TicketEventKind.STATUS_CHANGED)),
                waited=Exists(
                    TicketEvent.objects.filter(
                        ticket=OuterRef("pk"), kind=TicketEventKind.STATUS_CHANGED, to_value=TicketStatus.WAITING_CLIENT
                    )
                ),
            )
            .order_by("opened_at", "id")
        )
        done = 0
        for ticket in tickets:
            if done >= PER_ROUND:
                break
            step = self.ticket_step(ticket)
            if step is None:
                continue
            kind, action, ignore_opening = step
            done += self.act(
                kind,
                lambda pk=ticket.pk, ignore=ignore_opening: self.lock_ticket(pk, ignore_opening=ignore),
                action,
            )

    def lock_ticket(self, pk: int, *, ignore_opening: bool):
        ticket = Ticket.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
        if ticket is None or self.human_on_ticket(pk, ignore_opening=ignore_opening):
            return None
        return ticket

    def ticket_step(self, ticket: Ticket):
        """What is due on `ticket` now: (report kind, action, whether the client's opening may be answered)."""
        aftersales = self.staff(SIM_AFTERSALES)
        simulated_client = is_simulation_user(ticket.opened_by) and ticket.order.client.name in ORGANIZATION_KEYS
        status = ticket.status
        if status == TicketStatus.OPEN and ticket.first_responded_at is None:
            window = ticket.first_response_due - ticket.opened_at
            late = _chance(self.seed, "late-answer", ticket.pk) < LATE_FIRST_RESPONSE_SHARE
            share = seeded_rng(self.seed, "answer", ticket.pk).uniform(*((1.1, 1.6) if late else (0.2, 0.8)))
            if self.now - ticket.opened_at < window * share:
                return None
            return (
                "ticket_answered",
                lambda locked: aftersales_services.ticket_post_message(
                    ticket=locked, actor=aftersales, body=STAFF_REPLIES["first"]
                ),
                True,
            )
        if status == TicketStatus.IN_PROGRESS:
            since = max(filter(None, [ticket.first_responded_at, ticket.last_move, ticket.opened_at]))
            if simulated_client and not ticket.waited and _chance(self.seed, "wait", ticket.pk) < WAITING_CLIENT_SHARE:
                if not self.due("ask-client", ticket.pk, since, (2.0, 12.0)):
                    return None
                return (
                    "ticket_waiting_client",
                    lambda locked: aftersales_services.ticket_change_status(
                        ticket=locked,
                        actor=aftersales,
                        status=TicketStatus.WAITING_CLIENT,
                        note=STAFF_REPLIES["waiting"],
                    ),
                    False,
                )
            window = ticket.resolution_due - ticket.opened_at
            if self.now - since < window * seeded_rng(self.seed, "resolve", ticket.pk).uniform(0.1, 0.5):
                return None
            return (
                "ticket_resolved",
                lambda locked: aftersales_services.ticket_change_status(
                    ticket=locked, actor=aftersales, status=TicketStatus.RESOLVED, note=STAFF_REPLIES["resolved"]
                ),
                False,
            )
        if not simulated_client:
            return None  # waiting for, or resolved for, a real client: their move
        client = self.client_of(ticket.order.client)
        if status == TicketStatus.WAITING_CLIENT and self.due(
            "client-reply", ticket.pk, ticket.paused_at, CLIENT_REPLY_DELAY
        ):
            return (
                "ticket_client_replied",
                lambda locked: aftersales_services.ticket_post_message(
                    ticket=locked, actor=client, body=STAFF_REPLIES["client_reply"]
                ),
                False,
            )
        if (
            status == TicketStatus.RESOLVED
            and ticket.rating is None
            and self.due("ticket-rating", ticket.pk, ticket.resolved_at, TICKET_RATING_DELAY)
        ):
            score, comment = rating_for(seeded_rng(self.seed, "ticket-rating", ticket.pk))
            return (
                "ticket_rated",
                lambda locked: aftersales_services.ticket_rate(
                    ticket=locked, actor=client, score=score, comment=comment
                ),
                False,
            )
        return None

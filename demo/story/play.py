"""Playing the story: every order and ticket acts through the real services at its moment, in one chronological
sweep (demo.sweep), each order's steps noted as runs for the compute history.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model

from aftersales import services as aftersales_services
from aftersales.models import ACTIVE_STATUSES as ACTIVE_TICKET_STATUSES
from aftersales.models import SlaPolicy, TicketStatus
from catalog.models import SIZE_FACTORS
from demo import content, staff
from demo.story.specs import DEMO_CLIENTS, ORGANIZATIONS, OrderSpec, TicketSpec, catalog_for, routing_for_type
from demo.story.timeline import Plan
from factory import clock
from orders import services as order_services
from orders.models import ClientOrganization, Order, OrderStage, OrderStep
from security import services as security_services
from security.models import Review, ReviewStatus


def demo_organization(key: str) -> ClientOrganization:
    name, sector = ORGANIZATIONS[key]
    organization, _created = ClientOrganization.objects.get_or_create(
        name=name, defaults={"sector": sector, "contact_email": f"ai-projects@{key}.example.cn"}
    )
    return organization


@dataclass
class Run:
    order_id: int
    step_id: int
    queued: datetime
    started: datetime | None  # None: still waiting for compute
    finished: datetime | None = None  # None: still running


class Story:
    def __init__(self, now: datetime, rng):
        self.now, self.rng = now, rng
        self.orders: dict[str, Order] = {}
        self.tickets: dict[str, object] = {}
        self.steps: dict[int, dict[tuple[int, int], int]] = {}
        self.runs: dict[int, Run] = {}  # running step → its run
        self.finished_runs: list[Run] = []
        self.current: list[Run] = []  # steps worked on now: running (no finish yet) or waiting (no start yet)
        self.users: dict[str, object] = {}
        self.policies = {policy.severity: policy for policy in SlaPolicy.objects.all()}

    def user(self, username: str):
        if username not in self.users:
            if username in staff.SIM_STAFF:
                self.users[username] = staff.sim_staff(username)
            else:
                self.users[username] = get_user_model().objects.get(username=username)
        return self.users[username]

    def client_user(self, org_key: str):
        for username, key in DEMO_CLIENTS.items():
            if key == org_key:
                return self.user(username)
        return self.user(staff.sim_client_username(org_key))

    def order_story(self, plan: Plan, placed: datetime) -> Iterator[datetime]:
        spec = plan.spec
        order = None
        for offset, action in plan.entries:
            yield placed + timedelta(hours=offset)
            order = self.order_action(spec, order, action)
        if plan.current is not None:
            k, j, ready, started = plan.current
            self.current.append(
                Run(
                    order_id=order.pk,
                    step_id=self.steps[order.pk][(k, j)],
                    queued=placed + timedelta(hours=ready),
                    started=placed + timedelta(hours=started) if started is not None else None,
                )
            )

    def order_action(self, spec: OrderSpec, order: Order | None, action: tuple) -> Order:
        kind, *args = action
        operations = self.user(staff.SIM_OPERATIONS)
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
            # The step's start is written with the compute history (write_history), in one statement for all steps.
            k, j, ready = args
            step_id = self.steps[order.pk][(k, j)]
            # Its job was queued when the step became ready, `ready` hours after the order was placed.
            queued = order.created_at + timedelta(hours=ready)
            self.runs[step_id] = Run(order_id=order.pk, step_id=step_id, queued=queued, started=now)
        elif kind == "finish":
            step_id = self.steps[order.pk][tuple(args)]
            # Its job finished on a pool: the system reports it, as the dispatch tick does.
            order_services.steps_finish(step_ids=[step_id], at=now, actor=None)
            run = self.runs.pop(step_id)
            run.finished = now
            self.finished_runs.append(run)
        elif kind == "open_review":
            security_services.review_open(stage=self.stage(order, args[0]))
        elif kind == "approve":
            review = self.pending_review(order, args[0])
            security_services.review_approve(
                review=review, reviewer=self.user(args[1]), answers=content.approval_answers(review)
            )
        elif kind == "reject_review":
            k, redo, reviewer = args
            review = self.pending_review(order, k)
            finding, answers = content.rejection(review, self.rng)
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
            score, comment = content.rating_for(self.rng, late=delivered.is_overdue)
            order_services.order_rate(order=order, actor=self.client_user(spec.org), score=score, comment=comment)
        return order

    def place(self, spec: OrderSpec) -> Order:
        organization = demo_organization(spec.org)
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
        aftersales = self.user(staff.SIM_AFTERSALES)
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
                self.ticket_action(ticket, action, text, client=client, staff=aftersales)
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

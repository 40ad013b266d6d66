"""Tickets of the scale data set, played through after-sales' own services in one chronological sweep with the
SLA watch between (`Tickets`, a part of demo.scale.build.ScaleBuild).
"""

from collections.abc import Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model

from aftersales import services as aftersales_services
from aftersales.models import SlaPolicy, TicketStatus
from demo import content
from demo.scale.lives import ScaleOrder, hours
from demo.sweep import play
from factory import clock
from orders.models import Order

TICKETS_PER_ORDERS = 50  # one ticket per this many orders


class Tickets:
    """Tickets on delivered orders (state and the other parts: demo.scale.build.ScaleBuild)."""

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
            opened = order.delivered_at + hours(rng.uniform(min(6.0, window), window))
            streams.append(self.ticket_story(order, opened, policies))
        with clock.held(now) as hands:
            play(streams, hands, until=now)
            hands.at = now
            aftersales_services.sla_watch()
        return len(chosen)

    def ticket_story(self, order: ScaleOrder, opened: datetime, policies) -> Iterator[datetime]:
        """One ticket's life: opened by the client, answered (late now and then), maybe waiting for the
        client, resolved, rated or left to close on its own; the SLA watch looks at it when a due time passes."""
        rng = self.rng
        category, severity, subject, body = rng.choice(content.TICKET_IDEAS)
        policy = policies[severity]
        first_hours, resolution_hours = float(policy.first_response_hours), float(policy.resolution_hours)
        staff, client = self.user(self.aftersales), self.user(order.client_user)
        yield opened
        ticket = aftersales_services.ticket_open(
            order=Order(pk=order.id), actor=client, category=category, severity=severity, subject=subject, body=body
        )
        late = rng.random() < 0.1
        answered = opened + hours(first_hours * (rng.uniform(1.2, 3) if late else rng.uniform(0.1, 0.9)))
        actions = [(answered, "reply", content.STAFF_REPLIES["first"])]
        t = answered
        if rng.random() < 0.25:
            t += hours(rng.uniform(4, 24))
            actions.append((t, "waiting", content.STAFF_REPLIES["waiting"]))
            t += hours(rng.uniform(2, 16))
            actions.append((t, "client", content.STAFF_REPLIES["client_reply"]))
        late = rng.random() < 0.1
        resolved = opened + hours(resolution_hours * (rng.uniform(1.1, 1.8) if late else rng.uniform(0.2, 0.8)))
        resolved = max(resolved, t + hours(rng.uniform(1, 8)))
        actions.append((resolved, "resolved", content.STAFF_REPLIES["resolved"]))
        if rng.random() < 0.6:
            actions.append((resolved + hours(rng.uniform(2, 24)), "rate", ""))
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
                score, comment = content.rating_for(rng)
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

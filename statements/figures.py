"""The figures of a statement, read once when it is issued and kept with it (`Statement.figures`).

Kept as JSON with codes, not words: a statement reads in the language of whoever opens it (`labelled`). Amounts are
strings of two decimals, as the order's own fields hold them, so nothing is lost to floating point.

* **Orders**: those the client received in the period (delivered, whether closed since or not) and those in the
  factory's work when the statement is issued; per order and workshop, the compute used and its cost so far against
  the quote kept when the order was placed (orders.costs).
* **Tickets**: those opened in the period, with whether the first answer and the resolution came within the SLA.
* **Ratings**: the ratings of the statement's orders and tickets.

A fixed number of queries whatever the client's history.
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from aftersales.models import Severity, Ticket, TicketStatus
from orders.costs import workshop_costs_of
from orders.models import HANDED_OVER_STATUSES, IN_FLIGHT_STATUSES, ClientOrganization, Order, OrderStatus, Workshop

CURRENCY = "CNY"


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else str(Decimal(value).quantize(Decimal("0.01")))


def _local_day(moment: datetime | None) -> str | None:
    return timezone.localdate(moment).isoformat() if moment else None


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in the factory's time zone."""
    return (
        timezone.make_aware(datetime.combine(start, time.min)),
        timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min)),
    )


def _met(done_at: datetime | None, due: datetime, *, now: datetime, missed: bool = False) -> bool | None:
    """Within the SLA (True), past it (False), or not yet known (None: still open and not yet due)."""
    if done_at is not None:
        return done_at <= due and not missed
    return False if missed or now > due else None


def _orders(client: ClientOrganization, since: datetime, until: datetime) -> list[dict]:
    received = Q(status__in=HANDED_OVER_STATUSES, delivered_at__gte=since, delivered_at__lt=until)
    orders = list(
        Order.objects.filter(Q(client=client) & (received | Q(status__in=IN_FLIGHT_STATUSES))).order_by(
            "delivered_at", "created_at", "id"
        )
    )
    workshops = workshop_costs_of(orders)
    return [
        {
            "id": order.pk,
            "reference": order.reference,
            "title": order.title,
            "status": order.status,
            "delivered_on": _local_day(order.delivered_at),
            "quoted_compute": _amount(order.quoted_compute_pflops_hours),
            "quoted_cost": _amount(order.quoted_cost),
            "compute": _amount(order.compute_pflops_hours),
            "cost": _amount(order.compute_cost),
            "rating": order.rating,
            "rating_comment": order.rating_comment,
            "workshops": [
                {
                    "workshop": row.workshop,
                    "planned_compute": _amount(row.planned_compute),
                    "planned_cost": _amount(row.planned_cost),
                    "compute": _amount(row.compute),
                    "cost": _amount(row.cost),
                }
                for row in workshops[order.pk]
            ],
        }
        for order in orders
    ]


def _tickets(client: ClientOrganization, since: datetime, until: datetime, now: datetime) -> list[dict]:
    tickets = Ticket.objects.filter(order__client=client, opened_at__gte=since, opened_at__lt=until).order_by(
        "opened_at", "id"
    )
    return [
        {
            "id": ticket.pk,
            "reference": ticket.reference,
            "subject": ticket.subject,
            "severity": ticket.severity,
            "status": ticket.status,
            "opened_at": timezone.localtime(ticket.opened_at).isoformat(),
            "first_response_met": _met(ticket.first_responded_at, ticket.first_response_due, now=now),
            "resolution_met": _met(ticket.resolved_at, ticket.resolution_due, now=now, missed=ticket.breached),
            "rating": ticket.rating,
        }
        for ticket in tickets
    ]


def _mean(values: list[int]) -> str | None:
    return _amount(Decimal(sum(values)) / len(values)) if values else None


def statement_figures(*, client: ClientOrganization, start: date, end: date, now: datetime) -> dict:
    """What a statement of `client` for the days `start` to `end` (inclusive) says, as read at `now`."""
    since, until = period_bounds(start, end)
    orders = _orders(client, since, until)
    tickets = _tickets(client, since, until, now)

    def total(key: str) -> str | None:
        values = [order[key] for order in orders]
        if any(value is None for value in values):
            return None  # an order without a quote: no quoted total to set against the cost
        return _amount(sum((Decimal(value) for value in values), Decimal(0)))

    rated_orders = [order for order in orders if order["rating"] is not None]
    return {
        "currency": CURRENCY,
        "orders": orders,
        "totals": {key: total(key) for key in ("quoted_compute", "quoted_cost", "compute", "cost")},
        "tickets": tickets,
        "ticket_summary": {
            "opened": len(tickets),
            "first_response_met": sum(ticket["first_response_met"] is True for ticket in tickets),
            "resolution_met": sum(ticket["resolution_met"] is True for ticket in tickets),
            "breached": sum(
                ticket["first_response_met"] is False or ticket["resolution_met"] is False for ticket in tickets
            ),
        },
        "ratings": {
            "orders": [
                {"reference": order["reference"], "rating": order["rating"], "comment": order["rating_comment"]}
                for order in rated_orders
            ],
            "order_mean": _mean([order["rating"] for order in rated_orders]),
            "ticket_mean": _mean([ticket["rating"] for ticket in tickets if ticket["rating"] is not None]),
        },
    }


def _label(choices, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def labelled(figures: dict) -> dict:
    """The kept figures with the words for their codes, in the active language (for pages, the PDF and the CSV)."""
    return {
        **figures,
        "orders": [
            {
                **order,
                "status_label": _label(OrderStatus, order["status"]),
                "workshops": [
                    {**row, "workshop_label": _label(Workshop, row["workshop"])} for row in order["workshops"]
                ],
            }
            for order in figures["orders"]
        ],
        "tickets": [
            {
                **ticket,
                "severity_label": _label(Severity, ticket["severity"]),
                "status_label": _label(TicketStatus, ticket["status"]),
            }
            for ticket in figures["tickets"]
        ],
    }

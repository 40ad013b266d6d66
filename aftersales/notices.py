"""What after-sales tells without being asked (notifications.kinds): a client, that the factory answered its ticket
or waits for it; the after-sales staff, that a ticket's SLA is at risk or breached."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from factory import roles
from notifications.kinds import CLIENTS, STAFF, EmailChoice, Kind, register
from notifications.services import notify, staff_holding
from orders.notices import client_people

TICKET_ANSWERED = "ticket_answered"
TICKET_WAITING = "ticket_waiting"
SLA_AT_RISK = "sla_at_risk"
SLA_BREACHED = "sla_breached"

register(
    Kind(
        TICKET_ANSWERED,
        CLIENTS,
        label=_("The factory answers one of your tickets"),
        title=_("Ticket %(reference)s answered"),
        line=_("%(subject)s"),
    ),
    Kind(
        TICKET_WAITING,
        CLIENTS,
        label=_("A ticket waits for your answer"),
        title=_("Ticket %(reference)s is waiting for you"),
        line=_("%(subject)s: the factory needs your answer to go on."),
    ),
    Kind(
        SLA_AT_RISK,
        STAFF,
        label=_("A ticket's SLA is at risk"),
        title=_("Ticket %(reference)s: SLA at risk"),
        line=_("%(subject)s"),
        email=EmailChoice.DIGEST,
    ),
    Kind(
        SLA_BREACHED,
        STAFF,
        label=_("A ticket's SLA is breached"),
        title=_("Ticket %(reference)s: SLA breached"),
        line=_("%(subject)s"),
    ),
)


def tell_client(ticket, *, kind: str, event: str) -> int:
    return notify(
        kind=kind,
        event=event,
        recipients=client_people(ticket.order.client_id),
        params={"reference": ticket.reference, "subject": ticket.subject},
        url=reverse("client_tickets:ticket", args=[ticket.pk]),
        organization_id=ticket.order.client_id,
    )


def tell_staff(ticket, *, kind: str, event: str) -> int:
    return notify(
        kind=kind,
        event=event,
        recipients=staff_holding(roles.AFTERSALES),
        params={"reference": ticket.reference, "subject": ticket.subject},
        url=reverse("aftersales:ticket", args=[ticket.pk]),
    )

"""The tickets section of the order pages (orders.related): an order's tickets, and the ticket it came from."""

from django.urls import reverse
from django.utils.translation import gettext as _

from aftersales import selectors
from aftersales.display import STATUS_TONE
from aftersales.permissions import is_ticket_staff
from orders.models import HANDED_OVER_STATUSES
from orders.related import CLIENT, RelatedRecord, RelatedSection


def tickets_section(*, user, order, audience) -> RelatedSection | None:
    staff = is_ticket_staff(user)
    if (audience == CLIENT) == staff:
        return None  # e.g. dispatch and security staff do not see tickets
    prefix = "client_tickets" if audience == CLIENT else "aftersales"
    records = []
    for ticket in selectors.tickets_of_order(user=user, order_id=order.pk):
        placed_here = ticket.follow_up_order_id == order.pk
        note = _("This order was placed from this ticket.") if placed_here else ""
        if not placed_here and ticket.follow_up_order_id:
            note = _("Follow-up order %(reference)s") % {"reference": ticket.follow_up_order.reference}
        breached = staff and ticket.breached and ticket.is_active
        if breached:
            note = " · ".join(part for part in (_("SLA breached"), note) if part)
        records.append(
            RelatedRecord(
                reference=ticket.reference,
                title=ticket.subject,
                url=reverse(f"{prefix}:ticket", args=[ticket.pk]),
                status=ticket.get_status_display(),
                tone="red" if breached else STATUS_TONE.get(ticket.status, "grey"),
                note=note,
            )
        )
    actions = []
    if order.status in HANDED_OVER_STATUSES:
        actions.append((f"{reverse(f'{prefix}:new')}?order={order.pk}", _("Open a ticket")))
    return RelatedSection(
        key="tickets",
        title=_("Tickets"),
        records=records,
        empty=_("No tickets. Once the order is delivered, a ticket asks the factory for a fix, a change or an answer."),
        actions=actions,
    )

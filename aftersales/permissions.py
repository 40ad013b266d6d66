"""Who may do what with tickets: one rule per action, read by the staff pages, the client portal, the API,
aftersales.services itself (so an actor who may not act is refused whoever calls) and the order pages' tickets
section.

A ticket's parties are after-sales and operations staff and the client users of the ticket's order's
organization; other staff roles do not see tickets. The SLA watch (aftersales.tasks) acts as the system (no
person): it flags tickets and closes tickets resolved long ago, through its own service, never through these.
"""

from django.utils.translation import gettext_lazy as _

from aftersales.errors import TicketActionNotPermitted
from factory import roles
from orders.access import is_client_of

# Staff who read and answer tickets, re-grade them and place follow-up orders.
TICKET_ROLES = (roles.AFTERSALES, roles.OPERATIONS)


def is_ticket_staff(user) -> bool:
    return user is not None and roles.has_role(user, *TICKET_ROLES)


def check_party(user, ticket) -> bool:
    """True for staff, False for the ticket's client; anyone else is refused (TicketActionNotPermitted, 403)."""
    if is_ticket_staff(user):
        return True
    if user is not None and is_client_of(user, ticket.order):
        return False
    raise TicketActionNotPermitted(_("Only after-sales and operations staff or the client can act on this ticket."))


def check_opener(user, order) -> bool:
    """May `user` open a ticket on `order`? True for staff, False for the order's client; anyone else is refused."""
    if is_ticket_staff(user):
        return True
    if user is not None and is_client_of(user, order):
        return False
    raise TicketActionNotPermitted(_("Only the client or after-sales and operations staff can open tickets."))


def check_staff(user) -> None:
    """Staff only: re-grading a ticket, placing a follow-up order, writing internal notes."""
    if not is_ticket_staff(user):
        raise TicketActionNotPermitted(_("Only after-sales and operations staff can do this."))


def check_client(user, ticket) -> None:
    """The ticket's client only: rating the resolution."""
    if user is None or not is_client_of(user, ticket.order):
        raise TicketActionNotPermitted(_("Only the client can rate a ticket."))

"""Who may do what with an order: one rule per action, read by the staff order pages (orders.views), the client
portal, the API (orders.api), other apps' pages that act on orders, and orders.services itself, so an actor who
may not act is refused (OrderActionNotPermitted, answered with 403) whoever calls: a page, the API, a Celery
task, the simulated staff, a data builder.

Reading is open to every staff role and to the order's own client users (orders.access); superusers hold every
role. Organization scoping (another organization's order answers 404) stays in orders.access.

The system (no person, `actor=None`) acts on orders only through the step services the dispatch tick calls
(orders.services.steps_mark_running, steps_mark_ready and steps_finish: jobs started or finished on a pool);
every action named here, finishing a step by hand included, needs a person.
"""

from django.utils.translation import gettext_lazy as _

from factory import roles
from orders.access import is_client_of, organization_of
from orders.errors import OrderActionNotPermitted

PLACE = "place"
ACCEPT = "accept"
REJECT = "reject"
START = "start"
FINISH_STEP = "finish_step"
REQUIREMENT_CHANGE = "requirement_change"
DELIVER = "deliver"
CANCEL = "cancel"
TRACKING = "tracking"
PRIORITY = "priority"
GATE = "gate"
CONFIRM = "confirm"
RATE = "rate"

# The staff roles that may take each action.
ACTION_ROLES = {
    # On behalf of a client organization (its own client users place orders too, see CLIENT_ACTIONS).
    PLACE: (roles.OPERATIONS, roles.AFTERSALES),
    ACCEPT: (roles.OPERATIONS,),
    REJECT: (roles.OPERATIONS,),
    START: (roles.OPERATIONS,),
    FINISH_STEP: (roles.OPERATIONS,),
    # After-sales records the changes a client asks for after delivery talks, too.
    REQUIREMENT_CHANGE: (roles.OPERATIONS, roles.AFTERSALES),
    DELIVER: (roles.OPERATIONS,),
    # Until delivery; the order's client only before it is accepted (a state rule, in orders.services).
    CANCEL: (roles.OPERATIONS,),
    TRACKING: (roles.OPERATIONS, roles.AFTERSALES),
    # An order has one priority: operations (who take the order) and dispatch (who place its jobs) both change it,
    # through dispatch.services.order_reprioritize (which moves its jobs too).
    PRIORITY: (roles.DISPATCH, roles.OPERATIONS),
    # Releasing a gate, sending steps back to rework, noting a review decision: the security center's reviews only.
    GATE: (roles.SECURITY,),
    CONFIRM: (),
    RATE: (),
}
# What the order's own client users may do (besides reading it).
CLIENT_ACTIONS = frozenset({PLACE, CANCEL, TRACKING, CONFIRM, RATE})

REFUSALS = {
    PLACE: _("Only operations staff or client users can place orders."),
    ACCEPT: _("Only operations staff can do this."),
    REJECT: _("Only operations staff can do this."),
    START: _("Only operations staff can do this."),
    FINISH_STEP: _("Only operations staff can do this."),
    REQUIREMENT_CHANGE: _("Only operations or after-sales staff can record requirement changes."),
    DELIVER: _("Only operations staff can do this."),
    CANCEL: _("Only operations staff or the order's client can cancel it."),
    TRACKING: _("Only operations or after-sales staff or the order's client can change its tracking link."),
    PRIORITY: _("Only operations and dispatch staff can change an order's priority."),
    GATE: _("Only the security center decides reviews."),
    CONFIRM: _("Only the client can confirm a delivery."),
    RATE: _("Only the client can rate an order."),
}


def has_staff_role(user, action: str) -> bool:
    """Whether `user` holds a staff role that may take `action` (None, the system, holds none)."""
    allowed = ACTION_ROLES[action]
    return user is not None and bool(allowed) and roles.has_role(user, *allowed)


def may(user, action: str, order=None) -> bool:
    """Whether `user` may take `action` on `order` (the order is needed for what its client may do)."""
    if has_staff_role(user, action):
        return True
    return action in CLIENT_ACTIONS and order is not None and user is not None and is_client_of(user, order)


def check(actor, action: str, order=None) -> None:
    """Refuse (OrderActionNotPermitted, 403) an actor who may not take `action` on `order`."""
    if not may(actor, action, order):
        raise OrderActionNotPermitted(REFUSALS[action])


def check_place(actor, client) -> None:
    """Client users place orders for their own organization; operations and after-sales staff for any."""
    organization = organization_of(actor) if actor is not None else None
    if organization is not None and organization.pk != client.pk:
        raise OrderActionNotPermitted(_("Client users can only place orders for their own organization."))
    if organization is None and not has_staff_role(actor, PLACE):
        raise OrderActionNotPermitted(REFUSALS[PLACE])

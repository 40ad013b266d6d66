"""Who may do what in the dispatch center: one rule per action, read by its pages, its API, its services (so an
actor who may not act is refused whoever calls) and the links other apps' pages show to it (the staff order
page's "Change the priority…", through orders.related).

The dispatch tick acts as the system (no person): it moves jobs and steps, never a pool's state or a priority.
"""

from django.utils.translation import gettext_lazy as _

from dispatch.errors import PoolActionNotPermitted, ScenarioNotPermitted
from factory import roles
from orders import permissions as order_permissions

# The dispatch center's pages: the people who place compute and the people who promised it to clients.
VIEW_ROLES = (roles.DISPATCH, roles.OPERATIONS)
# Draining, taking offline and activating a pool.
POOL_ACTION_ROLES = (roles.DISPATCH,)
# An order has one priority, and the rule of who changes it is the order's (orders.permissions): operations (who
# take the order) and dispatch (who place its jobs), on one page (/dispatch/orders/<id>/priority/) and through one
# API action (POST /api/v1/orders/<id>/priority/).
REPRIORITIZE_ROLES = order_permissions.ACTION_ROLES[order_permissions.PRIORITY]


def may_act_on_pools(user) -> bool:
    """Whether `user` may drain, take offline or activate a pool."""
    return user is not None and roles.has_role(user, *POOL_ACTION_ROLES)


def check_pool_action(actor) -> None:
    """Refuse (PoolActionNotPermitted, 403) an actor who may not change a pool's state."""
    if not may_act_on_pools(actor):
        raise PoolActionNotPermitted(_("Only the dispatch role drains, takes offline or activates pools."))


def check_pool_booking(actor) -> None:
    """Refuse (PoolActionNotPermitted, 403) an actor who may not book a pool's time: reservations and maintenance
    windows are pool actions planned ahead, so the same role books them."""
    if not may_act_on_pools(actor):
        raise PoolActionNotPermitted(_("Only the dispatch role reserves capacity or schedules maintenance."))


def may_reprioritize(user) -> bool:
    """Whether `user` may change an order's priority (and so that of its jobs)."""
    return order_permissions.may(user, order_permissions.PRIORITY)


def check_reprioritize(actor) -> None:
    """Refuse (OrderActionNotPermitted, 403) an actor who may not change an order's priority."""
    order_permissions.check(actor, order_permissions.PRIORITY)


# What-if scenarios: the dispatch and operations centers plan ahead together (create, change, run, archive).
SCENARIO_ROLES = VIEW_ROLES


def may_plan_scenarios(user) -> bool:
    return user is not None and roles.has_role(user, *SCENARIO_ROLES)


def check_scenarios(actor) -> None:
    """Refuse (ScenarioNotPermitted, 403) an actor outside the planning roles."""
    if not may_plan_scenarios(actor):
        raise ScenarioNotPermitted(_("Only the dispatch and operations roles plan scenarios."))

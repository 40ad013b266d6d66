"""Who may do what in the dispatch center: one rule per action, read by its pages, its API and the links other
apps' pages show to it (the staff order page's "Change the priority…", through orders.related).
"""

from factory import roles

# The dispatch center's pages: the people who place compute and the people who promised it to clients.
VIEW_ROLES = (roles.DISPATCH, roles.OPERATIONS)
# Draining, taking offline and activating a pool.
POOL_ACTION_ROLES = (roles.DISPATCH,)
# An order has one priority: operations (who take the order) and dispatch (who place its jobs) both change it,
# on one page (/dispatch/orders/<id>/priority/) and through one API action (POST /api/v1/orders/<id>/priority/).
REPRIORITIZE_ROLES = (roles.DISPATCH, roles.OPERATIONS)


def may_reprioritize(user) -> bool:
    """Whether `user` may change an order's priority (and so that of its jobs)."""
    return roles.has_role(user, *REPRIORITIZE_ROLES)

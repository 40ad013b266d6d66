"""Who may do what in the security center: one rule per action, read by its pages, its API, its services (so a
reviewer who may not decide is refused whoever calls) and the control room's compliance record.

Opening reviews at waiting gates is the system's own work (security.tasks, no person): it decides nothing.
"""

from django.utils.translation import gettext_lazy as _

from factory import roles
from orders import selectors as order_selectors
from security.errors import ReviewerNotPermitted

# Reading reviews (the API, the compliance record): the reviewers and operations, who answer for the gates' delays.
READ_ROLES = (roles.SECURITY, roles.OPERATIONS)
# The review pages (queue, history, one review) and deciding a review: the security center only.
DECIDE_ROLES = (roles.SECURITY,)


def may_decide(user) -> bool:
    return user is not None and roles.has_role(user, *DECIDE_ROLES)


def check_decide(reviewer) -> None:
    """Refuse (ReviewerNotPermitted, 403) anyone outside the security center."""
    if not may_decide(reviewer):
        raise ReviewerNotPermitted(_("Only the security center decides reviews."))


def check_independent(reviewer, review) -> None:
    """Refuse (ReviewerNotPermitted, 403) a reviewer who acted on the review's order as operations staff (four eyes:
    nobody reviews their own work)."""
    if order_selectors.acted_as_operations(order_id=review.order_id, user=reviewer):
        raise ReviewerNotPermitted(_("You acted on this order as operations staff, so you cannot review it."))

"""The control-room layout's context: navigation by role, the factory clock, the user's roles."""

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from aftersales import permissions as aftersales_permissions
from dashboard import plan
from dispatch import permissions as dispatch_permissions
from factory import roles
from factory.context_processors import clock_context
from orders.access import organization_of
from security import permissions as security_permissions


def _is_client(user) -> bool:
    return not roles.has_role(user) and organization_of(user) is not None


# (url name, label, who sees it). An entry whose page does not exist yet is left out.
_NAVIGATION = (
    ("home", _("Operations center"), lambda user: roles.has_role(user)),
    ("orders:list", _("Orders"), lambda user: roles.has_role(user)),
    ("plan", _("Yearly plan"), lambda user: roles.has_role(user, *plan.PLAN_ROLES)),
    ("dispatch:center", _("Dispatch center"), lambda user: roles.has_role(user, *dispatch_permissions.VIEW_ROLES)),
    ("dispatch:fairness", _("Fairness"), lambda user: roles.has_role(user, *dispatch_permissions.VIEW_ROLES)),
    ("dispatch:scenarios", _("What-if scenarios"), lambda user: dispatch_permissions.may_plan_scenarios(user)),
    ("security:reviews", _("Security reviews"), lambda user: security_permissions.may_decide(user)),
    ("aftersales:tickets", _("Tickets"), lambda user: aftersales_permissions.is_ticket_staff(user)),
    ("portal:home", _("My orders"), lambda user: _is_client(user)),
    ("client_tickets:list", _("My tickets"), lambda user: _is_client(user)),
    ("client_statements:list", _("My statements"), lambda user: _is_client(user)),
    ("client_webhooks:list", _("Webhooks"), lambda user: _is_client(user)),
    ("admin:index", _("Admin"), lambda user: user.is_staff),
)


def _navigation_for(request):
    user = request.user
    if not user.is_authenticated:
        return []
    items = []
    for url_name, label, visible in _NAVIGATION:
        if not visible(user):
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        items.append({"url": url, "label": label, "active": False})
    # The section is the longest link the path starts with (/portal/tickets/ is "My tickets", not "My orders").
    matches = [
        item
        for item in items
        if item["url"] == request.path or (item["url"] != "/" and request.path.startswith(item["url"]))
    ]
    if matches:
        max(matches, key=lambda item: len(item["url"]))["active"] = True
    return items


def control_center(request):
    """What the base layout needs on every page: navigation, the factory clock, the user's roles."""
    user = request.user
    return {
        "navigation": _navigation_for(request),
        **clock_context(),
        "user_roles": [roles.ROLE_LABELS[name] for name in sorted(roles.roles_of(user))],
        # Staff are never client users: no need to look up a membership for them.
        "user_organization": None if roles.has_role(user) else organization_of(user),
        # How often the header asks for the unread notices (notifications/static/notifications/unread.js).
        "notice_poll_seconds": settings.NOTICE_POLL_SECONDS,
    }

"""Who may do what: the four staff roles (Django groups) and the client users.

Views and API use these helpers instead of checking groups themselves, so the rules live here.
Organization scoping ("this order belongs to your organization") lives with the clients, in
orders.access.
"""

import logging
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

OPERATIONS = "operations"
DISPATCH = "dispatch"
SECURITY = "security"
AFTERSALES = "aftersales"
STAFF_ROLES = (OPERATIONS, DISPATCH, SECURITY, AFTERSALES)
# Who was refused what: sign-in lockouts and denied pages or API calls (failures are logged by django-axes).
access_log = logging.getLogger("factory.access")
ROLE_LABELS = {
    OPERATIONS: _("Operations"),
    DISPATCH: _("Dispatch"),
    SECURITY: _("Security"),
    AFTERSALES: _("After-sales"),
}


def roles_of(user) -> frozenset[str]:
    """The staff roles of a user, read once per request and kept on the user object."""
    if not user.is_authenticated:
        return frozenset()
    if not hasattr(user, "_factory_roles"):
        remember_roles(user, user.groups.filter(name__in=STAFF_ROLES).values_list("name", flat=True))
    return user._factory_roles


def remember_roles(user, names) -> None:
    """Keep the role names read for `user` (e.g. by the query that authenticated it)."""
    user._factory_roles = frozenset(STAFF_ROLES) if user.is_superuser else frozenset(names)


def has_role(user, *roles: str) -> bool:
    """True when the user holds one of `roles`; with no roles given, any staff role."""
    held = roles_of(user)
    return bool(held & set(roles or STAFF_ROLES))


def role_required(*roles: str, live: bool = False):
    """View decorator: anonymous users go to the login page, users without the role get 403.

    A `live` endpoint (JSON a page fetches every few seconds) answers anonymous callers 401 instead: a
    redirect to the login page would reach the script as HTML, and a dashboard whose session ended would
    go on showing old figures without a word."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not has_role(request.user, *roles):
                raise PermissionDenied(_("Your account does not have access to this page."))
            return view(request, *args, **kwargs)

        if not live:
            return login_required(wrapped)

        @wraps(view)
        def signed_in_or_401(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return JsonResponse({"detail": _("Your session has ended. Sign in again.")}, status=401)
            return wrapped(request, *args, **kwargs)

        return signed_in_or_401

    return decorator


def role_permission(*roles: str) -> type[BasePermission]:
    """A DRF permission class that admits users holding one of `roles` (any staff role if none)."""

    class HasRole(BasePermission):
        message = _("Your account does not have access to this action.")

        def has_permission(self, request, view):
            return bool(request.user and request.user.is_authenticated) and has_role(request.user, *roles)

    HasRole.__name__ = "HasRole_" + "_".join(roles or ("staff",))
    return HasRole


def ensure_role_groups(group_model) -> None:
    """Create the four role groups; used by the data migration (with its historical model) and tests."""
    for name in STAFF_ROLES:
        group_model.objects.get_or_create(name=name)


def log_denied(request, reason) -> None:
    """Record a refused page or API call: who, where, why."""
    user = getattr(request, "user", None)
    who = user.get_username() if user is not None and user.is_authenticated else "anonymous"
    access_log.warning("access denied: user=%s path=%s reason=%s", who, getattr(request, "path", ""), reason or "")

"""Organization scoping: a client user sees only their own organization's data.

Objects of another organization answer 404, never 403, so their existence is not revealed.
"""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _


def organization_of(user):
    """The client organization of a client user, or None for staff and anonymous users."""
    if not user.is_authenticated:
        return None
    if not hasattr(user, "_factory_organization"):
        membership = getattr(user, "client_membership", None)
        user._factory_organization = membership.organization if membership else None
    return user._factory_organization


def require_organization(user):
    """The client organization of `user`; PermissionDenied for anyone who is not a client user."""
    organization = organization_of(user)
    if organization is None:
        raise PermissionDenied(_("This page is for client users."))
    return organization

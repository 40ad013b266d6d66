"""Organization scoping: a client user sees only their own organization's data.

Objects of another organization answer 404, never 403, so their existence is not revealed.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from factory import roles


def organization_of(user):
    """The client organization of a client user, or None for staff and anonymous users."""
    if not user.is_authenticated:
        return None
    if not hasattr(user, "_factory_organization"):
        membership = getattr(user, "client_membership", None)
        user._factory_organization = membership.organization if membership else None
    return user._factory_organization


def is_client_of(user, order) -> bool:
    """Whether `user` is a client user of the organization that placed `order`."""
    organization = organization_of(user)
    return organization is not None and organization.pk == order.client_id


def require_organization(user):
    """The client organization of `user`; PermissionDenied for anyone who is not a client user."""
    organization = organization_of(user)
    if organization is None:
        raise PermissionDenied(_("This page is for client users."))
    return organization


def orders_visible_to(user, queryset):
    """Narrow an order queryset to what `user` may see: everything for staff, own orders for clients."""
    if roles.has_role(user):
        return queryset
    organization = organization_of(user)
    if organization is None:
        raise PermissionDenied(_("Your account does not have access to orders."))
    return queryset.filter(client=organization)


def sees_orders_of(user, client_id: int) -> bool:
    """Whether `user` may see the orders of client organization `client_id` (as `orders_visible_to` decides)."""
    if roles.has_role(user):
        return True
    organization = organization_of(user)
    return organization is not None and organization.pk == client_id


def order_for_user(user, pk, queryset=None):
    """The order `pk` if `user` may see it: 404 for another organization's order or a bad id."""
    from orders.models import Order

    try:
        return orders_visible_to(user, queryset if queryset is not None else Order.objects.all()).get(pk=int(pk))
    except (Order.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such order.")) from None
